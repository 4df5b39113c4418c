//! `RedisSessionStore` and `RedisRateLimiter` against a real Redis: the core auth
//! conformance suites, and what the store keeps.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;

use chrono::{Duration, Utc};
use commerce_core::CustomerId;
use commerce_core::auth::{RateLimit, SessionStore};
use commerce_core::testkit::auth::{RateLimiterFixture, SessionFixture};
use commerce_redis::{RedisRateLimiter, RedisSessionStore};

async fn sessions() -> SessionFixture {
    SessionFixture::new(Arc::new(RedisSessionStore::new(
        common::connection().await,
        common::prefix(),
    )))
}

async fn limiter() -> RateLimiterFixture {
    RateLimiterFixture::new(Arc::new(RedisRateLimiter::new(
        common::connection().await,
        common::prefix(),
    )))
}

commerce_core::session_store_conformance!(sessions);
commerce_core::rate_limiter_conformance!(limiter);

/// Redis holds the digest of a token, never the token: neither key names nor values
/// contain it, and every key expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_store_keeps_no_usable_token_and_every_key_expires() {
    let conn = common::connection().await;
    let prefix = common::prefix();
    let store = RedisSessionStore::new(conn.clone(), prefix.clone());
    let customer = CustomerId::new();
    let now = Utc::now();
    let new = store
        .create(customer, Duration::hours(1), now)
        .await
        .unwrap();
    store.revoke_all(CustomerId::new()).await.unwrap();
    let keys = common::keys_under(&conn, &prefix).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    let token = new.token.as_str();
    let digest = new.token.digest().to_hex();
    assert!(keys.iter().any(|k| k.contains(&digest)));
    for key in &keys {
        assert!(!key.contains(token));
        let dump: Vec<u8> = redis::cmd("DUMP")
            .arg(key)
            .query_async(&mut conn.clone())
            .await
            .unwrap();
        assert!(!String::from_utf8_lossy(&dump).contains(token));
        let ttl = common::pttl(&conn, key).await;
        assert!(ttl > 0, "{key} has no expiry ({ttl})");
    }
}

/// A rate-limit log expires one window after its last counted hit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_logs_expire_with_their_window() {
    use commerce_core::auth::LoginRateLimiter;
    let conn = common::connection().await;
    let prefix = common::prefix();
    let limiter = RedisRateLimiter::new(conn.clone(), prefix.clone());
    let limit = RateLimit::new(3, Duration::seconds(90)).unwrap();
    limiter.hit("login:a", limit, Utc::now()).await.unwrap();
    let keys = common::keys_under(&conn, &prefix).await;
    assert_eq!(keys.len(), 1);
    let ttl = common::pttl(&conn, &keys[0]).await;
    assert!(ttl > 80_000 && ttl <= 90_000, "pttl {ttl}");
}
