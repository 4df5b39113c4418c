//! [`Shop`], the composition root: every port as an `Arc<dyn Port>` and the domain
//! services built on them.
//!
//! [`Shop::in_memory`] wires the in-memory stores, the simulated payment gateway and
//! [`default_config`]; [`Shop::builder`] takes the stores one by one (for example
//! PostgreSQL stores for the system of record and Redis carts), and
//! [`ShopBuilder::with_memory_defaults`] fills whatever was not given with the
//! in-memory store.
//!
//! Every service call that reads or changes something owned takes the
//! [`Actor`](commerce_core::Actor) as an argument.

use std::fmt;
use std::sync::Arc;

use commerce_analytics::{Analytics, AnalyticsStore, MemoryAnalyticsStore, RollupConsumer};
use commerce_cart::{CartStore, MemoryCartStore};
use commerce_core::accounts::{Accounts, CredentialStore, PasswordHasher};
use commerce_core::auth::{LoginRateLimiter, SessionStore};
use commerce_core::memory::{
    MemoryCatalog, MemoryCredentials, MemoryCustomers, MemoryOutbox, MemoryRateLimiter,
    MemorySessionStore,
};
use commerce_core::ports::{CatalogStore, CustomerStore, Outbox};
use commerce_core::shipping::ShippingMethod;
use commerce_core::{Address, Clock, CountryCode, Currency, Money, SystemClock, TaxTable};
use commerce_inventory::{InventoryStore, MemoryInventory};
use commerce_orders::notification::{
    DeliveryLog, MemoryDeliveryLog, MemoryPreferenceStore, PreferenceStore,
};
use commerce_orders::{
    CarrierSet, Checkout, CheckoutConfig, CheckoutStore, MemoryOrderStore, MemoryPricingTableStore,
    OrderStore, PaymentGateway, PricingCacheConsumer, PricingTableStore, PricingTables,
    PricingTablesService, SimulatedCarrier,
};
use commerce_recommend::{
    CacheConfig, CacheInvalidator, CachedRecommendStore, MemoryRecommendStore, PurchaseRecorder,
    RecommendStore, Recommendations, SignalsIndexer,
};
use commerce_reviews::{
    MemoryReviewStore, OrderPurchases, PurchaseHistory, ReviewSettings, ReviewStore, Reviews,
};

/// What can go wrong assembling a [`Shop`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A port was not given (and [`ShopBuilder::with_memory_defaults`] was not
    /// asked for).
    #[error("the shop needs a {0} (or call with_memory_defaults)")]
    Missing(&'static str),
}

/// The shop: its stores, payment gateway, clock and configuration, and the services
/// built on them. Cheap to clone (everything is shared).
#[derive(Clone)]
pub struct Shop {
    catalog: Arc<dyn CatalogStore>,
    customers: Arc<dyn CustomerStore>,
    outbox: Arc<dyn Outbox>,
    inventory: Arc<dyn InventoryStore>,
    carts: Arc<dyn CartStore>,
    orders: Arc<dyn OrderStore>,
    payments: Arc<dyn PaymentGateway>,
    sessions: Arc<dyn SessionStore>,
    login_limits: Arc<dyn LoginRateLimiter>,
    clock: Arc<dyn Clock>,
    analytics: Arc<dyn AnalyticsStore>,
    credentials: Arc<dyn CredentialStore>,
    checkout: Checkout,
    accounts: Accounts,
    review_store: Arc<dyn ReviewStore>,
    reviews: Reviews,
    recommend_store: Arc<dyn RecommendStore>,
    recommend_cache: Option<Arc<CachedRecommendStore>>,
    recommendations: Recommendations,
    notification_preferences: Arc<dyn PreferenceStore>,
    delivery_log: Arc<dyn DeliveryLog>,
}

impl fmt::Debug for Shop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shop")
            .field("checkout", &self.checkout)
            .finish_non_exhaustive()
    }
}

