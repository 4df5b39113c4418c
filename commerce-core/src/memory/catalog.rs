//! In-memory catalog store: products, variants and categories behind one lock, with
//! catalog events pushed to a [`MemoryOutbox`] under that same lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::catalog::{Category, Product, Seller, SkuListing};
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::event::{CatalogEvent, CategoryEvent, DomainEvent, EventEnvelope};
use crate::id::{CategoryId, ProductId, SellerId, Sku};
use crate::memory::outbox::MemoryOutbox;
use crate::money::Money;
use crate::ports::{CatalogStore, ProductQuery};

/// Largest page [`CatalogStore::list_products`] returns.
pub const MAX_PAGE: u32 = 500;

#[derive(Debug, Default)]
struct State {
    /// Products by id (ordered, for keyset paging).
    products: BTreeMap<ProductId, Product>,
    /// Slug -> product.
    slugs: HashMap<String, ProductId>,
    /// SKU -> product.
    skus: HashMap<Sku, ProductId>,
    /// Categories by id.
    categories: BTreeMap<CategoryId, Category>,
    /// Sellers by id.
    sellers: BTreeMap<SellerId, Seller>,
}

/// The in-memory [`CatalogStore`]. Writes push [`CatalogEvent`]s to the shared
/// [`MemoryOutbox`] while holding the catalog lock.
#[derive(Debug)]
pub struct MemoryCatalog {
    state: RwLock<State>,
    outbox: Arc<MemoryOutbox>,
    clock: Arc<dyn Clock>,
}

impl MemoryCatalog {
    /// An empty catalog writing its events to `outbox`, on the system clock.
    pub fn new(outbox: Arc<MemoryOutbox>) -> Self {
        MemoryCatalog::with_clock(outbox, Arc::new(SystemClock))
    }

    /// An empty catalog writing its events to `outbox`, stamping them with `clock`.
    pub fn with_clock(outbox: Arc<MemoryOutbox>, clock: Arc<dyn Clock>) -> Self {
        MemoryCatalog {
            state: RwLock::new(State::default()),
            outbox,
            clock,
        }
    }

    /// The outbox this catalog writes to.
    pub fn outbox(&self) -> &Arc<MemoryOutbox> {
        &self.outbox
    }

    // Every write validates before it mutates, so a panic cannot leave the state
    // half-written: a poisoned lock is recovered.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    fn envelopes(&self, events: &[CatalogEvent]) -> Result<Vec<EventEnvelope>> {
        let now = self.clock.now();
        events.iter().map(|e| e.envelope(now)).collect()
    }
}

#[async_trait]
impl CatalogStore for MemoryCatalog {
    async fn upsert_product(&self, product: &Product) -> Result<()> {
        product.validate()?;
        let mut state = self.write();
        if let Some(owner) = state.slugs.get(&product.slug)
            && *owner != product.id
        {
            return Err(Error::Conflict(format!(
                "slug {} belongs to another product",
                product.slug
            )));
        }
        for v in &product.variants {
            if let Some(owner) = state.skus.get(&v.sku)
                && *owner != product.id
            {
                return Err(Error::Conflict(format!(
                    "sku {} belongs to another product",
                    v.sku
                )));
            }
        }
        let old = state.products.get(&product.id);
        let mut events = vec![CatalogEvent::ProductUpserted {
            product_id: product.id,
        }];
        if let Some(old) = old {
            for v in &product.variants {
                let changed = old
                    .variants
                    .iter()
                    .find(|o| o.sku == v.sku)
                    .is_some_and(|o| o.price != v.price);
                if changed {
                    events.push(CatalogEvent::PriceChanged {
                        product_id: product.id,
                        sku: v.sku.clone(),
                        price: v.price,
                    });
                }
            }
        }
        let envelopes = self.envelopes(&events)?;
        // All checks passed: mutate.
        if let Some(old) = state.products.remove(&product.id) {
            state.slugs.remove(&old.slug);
            for v in &old.variants {
                state.skus.remove(&v.sku);
            }
        }
        state.slugs.insert(product.slug.clone(), product.id);
        for v in &product.variants {
            state.skus.insert(v.sku.clone(), product.id);
        }
        state.products.insert(product.id, product.clone());
        self.outbox.push(envelopes);
        Ok(())
    }

    async fn product(&self, id: ProductId) -> Result<Option<Product>> {
        Ok(self.read().products.get(&id).cloned())
    }

    async fn products(&self, ids: &[ProductId]) -> Result<Vec<Product>> {
        crate::ports::check_batch("ids", ids.len())?;
        let state = self.read();
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        Ok(ids
            .iter()
            .filter(|id| seen.insert(**id))
            .filter_map(|id| state.products.get(id).cloned())
            .collect())
    }

    async fn product_by_slug(&self, slug: &str) -> Result<Option<Product>> {
        let state = self.read();
        Ok(state
            .slugs
            .get(slug)
            .and_then(|id| state.products.get(id))
            .cloned())
    }

