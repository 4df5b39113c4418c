//! The ReviewStore conformance suite against the in-memory store.
#![allow(clippy::unwrap_used, unreachable_pub)]

use std::sync::Arc;

use commerce_core::memory::MemoryOutbox;
use commerce_reviews::MemoryReviewStore;
use commerce_reviews::testkit::ReviewFixture;

async fn memory_fixture() -> ReviewFixture {
    let outbox = Arc::new(MemoryOutbox::new());
    ReviewFixture {
        store: Arc::new(MemoryReviewStore::new(outbox.clone())),
        outbox,
    }
}

commerce_reviews::review_store_conformance!(memory_fixture);

async fn purchase_fixture() -> commerce_reviews::testkit::PurchaseFixture {
    let orders = Arc::new(commerce_orders::MemoryOrderStore::new(Arc::new(
        MemoryOutbox::new(),
    )));
    commerce_reviews::testkit::PurchaseFixture {
        history: Arc::new(commerce_reviews::OrderPurchases::new(orders.clone())),
        orders,
    }
}

commerce_reviews::purchase_history_conformance!(purchase_fixture);