/// The configuration of [`Shop::in_memory`]: US dollars, no tax, and two shipping
/// methods to the United States: `standard` (5.00 flat) and `pickup` (free).
pub fn default_config() -> CheckoutConfig {
    let us = CountryCode::new("US").ok().into_iter().collect::<Vec<_>>();
    let five = Money::from_minor(500, Currency::USD);
    CheckoutConfig::new(
        Currency::USD,
        TaxTable::default(),
        vec![
            ShippingMethod::flat_rate("standard", "Standard shipping", five, &us),
            ShippingMethod::flat_rate(
                "pickup",
                "Pick up in store",
                Money::zero(Currency::USD),
                &us,
            ),
        ],
    )
}

/// The warehouse the default carriers ship from: 1 Commerce Way, Springfield IL
/// 62701, United States.
pub fn default_warehouse() -> Address {
    let mut address = Address::new(
        "Commerce Warehouse",
        "1 Commerce Way",
        "Springfield",
        "62701",
        CountryCode::US,
    );
    address.region = Some("IL".to_owned());
    address
}

impl Shop {
    /// A shop held entirely in memory: the in-memory stores (sharing one outbox), the
    /// simulated payment gateway, the system clock and [`default_config`].
    /// Feature `simulated` (on by default).
    #[cfg(feature = "simulated")]
    pub fn in_memory() -> Shop {
        Shop::in_memory_with(default_config())
    }

    /// [`Shop::in_memory`] with another checkout configuration.
    #[cfg(feature = "simulated")]
    pub fn in_memory_with(config: CheckoutConfig) -> Shop {
        ShopBuilder::new(config)
            .with_memory_defaults()
            .assemble(Arc::new(commerce_orders::SimulatedGateway::new()))
    }

    /// A builder taking the stores one by one.
    pub fn builder(config: CheckoutConfig) -> ShopBuilder {
        ShopBuilder::new(config)
    }

    /// The account service: registration, login, password change and reset.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The shop with passwords hashed by `hasher` (commerce-http passes one that runs
    /// argon2id on tokio's blocking pool, off the reactor).
    #[must_use]
    pub fn with_password_hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Shop {
        self.accounts = self.accounts.with_hasher(hasher);
        self
    }

    /// Password hashes and reset tokens.
    pub fn credentials(&self) -> &Arc<dyn CredentialStore> {
        &self.credentials
    }

    /// The checkout service: placing orders, and what happens to them after.
    pub fn checkout(&self) -> &Checkout {
        &self.checkout
    }

    /// The catalog store.
    pub fn catalog(&self) -> &Arc<dyn CatalogStore> {
        &self.catalog
    }

    /// The customer store.
    pub fn customers(&self) -> &Arc<dyn CustomerStore> {
        &self.customers
    }

    /// The outbox every store writes its events to.
    pub fn outbox(&self) -> &Arc<dyn Outbox> {
        &self.outbox
    }

    /// The inventory store.
    pub fn inventory(&self) -> &Arc<dyn InventoryStore> {
        &self.inventory
    }

    /// The cart store.
    pub fn carts(&self) -> &Arc<dyn CartStore> {
        &self.carts
    }

    /// The order store.
    pub fn orders(&self) -> &Arc<dyn OrderStore> {
        &self.orders
    }

    /// The payment gateway.
    pub fn payments(&self) -> &Arc<dyn PaymentGateway> {
        &self.payments
    }

    /// Login sessions.
    pub fn sessions(&self) -> &Arc<dyn SessionStore> {
        &self.sessions
    }