    async fn list_products(&self, query: &ProductQuery) -> Result<Vec<Product>> {
        if query.limit == 0 {
            return Err(Error::validation("limit", "must be at least 1"));
        }
        let limit = usize::try_from(query.limit.min(MAX_PAGE)).map_err(|_| Error::Overflow)?;
        let state = self.read();
        let range = match query.after {
            Some(after) => state
                .products
                .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            None => state.products.range(..),
        };
        Ok(range
            .map(|(_, p)| p)
            .filter(|p| query.status.is_none_or(|s| p.status == s))
            .filter(|p| query.seller_id.is_none_or(|s| p.seller_id == s))
            .filter(|p| {
                query
                    .category_id
                    .is_none_or(|c| p.category_ids.contains(&c))
            })
            .take(limit)
            .cloned()
            .collect())
    }

    async fn listings(&self, skus: &[Sku]) -> Result<Vec<SkuListing>> {
        let state = self.read();
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for sku in skus {
            if !seen.insert(sku) {
                continue;
            }
            let Some(product) = state.skus.get(sku).and_then(|id| state.products.get(id)) else {
                continue;
            };
            if let Some(variant) = product.variants.iter().find(|v| &v.sku == sku) {
                out.push(SkuListing {
                    variant: variant.clone(),
                    product_title: product.title.clone(),
                    status: product.status,
                    seller_id: product.seller_id,
                });
            }
        }
        Ok(out)
    }

    async fn set_price(&self, sku: &Sku, price: Money) -> Result<()> {
        if price.is_negative() || !price.is_rounded() {
            return Err(Error::InvalidAmount(format!(
                "price of {sku} must be non-negative and in minor units"
            )));
        }
        let now = self.clock.now();
        let mut guard = self.write();
        let state = &mut *guard;
        let product_id = *state
            .skus
            .get(sku)
            .ok_or_else(|| Error::not_found("sku", sku))?;
        let product = state
            .products
            .get_mut(&product_id)
            .ok_or_else(|| Error::not_found("product", product_id))?;
        let variant = product
            .variants
            .iter_mut()
            .find(|v| &v.sku == sku)
            .ok_or_else(|| Error::not_found("sku", sku))?;
        if variant.price.currency() != price.currency() {
            return Err(Error::CurrencyMismatch {
                expected: variant.price.currency(),
                found: price.currency(),
            });
        }
        if variant.price == price {
            return Ok(());
        }
        let envelopes = self.envelopes(&[CatalogEvent::PriceChanged {
            product_id,
            sku: sku.clone(),
            price,
        }])?;
        variant.price = price;
        product.updated_at = now;
        self.outbox.push(envelopes);
        Ok(())
    }

    async fn upsert_category(&self, category: &Category) -> Result<()> {
        if category.name.trim().is_empty() {
            return Err(Error::validation("name", "must not be empty"));
        }
        crate::catalog::rules::check_slug("slug", &category.slug)?;
        let mut state = self.write();
        if state
            .categories
            .values()
            .any(|c| c.slug == category.slug && c.id != category.id)
        {
            return Err(Error::Conflict(format!(
                "category slug {} is taken",
                category.slug
            )));
        }
        // Walk up from the new parent: reaching this category again is a cycle.
        let mut cursor = category.parent_id;
        let mut steps = 0usize;
        while let Some(id) = cursor {
            if id == category.id {
                return Err(Error::CategoryCycle {
                    category: category.id.to_string(),
                });
            }
            let parent = state
                .categories
                .get(&id)
                .ok_or_else(|| Error::not_found("category", id))?;
            cursor = parent.parent_id;
            steps += 1;
            if steps > state.categories.len() {
                // Unreachable while the invariant "no cycles" holds; guards the loop.
                return Err(Error::Conflict("category tree contains a cycle".into()));
            }
        }
        let previous_parent_id = state
            .categories
            .get(&category.id)
            .and_then(|old| old.parent_id)
            .filter(|old| Some(*old) != category.parent_id);
        let envelope = CategoryEvent::CategoryUpserted {
            category_id: category.id,
            parent_id: category.parent_id,
            previous_parent_id,
        }
        .envelope(self.clock.now())?;
        state.categories.insert(category.id, category.clone());
        self.outbox.push(vec![envelope]);
        Ok(())
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        Ok(self.read().categories.values().cloned().collect())
    }

    async fn upsert_seller(&self, seller: &Seller) -> Result<()> {
        let mut seller = seller.clone();
        seller.contact_email = crate::address::normalize_email(&seller.contact_email);
        seller.validate()?;
        let mut state = self.write();
        if state
            .sellers
            .values()
            .any(|s| s.slug == seller.slug && s.id != seller.id)
        {
            return Err(Error::Conflict(format!(
                "seller slug {} is taken",
                seller.slug
            )));
        }
        state.sellers.insert(seller.id, seller);
        Ok(())
    }

    async fn seller(&self, id: SellerId) -> Result<Option<Seller>> {
        Ok(self.read().sellers.get(&id).cloned())
    }

    async fn seller_by_slug(&self, slug: &str) -> Result<Option<Seller>> {
        Ok(self
            .read()
            .sellers
            .values()
            .find(|s| s.slug == slug)
            .cloned())
    }

    async fn sellers(&self) -> Result<Vec<Seller>> {
        Ok(self.read().sellers.values().cloned().collect())
    }
}
