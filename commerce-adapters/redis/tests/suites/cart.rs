//! `RedisCartStore` against a real Redis: the cart conformance suite (atomic and
//! staged merges), concurrency with real tasks, interrupted merges and the key layout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use commerce_cart::testkit::CartFixture;
use commerce_cart::{CartKey, CartLimits, CartStore, GuestCartToken};
use commerce_core::{CustomerId, Sku};
use commerce_redis::{KeyPrefix, MergeMode, RedisCartStore};

const TTL: Duration = Duration::hours(1);

/// A store with a random prefix. On a cluster every merge is staged (an atomic merge
/// would touch two slots in one script).
async fn store(mode: MergeMode) -> (RedisCartStore, KeyPrefix) {
    let mode = if common::CLUSTER {
        MergeMode::Staged
    } else {
        mode
    };
    let prefix = common::prefix();
    let store = RedisCartStore::new(common::connection().await, prefix.clone())
        .with_ttl(TTL)
        .with_merge_mode(mode);
    (store, prefix)
}

/// A fresh store (random prefix) with a one-hour TTL and atomic merges.
async fn fixture() -> CartFixture {
    CartFixture {
        store: Arc::new(store(MergeMode::Atomic).await.0),
        ttl: TTL,
    }
}

commerce_cart::cart_store_conformance!(fixture);

/// The whole suite again with the merge a Redis Cluster uses (three single-slot
/// scripts), run on the single node.
mod staged_merge {
    use super::*;

    async fn fixture() -> CartFixture {
        CartFixture {
            store: Arc::new(store(MergeMode::Staged).await.0),
            ttl: TTL,
        }
    }

    commerce_cart::cart_store_conformance!(fixture);
}

/// The expiry checks with the default 30-day TTL. Their carts get expiries months
/// ahead, so they delete their keys afterwards.
mod default_ttl {
    use super::*;

    async fn fixture() -> (CartFixture, KeyPrefix) {
        let prefix = common::prefix();
        let store = RedisCartStore::new(common::connection().await, prefix.clone());
        assert_eq!(store.ttl(), commerce_cart::DEFAULT_CART_TTL);
        let fixture = CartFixture {
            store: Arc::new(store),
            ttl: commerce_cart::DEFAULT_CART_TTL,
        };
        (fixture, prefix)
    }

