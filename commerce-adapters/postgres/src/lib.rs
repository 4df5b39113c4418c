//! # commerce-postgres
//!
//! PostgreSQL stores for the commerce crates, on sqlx: the catalog, customers, the
//! outbox ([`commerce_core::ports`]), inventory ([`commerce_inventory::InventoryStore`]),
//! carts ([`commerce_cart::CartStore`]), orders with their payment records and
//! idempotency keys ([`commerce_orders::OrderStore`]), and the checkout steps that
//! change orders and stock together, each one transaction
//! ([`commerce_orders::CheckoutStore`]), and reviews with their rating aggregates
//! ([`commerce_reviews::ReviewStore`]), and the recommendation tables
//! ([`commerce_recommend::RecommendStore`]), and the shop's pricing tables
//! ([`commerce_orders::PricingTableStore`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), commerce_postgres::Error> {
//! let stores = commerce_postgres::PgStores::connect("postgres://postgres@127.0.0.1/shop").await?;
//! stores.migrate().await?; // schema `commerce`, migrations table `commerce._sqlx_migrations`
//! let inventory = stores.inventory();
//! let orders = stores.orders();
//! # Ok(()) }
//! ```
//!
//! Everything lives in the schema [`SCHEMA`] with its own migrations table, so the
//! stores can share the host application's database. Every state change writes its
//! events to the outbox in the same transaction. Database errors map into the domain
//! error enums (see [`error`]): unique violations are `Conflict`s, serialization
//! failures and deadlocks are retried a bounded number of times.
//!
//! Queries are checked at run time (`sqlx::query` with `&'static str`), not by the
//! `query!` macros: building the crate needs neither a database nor `.sqlx` offline
//! data, and the conformance suites of the domain crates, run against a real server,
//! check every statement.

mod analytics;
mod batch;
mod carts;
mod catalog;
mod checkout;
mod convert;
mod credentials;
mod customers;
pub mod error;
mod inventory;
mod notifications;
mod order_record;
mod orders;
mod outbox;
mod pricing_tables;
mod purchases;
mod recommend;
mod reviews;
mod stores;

pub use analytics::PgAnalyticsStore;
pub use carts::PgCartStore;
pub use catalog::{MAX_PAGE, PgCatalog};
pub use checkout::PgCheckoutStore;
pub use credentials::PgCredentials;
pub use customers::PgCustomers;
pub use error::{Error, Result};
pub use inventory::PgInventory;
pub use notifications::{PgDeliveryLog, PgPreferenceStore};
pub use orders::PgOrderStore;
pub use outbox::{MAX_CLAIM, PgOutbox};
pub use pricing_tables::PgPricingTables;
pub use purchases::PgPurchaseHistory;
pub use recommend::PgRecommendStore;
pub use reviews::PgReviewStore;
pub use stores::{DEFAULT_MAX_CONNECTIONS, MIGRATIONS_TABLE, PgStores, ReserveBatching, SCHEMA};

/// The pool type the stores use (re-exported so callers need no direct sqlx
/// dependency to build one).
pub use sqlx::PgPool;
/// Pool settings for [`PgStores::connect_with`].
pub use sqlx::postgres::PgPoolOptions;
