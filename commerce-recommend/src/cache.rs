//! [`CachedRecommendStore`]: the lists kept in process memory in front of any
//! [`RecommendStore`], so a read costs no round trip; [`CacheInvalidator`] keeps it
//! true from the outbox when several instances share one database.
//!
//! Every list is cached once per key at its full length ([`MAX_LIST`], nothing
//! excluded) and served filtered and cut to the request, which is exactly what the
//! store would answer as long as enough remain after the exclusions (otherwise the
//! read goes to the store). Entries live for a time to live (rankings may lag new
//! orders by that much) and are dropped at once when a rule depends on it:
//!
//! - a product's signals are written and it is not recommendable (inactive, out of
//!   stock): every list holding it goes, and its similar-products list;
//! - a customer's purchase is recorded or their "for you" list saved: their "for
//!   you" list and purchases go.
//!
//! Each drop bumps a generation; a read that missed fills the cache only if no drop
//! happened while it read the store, so a fill can never bring back what a drop
//! removed. The writes behind those drops are the consumers' (`SignalsIndexer`,
//! `PurchaseRecorder`) through this store. Another instance learns of them by running
//! the same consumers over its own cache under its own consumer group
//! ([`CacheInvalidator`]): both recompute from the source of truth and are idempotent
//! per event, so doing it once per instance changes no figure.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use commerce_core::ports::OutboxEntry;
use commerce_core::worker::{BatchOutcome, EventConsumer};
use commerce_core::{CategoryId, CustomerId, EventEnvelope, ProductId};

use crate::consumer::{PurchaseRecorder, SignalsIndexer};
use crate::error::Result;
use crate::model::{ProductSignals, Purchase, Scored};
use crate::ports::{MAX_LIST, RecommendStore};

/// How the cache keeps entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheConfig {
    /// How long an entry is served (how far rankings may lag new orders).
    pub ttl: Duration,
    /// Most entries kept; when full, expired entries go, then everything.
    pub capacity: usize,
}

impl Default for CacheConfig {
    /// 30 seconds, 100 000 entries.
    fn default() -> Self {
        CacheConfig {
            ttl: Duration::from_secs(30),
            capacity: 100_000,
        }
    }
}

impl CacheConfig {
    /// With a time to live.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// With a capacity.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Together(Vec<ProductId>),
    Similar(ProductId),
    Popular(CategoryId),
    ForYou(CustomerId),
    Purchased(CustomerId),
}