    async fn clean_up(prefix: &KeyPrefix) {
        let conn = common::connection().await;
        for key in common::keys_under(&conn, prefix).await {
            let _: i64 = redis::cmd("DEL")
                .arg(key)
                .query_async(&mut conn.clone())
                .await
                .unwrap();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn expired_cart_reads_as_none_and_restarts_empty() {
        let (fixture, prefix) = fixture().await;
        commerce_cart::testkit::expired_cart_reads_as_none_and_restarts_empty(fixture).await;
        clean_up(&prefix).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn every_change_refreshes_the_expiry() {
        let (fixture, prefix) = fixture().await;
        commerce_cart::testkit::every_change_refreshes_the_expiry(fixture).await;
        clean_up(&prefix).await;
    }
}

fn sku(s: &str) -> Sku {
    Sku::new(s).unwrap()
}

/// Defect 8: 50 tokio tasks (on 4 worker threads) adding to one line at once leave
/// exactly 50 units, and 50 tasks adding 2 each to another line leave 100 under a
/// high limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn defect_8_fifty_concurrent_tasks_adding_to_one_cart_leave_the_exact_quantity() {
    let (store, _) = store(MergeMode::Atomic).await;
    let store = Arc::new(store);
    let key = CartKey::Customer(CustomerId::new());
    let limits = CartLimits::new(100, 1_000);
    let tasks: Vec<_> = (0..50)
        .flat_map(|_| {
            let a = {
                let store = store.clone();
                tokio::spawn(async move { store.add(&key, &sku("A"), 1, limits, Utc::now()).await })
            };
            let b = {
                let store = store.clone();
                tokio::spawn(async move { store.add(&key, &sku("B"), 2, limits, Utc::now()).await })
            };
            [a, b]
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let cart = store.cart(&key).await.unwrap().unwrap();
    assert_eq!(cart.quantity_of(&sku("A")), 50);
    assert_eq!(cart.quantity_of(&sku("B")), 100);
}

/// One hash per cart, named with the cart key as hash tag, expiring TTL after the
/// last change; nothing else is written for a cart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cart_is_one_hash_expiring_ttl_after_its_last_change() {
    let (store, prefix) = store(MergeMode::Atomic).await;
    let conn = common::connection().await;
    let key = CartKey::guest(&GuestCartToken::generate().expect("random guest token"));
    store
        .add(&key, &sku("A"), 2, CartLimits::default(), Utc::now())
        .await
        .unwrap();
    let keys = common::keys_under(&conn, &prefix).await;
    assert_eq!(keys, vec![format!("{prefix}:cart:{{{key}}}")]);
    let ttl = common::pttl(&conn, &keys[0]).await;
    assert!(
        ttl > TTL.num_milliseconds() - 60_000 && ttl <= TTL.num_milliseconds(),
        "pttl {ttl}"
    );
    let kind: String = redis::cmd("TYPE")
        .arg(&keys[0])
        .query_async(&mut conn.clone())
        .await
        .unwrap();
    assert_eq!(kind, "hash");
}

/// A staged merge interrupted after moving the guest cart aside is finished by the
/// next merge; one interrupted after applying is not applied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interrupted_staged_merges_lose_no_line_and_count_none_twice() {
    let (store, prefix) = store(MergeMode::Staged).await;
    let conn = common::connection().await;
    let mut c = conn.clone();
    let limits = CartLimits::default();
    let guest = CartKey::guest(&GuestCartToken::generate().expect("random guest token"));
    let customer = CartKey::Customer(CustomerId::new());
    let now = Utc::now();
    store.add(&guest, &sku("A"), 2, limits, now).await.unwrap();
    store
        .add(&customer, &sku("A"), 1, limits, now)
        .await
        .unwrap();

    // Crash after step 1: the guest cart was moved aside, nothing applied yet.
    let guest_key = format!("{prefix}:cart:{{{guest}}}");
    let staging = format!("{guest_key}:merging");
    let () = redis::cmd("RENAME")
        .arg(&guest_key)
        .arg(&staging)
        .query_async(&mut c)
        .await
        .unwrap();
    let () = redis::cmd("HSET")
        .arg(&staging)
        .arg(":into")
        .arg(customer.to_string())
        .arg(":id")
        .arg("crashed-merge")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(store.cart(&guest).await.unwrap(), None);
    let outcome = store.merge(&guest, &customer, limits, now).await.unwrap();
    assert_eq!(
        outcome.cart.quantity_of(&sku("A")),
        3,
        "resumed merge applied"
    );
    assert!(
        common::keys_under(&conn, &prefix)
            .await
            .iter()
            .all(|k| k != &staging)
    );

    // Crash after step 2: applied, but the staged copy is still there.
    let () = redis::cmd("HSET")
        .arg(&staging)
        .arg(":l")
        .arg(";A=2")
        .arg(":into")
        .arg(customer.to_string())
        .arg(":id")
        .arg("crashed-merge")
        .query_async(&mut c)
        .await
        .unwrap();
    let outcome = store.merge(&guest, &customer, limits, now).await.unwrap();
    assert_eq!(outcome.cart.quantity_of(&sku("A")), 3, "not applied twice");
    assert_eq!(
        store
            .cart(&customer)
            .await
            .unwrap()
            .unwrap()
            .quantity_of(&sku("A")),
        3
    );
    assert!(
        common::keys_under(&conn, &prefix)
            .await
            .iter()
            .all(|k| k != &staging)
    );
}

/// A pending merge into another customer is finished into that customer first; the
/// caller's customer keeps its own cart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pending_merge_into_another_customer_is_finished_there() {
    let (store, prefix) = store(MergeMode::Staged).await;
    let mut c = common::connection().await;
    let limits = CartLimits::default();
    let guest = CartKey::guest(&GuestCartToken::generate().expect("random guest token"));
    let first = CartKey::Customer(CustomerId::new());
    let second = CartKey::Customer(CustomerId::new());
    let now = Utc::now();
    store.add(&guest, &sku("A"), 2, limits, now).await.unwrap();
    store.add(&second, &sku("B"), 1, limits, now).await.unwrap();
    let guest_key = format!("{prefix}:cart:{{{guest}}}");
    let staging = format!("{guest_key}:merging");
    let () = redis::cmd("RENAME")
        .arg(&guest_key)
        .arg(&staging)
        .query_async(&mut c)
        .await
        .unwrap();
    let () = redis::cmd("HSET")
        .arg(&staging)
        .arg(":into")
        .arg(first.to_string())
        .arg(":id")
        .arg("pending")
        .query_async(&mut c)
        .await
        .unwrap();
    let outcome = store.merge(&guest, &second, limits, now).await.unwrap();
    assert_eq!(outcome.cart.quantity_of(&sku("A")), 0);
    assert_eq!(outcome.cart.quantity_of(&sku("B")), 1);
    let first_cart = store.cart(&first).await.unwrap().unwrap();
    assert_eq!(first_cart.quantity_of(&sku("A")), 2);
}
