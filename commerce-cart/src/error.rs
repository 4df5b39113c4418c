//! The error type of `commerce-cart`.

use commerce_core::Sku;

/// Errors of cart operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cart would hold more distinct lines than allowed; nothing changed.
    #[error("a cart holds at most {max} lines")]
    TooManyLines {
        /// The limit.
        max: u32,
    },
    /// A line would exceed the per-line quantity limit; nothing changed.
    #[error("at most {max} of {sku} per cart (would be {requested})")]
    QuantityLimit {
        /// The SKU.
        sku: Sku,
        /// The quantity the change would have produced.
        requested: u64,
        /// The limit.
        max: u32,
    },
    /// The cart or line does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Kind of entity.
        entity: &'static str,
        /// Its id as text.
        id: String,
    },
    /// Invalid input (zero quantity to add, unknown SKU, ...).
    #[error("invalid {field}: {message}")]
    Validation {
        /// Offending field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Pricing failed (currency mismatch, product not purchasable, ...).
    #[error(transparent)]
    Pricing(commerce_core::Error),
    /// The storage backend failed.
    #[error("backend error: {0}")]
    Backend(#[source] commerce_core::BoxError),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
