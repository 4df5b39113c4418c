//! The read-through caches against a real Redis: the catalog and inventory
//! conformance suites through the decorators, and the defects they must prevent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::oneshot;

use commerce_core::memory::{MemoryCatalog, MemoryOutbox};
use commerce_core::ports::{CatalogStore, ProductQuery};
use commerce_core::testkit::catalog::CatalogFixture;
use commerce_core::testkit::fixtures::{product, sku, usd};
use commerce_core::{
    Category, Money, Product, ProductId, Result as CoreResult, Seller, SellerId, Sku, SkuListing,
};
use commerce_inventory::{
    InventoryStore, LocationCode, MemoryInventory, ReservationId, ReservationLine, ReserveRequest,
    StockAdjustment, StockReader,
};
use commerce_redis::{CachedAvailability, CachedCatalog, KeyPrefix, RedisConnection};

const CATALOG_TTL: StdDuration = StdDuration::from_secs(120);
const STOCK_TTL: StdDuration = StdDuration::from_secs(30);

async fn cached_catalog(
    inner: Arc<dyn CatalogStore>,
) -> (CachedCatalog, RedisConnection, KeyPrefix) {
    let conn = common::connection().await;
    let prefix = common::prefix();
    let cache = CachedCatalog::new(inner, conn.clone(), prefix.clone())
        .with_ttl(CATALOG_TTL)
        .unwrap();
    (cache, conn, prefix)
}

async fn cached_inventory(
    inner: Arc<dyn InventoryStore>,
) -> (CachedAvailability, RedisConnection, KeyPrefix) {
    let conn = common::connection().await;
    let prefix = common::prefix();
    let cache = CachedAvailability::new(inner, conn.clone(), prefix.clone())
        .with_ttl(STOCK_TTL)
        .unwrap();
    (cache, conn, prefix)
}

/// The catalog suite through the cache: caching changes no behaviour.
mod catalog_through_the_cache {
    use super::*;

    async fn fixture() -> CatalogFixture {
        let outbox = Arc::new(MemoryOutbox::new());
        let inner = Arc::new(MemoryCatalog::new(outbox.clone()));
        CatalogFixture {
            store: Arc::new(cached_catalog(inner).await.0),
            outbox,
        }
    }

    commerce_core::catalog_store_conformance!(fixture);
}

// The availability cache is a read-only `StockReader`, no `InventoryStore`: it no
// longer runs the inventory conformance suite (writes go to the store itself).

/// A catalog that counts reads and can hold one `product` read after it has read the
/// inner store (to interleave an invalidation with a fill).
struct ProbedCatalog {
    inner: MemoryCatalog,
    product_reads: AtomicUsize,
    listing_reads: AtomicUsize,
    /// When set: (signal "read done", wait for "go on").
    hold: Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>,
}

impl ProbedCatalog {
    fn new(outbox: Arc<MemoryOutbox>) -> Self {
        ProbedCatalog {
            inner: MemoryCatalog::new(outbox),
            product_reads: AtomicUsize::new(0),
            listing_reads: AtomicUsize::new(0),
            hold: Mutex::new(None),
        }
    }
}

#[async_trait]
impl CatalogStore for ProbedCatalog {
    async fn upsert_product(&self, product: &Product) -> CoreResult<()> {
        self.inner.upsert_product(product).await
    }
    async fn product(&self, id: ProductId) -> CoreResult<Option<Product>> {
        self.product_reads.fetch_add(1, Ordering::SeqCst);
        let read = self.inner.product(id).await;
        let hold = self.hold.lock().unwrap().take();
        if let Some((done, go_on)) = hold {
            done.send(()).unwrap();
            go_on.await.unwrap();
        }
        read
    }
    async fn products(&self, ids: &[ProductId]) -> CoreResult<Vec<Product>> {
        self.product_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.products(ids).await
    }
    async fn product_by_slug(&self, slug: &str) -> CoreResult<Option<Product>> {
        self.product_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.product_by_slug(slug).await
    }
    async fn list_products(&self, query: &ProductQuery) -> CoreResult<Vec<Product>> {
        self.inner.list_products(query).await
    }
    async fn listings(&self, skus: &[Sku]) -> CoreResult<Vec<SkuListing>> {
        self.listing_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.listings(skus).await
    }
    async fn set_price(&self, sku: &Sku, price: Money) -> CoreResult<()> {
        self.inner.set_price(sku, price).await
    }
    async fn upsert_category(&self, category: &Category) -> CoreResult<()> {
        self.inner.upsert_category(category).await
    }
    async fn categories(&self) -> CoreResult<Vec<Category>> {
        self.inner.categories().await
    }

