//! The cart conformance suite against the in-memory store.

// Helpers outside `#[test]` functions unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Duration;
use commerce_cart::MemoryCartStore;
use commerce_cart::testkit::CartFixture;

/// A fresh store with a one-hour TTL (not the default, so the suite also checks that
/// the TTL is configurable).
async fn fixture() -> CartFixture {
    let ttl = Duration::hours(1);
    CartFixture {
        store: Arc::new(MemoryCartStore::new().with_ttl(ttl)),
        ttl,
    }
}

commerce_cart::cart_store_conformance!(fixture);

/// The default TTL store runs the expiry checks too.
mod default_ttl {
    use super::*;

    async fn fixture() -> CartFixture {
        CartFixture {
            store: Arc::new(MemoryCartStore::new()),
            ttl: commerce_cart::DEFAULT_CART_TTL,
        }
    }

    #[tokio::test]
    async fn expired_cart_reads_as_none_and_restarts_empty() {
        commerce_cart::testkit::expired_cart_reads_as_none_and_restarts_empty(fixture().await)
            .await;
    }

    #[tokio::test]
    async fn every_change_refreshes_the_expiry() {
        commerce_cart::testkit::every_change_refreshes_the_expiry(fixture().await).await;
    }
}
