//! Tests for the defects of the original sketch that concern carts (DESIGN.md).

// Helpers outside `#[test]` functions unwrap too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::Barrier;

use commerce_cart::{CartKey, CartLimits, CartStore, MemoryCartStore, PricingContext, price_cart};
use commerce_core::memory::{MemoryCatalog, MemoryOutbox};
use commerce_core::ports::{CatalogStore, ProductQuery};
use commerce_core::testkit::fixtures;
use commerce_core::{
    Category, Currency, CustomerId, Money, Product, ProductId, Result, Seller, SellerId, Sku,
    SkuListing,
};

/// Defect 8: add-to-cart read the quantity and wrote it back, so two devices adding
/// at once lost an update. Two tasks on a multi-threaded runtime, started together,
/// each add one unit 40 times to the same customer's cart: all 80 count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defect_8_concurrent_adds_both_count() {
    let store: Arc<dyn CartStore> = Arc::new(MemoryCartStore::new());
    let key = CartKey::Customer(CustomerId::new());
    let sku = fixtures::sku("MUG-1");
    let start = Arc::new(Barrier::new(2));
    let devices: Vec<_> = (0..2)
        .map(|_| {
            let (store, sku, start) = (Arc::clone(&store), sku.clone(), Arc::clone(&start));
            tokio::spawn(async move {
                start.wait().await;
                for _ in 0..40 {
                    store
                        .add(&key, &sku, 1, CartLimits::default(), Utc::now())
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for device in devices {
        device.await.unwrap();
    }
    let cart = store.cart(&key).await.unwrap().unwrap();
    assert_eq!(cart.quantity_of(&sku), 80);
}

/// A catalog that counts the reads a pricing makes.
#[derive(Debug)]
struct CountingCatalog {
    inner: MemoryCatalog,
    reads: AtomicUsize,
}

impl CountingCatalog {
    fn read(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl CatalogStore for CountingCatalog {
    async fn upsert_product(&self, product: &Product) -> Result<()> {
        self.inner.upsert_product(product).await
    }
    async fn product(&self, id: ProductId) -> Result<Option<Product>> {
        self.read();
        self.inner.product(id).await
    }
    async fn products(&self, ids: &[ProductId]) -> Result<Vec<Product>> {
        self.read();
        self.inner.products(ids).await
    }
    async fn product_by_slug(&self, slug: &str) -> Result<Option<Product>> {
        self.read();
        self.inner.product_by_slug(slug).await
    }
    async fn list_products(&self, query: &ProductQuery) -> Result<Vec<Product>> {
        self.read();
        self.inner.list_products(query).await
    }
    async fn listings(&self, skus: &[Sku]) -> Result<Vec<SkuListing>> {
        self.read();
        self.inner.listings(skus).await
    }
    async fn set_price(&self, sku: &Sku, price: Money) -> Result<()> {
        self.inner.set_price(sku, price).await
    }
    async fn upsert_category(&self, category: &Category) -> Result<()> {
        self.inner.upsert_category(category).await
    }
    async fn categories(&self) -> Result<Vec<Category>> {
        self.read();
        self.inner.categories().await
    }
    async fn upsert_seller(&self, seller: &Seller) -> Result<()> {
        self.inner.upsert_seller(seller).await
    }
    async fn seller(&self, id: SellerId) -> Result<Option<Seller>> {
        self.read();
        self.inner.seller(id).await
    }
    async fn seller_by_slug(&self, slug: &str) -> Result<Option<Seller>> {
        self.read();
        self.inner.seller_by_slug(slug).await
    }
    async fn sellers(&self) -> Result<Vec<Seller>> {
        self.read();
        self.inner.sellers().await
    }
}

/// Defect 12: the cart was priced with one product lookup per line (N+1 queries).
/// A 20-line cart is priced with exactly one catalog read.
#[tokio::test]
async fn defect_12_cart_priced_with_one_catalog_read() {
    let catalog = CountingCatalog {
        inner: MemoryCatalog::new(Arc::new(MemoryOutbox::new())),
        reads: AtomicUsize::new(0),
    };
    let store = MemoryCartStore::new();
    let key = CartKey::Customer(CustomerId::new());
    for i in 0..20 {
        let code = format!("SKU-{i:02}");
        catalog
            .upsert_product(&fixtures::product(&code, fixtures::usd("10.00")))
            .await
            .unwrap();
        store
            .add(
                &key,
                &fixtures::sku(&code),
                2,
                CartLimits::default(),
                Utc::now(),
            )
            .await
            .unwrap();
    }
    let cart = store.cart(&key).await.unwrap().unwrap();
    assert_eq!(cart.lines.len(), 20);

    let tax = fixtures::us_tax_table();
    let shipping = fixtures::standard_shipping();
    let destination = fixtures::us_address("CA");
    let context = PricingContext::new(Currency::USD, &tax)
        .with_destination(&destination)
        .with_shipping(&shipping);
    let priced = price_cart(&cart, &catalog, &context).await.unwrap();

    assert_eq!(catalog.reads.load(Ordering::SeqCst), 1, "one batched read");
    assert_eq!(priced.breakdown.lines.len(), 20);
    assert_eq!(priced.breakdown.subtotal, fixtures::usd("400.00"));
    assert_eq!(priced.cart, cart);
}