    async fn upsert_seller(&self, seller: &Seller) -> CoreResult<()> {
        self.inner.upsert_seller(seller).await
    }

    async fn seller(&self, id: SellerId) -> CoreResult<Option<Seller>> {
        self.inner.seller(id).await
    }

    async fn seller_by_slug(&self, slug: &str) -> CoreResult<Option<Seller>> {
        self.inner.seller_by_slug(slug).await
    }

    async fn sellers(&self) -> CoreResult<Vec<Seller>> {
        self.inner.sellers().await
    }
}

/// Hands every outbox event not yet seen to `handle`, as an outbox consumer would.
async fn consume<F, Fut>(outbox: &MemoryOutbox, seen: &mut usize, mut handle: F)
where
    F: FnMut(commerce_core::EventEnvelope) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let entries = outbox.entries();
    for entry in entries.into_iter().skip(*seen) {
        handle(entry.event).await;
        *seen += 1;
    }
}

fn price_of(p: &Product) -> Money {
    p.variants[0].price
}

/// Defect 9: a price change reaches product details, slug lookups and listings as
/// soon as its event is handled (or at once when written through the cache), not
/// after the TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn defect_9_price_change_invalidates_cached_product() {
    let outbox = Arc::new(MemoryOutbox::new());
    let probed = Arc::new(ProbedCatalog::new(outbox.clone()));
    let (cache, _, _) = cached_catalog(probed.clone()).await;
    let p = product("D9-TEE", usd("10.00"));
    let s = sku("D9-TEE");
    probed.upsert_product(&p).await.unwrap();

    // Warm every path; the second round is served by Redis.
    for _ in 0..2 {
        assert_eq!(
            price_of(&cache.product(p.id).await.unwrap().unwrap()),
            usd("10.00")
        );
        assert_eq!(
            cache
                .listings(std::slice::from_ref(&s))
                .await
                .unwrap()
                .len(),
            1
        );
    }
    let reads = probed.product_reads.load(Ordering::SeqCst);
    let listing_reads = probed.listing_reads.load(Ordering::SeqCst);
    assert_eq!(
        price_of(&cache.product(p.id).await.unwrap().unwrap()),
        usd("10.00")
    );
    let by_slug = cache.product_by_slug(&p.slug).await.unwrap().unwrap();
    assert_eq!(price_of(&by_slug), usd("10.00"));
    let listed = cache.listings(std::slice::from_ref(&s)).await.unwrap();
    assert_eq!(listed[0].variant.price, usd("10.00"));
    assert_eq!(
        probed.product_reads.load(Ordering::SeqCst),
        reads,
        "served from Redis"
    );
    assert_eq!(
        probed.listing_reads.load(Ordering::SeqCst),
        listing_reads,
        "served from Redis"
    );

    // The price changes in the system of record (an admin tool using the plain store);
    // the outbox consumer hands the events to the cache.
    let mut seen = 0;
    probed.set_price(&s, usd("12.00")).await.unwrap();
    consume(&outbox, &mut seen, |e| {
        let cache = cache.clone();
        async move {
            cache.invalidate(&e).await.unwrap();
        }
    })
    .await;
    assert_eq!(
        price_of(&cache.product(p.id).await.unwrap().unwrap()),
        usd("12.00")
    );
    assert_eq!(
        price_of(&cache.product_by_slug(&p.slug).await.unwrap().unwrap()),
        usd("12.00")
    );
    let listed = cache.listings(std::slice::from_ref(&s)).await.unwrap();
    assert_eq!(listed[0].variant.price, usd("12.00"));

    // Written through the cache: visible at once, before any event is handled.
    cache.set_price(&s, usd("13.00")).await.unwrap();
    assert_eq!(
        price_of(&cache.product(p.id).await.unwrap().unwrap()),
        usd("13.00")
    );
    let listed = cache.listings(std::slice::from_ref(&s)).await.unwrap();
    assert_eq!(listed[0].variant.price, usd("13.00"));
    let mut renamed = cache.product(p.id).await.unwrap().unwrap();
    renamed.title = "Renamed".to_owned();
    cache.upsert_product(&renamed).await.unwrap();
    assert_eq!(cache.product(p.id).await.unwrap().unwrap().title, "Renamed");
}

