//! [`CachedCatalog`]: product details and SKU listings cached in front of a
//! [`CatalogStore`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;

use commerce_core::ports::{CatalogStore, ProductQuery};
use commerce_core::{
    CatalogEvent, Category, Error as CoreError, EventEnvelope, Money, Product, ProductId,
    Result as CoreResult, Seller, SellerId, Sku, SkuListing,
};

use super::{EntryRead, delete, fill_entry, read_entry, validated_ttl};
use crate::connection::RedisConnection;
use crate::error::Result;
use crate::keys::KeyPrefix;

/// Field of the product JSON in a product entry.
const PRODUCT_FIELD: &str = "p";

fn listing_field(sku: &Sku) -> String {
    format!("l:{sku}")
}

/// A [`CatalogStore`] that serves `product`, `product_by_slug` and `listings` from
/// Redis when it can and from the inner store otherwise.
///
/// Layout: one entry per product, `P:cache:product:{ID}` (a hash: fill token, the
/// product, the listings of its SKUs), so one `DEL` invalidates everything derived
/// from a product; `P:cache:slug:SLUG` and `P:cache:sku:SKU` point at a product id and
/// are only hints (a hit is used only when the product entry agrees). Listings are
/// cached once a SKU's pointer exists (set by the SKU's first miss or by a read of its
/// product), so their fill can take the product entry's token before reading the
/// inner store.
///
/// `list_products`, `categories` and every write go to the inner store; writes then
/// invalidate the products they touched.
#[derive(Clone)]
pub struct CachedCatalog {
    inner: Arc<dyn CatalogStore>,
    conn: RedisConnection,
    prefix: KeyPrefix,
    ttl: Duration,
}

