//! Read-through caches in front of the systems of record: [`CachedCatalog`] (product
//! details and SKU listings) and [`CachedAvailability`] (displayed stock levels).
//!
//! Rules every entry follows:
//!
//! - Whole values only (JSON of what the inner store returned), never a counter: no
//!   `INCR`/`DECR`, so a cached level can be neither negative nor drift (defect 6).
//! - Every key has a bounded expiry, set when the entry is created and never extended
//!   by later fills (at most [`MAX_CACHE_TTL`]).
//! - An entry is a hash with a fill token (`g`). A reader that misses takes the token
//!   *before* reading the system of record and stores what it read only if the token
//!   is still there; invalidation deletes the whole hash. So a value read before an
//!   invalidating event is never cached after it: once `invalidate` returns, no entry
//!   older than the event exists or can appear.
//! - Invalidation comes from outbox events (`catalog.price_changed`,
//!   `catalog.product_upserted`, `inventory.stock_changed`) through each decorator's
//!   `invalidate`, which an outbox consumer calls (retry on error, then ack); writes
//!   made through a decorator also invalidate directly, best effort (the event is the
//!   guarantee).
//! - When Redis fails, reads are served by the inner store (a cache outage is slower,
//!   never wrong); invalidation reports the error so the consumer retries.
//! - Checkout never trusts a cache: reservations and commits go to the inner store
//!   unchanged, and checkout should be given the undecorated store.

mod availability;
mod catalog;

pub use availability::CachedAvailability;
pub use catalog::CachedCatalog;

use std::time::Duration;

use redis::Value;

use crate::connection::RedisConnection;
use crate::error::{Error, Result};
use crate::reply;
use crate::scripts;

/// Longest expiry a cache entry may have: one day.
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Checks a cache TTL: 1 ms to [`MAX_CACHE_TTL`].
fn validated_ttl(ttl: Duration) -> Result<Duration> {
    if ttl < Duration::from_millis(1) || ttl > MAX_CACHE_TTL {
        return Err(Error::InvalidTtl(ttl));
    }
    Ok(ttl)
}

fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// What a read of an entry found: its fill token and the requested fields.
#[derive(Debug)]
struct EntryRead {
    token: String,
    values: Vec<Option<String>>,
}

/// Reads `fields` of the entry at `key`, creating its token (and expiry) if needed.
async fn read_entry(
    conn: &RedisConnection,
    key: &str,
    ttl: Duration,
    fields: &[String],
) -> Result<EntryRead> {
    let mut invocation = scripts::CACHE_READ.prepare_invoke();
    invocation
        .key(key)
        .arg(uuid::Uuid::now_v7().to_string())
        .arg(ttl_ms(ttl));
    for f in fields {
        invocation.arg(f);
    }
    let reply: Value = invocation.invoke_async(&mut conn.clone()).await?;
    let mut it = reply::array(reply)?.into_iter();
    let token = reply::string(reply::next(&mut it, "the fill token")?)?;
    let values = reply::array(reply::next(&mut it, "the values")?)?
        .into_iter()
        .map(reply::opt_string)
        .collect::<Result<Vec<_>>>()?;
    if values.len() != fields.len() {
        return Err(Error::unexpected(
            "cache read returned a different field count",
        ));
    }
    Ok(EntryRead { token, values })
}

/// Stores `pairs` in the entry at `key` if `token` is still its token.
async fn fill_entry(
    conn: &RedisConnection,
    key: &str,
    token: &str,
    pairs: &[(String, String)],
) -> Result<bool> {
    if pairs.is_empty() {
        return Ok(false);
    }
    let mut invocation = scripts::CACHE_FILL.prepare_invoke();
    invocation.key(key).arg(token);
    for (field, value) in pairs {
        invocation.arg(field).arg(value);
    }
    let stored: i64 = invocation.invoke_async(&mut conn.clone()).await?;
    Ok(stored == 1)
}

/// Deletes entries (and with them their tokens).
async fn delete(conn: &RedisConnection, keys: &[String]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    // One DEL per key: keys of different slots never share a command on a cluster.
    let deletes = keys.iter().map(|k| {
        let mut conn = conn.clone();
        async move {
            let _: i64 = redis::cmd("DEL").arg(k).query_async(&mut conn).await?;
            Ok::<(), Error>(())
        }
    });
    for r in futures::future::join_all(deletes).await {
        r?;
    }
    Ok(())
}
