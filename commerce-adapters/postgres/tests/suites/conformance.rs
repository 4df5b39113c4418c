//! Every conformance suite of the domain crates, run against PostgreSQL. Each test
//! gets a fresh database (see `support`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use crate::support;

use std::sync::Arc;

use commerce_cart::testkit::CartFixture;
use commerce_core::testkit::catalog::CatalogFixture;
use commerce_core::testkit::credentials::CredentialFixture;
use commerce_core::testkit::customers::CustomerFixture;
use commerce_core::testkit::outbox::OutboxFixture;
use commerce_inventory::testkit::InventoryFixture;

async fn catalog_fixture() -> CatalogFixture {
    let stores = support::fresh_stores().await;
    CatalogFixture {
        store: Arc::new(stores.catalog()),
        outbox: Arc::new(stores.outbox()),
    }
}

async fn customer_fixture() -> CustomerFixture {
    let stores = support::fresh_stores().await;
    CustomerFixture {
        store: Arc::new(stores.customers()),
    }
}

async fn credential_fixture() -> CredentialFixture {
    let stores = support::fresh_stores().await;
    CredentialFixture {
        store: Arc::new(stores.credentials()),
    }
}

async fn outbox_fixture() -> OutboxFixture {
    let stores = support::fresh_stores().await;
    OutboxFixture {
        outbox: Arc::new(stores.outbox()),
    }
}

async fn inventory_fixture() -> InventoryFixture {
    let stores = support::fresh_stores().await;
    InventoryFixture {
        store: Arc::new(stores.inventory()),
        outbox: Arc::new(stores.outbox()),
    }
}

async fn cart_fixture() -> CartFixture {
    let stores = support::fresh_stores().await;
    CartFixture {
        ttl: commerce_cart::DEFAULT_CART_TTL,
        store: Arc::new(stores.carts()),
    }
}

commerce_core::catalog_store_conformance!(catalog_fixture);
commerce_core::customer_store_conformance!(customer_fixture);
commerce_core::credential_store_conformance!(credential_fixture);
commerce_core::outbox_conformance!(outbox_fixture);

mod inventory {
    use super::*;
    commerce_inventory::inventory_store_conformance!(inventory_fixture);
}

/// The same suite with reservation batching off: every `reserve` is its own call.
mod inventory_unbatched {
    use super::*;

    async fn unbatched_fixture() -> InventoryFixture {
        let stores = support::fresh_stores().await.with_reserve_batching(
            commerce_postgres::ReserveBatching {
                max_batch: 1,
                in_flight: 1,
            },
        );
        InventoryFixture {
            store: Arc::new(stores.inventory()),
            outbox: Arc::new(stores.outbox()),
        }
    }

    commerce_inventory::inventory_store_conformance!(unbatched_fixture);
}

mod carts {
    use super::*;
    commerce_cart::cart_store_conformance!(cart_fixture);
}

mod orders {
    use super::*;
    use commerce_core::ManualClock;
    use commerce_orders::SeparateStores;
    use commerce_orders::simulated::SimulatedGateway;
    use commerce_orders::testkit::{
        CheckoutFixture, CheckoutStoreFixture, OrderStoreFixture, start_time,
    };

    async fn order_store_fixture() -> OrderStoreFixture {
        let stores = support::fresh_stores().await;
        OrderStoreFixture {
            store: Arc::new(stores.orders()),
            outbox: Arc::new(stores.outbox()),
        }
    }

    /// Every store of the checkout on PostgreSQL (the gateway is simulated), sharing
    /// the fixture's manual clock; `native` adds `PgCheckoutStore` (else the checkout
    /// runs on `SeparateStores` over the PostgreSQL order store and inventory).
    async fn shop(native: bool) -> CheckoutFixture {
        let clock = Arc::new(ManualClock::new(start_time()));
        let stores = support::fresh_stores().await.with_clock(clock.clone());
        let checkout_store: Option<Arc<dyn commerce_orders::CheckoutStore>> =
            native.then(|| Arc::new(stores.checkout()) as _);
        CheckoutFixture {
            carts: Arc::new(stores.carts()),
            catalog: Arc::new(stores.catalog()),
            inventory: Arc::new(stores.inventory()),
            orders: Arc::new(stores.orders()),
            checkout_store,
            outbox: Arc::new(stores.outbox()),
            gateway: Arc::new(SimulatedGateway::with_clock(clock.clone())),
            clock,
        }
    }

