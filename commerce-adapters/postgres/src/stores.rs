//! [`PgStores`]: one pool, the migrations, and a handle for every store.

use std::sync::Arc;

use chrono::Duration;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use commerce_cart::DEFAULT_CART_TTL;
use commerce_core::{Clock, SystemClock};

use crate::carts::PgCartStore;
use crate::catalog::PgCatalog;
use crate::checkout::PgCheckoutStore;
use crate::credentials::PgCredentials;
use crate::customers::PgCustomers;
use crate::error::{Error, Result};
use crate::inventory::PgInventory;
use crate::orders::PgOrderStore;
use crate::outbox::PgOutbox;
use crate::purchases::PgPurchaseHistory;
use crate::recommend::PgRecommendStore;
use crate::reviews::PgReviewStore;

/// The schema every table, function and the migrations table live in.
pub const SCHEMA: &str = "commerce";

/// The table recording applied migrations (in [`SCHEMA`], so it never collides with
/// the host application's own `_sqlx_migrations`).
pub const MIGRATIONS_TABLE: &str = "commerce._sqlx_migrations";

/// Default pool size of [`PgStores::connect`].
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// Everything the stores share: the pool, the clock and settings.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) pool: PgPool,
    /// Reads that tolerate lag: the read replica's pool, or `pool` when none is set.
    pub(crate) lagging_reads: PgPool,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cart_ttl: Duration,
    pub(crate) reserve_batching: ReserveBatching,
    /// Reservations waiting for their batch, shared by every inventory handle.
    pub(crate) reserve_queue: Arc<crate::inventory::ReserveQueue>,
    /// Checkout place steps waiting for their batch, shared by every checkout handle.
    pub(crate) place_queue: Arc<crate::batch::Batcher<crate::checkout::PlacePending>>,
    /// Checkout commit-and-update steps waiting for their batch.
    pub(crate) confirm_queue: Arc<crate::batch::Batcher<crate::checkout::ConfirmPending>>,
}

/// How [`PgInventory`] gathers concurrent `reserve` calls, and [`PgCheckoutStore`]
/// its concurrent place and commit steps (a queue each), into shared transactions.
///
/// Batching is what makes a hot SKU fast: a transaction holds the SKU's row lock
/// until its commit is flushed, so one reservation per transaction sells at most one
/// reservation per WAL flush; a batch sells many. For whole checkouts it also shares
/// one commit and one statement per table among many orders. Each request stays all
/// or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReserveBatching {
    /// Most requests one database call carries; 1 turns batching off (every call is
    /// its own transaction).
    pub max_batch: usize,
    /// Most batches in the database at once (per [`PgInventory`] handle family).
    pub in_flight: usize,
}

impl Default for ReserveBatching {
    /// Batches of up to 64, one in flight (the fastest on a hot SKU measured by
    /// `benches/hot_sku.rs`; see docs/benchmarks.md).
    fn default() -> Self {
        ReserveBatching {
            max_batch: 64,
            in_flight: 1,
        }
    }
}

/// The PostgreSQL stores of the commerce crates, sharing one connection pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), commerce_postgres::Error> {
/// use std::sync::Arc;
/// use commerce_inventory::InventoryStore;
///
/// let stores = commerce_postgres::PgStores::connect("postgres://postgres@127.0.0.1/shop").await?;
/// stores.migrate().await?;
/// let inventory: Arc<dyn InventoryStore> = Arc::new(stores.inventory());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PgStores {
    shared: Shared,
}

impl std::fmt::Debug for PgStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStores")
            .field("pool", &self.shared.pool)
            .field("cart_ttl", &self.shared.cart_ttl)
            .finish_non_exhaustive()
    }
}

impl PgStores {
    /// Connects a pool of up to [`DEFAULT_MAX_CONNECTIONS`] connections to `url`
    /// (`postgres://user@host:port/database`). Run [`PgStores::migrate`] once before use.
    pub async fn connect(url: &str) -> Result<Self> {
        PgStores::connect_with(
            PgPoolOptions::new().max_connections(DEFAULT_MAX_CONNECTIONS),
            url,
        )
        .await
    }

