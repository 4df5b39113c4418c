//! The error type of `commerce-core`.

use crate::money::Currency;

/// A boxed error from a storage backend or another external system.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors of money, pricing, catalog and the ports `commerce-core` owns.
///
/// Each variant is something a caller can act on; [`Error::Backend`] wraps a failure
/// of a storage backend (retry or report it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two amounts of different currencies met in one operation.
    #[error("currency mismatch: expected {expected}, found {found}")]
    CurrencyMismatch {
        /// The currency the operation works in.
        expected: Currency,
        /// The currency that did not match.
        found: Currency,
    },
    /// A currency code that is not an ISO 4217 currency usable for prices.
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    /// An amount that is not valid here (too many decimals, negative price, ...).
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// An arithmetic result that does not fit.
    #[error("arithmetic overflow")]
    Overflow,
    /// Input that fails validation; `field` names the offending field.
    #[error("invalid {field}: {message}")]
    Validation {
        /// The field (or path) that is invalid.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A referenced entity does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of entity ("product", "sku", ...).
        entity: &'static str,
        /// Its id as text.
        id: String,
    },
    /// A login or password check failed: unknown email or wrong password (the two
    /// are not told apart).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// A one-time token (password reset) is unknown, used or expired.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The operation conflicts with the current state (duplicate key, stale version).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A category would become its own ancestor (moved under itself or one of its
    /// descendants); the tree is unchanged.
    #[error("category {category} would become its own ancestor")]
    CategoryCycle {
        /// The category that was to move, as text.
        category: String,
    },
    /// No tax rate or shipping rate covers the request.
    #[error("not serviceable: {0}")]
    NotServiceable(String),
    /// A storage backend failed.
    #[error("backend error: {0}")]
    Backend(#[source] BoxError),
    /// The backend is busy or unreachable for now (e.g. a transaction kept hitting
    /// serialization failures or deadlocks and gave up): nothing was changed, try
    /// again later. Never a conflict with another request.
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

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
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

    /// True when repeating the same call later may succeed ([`Error::Unavailable`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
