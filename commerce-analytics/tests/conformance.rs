//! The AnalyticsStore conformance suite against the memory store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use std::sync::Arc;

use commerce_analytics::MemoryAnalyticsStore;
use commerce_analytics::testkit::AnalyticsFixture;

async fn memory() -> AnalyticsFixture {
    AnalyticsFixture {
        store: Arc::new(MemoryAnalyticsStore::new()),
    }
}

commerce_analytics::analytics_store_conformance!(memory);