    /// Connects a pool built from `options` (size, timeouts, ...) to `url`.
    pub async fn connect_with(options: PgPoolOptions, url: &str) -> Result<Self> {
        let pool = options.connect(url).await.map_err(Error::Connect)?;
        Ok(PgStores::from_pool(pool))
    }

    /// Uses an existing pool (for example the host application's). The stores only
    /// use schema-qualified names, so the pool's `search_path` does not matter.
    pub fn from_pool(pool: PgPool) -> Self {
        PgStores {
            shared: Shared {
                lagging_reads: pool.clone(),
                pool,
                clock: Arc::new(SystemClock),
                cart_ttl: DEFAULT_CART_TTL,
                reserve_batching: ReserveBatching::default(),
                reserve_queue: Arc::default(),
                place_queue: Arc::default(),
                confirm_queue: Arc::default(),
            },
        }
    }

    /// Uses `clock` where a port method has no `now` parameter: outbox leases, cart
    /// expiry on reads, catalog event and `updated_at` stamps.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.shared.clock = clock;
        self
    }

    /// Keeps carts for `ttl` after their last change (default
    /// [`commerce_cart::DEFAULT_CART_TTL`]).
    #[must_use]
    pub fn with_cart_ttl(mut self, ttl: Duration) -> Self {
        self.shared.cart_ttl = ttl;
        self
    }

    /// Sets how concurrent reservations are batched (see [`ReserveBatching`]).
    #[must_use]
    pub fn with_reserve_batching(mut self, batching: ReserveBatching) -> Self {
        self.shared.reserve_batching = ReserveBatching {
            max_batch: batching.max_batch.max(1),
            in_flight: batching.in_flight.max(1),
        };
        self
    }

    /// Sends reads that tolerate lag to `replica`, a pool on a streaming read replica
    /// of this database (hot standby): [`PgStores::browse_catalog`],
    /// [`PgStores::browse_reviews`], [`PgStores::browse_recommendations`], and whatever
    /// else reads [`PgStores::lagging_reads`] (analytics dashboards).
    /// Every write, and every read checkout, stock or orders depend on, stays on the
    /// primary. A replica is behind the primary by its replay lag (milliseconds on a
    /// healthy one, unbounded while replay is paused or the link is down).
    #[must_use]
    pub fn with_read_replica(mut self, replica: PgPool) -> Self {
        self.shared.lagging_reads = replica;
        self
    }

    /// The pool for reads that tolerate lag: the read replica's when one was set
    /// with [`PgStores::with_read_replica`], else the primary's.
    pub fn lagging_reads(&self) -> &PgPool {
        &self.shared.lagging_reads
    }

    /// Creates the schema [`SCHEMA`] if needed and applies the embedded migrations
    /// that are not applied yet, recording them in [`MIGRATIONS_TABLE`]. Safe to call
    /// from several processes at once (the migrator holds an advisory lock) and on
    /// every start.
    pub async fn migrate(&self) -> Result<()> {
        let mut migrator = sqlx::migrate!("./migrations");
        migrator.create_schema(SCHEMA);
        migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
        migrator
            .run(&self.shared.pool)
            .await
            .map_err(Error::Migrate)
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.shared.pool
    }

    /// The admin analytics rollups ([`commerce_analytics::AnalyticsStore`]).
    pub fn analytics(&self) -> crate::PgAnalyticsStore {
        crate::PgAnalyticsStore::new(self.shared.clone())
    }

    /// Products, variants and categories ([`commerce_core::ports::CatalogStore`]),
    /// read from the primary: what checkout prices from.
    pub fn catalog(&self) -> PgCatalog {
        PgCatalog::new(self.shared.clone())
    }

    /// The catalog for browsing (product pages, category listings, search
    /// indexing): writes go to the primary, reads to the read replica when one is set
    /// ([`PgStores::with_read_replica`]), so a read may not yet show a write that just
    /// returned. Checkout and cart pricing use [`PgStores::catalog`].
    pub fn browse_catalog(&self) -> PgCatalog {
        PgCatalog::lagging(self.shared.clone())
    }

    /// Customers and address books ([`commerce_core::ports::CustomerStore`]).
    pub fn customers(&self) -> PgCustomers {
        PgCustomers::new(self.shared.clone())
    }

    /// Password hashes and reset tokens ([`commerce_core::accounts::CredentialStore`]).
    pub fn credentials(&self) -> PgCredentials {
        PgCredentials::new(self.shared.clone())
    }

    /// The transactional outbox ([`commerce_core::ports::Outbox`]).
    pub fn outbox(&self) -> PgOutbox {
        PgOutbox::new(self.shared.clone())
    }

    /// Stock and reservations ([`commerce_inventory::InventoryStore`]).
    pub fn inventory(&self) -> PgInventory {
        PgInventory::new(self.shared.clone())
    }

    /// Carts ([`commerce_cart::CartStore`]).
    pub fn carts(&self) -> PgCartStore {
        PgCartStore::new(self.shared.clone())
    }

    /// Orders with their payment records and idempotency keys
    /// ([`commerce_orders::OrderStore`]).
    pub fn orders(&self) -> PgOrderStore {
        PgOrderStore::new(self.shared.clone())
    }

    /// The checkout steps that change orders and stock together, each one
    /// transaction ([`commerce_orders::CheckoutStore`]): pass it to
    /// `Checkout::with_checkout_store` when the checkout's order store and inventory
    /// are this database's ([`PgStores::orders`], [`PgStores::inventory`]).
    pub fn checkout(&self) -> PgCheckoutStore {
        PgCheckoutStore::new(self.shared.clone())
    }

    /// Reviews, votes, reports and rating aggregates
    /// ([`commerce_reviews::ReviewStore`]).
    pub fn reviews(&self) -> PgReviewStore {
        PgReviewStore::new(self.shared.clone())
    }

    /// The shop's pricing tables ([`commerce_orders::PricingTableStore`]).
    pub fn pricing_tables(&self) -> crate::PgPricingTables {
        crate::PgPricingTables::new(self.shared.clone())
    }

    /// Customers' notification preferences
    /// ([`commerce_orders::notification::PreferenceStore`]).
    pub fn notification_preferences(&self) -> crate::PgPreferenceStore {
        crate::PgPreferenceStore::new(self.shared.clone())
    }

    /// The notification delivery log
    /// ([`commerce_orders::notification::DeliveryLog`]).
    pub fn deliveries(&self) -> crate::PgDeliveryLog {
        crate::PgDeliveryLog::new(self.shared.clone())
    }

    /// The precomputed recommendation tables
    /// ([`commerce_recommend::RecommendStore`]).
    pub fn recommendations(&self) -> PgRecommendStore {
        PgRecommendStore::new(self.shared.clone())
    }

    /// The verified-purchase lookups of reviews over this database's orders
    /// ([`commerce_reviews::PurchaseHistory`]).
    pub fn purchase_history(&self) -> PgPurchaseHistory {
        PgPurchaseHistory::new(self.shared.clone())
    }

    /// Reviews for product pages: listings and rating aggregates read from the read
    /// replica when one is set ([`PgStores::with_read_replica`]); `get`, `find` and
    /// writes on the primary.
    pub fn browse_reviews(&self) -> PgReviewStore {
        PgReviewStore::lagging(self.shared.clone())
    }

    /// Recommendations read from the read replica when one is set
    /// ([`PgStores::with_read_replica`]); writes on the primary.
    pub fn browse_recommendations(&self) -> PgRecommendStore {
        PgRecommendStore::lagging(self.shared.clone())
    }
}
