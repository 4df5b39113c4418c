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

/// The memory outbox with every method but `join` passed through, so that the
/// trait's default `join` (claim one, give the lease back), which an integrator's
/// backend gets unless it overrides it, runs the suite too.
mod default_join {
    use std::time::Duration;

    use async_trait::async_trait;
    use commerce_core::EventEnvelope;
    use commerce_core::ports::{Claimed, LeaseId, Outbox, OutboxLag, OutboxPruned};

    use super::*;

    struct DefaultJoin(MemoryOutbox);

    #[async_trait]
    impl Outbox for DefaultJoin {
        async fn append(&self, events: &[EventEnvelope]) -> commerce_core::Result<()> {
            self.0.append(events).await
        }
        async fn claim_leased(
            &self,
            consumer: &str,
            limit: u32,
            lease: Duration,
        ) -> commerce_core::Result<Claimed> {
            self.0.claim_leased(consumer, limit, lease).await
        }
        async fn release(&self, consumer: &str, lease: LeaseId) -> commerce_core::Result<bool> {
            self.0.release(consumer, lease).await
        }
        async fn extend(
            &self,
            consumer: &str,
            lease: LeaseId,
            by: Duration,
        ) -> commerce_core::Result<bool> {
            self.0.extend(consumer, lease, by).await
        }
        async fn ack(&self, consumer: &str, seq: u64) -> commerce_core::Result<()> {
            self.0.ack(consumer, seq).await
        }
        async fn lag(&self, consumer: &str) -> commerce_core::Result<OutboxLag> {
            self.0.lag(consumer).await
        }
        async fn prune(
            &self,
            group_retention: Duration,
            limit: u32,
        ) -> commerce_core::Result<OutboxPruned> {
            self.0.prune(group_retention, limit).await
        }
    }

    async fn outbox() -> OutboxFixture {
        OutboxFixture {
            outbox: Arc::new(DefaultJoin(MemoryOutbox::new())),
        }
    }

    commerce_core::outbox_conformance!(outbox);
}
