//! Ports for logins: sessions ([`SessionStore`]) and login rate limits
//! ([`LoginRateLimiter`]).
//!
//! A session is found by an opaque [`SessionToken`] (32 random bytes from the operating
//! system, as 64 hex characters) handed to the client once, at creation. Stores keep
//! only its SHA-256 [`TokenDigest`], so a copy of the store does not let anyone act as a
//! customer.
//!
//! Every method takes `now` explicitly (as the other ports do), so expiry can be tested
//! by moving time. Stores may keep timestamps at millisecond precision.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::id::CustomerId;
use crate::role::Role;

/// The session and login rate-limit ports live with the other storage ports.
pub use crate::ports::{LoginRateLimiter, SessionStore};

/// Random bytes in a [`SessionToken`].
pub const SESSION_TOKEN_BYTES: usize = 32;

/// Longest time a session may live without being touched: 400 days (the longest
/// lifetime browsers give a cookie).
pub const MAX_SESSION_TTL: Duration = Duration::days(400);

/// The opaque secret a client presents to be recognised: 32 random bytes as 64
/// lower-case hex characters.
///
/// `Debug` does not print it, so it does not end up in logs by accident; use
/// [`SessionToken::as_str`] to put it into a cookie or header.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// A new token from the operating system's random number generator. `Backend`
    /// when the generator fails.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; SESSION_TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| Error::backend(e.to_string()))?;
        Ok(SessionToken(to_hex(&bytes)))
    }

    /// Checks the shape of a token received from a client (64 hex characters) before
    /// it is looked up; `Validation` otherwise.
    pub fn parse(s: &str) -> Result<Self> {
        if s.len() != SESSION_TOKEN_BYTES * 2 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::validation(
                "session_token",
                "must be 64 hexadecimal characters",
            ));
        }
        Ok(SessionToken(s.to_ascii_lowercase()))
    }

    /// The token as text, for a cookie or an `Authorization` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SHA-256 digest of the token: what stores keep and look sessions up by.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

impl std::str::FromStr for SessionToken {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        SessionToken::parse(s)
    }
}

/// The SHA-256 digest of a [`SessionToken`]. Knowing it does not give the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest as 64 lower-case hex characters (for keys and columns).
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenDigest({})", self.to_hex())
    }
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A signed-in account's session: a customer's, or staff's (a seller's or an
/// admin's), as its [`Role`] says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The account the session belongs to (a customer's id; staff accounts are
    /// accounts of the customer store too).
    pub customer_id: CustomerId,
    /// The role the account had when the session was opened: who acts with it.
    pub role: Role,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it ends unless touched again; it is gone from this instant on.
    pub expires_at: DateTime<Utc>,
}

impl Session {
    /// Whether the session is still valid at `now` (`now < expires_at`).
    pub fn is_live_at(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    /// Who acts with this session: the customer, the seller its staff acts for, or
    /// an admin ([`Role::actor`]).
    pub fn actor(&self) -> Actor {
        self.role.actor(self.customer_id)
    }
}

/// A session just created, with the token to hand to the client (the only time the
/// token is available: stores keep its digest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// The secret for the client.
    pub token: SessionToken,
    /// The session.
    pub session: Session,
}

/// Checks a session TTL: positive and at most [`MAX_SESSION_TTL`]. Stores call it
/// before any change.
pub fn validate_session_ttl(ttl: Duration) -> Result<()> {
    if ttl <= Duration::zero() || ttl > MAX_SESSION_TTL {
        return Err(Error::validation(
            "ttl",
            "a session lives more than 0 and at most 400 days",
        ));
    }
    Ok(())
}

/// Longest rate-limit key accepted, in bytes.
pub const MAX_RATE_LIMIT_KEY_LEN: usize = 256;

/// Most hits a [`RateLimit`] may allow per window.
pub const MAX_RATE_LIMIT_HITS: u32 = 10_000;

/// A sliding-window limit: at most `max_hits` allowed hits in any `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Hits allowed within one window (1 to [`MAX_RATE_LIMIT_HITS`]).
    pub max_hits: u32,
    /// Length of the window (at least one millisecond, at most one day).
    pub window: Duration,
}

impl RateLimit {
    /// A validated limit; `Validation` when `max_hits` is 0 or above
    /// [`MAX_RATE_LIMIT_HITS`], or `window` is under 1 ms or over a day.
    pub fn new(max_hits: u32, window: Duration) -> Result<Self> {
        let limit = RateLimit { max_hits, window };
        limit.validate()?;
        Ok(limit)
    }

    /// Checks the bounds of [`RateLimit::new`]; limiters call it before any change.
    pub fn validate(&self) -> Result<()> {
        if self.max_hits == 0 || self.max_hits > MAX_RATE_LIMIT_HITS {
            return Err(Error::validation("max_hits", "must be between 1 and 10000"));
        }
        if self.window < Duration::milliseconds(1) || self.window > Duration::days(1) {
            return Err(Error::validation(
                "window",
                "must be between 1 millisecond and 1 day",
            ));
        }
        Ok(())
    }
}

/// Checks a rate-limit key: 1 to [`MAX_RATE_LIMIT_KEY_LEN`] bytes. Limiters call it
/// before any change.
pub fn validate_rate_limit_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_RATE_LIMIT_KEY_LEN {
        return Err(Error::validation(
            "rate_limit_key",
            "must be 1 to 256 bytes",
        ));
    }
    Ok(())
}

/// The answer to one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Whether the attempt may go ahead. Denied attempts are not counted.
    pub allowed: bool,
    /// Attempts still allowed in the current window after this one.
    pub remaining: u32,
    /// When denied: how long until an attempt will be allowed again (the oldest counted
    /// hit leaves the window). `None` when allowed.
    pub retry_after: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_parse_back() {
        let a = SessionToken::generate().unwrap();
        let b = SessionToken::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 64);
        assert_eq!(SessionToken::parse(a.as_str()).unwrap(), a);
        assert_eq!(
            SessionToken::parse(&a.as_str().to_ascii_uppercase()).unwrap(),
            a
        );
        assert!(SessionToken::parse("abc").is_err());
        assert!(SessionToken::parse(&"g".repeat(64)).is_err());
        assert!(!format!("{a:?}").contains(a.as_str()));
    }

    #[test]
    fn digest_is_sha256_of_the_token_text() {
        let t = SessionToken::parse(&"0".repeat(64)).unwrap();
        // sha256 of 64 ASCII '0' characters.
        assert_eq!(
            t.digest().to_hex(),
            "60e05bd1b195af2f94112fa7197a5c88289058840ce7c6df9693756bc6250f55"
        );
        assert_ne!(t.digest(), SessionToken::generate().unwrap().digest());
    }

    #[test]
    fn limits_and_ttls_are_bounded() {
        assert!(RateLimit::new(5, Duration::minutes(15)).is_ok());
        assert!(RateLimit::new(0, Duration::minutes(15)).is_err());
        assert!(RateLimit::new(5, Duration::zero()).is_err());
        assert!(RateLimit::new(5, Duration::days(2)).is_err());
        assert!(validate_session_ttl(Duration::hours(1)).is_ok());
        assert!(validate_session_ttl(Duration::zero()).is_err());
        assert!(validate_session_ttl(Duration::days(401)).is_err());
        assert!(validate_rate_limit_key("").is_err());
        assert!(validate_rate_limit_key(&"k".repeat(257)).is_err());
    }
}
