//! The error type of `commerce-cart`.

use commerce_core::{ProductStatus, Sku};

/// Errors of cart operations and cart pricing.
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
    /// Invalid input (zero quantity to add, a customer cart merged as a guest cart, ...).
    #[error("invalid {field}: {message}")]
    Validation {
        /// Offending field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A cart line names a SKU the catalog does not know (deleted since it was added):
    /// remove the line and price again.
    #[error("{sku} is not in the catalog")]
    UnknownSku {
        /// The SKU.
        sku: Sku,
    },
    /// A cart line names a SKU whose product is not `Active` (draft or archived):
    /// remove the line and price again.
    #[error("{sku} cannot be bought (product is {status:?})")]
    NotPurchasable {
        /// The SKU.
        sku: Sku,
        /// Status of its product.
        status: ProductStatus,
    },
    /// Pricing failed (currency mismatch, destination not serviceable, overflow, ...).
    #[error(transparent)]
    Pricing(commerce_core::Error),
    /// The storage backend (cart store or catalog) failed.
    #[error("backend error: {0}")]
    Backend(#[source] commerce_core::BoxError),
    /// The backend is busy or unreachable for now (e.g. a transaction kept hitting
    /// serialization failures or deadlocks and gave up): nothing was changed, try
    /// again later. Never a conflict with another request.
    #[error("unavailable, try again: {0}")]
    Unavailable(#[source] commerce_core::BoxError),
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
    pub fn backend(e: impl Into<commerce_core::BoxError>) -> Self {
        Error::Backend(e.into())
    }

    /// True when repeating the same call later may succeed ([`Error::Unavailable`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unavailable(_) => true,
            Error::Pricing(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// Keeps the variants a caller acts on the same way across crates: a backend failure
/// stays [`Error::Backend`], a missing entity [`Error::NotFound`], bad input
/// [`Error::Validation`]; every other core error (currency mismatch, not serviceable,
/// overflow, invalid amount, ...) comes from pricing and becomes [`Error::Pricing`].
impl From<commerce_core::Error> for Error {
    fn from(e: commerce_core::Error) -> Self {
        match e {
            commerce_core::Error::Backend(inner) => Error::Backend(inner),
            commerce_core::Error::Unavailable(inner) => Error::Unavailable(inner),
            commerce_core::Error::NotFound { entity, id } => Error::NotFound { entity, id },
            commerce_core::Error::Validation { field, message } => {
                Error::Validation { field, message }
            }
            other => Error::Pricing(other),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_to_actionable_variants() {
        let backend: Error = commerce_core::Error::backend("down").into();
        assert!(matches!(backend, Error::Backend(_)));
        let missing: Error = commerce_core::Error::not_found("sku", "A").into();
        assert!(matches!(missing, Error::NotFound { entity: "sku", .. }));
        let invalid: Error = commerce_core::Error::validation("quantity", "zero").into();
        assert!(matches!(
            invalid,
            Error::Validation {
                field: "quantity",
                ..
            }
        ));
        let pricing: Error = commerce_core::Error::Overflow.into();
        assert!(matches!(
            pricing,
            Error::Pricing(commerce_core::Error::Overflow)
        ));
    }
}
