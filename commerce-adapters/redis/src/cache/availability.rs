//! [`CachedAvailability`]: displayed stock levels cached in front of an
//! [`InventoryStore`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;

use commerce_core::{EventEnvelope, Sku};
use commerce_inventory::{
    Error as InventoryError, InventoryEvent, InventoryStore, LocationCode,
    Result as InventoryResult, StockLevel, StockReader,
};

use super::{EntryRead, delete, fill_entry, read_entry, validated_ttl};
use crate::connection::RedisConnection;
use crate::error::Result;
use crate::keys::KeyPrefix;

/// Field of the stock level JSON in a stock entry.
const LEVEL_FIELD: &str = "v";

/// A [`StockReader`] over an [`InventoryStore`] whose `stock` and `stock_levels`
/// (what product pages and listings display) are served from Redis when cached.
///
/// Each (SKU, location) is one entry `P:cache:stock:SKU:LOCATION` holding the whole
/// [`StockLevel`] as the inner store returned it, never a counter: a cached level is
/// never negative and never outlives its TTL (defect 6). Levels are invalidated by
/// the `inventory.stock_changed` events every stock change (and every backorder
/// policy change) writes to the outbox ([`CachedAvailability::invalidate`]).
///
/// It is read-only on purpose: checkout decides stock on the system of record, so
/// the cache cannot be given to it (it is no [`InventoryStore`]):
///
/// ```compile_fail
/// # fn wire(cache: commerce_redis::CachedAvailability) {
/// // Checkout::new takes an Arc<dyn InventoryStore>: this does not compile.
/// let inventory: std::sync::Arc<dyn commerce_inventory::InventoryStore> =
///     std::sync::Arc::new(cache);
/// # }
/// ```
///
/// while a storefront reads through it:
///
/// ```
/// # fn wire(cache: commerce_redis::CachedAvailability) {
/// let display: std::sync::Arc<dyn commerce_inventory::StockReader> =
///     std::sync::Arc::new(cache);
/// # }
/// ```
#[derive(Clone)]
pub struct CachedAvailability {
    inner: Arc<dyn InventoryStore>,
    conn: RedisConnection,
    prefix: KeyPrefix,
    ttl: Duration,
}

impl std::fmt::Debug for CachedAvailability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedAvailability")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachedAvailability {
    /// Default expiry of cached levels: 30 seconds.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

    /// A cache over `inner` with keys under `prefix` and [`Self::DEFAULT_TTL`].
    pub fn new(inner: Arc<dyn InventoryStore>, conn: RedisConnection, prefix: KeyPrefix) -> Self {
        CachedAvailability {
            inner,
            conn,
            prefix,
            ttl: Self::DEFAULT_TTL,
        }
    }

    /// Expires entries `ttl` after they are created instead (1 ms to one day).
    pub fn with_ttl(mut self, ttl: Duration) -> Result<Self> {
        self.ttl = validated_ttl(ttl)?;
        Ok(self)
    }

    /// The store behind the cache (what checkout uses).
    pub fn inner(&self) -> &Arc<dyn InventoryStore> {
        &self.inner
    }

    /// Drops the cached levels of `skus` at `location`.
    pub async fn invalidate_levels<'a>(
        &self,
        skus: impl IntoIterator<Item = &'a Sku>,
        location: &LocationCode,
    ) -> InventoryResult<()> {
        let keys: Vec<String> = skus
            .into_iter()
            .map(|s| self.prefix.cached_stock(s, location))
            .collect();
        delete(&self.conn, &keys).await?;
        Ok(())
    }

    /// Handles an outbox event: `inventory.stock_changed` drops the level it names.
    /// Returns whether the event concerned this cache. An outbox consumer acks the
    /// event only after this returns `Ok`.
    pub async fn invalidate(&self, event: &EventEnvelope) -> InventoryResult<bool> {
        if event.topic != "inventory.stock_changed" {
            return Ok(false);
        }
        match serde_json::from_value::<InventoryEvent>(event.payload.clone()) {
            Ok(InventoryEvent::StockChanged { sku, location, .. }) => {
                self.invalidate_levels([&sku], &location).await?;
                Ok(true)
            }
            _ => Err(InventoryError::Validation {
                field: "event",
                message: "inventory.stock_changed without a SKU and location".to_owned(),
            }),
        }
    }

    async fn read(&self, sku: &Sku, location: &LocationCode) -> Option<EntryRead> {
        let key = self.prefix.cached_stock(sku, location);
        read_entry(&self.conn, &key, self.ttl, &[LEVEL_FIELD.to_owned()])
            .await
            .ok()
    }

    async fn fill(&self, level: &StockLevel, token: &str) {
        if let Ok(json) = serde_json::to_string(level) {
            let key = self.prefix.cached_stock(&level.sku, &level.location);
            let _ = fill_entry(&self.conn, &key, token, &[(LEVEL_FIELD.to_owned(), json)]).await;
        }
    }
}

fn cached_level(read: &EntryRead, sku: &Sku, location: &LocationCode) -> Option<StockLevel> {
    read.values
        .first()?
        .as_ref()
        .and_then(|j| serde_json::from_str::<StockLevel>(j).ok())
        .filter(|l| &l.sku == sku && &l.location == location)
}

#[async_trait]
impl StockReader for CachedAvailability {
    async fn stock(
        &self,
        sku: &Sku,
        location: &LocationCode,
    ) -> InventoryResult<Option<StockLevel>> {
        let read = self.read(sku, location).await;
        if let Some(hit) = read.as_ref().and_then(|r| cached_level(r, sku, location)) {
            return Ok(Some(hit));
        }
        let fresh = self.inner.stock(sku, location).await?;
        if let (Some(read), Some(level)) = (&read, &fresh) {
            self.fill(level, &read.token).await;
        }
        Ok(fresh)
    }

    async fn stock_levels(
        &self,
        skus: &[Sku],
        location: &LocationCode,
    ) -> InventoryResult<Vec<StockLevel>> {
        let skus: Vec<&Sku> = skus.iter().collect::<BTreeSet<_>>().into_iter().collect();
        let reads = join_all(skus.iter().map(|s| self.read(s, location))).await;
        let mut found = Vec::with_capacity(skus.len());
        let mut misses = Vec::new();
        let mut tokens: BTreeMap<&Sku, String> = BTreeMap::new();
        for (sku, read) in skus.iter().zip(reads) {
            match read {
                Some(read) => match cached_level(&read, sku, location) {
                    Some(level) => found.push(level),
                    None => {
                        misses.push((*sku).clone());
                        tokens.insert(sku, read.token);
                    }
                },
                None => misses.push((*sku).clone()),
            }
        }
        if misses.is_empty() {
            return Ok(found);
        }
        let fresh = self.inner.stock_levels(&misses, location).await?;
        join_all(fresh.iter().filter_map(|level| {
            let token = tokens.get(&level.sku)?;
            (level.location == *location).then(|| self.fill(level, token))
        }))
        .await;
        found.extend(fresh);
        Ok(found)
    }
}