/// A value read from the system of record before an invalidating event is never
/// cached after the event has been handled: the reader's fill is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cache_entry_never_outlives_an_invalidating_event() {
    let outbox = Arc::new(MemoryOutbox::new());
    let probed = Arc::new(ProbedCatalog::new(outbox.clone()));
    let (cache, _, _) = cached_catalog(probed.clone()).await;
    let p = product("RACE-TEE", usd("10.00"));
    probed.upsert_product(&p).await.unwrap();
    let mut seen = outbox.len();

    // A reader misses, reads the old price from the store, and is held there.
    let (done_tx, done_rx) = oneshot::channel();
    let (go_tx, go_rx) = oneshot::channel();
    *probed.hold.lock().unwrap() = Some((done_tx, go_rx));
    let reader = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.product(p.id).await })
    };
    done_rx.await.unwrap();

    // Meanwhile the price changes and the event is handled.
    probed
        .set_price(&sku("RACE-TEE"), usd("12.00"))
        .await
        .unwrap();
    consume(&outbox, &mut seen, |e| {
        let cache = cache.clone();
        async move {
            assert!(cache.invalidate(&e).await.unwrap());
        }
    })
    .await;

    // The held reader now tries to cache what it read: refused.
    go_tx.send(()).unwrap();
    let stale = reader.await.unwrap().unwrap().unwrap();
    assert_eq!(
        price_of(&stale),
        usd("10.00"),
        "the reader saw the old price"
    );
    for _ in 0..3 {
        let now = cache.product(p.id).await.unwrap().unwrap();
        assert_eq!(
            price_of(&now),
            usd("12.00"),
            "no stale entry after the event"
        );
    }

    // Stock levels: once `inventory.stock_changed` is handled the cache agrees.
    let inv_outbox = Arc::new(MemoryOutbox::new());
    let inventory = Arc::new(MemoryInventory::new(inv_outbox.clone()));
    let (stock_cache, _, _) = cached_inventory(inventory.clone()).await;
    let s = sku("RACE-STOCK");
    let here = LocationCode::default();
    inventory
        .adjust(&received(&s, 5), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        stock_cache.stock(&s, &here).await.unwrap().unwrap().on_hand,
        5
    );
    inventory
        .adjust(&received(&s, 2), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        stock_cache.stock(&s, &here).await.unwrap().unwrap().on_hand,
        5,
        "stale until the event (bounded by the TTL)"
    );
    let mut seen = 0;
    consume(&inv_outbox, &mut seen, |e| {
        let c = stock_cache.clone();
        async move {
            c.invalidate(&e).await.unwrap();
        }
    })
    .await;
    assert_eq!(
        stock_cache.stock(&s, &here).await.unwrap().unwrap().on_hand,
        7
    );
}

fn received(s: &Sku, n: i64) -> StockAdjustment {
    StockAdjustment::received(s.clone(), n)
}

