//! # commerce-reviews
//!
//! Product reviews and ratings: a customer reviews a product they bought (the review
//! is marked verified) or, when the shop allows it, any product; one review per
//! customer per product, editable and deletable by its author. Customers report abuse
//! and vote reviews helpful (once each); the product's seller and admins hide and
//! restore reviews with a reason. Each product's [`RatingAggregate`] (count, average
//! to two decimals, histogram of 1-5) counts published reviews only and is kept exact
//! by the [`ReviewStore`] in the same atomic step as the review change, which also
//! writes the review's event and, when the aggregate changed,
//! `CatalogEvent::RatingChanged` to the outbox.
//!
//! - [`model`]: reviews, ratings, moderation records;
//! - [`rules`]: input limits every entry point applies;
//! - [`aggregate`]: the rating aggregate and how a review contributes to it;
//! - [`store`]: the [`ReviewStore`] port, its queries and keyset pages;
//! - [`purchases`]: the [`PurchaseHistory`] port behind the verified-purchase rule;
//! - [`service`]: [`Reviews`], the operations with who is acting as an argument;
//! - [`memory`]: the in-memory store; `testkit` (feature `testkit`): the
//!   conformance suite every store runs.

pub mod aggregate;
pub mod error;
pub mod event;
pub mod memory;
pub mod model;
pub mod ports;
pub mod purchases;
pub mod rules;
pub mod service;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use aggregate::RatingAggregate;
pub use error::{Error, Result};
pub use event::ReviewEvent;
pub use memory::MemoryReviewStore;
pub use model::{
    AbuseReport, Moderation, ModerationAction, Moderator, Rating, Review, ReviewDraft, ReviewId,
    ReviewStatus,
};
pub use ports::{
    CustomerReviewPage, ModerationPage, ProductReviewQuery, ReviewChange, ReviewCursor,
    ReviewOrder, ReviewStore,
};
pub use purchases::{OrderPurchases, PurchaseHistory};
pub use rules::ReviewLimits;
pub use service::{ReviewSettings, Reviews};

/// The storage ports under their former module name; use [`ports`].
#[doc(hidden)]
pub use ports as store;
