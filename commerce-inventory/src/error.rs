//! The error type of `commerce-inventory`.

use commerce_core::Sku;

use crate::model::{ReservationId, ReservationStatus};

/// Errors of inventory operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not enough stock for a line; nothing was reserved.
    #[error("insufficient stock for {sku}: requested {requested}, available {available}")]
    InsufficientStock {
        /// The SKU that is short.
        sku: Sku,
        /// Quantity asked for (summed over the lines of that SKU).
        requested: u64,
        /// Quantity that could be reserved.
        available: u64,
    },
    /// The reservation is not in a state that allows the transition.
    #[error("reservation {id} cannot go from {from:?} to {to:?}")]
    IllegalTransition {
        /// The reservation.
        id: ReservationId,
        /// Its current status.
        from: ReservationStatus,
        /// The status asked for.
        to: ReservationStatus,
    },
    /// A reservation, SKU or location does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Kind of entity.
        entity: &'static str,
        /// Its id as text.
        id: String,
    },
    /// The same id was used for a different request, or a concurrent change won.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Invalid input (zero quantity, empty reservation, ...).
    #[error("invalid {field}: {message}")]
    Validation {
        /// Offending field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The storage backend failed.
    #[error("backend error: {0}")]
    Backend(#[source] commerce_core::BoxError),
    /// The backend is busy or unreachable for now (e.g. a transaction kept hitting
    /// serialization failures or deadlocks and gave up): nothing was changed, try
    /// again later. Never a conflict with another request.
    #[error("unavailable, try again: {0}")]
    Unavailable(#[source] commerce_core::BoxError),
}

impl Error {
    /// True when repeating the same call later may succeed ([`Error::Unavailable`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }
}

impl From<commerce_core::Error> for Error {
    fn from(e: commerce_core::Error) -> Self {
        match e {
            commerce_core::Error::Validation { field, message } => {
                Error::Validation { field, message }
            }
            commerce_core::Error::NotFound { entity, id } => Error::NotFound { entity, id },
            commerce_core::Error::Conflict(m) => Error::Conflict(m),
            commerce_core::Error::Backend(b) => Error::Backend(b),
            commerce_core::Error::Unavailable(b) => Error::Unavailable(b),
            other => Error::Backend(Box::new(other)),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
