//! Shared by the integration tests: a connection to the Redis named by `REDIS_URL`
//! (default `redis://127.0.0.1:6379`) and a random key prefix per fixture, so tests
//! running at once never see each other's keys. Without a reachable Redis every test
//! fails with instructions (never skips).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use commerce_redis::{KeyPrefix, RedisConnection};

/// False: these tests run against a single node (see `cluster.rs` beside this file).
pub(crate) const CLUSTER: bool = false;

/// The URL of the Redis under test.
pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A connection to the Redis under test; panics with how to start Redis when it is
/// not reachable.
pub(crate) async fn connection() -> RedisConnection {
    let url = redis_url();
    let conn = match RedisConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(e) => panic!(
            "Redis is not reachable at {url} ({e}).\n\
             These tests need a real Redis 7+. Start one with:\n  \
             redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" \
             --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log\n\
             or point REDIS_URL at one (e.g. REDIS_URL=redis://127.0.0.1:6379)."
        ),
    };
    let pong: String = redis::cmd("PING")
        .query_async(&mut conn.clone())
        .await
        .unwrap_or_else(|e| panic!("Redis at {url} does not answer PING: {e}"));
    assert_eq!(pong, "PONG");
    conn
}

/// A fresh random prefix (`test:<uuid>`).
pub(crate) fn prefix() -> KeyPrefix {
    KeyPrefix::new(format!("test:{}", uuid::Uuid::now_v7().simple())).unwrap()
}

/// Every key under `prefix`.
pub(crate) async fn keys_under(conn: &RedisConnection, prefix: &KeyPrefix) -> Vec<String> {
    let mut conn = conn.clone();
    let mut cursor: u64 = 0;
    let mut keys = Vec::new();
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(batch);
        if next == 0 {
            return keys;
        }
        cursor = next;
    }
}

/// The remaining time to live of `key` in ms (-1: no expiry, -2: no key).
pub(crate) async fn pttl(conn: &RedisConnection, key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut conn.clone())
        .await
        .unwrap()
}
