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
    /// The store stayed too busy to finish (concurrent transactions every retry):
    /// nothing was written; the same call may succeed later.
    #[error("unavailable: {0}")]
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

    /// Wraps the reason a store is unavailable for now ([`Error::Unavailable`]).
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        Error::Unavailable(e.into())
    }
}

impl From<Error> for commerce_core::Error {
    /// For the outbox runner ([`commerce_core::worker::run_once`]), which speaks
    /// `commerce_core::Error`.
    fn from(e: Error) -> Self {
        match e {
            Error::Core(inner) => inner,
            Error::Validation { field, message } => {
                commerce_core::Error::Validation { field, message }
            }
            Error::Unavailable(e) => commerce_core::Error::Unavailable(e),
            other => commerce_core::Error::backend(other),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
