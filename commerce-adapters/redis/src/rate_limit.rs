//! [`RedisRateLimiter`]: sliding-window login limits in sorted sets.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use redis::Value;

use commerce_core::Result as CoreResult;
use commerce_core::auth::{Decision, LoginRateLimiter, RateLimit, validate_rate_limit_key};

use crate::connection::RedisConnection;
use crate::error::Error;
use crate::keys::KeyPrefix;
use crate::reply;
use crate::scripts;

/// A sliding-window log per key in Redis: a sorted set `P:rate:KEY` of hit times,
/// pruned, counted and extended by one Lua script per attempt (exact under any
/// concurrency, one round trip). The set expires one window after its last counted
/// hit, so idle keys cost nothing. Single-key scripts: works on a Redis Cluster.
#[derive(Clone, Debug)]
pub struct RedisRateLimiter {
    conn: RedisConnection,
    prefix: KeyPrefix,
}

impl RedisRateLimiter {
    /// A limiter over `conn` with keys under `prefix`.
    pub fn new(conn: RedisConnection, prefix: KeyPrefix) -> Self {
        RedisRateLimiter { conn, prefix }
    }
}

#[async_trait]
impl LoginRateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, limit: RateLimit, now: DateTime<Utc>) -> CoreResult<Decision> {
        validate_rate_limit_key(key)?;
        limit.validate()?;
        let reply: Value = scripts::RATE_LIMIT_HIT
            .key(self.prefix.rate(key))
            .arg(now.timestamp_millis())
            .arg(limit.window.num_milliseconds())
            .arg(limit.max_hits)
            .arg(uuid::Uuid::now_v7().to_string())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        let mut it = reply::array(reply)?.into_iter();
        let allowed = reply::int(&reply::next(&mut it, "the decision")?)? == 1;
        let remaining = reply::int(&reply::next(&mut it, "the remaining hits")?)?;
        let retry_ms = reply::int(&reply::next(&mut it, "the retry delay")?)?;
        Ok(Decision {
            allowed,
            remaining: u32::try_from(remaining)
                .map_err(|_| Error::unexpected(format!("remaining {remaining}")))?,
            retry_after: (!allowed).then(|| Duration::milliseconds(retry_ms)),
        })
    }

    async fn reset(&self, key: &str) -> CoreResult<()> {
        validate_rate_limit_key(key)?;
        let _: i64 = redis::cmd("DEL")
            .arg(self.prefix.rate(key))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        Ok(())
    }
}
