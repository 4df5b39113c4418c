//! The error type of `commerce-redis`, and how it reaches the ports' error types.

/// Errors of the Redis adapter.
///
/// Port methods return their port's error type; every variant here arrives there as
/// `Backend(..)` (retry, or report that Redis is unavailable or misconfigured).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Redis failed or could not be reached.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The key prefix cannot be used (see [`crate::KeyPrefix::new`]).
    #[error("invalid key prefix {prefix:?}: {reason}")]
    InvalidPrefix {
        /// The rejected prefix.
        prefix: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A cache TTL outside 1 ms to one day.
    #[error("cache ttl {0:?} is outside 1 ms to 1 day")]
    InvalidTtl(std::time::Duration),
    /// Redis answered something this adapter never writes (a foreign key in our
    /// prefix, or a script of another version).
    #[error("unexpected reply from redis: {0}")]
    UnexpectedReply(String),
    /// A value could not be encoded or decoded as JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    pub(crate) fn unexpected(what: impl Into<String>) -> Self {
        Error::UnexpectedReply(what.into())
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for commerce_core::Error {
    fn from(e: Error) -> Self {
        commerce_core::Error::Backend(Box::new(e))
    }
}

impl From<Error> for commerce_cart::Error {
    fn from(e: Error) -> Self {
        commerce_cart::Error::Backend(Box::new(e))
    }
}

impl From<Error> for commerce_inventory::Error {
    fn from(e: Error) -> Self {
        commerce_inventory::Error::Backend(Box::new(e))
    }
}
