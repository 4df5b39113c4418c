//! The in-memory stores of `commerce-core` run the conformance suites every backend
//! runs.

use std::sync::Arc;

use commerce_core::memory::{
    MemoryCatalog, MemoryCredentials, MemoryCustomers, MemoryOutbox, MemoryRateLimiter,
    MemorySearch, MemorySessionStore,
};
use commerce_core::testkit::auth::{RateLimiterFixture, SessionFixture};
use commerce_core::testkit::catalog::CatalogFixture;
use commerce_core::testkit::credentials::CredentialFixture;
use commerce_core::testkit::customers::CustomerFixture;
use commerce_core::testkit::outbox::OutboxFixture;
use commerce_core::testkit::search::SearchFixture;

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

async fn sessions() -> SessionFixture {
    SessionFixture::new(Arc::new(MemorySessionStore::new()))
}

async fn limiter() -> RateLimiterFixture {
    RateLimiterFixture::new(Arc::new(MemoryRateLimiter::new()))
}

async fn search() -> SearchFixture {
    SearchFixture {
        search: Arc::new(MemorySearch::new()),
        capabilities: MemorySearch::capabilities(),
    }
}

commerce_core::catalog_store_conformance!(catalog);
commerce_core::product_search_conformance!(search);
commerce_core::session_store_conformance!(sessions);
commerce_core::rate_limiter_conformance!(limiter);
commerce_core::customer_store_conformance!(customers);
commerce_core::outbox_conformance!(outbox);

async fn credentials() -> CredentialFixture {
    CredentialFixture {
        store: Arc::new(MemoryCredentials::new()),
    }
}

commerce_core::credential_store_conformance!(credentials);
