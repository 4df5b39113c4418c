//! [`ProductCache`]: the rendered JSON of product details kept in process memory
//! (a read-through cache in front of the catalog and inventory reads), and
//! [`ProductCacheInvalidator`], the outbox consumer that evicts it on product,
//! price and stock events.
//!
//! Rules:
//!
//! - Only the public product details page is cached, as the bytes answered. Carts,
//!   checkout and orders never read it: they price from the stores.
//! - Every entry expires after a bounded time-to-live (default 30 s) even if no
//!   event arrives, so a stopped worker costs freshness for at most that long.
//! - A fill races no invalidation: a reader notes the cache's epoch before it reads
//!   the stores and stores its result only if no invalidation happened since (the
//!   check and the insert are one step under a lock that invalidation takes too).
//!   Once an invalidation returns, no entry read before the event can appear.
//! - Each process has its own cache and so its own consumer group (`group`, unique
//!   per instance), so every instance sees every event.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use commerce::core::{CatalogEvent, EventConsumer, EventEnvelope, ProductId, Sku};
use moka::sync::Cache;

/// A product's cached details and the keys that lead to it.
#[derive(Clone, Debug)]
struct Entry {
    body: Bytes,
}

/// Product details (rendered JSON) by slug, evicted by product id or SKU.
#[derive(Debug)]
pub struct ProductCache {
    by_slug: Cache<String, Entry>,
    /// Which slug a product id or SKU was cached under.
    slug_of_product: Cache<ProductId, String>,
    slug_of_sku: Cache<Sku, String>,
    epoch: AtomicU64,
    writes: Mutex<()>,
}

/// Default time-to-live of a cached product: 30 seconds.
pub const DEFAULT_PRODUCT_TTL: Duration = Duration::from_secs(30);

/// Default number of products kept.
pub const DEFAULT_PRODUCT_CAPACITY: u64 = 10_000;

impl ProductCache {
    /// A cache of at most `capacity` products, each kept at most `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        ProductCache {
            by_slug: bounded(capacity, ttl),
            slug_of_product: bounded(capacity, ttl),
            slug_of_sku: bounded(capacity.saturating_mul(8), ttl),
            epoch: AtomicU64::new(0),
            writes: Mutex::new(()),
        }
    }

    /// The cached details of `slug`, if any.
    pub fn get(&self, slug: &str) -> Option<Bytes> {
        self.by_slug.get(slug).map(|e| e.body)
    }

    /// The epoch to note before reading the stores for a fill.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Stores the details of `slug` (product `id`, its `skus`) read after `epoch`
    /// was noted, unless an invalidation happened since. Returns whether it was
    /// stored.
    pub fn fill(&self, slug: &str, id: ProductId, skus: &[Sku], epoch: u64, body: Bytes) -> bool {
        let _guard = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        if self.epoch.load(Ordering::Acquire) != epoch {
            return false;
        }
        self.slug_of_product.insert(id, slug.to_owned());
        for sku in skus {
            self.slug_of_sku.insert(sku.clone(), slug.to_owned());
        }
        self.by_slug.insert(slug.to_owned(), Entry { body });
        true
    }

    fn evict(&self, slug: Option<String>) {
        let _guard = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(slug) = slug {
            self.by_slug.invalidate(&slug);
        }
    }

    /// Evicts what is cached of product `id`.
    pub fn invalidate_product(&self, id: ProductId) {
        self.evict(self.slug_of_product.get(&id));
    }

    /// Evicts the product `sku` belongs to.
    pub fn invalidate_sku(&self, sku: &Sku) {
        self.evict(self.slug_of_sku.get(sku));
    }

    /// Evicts everything.
    pub fn clear(&self) {
        let _guard = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.by_slug.invalidate_all();
    }

    /// Handles an outbox event: product and price events evict the product, stock
    /// events the product of the SKU. Returns whether the event concerned the
    /// cache. A payload it cannot read evicts everything (never a stale entry).
    pub fn invalidate(&self, event: &EventEnvelope) -> bool {
        match event.topic.as_str() {
            "catalog.product_upserted"
            | "catalog.price_changed"
            | "catalog.product_deactivated"
            | "catalog.rating_changed" => {
                match serde_json::from_value::<CatalogEvent>(event.payload.clone()) {
                    Ok(
                        CatalogEvent::ProductUpserted { product_id }
                        | CatalogEvent::PriceChanged { product_id, .. }
                        | CatalogEvent::ProductDeactivated { product_id }
                        | CatalogEvent::RatingChanged { product_id, .. },
                    ) => self.invalidate_product(product_id),
                    _ => match event.aggregate_id.parse::<ProductId>() {
                        Ok(id) => self.invalidate_product(id),
                        Err(_) => self.clear(),
                    },
                }
                true
            }
            "inventory.stock_changed" => {
                match event.payload["sku"]
                    .as_str()
                    .or(Some(event.aggregate_id.as_str()))
                    .and_then(|s| Sku::new(s).ok())
                {
                    Some(sku) => self.invalidate_sku(&sku),
                    None => self.clear(),
                }
                true
            }
            _ => false,
        }
    }
}

