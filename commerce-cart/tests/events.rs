//! `cart.created`: written by the in-memory store (given an outbox) in the same
//! critical section as the change that gives a cart its first line.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use std::sync::Arc;

use commerce_cart::{CartKey, CartLimits, CartStore, MemoryCartStore};
use commerce_core::CustomerId;
use commerce_core::memory::MemoryOutbox;
use commerce_core::testkit::fixtures::{fixed_time, sku};

#[tokio::test]
async fn analytics_cart_created_once_per_cart_that_gets_its_first_line() {
    let outbox = Arc::new(MemoryOutbox::new());
    let carts = MemoryCartStore::new().with_outbox(outbox.clone());
    let key = CartKey::Customer(CustomerId::new());
    let now = fixed_time();
    let limits = CartLimits::default();
    carts.add(&key, &sku("A"), 1, limits, now).await.unwrap();
    carts.add(&key, &sku("B"), 2, limits, now).await.unwrap();
    carts.add(&key, &sku("A"), 1, limits, now).await.unwrap();
    assert_eq!(outbox.events_with_topic("cart.created").len(), 1);
    // A failed change writes nothing.
    let too_many = CartLimits::new(limits.max_lines, 1);
    let other = CartKey::Customer(CustomerId::new());
    assert!(
        carts
            .add(&other, &sku("A"), 5, too_many, now)
            .await
            .is_err()
    );
    assert_eq!(outbox.events_with_topic("cart.created").len(), 1);
    // Emptied and filled again: a new cart.
    carts.clear(&key).await.unwrap();
    carts.add(&key, &sku("C"), 1, limits, now).await.unwrap();
    let created = outbox.events_with_topic("cart.created");
    assert_eq!(created.len(), 2);
    assert_eq!(created[1].aggregate_id, key.to_string());
    assert_eq!(created[1].occurred_at, now);
}
