//! # commerce-recommend
//!
//! Recommendation lists served from precomputed tables, so a read is a few index
//! lookups:
//!
//! - **frequently bought together** for a product or a cart: item-to-item
//!   co-purchase counts (Linden, Smith and York's item-to-item collaborative
//!   filtering), updated incrementally by [`PurchaseRecorder`] from confirmed orders,
//!   once per event, and normalised by cosine (`together / sqrt(orders_a *
//!   orders_b)`) so best-sellers do not crowd every list;
//! - **similar products** by shared title/description terms and categories, for
//!   products nobody bought yet (cold start);
//! - **popular now** per category: units sold with exponential time decay;
//! - **for you**: a blend of the above from a customer's purchases, excluding what
//!   they bought, precomputed by the purchase consumer after each of their orders
//!   and read in one step; popular for a new customer.
//!
//! [`CachedRecommendStore`] keeps the lists in process memory in front of a store
//! (reads without a round trip), dropped by the consumers' writes and, across
//! instances, by a [`CacheInvalidator`] per instance.
//!
//! Every list holds only active, in-stock products and never the product (or cart
//! items) asked about. [`SignalsIndexer`] keeps each product's terms, categories and
//! availability current from catalog and stock events.
//!
//! Scores are `f64` rankings (cosines, decayed sums), never amounts.
#![allow(clippy::float_arithmetic)]

pub mod cache;
pub mod consumer;
pub mod decay;
pub mod error;
pub mod memory;
pub mod model;
pub mod ports;
pub mod service;
pub mod signals;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use cache::{CacheConfig, CacheInvalidator, CacheStats, CachedRecommendStore};
pub use consumer::{PURCHASES_GROUP, PurchaseRecorder, SIGNALS_GROUP, SignalsIndexer};
pub use error::{Error, Result};
pub use memory::MemoryRecommendStore;
pub use model::{ALL_CATEGORIES, ProductSignals, Purchase, PurchaseLine, Scored};
pub use ports::{MAX_LIST, PAIR_CANDIDATES, RecommendStore};
pub use service::Recommendations;

/// The storage ports under their former module name; use [`ports`].
#[doc(hidden)]
pub use ports as store;
