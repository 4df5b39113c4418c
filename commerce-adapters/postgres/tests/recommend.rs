//! The RecommendStore conformance suite against PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod support;

use std::sync::Arc;

use commerce_recommend::testkit::RecommendFixture;

async fn recommend_fixture() -> RecommendFixture {
    let stores = support::fresh_stores().await;
    RecommendFixture {
        store: Arc::new(stores.recommendations()),
    }
}

commerce_recommend::recommend_store_conformance!(recommend_fixture);