fn bounded<K, V>(capacity: u64, ttl: Duration) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(capacity)
        .time_to_live(ttl)
        .build()
}

impl Default for ProductCache {
    fn default() -> Self {
        ProductCache::new(DEFAULT_PRODUCT_CAPACITY, DEFAULT_PRODUCT_TTL)
    }
}

/// The outbox consumer that evicts a [`ProductCache`]; drive it with
/// [`commerce::core::run_once`] or [`commerce::core::drain`]. Give every process its
/// own group (its cache is its own).
#[derive(Clone, Debug)]
pub struct ProductCacheInvalidator {
    group: String,
    cache: std::sync::Arc<ProductCache>,
}

impl ProductCacheInvalidator {
    /// The consumer of `group` evicting `cache`.
    pub fn new(group: impl Into<String>, cache: std::sync::Arc<ProductCache>) -> Self {
        ProductCacheInvalidator {
            group: group.into(),
            cache,
        }
    }
}

#[async_trait]
impl EventConsumer for ProductCacheInvalidator {
    fn group(&self) -> &str {
        &self.group
    }

    async fn handle(&self, event: &EventEnvelope) -> commerce::core::Result<()> {
        self.cache.invalidate(event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commerce::core::DomainEvent;

    fn body(s: &str) -> Bytes {
        Bytes::from(s.to_owned())
    }

    #[test]
    fn cache_fill_after_an_invalidation_is_refused() {
        let cache = ProductCache::default();
        let id = ProductId::new();
        let sku = Sku::new("A-1").unwrap();
        let epoch = cache.epoch();
        cache.invalidate_product(id);
        assert!(!cache.fill("a", id, std::slice::from_ref(&sku), epoch, body("old")));
        assert_eq!(cache.get("a"), None);
        let epoch = cache.epoch();
        assert!(cache.fill("a", id, std::slice::from_ref(&sku), epoch, body("new")));
        assert_eq!(cache.get("a"), Some(body("new")));
    }

    #[test]
    fn cache_product_and_stock_events_evict_the_product() {
        let cache = ProductCache::default();
        let id = ProductId::new();
        let sku = Sku::new("B-1").unwrap();
        let fill = |c: &ProductCache| {
            let e = c.epoch();
            assert!(c.fill("b", id, std::slice::from_ref(&sku), e, body("x")));
        };
        fill(&cache);
        let upserted = CatalogEvent::ProductUpserted { product_id: id }
            .envelope(chrono::Utc::now())
            .unwrap();
        assert!(cache.invalidate(&upserted));
        assert_eq!(cache.get("b"), None);
        fill(&cache);
        let stock = EventEnvelope {
            topic: "inventory.stock_changed".into(),
            aggregate_type: "sku".into(),
            aggregate_id: "B-1".into(),
            payload: serde_json::json!({"type": "stock_changed", "sku": "B-1"}),
            ..upserted.clone()
        };
        assert!(cache.invalidate(&stock));
        assert_eq!(cache.get("b"), None);
        fill(&cache);
        let other = EventEnvelope {
            topic: "order.placed".into(),
            ..upserted
        };
        assert!(!cache.invalidate(&other));
        assert_eq!(cache.get("b"), Some(body("x")));
    }
}