    async fn checkout_fixture() -> CheckoutFixture {
        shop(true).await
    }

    async fn separate_checkout_fixture() -> CheckoutFixture {
        shop(false).await
    }

    async fn checkout_store_fixture() -> CheckoutStoreFixture {
        let stores = support::fresh_stores().await;
        CheckoutStoreFixture {
            store: Arc::new(stores.checkout()),
            orders: Arc::new(stores.orders()),
            inventory: Arc::new(stores.inventory()),
            outbox: Arc::new(stores.outbox()),
        }
    }

    /// `PgCheckoutStore` with batching off: every step its own statement.
    async fn unbatched_checkout_store_fixture() -> CheckoutStoreFixture {
        let stores = support::fresh_stores().await.with_reserve_batching(
            commerce_postgres::ReserveBatching {
                max_batch: 1,
                in_flight: 1,
            },
        );
        CheckoutStoreFixture {
            store: Arc::new(stores.checkout()),
            orders: Arc::new(stores.orders()),
            inventory: Arc::new(stores.inventory()),
            outbox: Arc::new(stores.outbox()),
        }
    }

    async fn separate_stores_fixture() -> CheckoutStoreFixture {
        let stores = support::fresh_stores().await;
        let orders: Arc<dyn commerce_orders::OrderStore> = Arc::new(stores.orders());
        let inventory: Arc<dyn commerce_inventory::InventoryStore> = Arc::new(stores.inventory());
        CheckoutStoreFixture {
            store: Arc::new(SeparateStores::new(orders.clone(), inventory.clone())),
            orders,
            inventory,
            outbox: Arc::new(stores.outbox()),
        }
    }

    commerce_orders::order_store_conformance!(order_store_fixture);

    /// `PgCheckoutStore`: each step one transaction, concurrent steps batched.
    mod checkout_store {
        use super::*;
        commerce_orders::checkout_store_conformance!(checkout_store_fixture);
    }

    /// `PgCheckoutStore` with batching off.
    mod checkout_store_unbatched {
        use super::*;
        commerce_orders::checkout_store_conformance!(unbatched_checkout_store_fixture);
    }

    /// `SeparateStores` over the PostgreSQL order store and inventory.
    mod separate_stores {
        use super::*;
        commerce_orders::checkout_store_conformance!(separate_stores_fixture);
    }

    /// Whole checkouts with `PgCheckoutStore`.
    mod checkout {
        use super::*;
        commerce_orders::checkout_conformance!(checkout_fixture);
    }

    /// Whole checkouts on `SeparateStores` (what `Checkout::new` alone gives).
    mod checkout_separate {
        use super::*;
        commerce_orders::checkout_conformance!(separate_checkout_fixture);
    }
}

async fn analytics_fixture() -> commerce_analytics::testkit::AnalyticsFixture {
    let stores = support::fresh_stores().await;
    commerce_analytics::testkit::AnalyticsFixture {
        store: Arc::new(stores.analytics()),
    }
}

commerce_analytics::analytics_store_conformance!(analytics_fixture);

/// The pricing tables: each check on a fresh database (one document per shop).
mod pricing_tables {
    use super::*;
    use commerce_orders::testkit::PricingTablesFixture;

    async fn fixture() -> PricingTablesFixture {
        let stores = support::fresh_stores().await;
        PricingTablesFixture {
            store: Arc::new(stores.pricing_tables()),
            outbox: Arc::new(stores.outbox()),
        }
    }

    commerce_orders::pricing_tables_conformance!(fixture);
}

mod notify_preference_store {
    use super::*;
    use commerce_orders::notification::PreferenceStore;

    async fn store() -> Arc<dyn PreferenceStore> {
        Arc::new(support::fresh_stores().await.notification_preferences())
    }

    commerce_orders::preference_store_conformance!(store);
}

mod notify_delivery_log {
    use super::*;
    use commerce_orders::notification::DeliveryLog;

    async fn log() -> Arc<dyn DeliveryLog> {
        Arc::new(support::fresh_stores().await.deliveries())
    }

    commerce_orders::delivery_log_conformance!(log);
}