impl std::fmt::Debug for CachedCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedCatalog")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachedCatalog {
    /// Default expiry of cached products: 5 minutes.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

    /// A cache over `inner` with keys under `prefix` and [`Self::DEFAULT_TTL`].
    pub fn new(inner: Arc<dyn CatalogStore>, conn: RedisConnection, prefix: KeyPrefix) -> Self {
        CachedCatalog {
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

    /// The store behind the cache.
    pub fn inner(&self) -> &Arc<dyn CatalogStore> {
        &self.inner
    }

    /// Drops what is cached of `id` (details and listings).
    pub async fn invalidate_product(&self, id: ProductId) -> CoreResult<()> {
        delete(&self.conn, &[self.prefix.cached_product(id)]).await?;
        Ok(())
    }

    /// Handles an outbox event: `catalog.product_upserted` and `catalog.price_changed`
    /// drop the product's entry. Returns whether the event concerned this cache. An
    /// outbox consumer acks the event only after this returns `Ok`.
    pub async fn invalidate(&self, event: &EventEnvelope) -> CoreResult<bool> {
        if !matches!(
            event.topic.as_str(),
            "catalog.product_upserted" | "catalog.price_changed"
        ) {
            return Ok(false);
        }
        let id = match serde_json::from_value::<CatalogEvent>(event.payload.clone()) {
            Ok(event) => event.product_id(),
            Err(_) => event.aggregate_id.parse::<ProductId>().map_err(|_| {
                CoreError::validation("event", format!("{} names no product", event.topic))
            })?,
        };
        self.invalidate_product(id).await?;
        Ok(true)
    }

    /// Reads fields of a product entry; `None` when Redis fails (the caller then goes to
    /// the inner store without filling).
    async fn read(&self, id: ProductId, fields: &[String]) -> Option<EntryRead> {
        read_entry(
            &self.conn,
            &self.prefix.cached_product(id),
            self.ttl,
            fields,
        )
        .await
        .ok()
    }

    /// Best-effort fill of a product entry (a refused or failed fill only costs a
    /// later miss).
    async fn fill(&self, id: ProductId, token: &str, pairs: &[(String, String)]) {
        let _ = fill_entry(&self.conn, &self.prefix.cached_product(id), token, pairs).await;
    }

    /// Best-effort pointer (slug or SKU → product id).
    async fn point(&self, key: String, id: ProductId) {
        let ttl = super::ttl_ms(self.ttl);
        let mut conn = self.conn.clone();
        let _: redis::RedisResult<()> = redis::cmd("SET")
            .arg(key)
            .arg(id.to_string())
            .arg("PX")
            .arg(ttl)
            .query_async(&mut conn)
            .await;
    }

    /// Best-effort pointers from the slug and every SKU of `product` to it, so later
    /// slug and listing reads find its entry.
    async fn point_all(&self, product: &Product) {
        let slug = self.point(self.prefix.slug_pointer(&product.slug), product.id);
        let skus = join_all(
            product
                .variants
                .iter()
                .map(|v| self.point(self.prefix.sku_pointer(&v.sku), product.id)),
        );
        futures::join!(slug, skus);
    }

    /// The product ids the pointers at `keys` name (`None` where absent or on failure).
    async fn pointers(&self, keys: &[String]) -> Vec<Option<ProductId>> {
        let none = || vec![None; keys.len()];
        if keys.is_empty() {
            return Vec::new();
        }
        let read: redis::RedisResult<Vec<Option<String>>> = redis::cmd("MGET")
            .arg(keys)
            .query_async(&mut self.conn.clone())
            .await;
        match read {
            Ok(values) if values.len() == keys.len() => values
                .into_iter()
                .map(|v| v.and_then(|s| s.parse().ok()))
                .collect(),
            _ => none(),
        }
    }
}

fn decode_product(json: Option<&String>) -> Option<Product> {
    json.and_then(|j| serde_json::from_str(j).ok())
}

#[async_trait]
impl CatalogStore for CachedCatalog {
    async fn upsert_product(&self, product: &Product) -> CoreResult<()> {
        self.inner.upsert_product(product).await?;
        let _ = self.invalidate_product(product.id).await;
        Ok(())
    }

    async fn product(&self, id: ProductId) -> CoreResult<Option<Product>> {
        let fields = [PRODUCT_FIELD.to_owned()];
        let read = self.read(id, &fields).await;
        if let Some(hit) = read
            .as_ref()
            .and_then(|r| decode_product(r.values.first()?.as_ref()))
            .filter(|p| p.id == id)
        {
            return Ok(Some(hit));
        }
        let fresh = self.inner.product(id).await?;
        if let (Some(read), Some(product)) = (read, &fresh)
            && let Ok(json) = serde_json::to_string(product)
        {
            let pairs = [(PRODUCT_FIELD.to_owned(), json)];
            futures::join!(self.fill(id, &read.token, &pairs), self.point_all(product),);
        }
        Ok(fresh)
    }

    /// Reads through to the store (one read for the whole batch; the per-product
    /// cache entries serve single reads).
    async fn products(&self, ids: &[ProductId]) -> CoreResult<Vec<Product>> {
        self.inner.products(ids).await
    }

    async fn product_by_slug(&self, slug: &str) -> CoreResult<Option<Product>> {
        let pointer = self
            .pointers(&[self.prefix.slug_pointer(slug)])
            .await
            .pop()
            .flatten();
        let mut token = None;
        if let Some(id) = pointer {
            let fields = [PRODUCT_FIELD.to_owned()];
            if let Some(read) = self.read(id, &fields).await {
                if let Some(hit) = decode_product(read.values.first().and_then(Option::as_ref))
                    .filter(|p| p.id == id && p.slug == slug)
                {
                    return Ok(Some(hit));
                }
                token = Some((id, read.token));
            }
        }
        let fresh = self.inner.product_by_slug(slug).await?;
        if let Some(product) = &fresh {
            let fill = async {
                if let Some((id, token)) = &token
                    && *id == product.id
                    && let Ok(json) = serde_json::to_string(product)
                {
                    self.fill(*id, token, &[(PRODUCT_FIELD.to_owned(), json)])
                        .await;
                }
            };
            futures::join!(fill, self.point_all(product));
        }
        Ok(fresh)
    }

    async fn list_products(&self, query: &ProductQuery) -> CoreResult<Vec<Product>> {
        self.inner.list_products(query).await
    }

    async fn listings(&self, skus: &[Sku]) -> CoreResult<Vec<SkuListing>> {
        let skus: Vec<&Sku> = skus.iter().collect::<BTreeSet<_>>().into_iter().collect();
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let pointer_keys: Vec<String> = skus.iter().map(|s| self.prefix.sku_pointer(s)).collect();
        let pointers = self.pointers(&pointer_keys).await;

        // SKUs grouped by the product their pointer names.
        let mut by_product: BTreeMap<ProductId, Vec<&Sku>> = BTreeMap::new();
        let mut misses: Vec<Sku> = Vec::new();
        for (sku, pointer) in skus.iter().zip(&pointers) {
            match pointer {
                Some(id) => by_product.entry(*id).or_default().push(sku),
                None => misses.push((*sku).clone()),
            }
        }
        let reads = join_all(by_product.iter().map(|(id, skus)| async move {
            let fields: Vec<String> = skus.iter().map(|s| listing_field(s)).collect();
            (*id, self.read(*id, &fields).await)
        }))
        .await;

        let mut found = Vec::with_capacity(skus.len());
        let mut tokens: BTreeMap<ProductId, String> = BTreeMap::new();
        for (id, read) in reads {
            let product_skus = by_product.get(&id).map(Vec::as_slice).unwrap_or_default();
            let Some(read) = read else {
                misses.extend(product_skus.iter().map(|s| (*s).clone()));
                continue;
            };
            for (sku, value) in product_skus.iter().zip(&read.values) {
                let hit = value
                    .as_ref()
                    .and_then(|j| serde_json::from_str::<SkuListing>(j).ok())
                    .filter(|l| &l.variant.sku == *sku && l.variant.product_id == id);
                match hit {
                    Some(listing) => found.push(listing),
                    None => misses.push((*sku).clone()),
                }
            }
            tokens.insert(id, read.token);
        }
        if misses.is_empty() {
            return Ok(found);
        }

        let fresh = self.inner.listings(&misses).await?;
        let mut fills: BTreeMap<ProductId, Vec<(String, String)>> = BTreeMap::new();
        for listing in &fresh {
            let id = listing.variant.product_id;
            if tokens.contains_key(&id)
                && let Ok(json) = serde_json::to_string(listing)
            {
                fills
                    .entry(id)
                    .or_default()
                    .push((listing_field(&listing.variant.sku), json));
            }
        }
        let fill_all = join_all(fills.iter().filter_map(|(id, pairs)| {
            let token = tokens.get(id)?;
            Some(self.fill(*id, token, pairs))
        }));
        let point_all = join_all(fresh.iter().map(|l| {
            self.point(
                self.prefix.sku_pointer(&l.variant.sku),
                l.variant.product_id,
            )
        }));
        futures::join!(fill_all, point_all);
        found.extend(fresh);
        Ok(found)
    }

    async fn set_price(&self, sku: &Sku, price: Money) -> CoreResult<()> {
        self.inner.set_price(sku, price).await?;
        if let Ok(listings) = self.inner.listings(std::slice::from_ref(sku)).await {
            for l in listings {
                let _ = self.invalidate_product(l.variant.product_id).await;
            }
        }
        Ok(())
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
