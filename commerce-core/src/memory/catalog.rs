//! In-memory catalog store (being written).