    /// Login rate limits.
    pub fn login_limits(&self) -> &Arc<dyn LoginRateLimiter> {
        &self.login_limits
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The admin analytics reports, read from the rollups.
    pub fn analytics(&self) -> Analytics {
        Analytics::new(self.analytics.clone())
    }

    /// What each customer allows, per notification kind and channel, and their
    /// phone and device.
    pub fn notification_preferences(&self) -> &Arc<dyn PreferenceStore> {
        &self.notification_preferences
    }

    /// The dedupe records of notifications sent (one per event, channel and
    /// recipient).
    pub fn delivery_log(&self) -> &Arc<dyn DeliveryLog> {
        &self.delivery_log
    }

    /// The carriers checkout shops rates with and ships through (the three simulated
    /// carriers unless [`ShopBuilder::with_carriers`] chose others).
    pub fn carriers(&self) -> Option<&CarrierSet> {
        self.checkout.carriers()
    }

    /// The notification handler over this shop's orders, preferences and delivery
    /// log, sending mail through `email` from `from` (SMS and push to in-memory
    /// recorders until the handler is given providers). Drive it with
    /// `commerce_notify::outbox_runner` in process, or a RabbitMQ queue worker.
    #[cfg(feature = "notify")]
    pub fn notification_handler(
        &self,
        email: Arc<dyn commerce_notify::EmailTransport>,
        from: &str,
    ) -> commerce_notify::Result<commerce_notify::NotificationHandler> {
        Ok(commerce_notify::NotificationHandler::new(
            self.orders.clone(),
            self.notification_preferences.clone(),
            self.delivery_log.clone(),
            email,
            commerce_notify::Templates::new("commerce")?,
            from,
        )
        .with_clock(self.clock.clone()))
    }

    /// The outbox consumer that keeps the analytics rollups (drive it with
    /// [`commerce_core::run_once`] over [`Shop::outbox`]).
    pub fn analytics_consumer(&self) -> RollupConsumer {
        RollupConsumer::new(self.analytics.clone(), self.catalog.clone())
    }

    /// The review service: post, edit, delete, report, vote, moderate, lists and
    /// rating aggregates, with who is acting as an argument.
    pub fn reviews(&self) -> &Reviews {
        &self.reviews
    }

    /// The review store (reviews, votes, reports and exact aggregates).
    pub fn review_store(&self) -> &Arc<dyn ReviewStore> {
        &self.review_store
    }

    /// The recommendation lists (bought together, similar, popular now, for you),
    /// read from precomputed tables.
    pub fn recommendations(&self) -> &Recommendations {
        &self.recommendations
    }

    /// The precomputed recommendation tables.
    pub fn recommend_store(&self) -> &Arc<dyn RecommendStore> {
        &self.recommend_store
    }

    /// The outbox consumer that records confirmed orders into the co-purchase,
    /// popularity and per-customer tables (drive it with [`commerce_core::drain`]
    /// over [`Shop::outbox`]; idempotent per event).
    pub fn recommend_purchases_consumer(&self) -> PurchaseRecorder {
        PurchaseRecorder::new(
            self.orders.clone(),
            self.catalog.clone(),
            self.recommend_store.clone(),
        )
    }

    /// The in-process cache of the recommendation lists, when the builder asked for
    /// one ([`ShopBuilder::recommend_cache`]).
    pub fn recommend_cache(&self) -> Option<&Arc<CachedRecommendStore>> {
        self.recommend_cache.as_ref()
    }

    /// The outbox consumer that keeps this instance's recommendation cache true
    /// (its own consumer group, `recommend.cache.<instance>`: every instance sees
    /// every event), handling events from `since` on (when the cache started, minus
    /// the outbox lag). `None` without a cache.
    pub fn recommend_cache_consumer(
        &self,
        instance: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Option<CacheInvalidator> {
        self.recommend_cache.as_ref().map(|_| {
            CacheInvalidator::new(
                instance,
                since,
                self.recommend_purchases_consumer(),
                self.recommend_signals_consumer(),
            )
        })
    }

    /// The pricing tables (tax, shipping methods, promotions) checkout prices with,
    /// and the admin writes to them.
    pub fn pricing_tables(&self) -> &Arc<PricingTablesService> {
        self.checkout.pricing_tables()
    }

    /// Stores the configuration's pricing tables when the store holds none (until
    /// then they apply as version 0; the first admin change stores them too).
    /// Returns the stored tables.
    pub async fn seed_pricing_tables(&self) -> commerce_orders::Result<PricingTables> {
        self.pricing_tables().seed().await
    }

    /// The outbox consumer that drops this instance's cached pricing tables when
    /// another instance changes them (group `pricing.cache.<instance>`).
    pub fn pricing_cache_consumer(&self, instance: &str) -> PricingCacheConsumer {
        PricingCacheConsumer::new(instance, self.pricing_tables().clone())
    }

    /// The outbox consumer that keeps each product's recommendation signals (terms,
    /// categories, active, in stock at the default location) current.
    pub fn recommend_signals_consumer(&self) -> SignalsIndexer {
        SignalsIndexer::new(
            self.catalog.clone(),
            self.inventory.clone(),
            self.recommend_store.clone(),
            commerce_inventory::LocationCode::default_location(),
        )
    }
}

/// The gateway of memory defaults: the simulated one (feature `simulated`).
#[cfg(feature = "simulated")]
fn memory_gateway() -> Option<Arc<dyn PaymentGateway>> {
    Some(Arc::new(commerce_orders::SimulatedGateway::new()))
}

/// Without feature `simulated` there is no default gateway.
#[cfg(not(feature = "simulated"))]
fn memory_gateway() -> Option<Arc<dyn PaymentGateway>> {
    None
}

/// Builds a [`Shop`] from the ports given; see [`Shop::builder`].
///
/// Each setter replaces one port. [`ShopBuilder::build`] fails with
/// [`BuildError::Missing`] for a port not given, unless
/// [`ShopBuilder::with_memory_defaults`] asked for in-memory stores in their place.
#[must_use]
pub struct ShopBuilder {
    config: CheckoutConfig,
    memory_defaults: bool,
    catalog: Option<Arc<dyn CatalogStore>>,
    customers: Option<Arc<dyn CustomerStore>>,
    outbox: Option<Arc<dyn Outbox>>,
    inventory: Option<Arc<dyn InventoryStore>>,
    carts: Option<Arc<dyn CartStore>>,
    orders: Option<Arc<dyn OrderStore>>,
    checkout_store: Option<Arc<dyn CheckoutStore>>,
    payments: Option<Arc<dyn PaymentGateway>>,
    sessions: Option<Arc<dyn SessionStore>>,
    login_limits: Option<Arc<dyn LoginRateLimiter>>,
    credentials: Option<Arc<dyn CredentialStore>>,
    clock: Option<Arc<dyn Clock>>,
    analytics: Option<Arc<dyn AnalyticsStore>>,
    review_store: Option<Arc<dyn ReviewStore>>,
    purchase_history: Option<Arc<dyn PurchaseHistory>>,
    recommend_store: Option<Arc<dyn RecommendStore>>,
    recommend_cache: Option<CacheConfig>,
    review_settings: ReviewSettings,
    notification_preferences: Option<Arc<dyn PreferenceStore>>,
    delivery_log: Option<Arc<dyn DeliveryLog>>,
    carriers: Option<CarrierSet>,
    pricing_tables: Option<Arc<dyn PricingTableStore>>,
}

impl fmt::Debug for ShopBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopBuilder")
            .field("config", &self.config)
            .field("memory_defaults", &self.memory_defaults)
            .finish_non_exhaustive()
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $port:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, port: Arc<$port>) -> Self {
                self.$name = Some(port);
                self
            }
        )*
    };
}

