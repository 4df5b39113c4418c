//! The error type of `commerce-reviews`.

use commerce_core::{BoxError, ProductId};

use crate::model::ReviewId;

/// Errors of reviews, moderation and their store.
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
    /// A referenced entity does not exist (or is not visible to the caller).
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of entity ("review", "product").
        entity: &'static str,
        /// Its id as text.
        id: String,
    },
    /// The shop only takes reviews of bought products and the customer has no
    /// confirmed order line of this product.
    #[error("product {product_id} was not bought by this customer")]
    PurchaseRequired {
        /// The product.
        product_id: ProductId,
    },
    /// The customer already reviewed this product: edit that review instead.
    #[error("already reviewed: review {review_id}")]
    AlreadyReviewed {
        /// The existing review.
        review_id: ReviewId,
    },
    /// The actor may not do this (not the author, not the product's seller, ...).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// A concurrent change won (stale version): reload and retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// An error of the catalog or another `commerce-core` port.
    #[error(transparent)]
    Core(#[from] commerce_core::Error),
    /// An error of the order store (verified-purchase lookups).
    #[error(transparent)]
    Orders(#[from] commerce_orders::Error),
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

    /// Wraps the reason a store is unavailable for now ([`Error::Unavailable`]).
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        Error::Unavailable(e.into())
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