impl Key {
    fn customer(&self) -> Option<CustomerId> {
        match self {
            Key::ForYou(c) | Key::Purchased(c) => Some(*c),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
enum Value {
    List(Arc<Vec<Scored>>),
    ForYou(Option<Arc<Vec<Scored>>>),
    /// Purchases read with `asked` as the limit.
    Purchased {
        ids: Arc<Vec<ProductId>>,
        asked: u32,
    },
}

impl Value {
    fn holds(&self, product_id: ProductId) -> bool {
        let has = |l: &[Scored]| l.iter().any(|s| s.product_id == product_id);
        match self {
            Value::List(l) | Value::ForYou(Some(l)) => has(l),
            Value::ForYou(None) => false,
            Value::Purchased { ids, .. } => ids.contains(&product_id),
        }
    }
}

#[derive(Debug)]
struct Entry {
    value: Value,
    filled: Instant,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<Key, Entry>,
    generation: u64,
}

/// Hit and miss counts since the cache was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads served from memory.
    pub hits: u64,
    /// Reads that went to the store.
    pub misses: u64,
}

/// A [`RecommendStore`] that keeps lists in memory in front of another one (see the
/// module documentation for what is cached and when it is dropped).
pub struct CachedRecommendStore {
    inner: Arc<dyn RecommendStore>,
    config: CacheConfig,
    state: RwLock<State>,
    hits: std::sync::atomic::AtomicU64,
    misses: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for CachedRecommendStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedRecommendStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// `list` without `exclude`, at most `limit`; `None` when the cached list was cut at
/// [`MAX_LIST`] and the exclusions left fewer than asked (the store may have more).
fn serve(list: &[Scored], exclude: &[ProductId], limit: u32) -> Option<Vec<Scored>> {
    let want = limit.min(MAX_LIST) as usize;
    let out: Vec<Scored> = list
        .iter()
        .filter(|s| !exclude.contains(&s.product_id))
        .take(want)
        .copied()
        .collect();
    (out.len() == want || list.len() < MAX_LIST as usize).then_some(out)
}

impl CachedRecommendStore {
    /// Caches the lists of `inner`.
    pub fn new(inner: Arc<dyn RecommendStore>, config: CacheConfig) -> Self {
        CachedRecommendStore {
            inner,
            config,
            state: RwLock::new(State::default()),
            hits: Default::default(),
            misses: Default::default(),
        }
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        use std::sync::atomic::Ordering::Relaxed;
        CacheStats {
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live entry of `key` and the generation now.
    fn get(&self, key: &Key) -> (Option<Value>, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let state = self.read();
        let value = state
            .entries
            .get(key)
            .filter(|e| e.filled.elapsed() < self.config.ttl)
            .map(|e| e.value.clone());
        match value {
            Some(_) => self.hits.fetch_add(1, Relaxed),
            None => self.misses.fetch_add(1, Relaxed),
        };
        (value, state.generation)
    }

    /// Stores `value` under `key` unless a drop happened since `generation`.
    fn put(&self, key: Key, value: Value, generation: u64) {
        let mut state = self.write();
        if state.generation != generation {
            return;
        }
        if state.entries.len() >= self.config.capacity {
            let ttl = self.config.ttl;
            state.entries.retain(|_, e| e.filled.elapsed() < ttl);
            if state.entries.len() >= self.config.capacity {
                state.entries.clear();
            }
        }
        state.entries.insert(
            key,
            Entry {
                value,
                filled: Instant::now(),
            },
        );
    }

    /// Drops the entries `drop` selects and bumps the generation.
    fn drop_where(&self, drop: impl Fn(&Key, &Value) -> bool) {
        let mut state = self.write();
        state.generation = state.generation.wrapping_add(1);
        state.entries.retain(|k, e| !drop(k, &e.value));
    }

    async fn list(
        &self,
        key: Key,
        exclude: &[ProductId],
        limit: u32,
        fill: impl std::future::Future<Output = Result<Vec<Scored>>>,
    ) -> Result<Option<Vec<Scored>>> {
        let (cached, generation) = self.get(&key);
        let full = match cached {
            Some(Value::List(l)) => l,
            _ => {
                let l = Arc::new(fill.await?);
                self.put(key, Value::List(l.clone()), generation);
                l
            }
        };
        Ok(serve(&full, exclude, limit))
    }
}

#[async_trait]
impl RecommendStore for CachedRecommendStore {
    async fn upsert_signals(&self, signals: &ProductSignals) -> Result<()> {
        self.inner.upsert_signals(signals).await?;
        let p = signals.product_id;
        let gone = !signals.recommendable();
        self.drop_where(|k, v| *k == Key::Similar(p) || (gone && v.holds(p)));
        Ok(())
    }

    async fn signals(&self, product_id: ProductId) -> Result<Option<ProductSignals>> {
        self.inner.signals(product_id).await
    }

    async fn record_purchase(&self, purchase: &Purchase) -> Result<bool> {
        let recorded = self.inner.record_purchase(purchase).await?;
        if let Some(c) = purchase.customer_id {
            self.drop_where(|k, _| k.customer() == Some(c));
        }
        Ok(recorded)
    }

    async fn record_purchases(&self, purchases: &[Purchase]) -> Result<Vec<bool>> {
        let recorded = self.inner.record_purchases(purchases).await?;
        let customers: HashSet<CustomerId> =
            purchases.iter().filter_map(|p| p.customer_id).collect();
        if !customers.is_empty() {
            self.drop_where(|k, _| k.customer().is_some_and(|c| customers.contains(&c)));
        }
        Ok(recorded)
    }

    async fn bought_together(
        &self,
        anchors: &[ProductId],
        exclude: &[ProductId],
        limit: u32,
    ) -> Result<Vec<Scored>> {
        let mut key: Vec<ProductId> = anchors.to_vec();
        key.sort();
        key.dedup();
        let fill = self.inner.bought_together(&key, &[], MAX_LIST);
        match self
            .list(Key::Together(key.clone()), exclude, limit, fill)
            .await?
        {
            Some(list) => Ok(list),
            None => self.inner.bought_together(anchors, exclude, limit).await,
        }
    }

    async fn similar(
        &self,
        product_id: ProductId,
        exclude: &[ProductId],
        limit: u32,
    ) -> Result<Vec<Scored>> {
        let fill = self.inner.similar(product_id, &[], MAX_LIST);
        match self
            .list(Key::Similar(product_id), exclude, limit, fill)
            .await?
        {
            Some(list) => Ok(list),
            None => self.inner.similar(product_id, exclude, limit).await,
        }
    }

    async fn popular(
        &self,
        category_id: CategoryId,
        exclude: &[ProductId],
        limit: u32,
    ) -> Result<Vec<Scored>> {
        let fill = self.inner.popular(category_id, &[], MAX_LIST);
        match self
            .list(Key::Popular(category_id), exclude, limit, fill)
            .await?
        {
            Some(list) => Ok(list),
            None => self.inner.popular(category_id, exclude, limit).await,
        }
    }

    async fn purchased(&self, customer_id: CustomerId, limit: u32) -> Result<Vec<ProductId>> {
        let key = Key::Purchased(customer_id);
        let (cached, generation) = self.get(&key);
        if let Some(Value::Purchased { ids, asked }) = cached
            && (asked >= limit || ids.len() < asked as usize)
        {
            return Ok(ids.iter().take(limit as usize).copied().collect());
        }
        let ids = Arc::new(self.inner.purchased(customer_id, limit).await?);
        let value = Value::Purchased {
            ids: ids.clone(),
            asked: limit,
        };
        self.put(key, value, generation);
        Ok(ids.to_vec())
    }

    async fn save_for_you(&self, customer_id: CustomerId, list: &[Scored]) -> Result<()> {
        self.inner.save_for_you(customer_id, list).await?;
        self.drop_where(|k, _| *k == Key::ForYou(customer_id));
        Ok(())
    }

    async fn for_you(&self, customer_id: CustomerId, limit: u32) -> Result<Option<Vec<Scored>>> {
        let key = Key::ForYou(customer_id);
        let (cached, generation) = self.get(&key);
        let full = match cached {
            Some(Value::ForYou(l)) => l,
            _ => {
                let l = self
                    .inner
                    .for_you(customer_id, MAX_LIST)
                    .await?
                    .map(Arc::new);
                self.put(key, Value::ForYou(l.clone()), generation);
                l
            }
        };
        Ok(full.map(|l| {
            l.iter()
                .take(limit.min(MAX_LIST) as usize)
                .copied()
                .collect()
        }))
    }
}

/// Consumer group prefix of [`CacheInvalidator`]s (one group per instance).
pub const CACHE_GROUP_PREFIX: &str = "recommend.cache.";

/// Keeps one instance's [`CachedRecommendStore`] true: runs the purchase recorder
/// and the signals indexer over that cache under a consumer group of its own
/// (`recommend.cache.<instance>`), so every instance sees every event; both are
/// idempotent per event, so the tables count each order once however many instances
/// run. Events older than `since` are skipped (the cache started empty after them;
/// the shared consumers handle them).
#[derive(Clone, Debug)]
pub struct CacheInvalidator {
    group: String,
    since: DateTime<Utc>,
    recorder: PurchaseRecorder,
    indexer: SignalsIndexer,
}

impl CacheInvalidator {
    /// The invalidator of `instance` (a name unique among running instances), for
    /// events from `since` on, with the consumers built over the cached store.
    pub fn new(
        instance: &str,
        since: DateTime<Utc>,
        recorder: PurchaseRecorder,
        indexer: SignalsIndexer,
    ) -> Self {
        CacheInvalidator {
            group: format!("{CACHE_GROUP_PREFIX}{instance}"),
            since,
            recorder,
            indexer,
        }
    }
}

#[async_trait]
impl EventConsumer for CacheInvalidator {
    fn group(&self) -> &str {
        &self.group
    }

    async fn handle(&self, event: &EventEnvelope) -> commerce_core::Result<()> {
        if event.occurred_at < self.since {
            return Ok(());
        }
        self.indexer.handle_event(event).await?;
        self.recorder.handle_event(event).await?;
        Ok(())
    }

    /// The signals of every product the batch names refreshed once
    /// ([`SignalsIndexer::handle_events`]), then its orders recorded together
    /// ([`PurchaseRecorder::handle_events`]: one store call, each buyer's lists
    /// dropped once). A malformed `order.confirmed` ends the batch before it.
    async fn handle_batch(&self, entries: &[OutboxEntry]) -> BatchOutcome {
        // The entries at or after `since`, with their index in the batch.
        let (at, events): (Vec<usize>, Vec<&EventEnvelope>) = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.event.occurred_at >= self.since)
            .map(|(i, e)| (i, &e.event))
            .unzip();
        if let Err(e) = self.indexer.handle_events(&events).await {
            return BatchOutcome::failed(0, e.into());
        }
        let (confirmed, malformed) = crate::consumer::confirmed_orders(&events);
        if let Err(e) = self.recorder.record_all(&confirmed).await {
            return BatchOutcome::failed(0, e.into());
        }
        match malformed {
            Some((i, e)) => BatchOutcome::failed(at.get(i).copied().unwrap_or(0), e.into()),
            None => BatchOutcome::done(entries.len()),
        }
    }
}