impl ShopBuilder {
    /// A builder with `config` and no port yet.
    pub fn new(config: CheckoutConfig) -> Self {
        ShopBuilder {
            config,
            memory_defaults: false,
            catalog: None,
            customers: None,
            outbox: None,
            inventory: None,
            carts: None,
            orders: None,
            checkout_store: None,
            payments: None,
            sessions: None,
            login_limits: None,
            credentials: None,
            clock: None,
            analytics: None,
            review_store: None,
            purchase_history: None,
            recommend_store: None,
            recommend_cache: None,
            review_settings: ReviewSettings::default(),
            notification_preferences: None,
            delivery_log: None,
            carriers: None,
            pricing_tables: None,
        }
    }

    /// Keeps the recommendation lists in process memory in front of the
    /// recommendation store ([`CachedRecommendStore`]); run
    /// [`Shop::recommend_cache_consumer`] on every instance that has one.
    pub fn recommend_cache(mut self, config: CacheConfig) -> Self {
        self.recommend_cache = Some(config);
        self
    }

    /// Review settings (whether unverified reviews are taken, text limits); the
    /// default takes reviews of bought products only.
    pub fn review_settings(mut self, settings: ReviewSettings) -> Self {
        self.review_settings = settings;
        self
    }

    setters! {
        /// The catalog store.
        catalog: dyn CatalogStore;
        /// The customer store.
        customers: dyn CustomerStore;
        /// The outbox the stores write to (for consumers).
        outbox: dyn Outbox;
        /// The inventory store.
        inventory: dyn InventoryStore;
        /// The cart store.
        carts: dyn CartStore;
        /// The order store.
        orders: dyn OrderStore;
        /// A native checkout store over the same orders and stock (one transaction
        /// per checkout step); without it the order and inventory stores are used
        /// one call at a time.
        checkout_store: dyn CheckoutStore;
        /// The payment gateway.
        payments: dyn PaymentGateway;
        /// Login sessions.
        sessions: dyn SessionStore;
        /// Login rate limits.
        login_limits: dyn LoginRateLimiter;
        /// Password hashes and reset tokens.
        credentials: dyn CredentialStore;
        /// The clock (the system clock when not given).
        clock: dyn Clock;
        /// The analytics rollups (in memory when not given).
        analytics: dyn AnalyticsStore;
        /// Reviews and their aggregates (in memory when not given).
        review_store: dyn ReviewStore;
        /// Who bought what, for verified reviews (read from the order store when
        /// not given).
        purchase_history: dyn PurchaseHistory;
        /// The precomputed recommendation tables (in memory when not given).
        recommend_store: dyn RecommendStore;
        /// Notification preferences (in memory when not given).
        notification_preferences: dyn PreferenceStore;
        /// The notifications' dedupe records (in memory when not given).
        delivery_log: dyn DeliveryLog;
        /// The pricing tables admins change (in memory when not given). While it
        /// holds none, the configuration's tables apply and seed it.
        pricing_tables: dyn PricingTableStore;
    }

