//! Ports for logins: sessions and login rate limits (being written).
