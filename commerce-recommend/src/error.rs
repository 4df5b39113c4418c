//! The error type of `commerce-recommend`.

use commerce_core::BoxError;

/// Errors of recommendation reads, their tables and consumers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input that fails validation; `field` names the offending field.
    #[error("invalid {field}: {message}")]
    Validation {
        /// The field that is invalid.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// An error of the catalog, the outbox or another `commerce-core` port.
    #[error(transparent)]
    Core(#[from] commerce_core::Error),
    /// An error of the order store.
    #[error(transparent)]
    Orders(#[from] commerce_orders::Error),
    /// An error of the inventory store.
    #[error(transparent)]
    Inventory(#[from] commerce_inventory::Error),
    /// A storage backend failed.
    #[error("backend error: {0}")]
    Backend(#[source] BoxError),
    /// The backend is unavailable for now (for example it kept hitting concurrent
    /// transactions and gave up): nothing was changed, try again later.
    #[error("unavailable, try again: {0}")]
    Unavailable(#[source] BoxError),
}

impl Error {
    /// Shorthand for [`Error::Validation`].
    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        Error::Validation {
            field,
            message: message.into(),
        }
    }

    /// Wraps a backend error.
    pub fn backend(e: impl Into<BoxError>) -> Self {
        Error::Backend(e.into())
    }

    /// Wraps the reason a backend is unavailable for now ([`Error::Unavailable`]).
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        Error::Unavailable(e.into())
    }

    /// True when repeating the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unavailable(_) => true,
            Error::Core(e) => e.is_retryable(),
            Error::Orders(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