    /// Ships with `carriers` (rate shopping at checkout, labels, tracking) instead of
    /// the default: the simulated FedEx, UPS and DHL from [`default_warehouse`].
    pub fn with_carriers(mut self, carriers: CarrierSet) -> Self {
        self.carriers = Some(carriers);
        self
    }

    /// Every store of `stores` (catalog, customers, outbox, inventory, carts,
    /// orders, analytics, reviews, recommendations, pricing tables, and its native checkout
    /// store).
    #[cfg(feature = "postgres")]
    pub fn postgres(self, stores: &commerce_postgres::PgStores) -> Self {
        self.catalog(Arc::new(stores.catalog()))
            .customers(Arc::new(stores.customers()))
            .credentials(Arc::new(stores.credentials()))
            .outbox(Arc::new(stores.outbox()))
            .inventory(Arc::new(stores.inventory()))
            .carts(Arc::new(stores.carts()))
            .orders(Arc::new(stores.orders()))
            .checkout_store(Arc::new(stores.checkout()))
            .analytics(Arc::new(stores.analytics()))
            .review_store(Arc::new(stores.reviews()))
            .purchase_history(Arc::new(stores.purchase_history()))
            .recommend_store(Arc::new(stores.recommendations()))
            .notification_preferences(Arc::new(stores.notification_preferences()))
            .delivery_log(Arc::new(stores.deliveries()))
            .pricing_tables(Arc::new(stores.pricing_tables()))
    }

    /// Fills every port not given with its in-memory implementation (stores sharing
    /// one in-memory outbox, the simulated gateway with feature `simulated`; without
    /// it the gateway must be given). For tests, demos and the embedded default; a
    /// real shop gives its stores.
    pub fn with_memory_defaults(mut self) -> Self {
        self.memory_defaults = true;
        self
    }

    /// The shop. [`BuildError::Missing`] names the first port neither given nor
    /// defaulted.
    pub fn build(self) -> Result<Shop, BuildError> {
        if !self.memory_defaults {
            let missing = [
                ("catalog", self.catalog.is_none()),
                ("customer store", self.customers.is_none()),
                ("outbox", self.outbox.is_none()),
                ("inventory store", self.inventory.is_none()),
                ("cart store", self.carts.is_none()),
                ("order store", self.orders.is_none()),
                ("payment gateway", self.payments.is_none()),
                ("session store", self.sessions.is_none()),
                ("login rate limiter", self.login_limits.is_none()),
                ("credential store", self.credentials.is_none()),
            ];
            if let Some((name, _)) = missing.iter().find(|(_, m)| *m) {
                return Err(BuildError::Missing(name));
            }
        }
        let payments = match &self.payments {
            Some(given) => given.clone(),
            None => memory_gateway().ok_or(BuildError::Missing("payment gateway"))?,
        };
        Ok(self.with_memory_defaults().assemble(payments))
    }

