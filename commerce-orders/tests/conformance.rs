//! The conformance suites against the in-memory stores and the simulated gateway.

// Test code: helpers outside `#[test]` functions unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use commerce_core::memory::MemoryOutbox;
use commerce_orders::MemoryOrderStore;
use commerce_orders::testkit::{
    CheckoutFixture, CheckoutStoreFixture, OrderStoreFixture, PaymentGatewayFixture,
};

async fn order_store() -> OrderStoreFixture {
    let outbox = Arc::new(MemoryOutbox::new());
    OrderStoreFixture {
        store: Arc::new(MemoryOrderStore::new(outbox.clone())),
        outbox,
    }
}

commerce_orders::order_store_conformance!(order_store);

mod payment_gateway {
    use super::*;

    async fn gateway() -> PaymentGatewayFixture {
        PaymentGatewayFixture::simulated()
    }

    commerce_orders::payment_gateway_conformance!(gateway);
}

mod checkout {
    use super::*;

    async fn shop() -> CheckoutFixture {
        CheckoutFixture::in_memory()
    }

    commerce_orders::checkout_conformance!(shop);
}

/// The checkout steps on `SeparateStores` over the in-memory order store and
/// inventory (what `Checkout::new` uses).
mod checkout_store {
    use super::*;

    async fn separate_stores() -> CheckoutStoreFixture {
        CheckoutStoreFixture::in_memory()
    }

    commerce_orders::checkout_store_conformance!(separate_stores);
}

/// The pricing tables in memory.
mod pricing_tables {
    use commerce_orders::testkit::PricingTablesFixture;

    async fn fixture() -> PricingTablesFixture {
        PricingTablesFixture::in_memory()
    }

    commerce_orders::pricing_tables_conformance!(fixture);
}

mod notify_preference_store {
    use std::sync::Arc;

    use commerce_orders::notification::{MemoryPreferenceStore, PreferenceStore};

    async fn store() -> Arc<dyn PreferenceStore> {
        Arc::new(MemoryPreferenceStore::new())
    }

    commerce_orders::preference_store_conformance!(store);
}

mod notify_delivery_log {
    use std::sync::Arc;

    use commerce_orders::notification::{DeliveryLog, MemoryDeliveryLog};

    async fn log() -> Arc<dyn DeliveryLog> {
        Arc::new(MemoryDeliveryLog::new())
    }

    commerce_orders::delivery_log_conformance!(log);
}
