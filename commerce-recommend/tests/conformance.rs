//! The RecommendStore conformance suite against the in-memory store.
#![allow(unreachable_pub)]

use std::sync::Arc;

use commerce_recommend::MemoryRecommendStore;
use commerce_recommend::testkit::RecommendFixture;

async fn memory_fixture() -> RecommendFixture {
    RecommendFixture {
        store: Arc::new(MemoryRecommendStore::new()),
    }
}

commerce_recommend::recommend_store_conformance!(memory_fixture);