/// Defect 6: the cache holds whole stock levels copied from the system of record,
/// never a counter it decrements: no key is a number, none lacks an expiry or
/// outlives the TTL, and a level read after reservations and invalidations equals
/// the store's, never below zero, even while the key is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn defect_6_cached_stock_never_negative_or_immortal() {
    let outbox = Arc::new(MemoryOutbox::new());
    let inventory = Arc::new(MemoryInventory::new(outbox.clone()));
    let (cache, conn, prefix) = cached_inventory(inventory.clone()).await;
    let here = LocationCode::default();
    let skus: Vec<Sku> = (0..5).map(|i| sku(&format!("D6-{i}"))).collect();
    for s in &skus {
        inventory.adjust(&received(s, 3), Utc::now()).await.unwrap();
    }
    let mut seen = outbox.len();
    assert_eq!(cache.stock_levels(&skus, &here).await.unwrap().len(), 5);

    // Checkout reserves straight against the system of record, more than there is;
    // the cache only learns through events (and a missing key is simply re-read).
    let reserves = (0..20).map(|_| {
        let inventory = inventory.clone();
        let s = skus[0].clone();
        async move {
            inventory
                .reserve(
                    &ReserveRequest::new(
                        ReservationId::new(),
                        "d6",
                        vec![ReservationLine {
                            sku: s,
                            quantity: 1,
                        }],
                        Utc::now() + chrono::Duration::minutes(15),
                    ),
                    Utc::now(),
                )
                .await
        }
    });
    let granted = futures::future::join_all(reserves)
        .await
        .into_iter()
        .filter(Result::is_ok)
        .count();
    assert_eq!(granted, 3);
    consume(&outbox, &mut seen, |e| {
        let c = cache.clone();
        async move {
            c.invalidate(&e).await.unwrap();
        }
    })
    .await;
    // Reads with the key missing (just invalidated) and present.
    for _ in 0..2 {
        let level = cache.stock(&skus[0], &here).await.unwrap().unwrap();
        let truth = inventory.stock(&skus[0], &here).await.unwrap().unwrap();
        assert_eq!(level, truth);
        assert_eq!(level.available(), 0);
        assert_eq!((level.on_hand, level.reserved), (3, 3));
    }
    cache.stock_levels(&skus, &here).await.unwrap();

    let keys = common::keys_under(&conn, &prefix).await;
    assert!(!keys.is_empty());
    let mut c = conn.clone();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(kind, "hash", "{key} is a whole-value entry, not a counter");
        let ttl = common::pttl(&conn, &key).await;
        let max = i64::try_from(STOCK_TTL.as_millis()).unwrap();
        assert!(
            ttl > 0 && ttl <= max,
            "{key} expires within the TTL (pttl {ttl})"
        );
        let value: Option<String> = redis::cmd("HGET")
            .arg(&key)
            .arg("v")
            .query_async(&mut c)
            .await
            .unwrap();
        if let Some(json) = value {
            let level: commerce_inventory::StockLevel = serde_json::from_str(&json).unwrap();
            let truth = inventory.stock(&level.sku, &here).await.unwrap().unwrap();
            assert_eq!(level, truth);
        }
    }
}

/// Every key a catalog cache writes (entries and pointers) expires within its TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_catalog_cache_key_expires_within_the_ttl() {
    let outbox = Arc::new(MemoryOutbox::new());
    let inner = Arc::new(MemoryCatalog::new(outbox));
    let (cache, conn, prefix) = cached_catalog(inner.clone()).await;
    let p = product("TTL-TEE", usd("5.00"));
    inner.upsert_product(&p).await.unwrap();
    for _ in 0..2 {
        cache.product(p.id).await.unwrap();
        cache.product_by_slug(&p.slug).await.unwrap();
        cache
            .listings(&[sku("TTL-TEE"), sku("NOPE")])
            .await
            .unwrap();
    }
    let keys = common::keys_under(&conn, &prefix).await;
    assert!(keys.len() >= 3, "{keys:?}");
    for key in keys {
        let ttl = common::pttl(&conn, &key).await;
        let max = i64::try_from(CATALOG_TTL.as_millis()).unwrap();
        assert!(ttl > 0 && ttl <= max, "{key}: pttl {ttl}");
    }
}
