//! The in-memory stores of `commerce-core` run the conformance suites every backend
//! runs.

use std::sync::Arc;

use commerce_core::memory::{MemoryCatalog, MemoryCustomers, MemoryOutbox};
use commerce_core::testkit::catalog::CatalogFixture;
use commerce_core::testkit::customers::CustomerFixture;
use commerce_core::testkit::outbox::OutboxFixture;

async fn catalog() -> CatalogFixture {
    let outbox = Arc::new(MemoryOutbox::new());
    CatalogFixture {
        store: Arc::new(MemoryCatalog::new(Arc::clone(&outbox))),
        outbox,
    }
}

async fn customers() -> CustomerFixture {
    CustomerFixture {
        store: Arc::new(MemoryCustomers::new()),
    }
}

async fn outbox() -> OutboxFixture {
    OutboxFixture {
        outbox: Arc::new(MemoryOutbox::new()),
    }
}

commerce_core::catalog_store_conformance!(catalog);
commerce_core::customer_store_conformance!(customers);
commerce_core::outbox_conformance!(outbox);