    /// Assembles the shop on `payments` (the gateway given, or the default), filling
    /// missing stores with memory stores.
    fn assemble(self, payments: Arc<dyn PaymentGateway>) -> Shop {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let memory_outbox = Arc::new(MemoryOutbox::with_clock(clock.clone()));
        let outbox = self
            .outbox
            .unwrap_or_else(|| memory_outbox.clone() as Arc<dyn Outbox>);
        let catalog = self.catalog.unwrap_or_else(|| {
            Arc::new(MemoryCatalog::with_clock(
                memory_outbox.clone(),
                clock.clone(),
            ))
        });
        let customers = self
            .customers
            .unwrap_or_else(|| Arc::new(MemoryCustomers::new()));
        let inventory = self
            .inventory
            .unwrap_or_else(|| Arc::new(MemoryInventory::new(memory_outbox.clone())));
        let carts = self
            .carts
            .unwrap_or_else(|| Arc::new(MemoryCartStore::new().with_outbox(memory_outbox.clone())));
        let orders = self
            .orders
            .unwrap_or_else(|| Arc::new(MemoryOrderStore::new(memory_outbox.clone())));
        let sessions = self
            .sessions
            .unwrap_or_else(|| Arc::new(MemorySessionStore::new()));
        let login_limits = self
            .login_limits
            .unwrap_or_else(|| Arc::new(MemoryRateLimiter::new()));
        let credentials = self
            .credentials
            .unwrap_or_else(|| Arc::new(MemoryCredentials::new()));
        let accounts = Accounts::new(customers.clone(), credentials.clone());
        let pricing_store = self
            .pricing_tables
            .unwrap_or_else(|| Arc::new(MemoryPricingTableStore::new(memory_outbox.clone())));
        let pricing = Arc::new(PricingTablesService::new(
            pricing_store,
            clock.clone(),
            &self.config,
        ));
        let mut checkout = Checkout::new(
            carts.clone(),
            catalog.clone(),
            inventory.clone(),
            orders.clone(),
            payments.clone(),
            clock.clone(),
            self.config,
        )
        .with_pricing_tables(pricing);
        let analytics = self
            .analytics
            .unwrap_or_else(|| Arc::new(MemoryAnalyticsStore::new()));
        if let Some(store) = self.checkout_store {
            checkout = checkout.with_checkout_store(store);
        }
        let review_store = self
            .review_store
            .unwrap_or_else(|| Arc::new(MemoryReviewStore::new(memory_outbox.clone())));
        let purchase_history = self
            .purchase_history
            .unwrap_or_else(|| Arc::new(OrderPurchases::new(orders.clone())));
        let reviews = Reviews::new(
            review_store.clone(),
            purchase_history,
            catalog.clone(),
            clock.clone(),
            self.review_settings,
        );
        let mut recommend_store = self
            .recommend_store
            .unwrap_or_else(|| Arc::new(MemoryRecommendStore::new()));
        let recommend_cache = self
            .recommend_cache
            .map(|config| Arc::new(CachedRecommendStore::new(recommend_store.clone(), config)));
        if let Some(cache) = &recommend_cache {
            recommend_store = cache.clone();
        }
        let recommendations = Recommendations::new(recommend_store.clone());
        let carriers = self.carriers.unwrap_or_else(|| {
            CarrierSet::new(SimulatedCarrier::all(0, clock.clone()), default_warehouse())
        });
        checkout = checkout.with_carriers(carriers);
        let notification_preferences = self
            .notification_preferences
            .unwrap_or_else(|| Arc::new(MemoryPreferenceStore::new()));
        let delivery_log = self
            .delivery_log
            .unwrap_or_else(|| Arc::new(MemoryDeliveryLog::new()));
        Shop {
            catalog,
            customers,
            outbox,
            inventory,
            carts,
            orders,
            payments,
            sessions,
            login_limits,
            clock,
            analytics,
            credentials,
            checkout,
            accounts,
            review_store,
            reviews,
            recommend_store,
            recommend_cache,
            recommendations,
            notification_preferences,
            delivery_log,
        }
    }
}
