//! [`PgCatalog`]: products, variants and categories on PostgreSQL.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use rust_decimal::Decimal;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use commerce_core::ports::{CatalogStore, ProductQuery};
use commerce_core::{
    CatalogEvent, Category, CategoryEvent, CategoryId, DomainEvent, Error, Money, OptionValue,
    Product, ProductId, ProductImage, ProductOption, ProductStatus, Result, Seller, SellerId, Sku,
    SkuListing, TaxClass, Variant,
};

use crate::convert::{currency, money};
use crate::error::{Failure, PortError, retrying, unique_violation};
use crate::outbox::append_events;
use crate::stores::Shared;

/// Largest page [`CatalogStore::list_products`] returns.
pub const MAX_PAGE: u32 = 500;

/// Key of the advisory lock serialising category tree changes (cycle checks).
const CATEGORY_TREE_LOCK: i64 = 0x636f_6d6d_6361_7431;

/// Products, variants and categories. Writes append their catalog events to the
/// outbox in the same transaction.
///
/// Writes always go to the primary. Reads go to the primary for
/// [`PgStores::catalog`](crate::PgStores::catalog) (what checkout prices from) and to
/// the read replica, when one is configured, for
/// [`PgStores::browse_catalog`](crate::PgStores::browse_catalog).
#[derive(Clone)]
pub struct PgCatalog {
    shared: Shared,
    /// The pool reads run on: the primary's, or the read replica's.
    reads: sqlx::PgPool,
}

impl std::fmt::Debug for PgCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCatalog").finish_non_exhaustive()
    }
}

fn status_name(status: ProductStatus) -> &'static str {
    match status {
        ProductStatus::Draft => "draft",
        ProductStatus::Active => "active",
        ProductStatus::Archived => "archived",
    }
}

fn parse_status(name: &str) -> Result<ProductStatus> {
    match name {
        "draft" => Ok(ProductStatus::Draft),
        "active" => Ok(ProductStatus::Active),
        "archived" => Ok(ProductStatus::Archived),
        other => Err(Error::backend(format!(
            "unknown product status {other:?} in storage"
        ))),
    }
}

fn variant_from_row(row: &PgRow) -> Result<Variant> {
    let cur = currency(row.try_get("currency").map_err(Error::backend)?)?;
    let compare_at: Option<Decimal> = row.try_get("compare_at_price").map_err(Error::backend)?;
    let weight: i64 = row.try_get("weight_grams").map_err(Error::backend)?;
    let mut variant = Variant::builder(
        Sku::new(row.try_get::<String, _>("sku").map_err(Error::backend)?)?,
        money(row.try_get("price").map_err(Error::backend)?, cur),
    )
    .build(ProductId::from_uuid(
        row.try_get("product_id").map_err(Error::backend)?,
    ));
    variant.name = row.try_get("name").map_err(Error::backend)?;
    variant.compare_at_price = compare_at.map(|a| money(a, cur));
    variant.weight_grams = u32::try_from(weight)
        .map_err(|_| Error::backend(format!("weight {weight} out of range in storage")))?;
    variant.tax_class = TaxClass(row.try_get("tax_class").map_err(Error::backend)?);
    variant.options = row
        .try_get::<Json<Vec<OptionValue>>, _>("options")
        .map_err(Error::backend)?
        .0;
    Ok(variant)
}

fn product_from_row(row: &PgRow, variants: Vec<Variant>) -> Result<Product> {
    let categories: Vec<uuid::Uuid> = row.try_get("category_ids").map_err(Error::backend)?;
    let status: String = row.try_get("status").map_err(Error::backend)?;
    let mut product = Product::builder(
        SellerId::from_uuid(row.try_get("seller_id").map_err(Error::backend)?),
        row.try_get::<String, _>("title").map_err(Error::backend)?,
        row.try_get::<String, _>("slug").map_err(Error::backend)?,
    )
    .id(ProductId::from_uuid(
        row.try_get("id").map_err(Error::backend)?,
    ))
    .status(parse_status(&status)?)
    .created_at(row.try_get("created_at").map_err(Error::backend)?)
    .updated_at(row.try_get("updated_at").map_err(Error::backend)?)
    .build_unchecked();
    product.description = row.try_get("description").map_err(Error::backend)?;
    product.category_ids = categories.into_iter().map(CategoryId::from_uuid).collect();
    product.brand = row.try_get("brand").map_err(Error::backend)?;
    product.tags = row.try_get("tags").map_err(Error::backend)?;
    product.images = row
        .try_get::<Json<Vec<ProductImage>>, _>("images")
        .map_err(Error::backend)?
        .0;
    product.options = row
        .try_get::<Json<Vec<ProductOption>>, _>("options")
        .map_err(Error::backend)?
        .0;
    product.variants = variants;
    Ok(product)
}

fn conflict_or_backend(
    e: sqlx::Error,
    what: impl FnOnce(&str) -> Option<String>,
) -> Failure<Error> {
    match unique_violation(&e).and_then(what) {
        Some(message) => Failure::Domain(Error::Conflict(message)),
        None => Failure::Db(e),
    }
}

impl PgCatalog {
    /// A catalog reading from the primary.
    pub(crate) fn new(shared: Shared) -> Self {
        let reads = shared.pool.clone();
        PgCatalog { shared, reads }
    }

    /// A catalog reading from the read replica (the primary when none is configured).
    pub(crate) fn lagging(shared: Shared) -> Self {
        let reads = shared.lagging_reads.clone();
        PgCatalog { shared, reads }
    }

    /// Loads the products of `rows` (product rows) with their variants, in row order.
    async fn with_variants(&self, rows: Vec<PgRow>) -> Result<Vec<Product>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids = rows
            .iter()
            .map(|r| r.try_get::<uuid::Uuid, _>("id"))
            .collect::<sqlx::Result<Vec<_>>>()
            .map_err(Error::backend)?;
        let variant_rows = sqlx::query(
            "SELECT * FROM commerce.variants WHERE product_id = ANY ($1) ORDER BY product_id, position",
        )
        .bind(&ids)
        .fetch_all(&self.reads)
        .await
        .map_err(Error::from_db)?;
        let mut by_product: HashMap<ProductId, Vec<Variant>> = HashMap::new();
        for row in &variant_rows {
            let v = variant_from_row(row)?;
            by_product.entry(v.product_id).or_default().push(v);
        }
        rows.iter()
            .zip(ids)
            .map(|(row, id)| {
                let variants = by_product
                    .remove(&ProductId::from_uuid(id))
                    .unwrap_or_default();
                product_from_row(row, variants)
            })
            .collect()
    }

    async fn try_upsert_product(
        &self,
        product: &Product,
    ) -> std::result::Result<(), Failure<Error>> {
        let skus: Vec<&str> = product.variants.iter().map(|v| v.sku.as_str()).collect();
        let mut tx = self.shared.pool.begin().await?;
        let taken: Option<String> = sqlx::query_scalar(
            "SELECT sku FROM commerce.variants WHERE sku = ANY ($1) AND product_id <> $2 ORDER BY sku LIMIT 1",
        )
        .bind(&skus)
        .bind(product.id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(sku) = taken {
            return Err(Failure::Domain(Error::Conflict(format!(
                "sku {sku} belongs to another product"
            ))));
        }
        let categories: Vec<uuid::Uuid> =
            product.category_ids.iter().map(|c| c.as_uuid()).collect();
        sqlx::query(
            "INSERT INTO commerce.products
                 (id, seller_id, title, slug, description, category_ids, status, created_at,
                  updated_at, brand, tags, images, options)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (id) DO UPDATE SET
                 seller_id = EXCLUDED.seller_id, title = EXCLUDED.title, slug = EXCLUDED.slug,
                 description = EXCLUDED.description, category_ids = EXCLUDED.category_ids,
                 status = EXCLUDED.status, created_at = EXCLUDED.created_at,
                 updated_at = EXCLUDED.updated_at, brand = EXCLUDED.brand,
                 tags = EXCLUDED.tags, images = EXCLUDED.images, options = EXCLUDED.options",
        )
        .bind(product.id.as_uuid())
        .bind(product.seller_id.as_uuid())
        .bind(&product.title)
        .bind(&product.slug)
        .bind(&product.description)
        .bind(&categories)
        .bind(status_name(product.status))
        .bind(product.created_at)
        .bind(product.updated_at)
        .bind(&product.brand)
        .bind(&product.tags)
        .bind(Json(&product.images))
        .bind(Json(&product.options))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or_backend(e, |c| {
                (c == "products_slug_key")
                    .then(|| format!("slug {} belongs to another product", product.slug))
            })
        })?;
        // The product row is locked now: concurrent upserts of it wait here.
        let old: Vec<(String, Decimal, String)> = sqlx::query_as(
            "SELECT sku, price, currency FROM commerce.variants WHERE product_id = $1",
        )
        .bind(product.id.as_uuid())
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM commerce.variants WHERE product_id = $1 AND NOT (sku = ANY ($2))")
            .bind(product.id.as_uuid())
            .bind(&skus)
            .execute(&mut *tx)
            .await?;
        let names: Vec<&str> = product.variants.iter().map(|v| v.name.as_str()).collect();
        let prices: Vec<Decimal> = product.variants.iter().map(|v| v.price.amount()).collect();
        let currencies: Vec<&str> = product
            .variants
            .iter()
            .map(|v| v.price.currency().code())
            .collect();
        let compare: Vec<Option<Decimal>> = product
            .variants
            .iter()
            .map(|v| v.compare_at_price.map(|m| m.amount()))
            .collect();
        let weights: Vec<i64> = product
            .variants
            .iter()
            .map(|v| i64::from(v.weight_grams))
            .collect();
        let classes: Vec<&str> = product
            .variants
            .iter()
            .map(|v| v.tax_class.0.as_str())
            .collect();
        let options: Vec<Json<&Vec<OptionValue>>> =
            product.variants.iter().map(|v| Json(&v.options)).collect();
        let written = sqlx::query(
            "INSERT INTO commerce.variants
                 (sku, product_id, position, name, price, currency, compare_at_price, weight_grams,
                  tax_class, options)
             SELECT v.sku, $1, v.n, v.name, v.price, v.currency, v.compare_at, v.weight,
                    v.tax_class, v.options
               FROM unnest($2::text[], $3::text[], $4::numeric[], $5::text[], $6::numeric[],
                           $7::bigint[], $8::text[], $9::jsonb[])
                    WITH ORDINALITY
                    AS v (sku, name, price, currency, compare_at, weight, tax_class, options, n)
             ON CONFLICT (sku) DO UPDATE SET
                 position = EXCLUDED.position, name = EXCLUDED.name, price = EXCLUDED.price,
                 currency = EXCLUDED.currency, compare_at_price = EXCLUDED.compare_at_price,
                 weight_grams = EXCLUDED.weight_grams, tax_class = EXCLUDED.tax_class,
                 options = EXCLUDED.options
             WHERE variants.product_id = EXCLUDED.product_id",
        )
        .bind(product.id.as_uuid())
        .bind(&skus)
        .bind(&names)
        .bind(&prices)
        .bind(&currencies)
        .bind(&compare)
        .bind(&weights)
        .bind(&classes)
        .bind(&options)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if written != product.variants.len() as u64 {
            // A concurrent upsert of another product took one of the SKUs.
            return Err(Failure::Domain(Error::Conflict(
                "a sku of this product belongs to another product".to_owned(),
            )));
        }
        let mut events = vec![CatalogEvent::ProductUpserted {
            product_id: product.id,
        }];
        for v in &product.variants {
            let changed = old.iter().any(|(sku, price, cur)| {
                sku == v.sku.as_str()
                    && (*price != v.price.amount() || cur != v.price.currency().code())
            });
            if changed {
                events.push(CatalogEvent::PriceChanged {
                    product_id: product.id,
                    sku: v.sku.clone(),
                    price: v.price,
                });
            }
        }
        let now = self.shared.clock.now();
        let envelopes = events
            .iter()
            .map(|e| e.envelope(now))
            .collect::<Result<Vec<_>>>()
            .map_err(Failure::Domain)?;
        append_events(&mut *tx, &envelopes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_set_price(
        &self,
        sku: &Sku,
        price: Money,
    ) -> std::result::Result<(), Failure<Error>> {
        let mut tx = self.shared.pool.begin().await?;
        let row: Option<(uuid::Uuid, Decimal, String)> = sqlx::query_as(
            "SELECT product_id, price, currency FROM commerce.variants WHERE sku = $1 FOR UPDATE",
        )
        .bind(sku.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((product_id, old_price, old_currency)) = row else {
            return Err(Failure::Domain(Error::not_found("sku", sku)));
        };
        let old = money(old_price, currency(&old_currency).map_err(Failure::Domain)?);
        if old.currency() != price.currency() {
            return Err(Failure::Domain(Error::CurrencyMismatch {
                expected: old.currency(),
                found: price.currency(),
            }));
        }
        if old == price {
            return Ok(());
        }
        let now = self.shared.clock.now();
        sqlx::query("UPDATE commerce.variants SET price = $2 WHERE sku = $1")
            .bind(sku.as_str())
            .bind(price.amount())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE commerce.products SET updated_at = $2 WHERE id = $1")
            .bind(product_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let event = CatalogEvent::PriceChanged {
            product_id: ProductId::from_uuid(product_id),
            sku: sku.clone(),
            price,
        }
        .envelope(now)
        .map_err(Failure::Domain)?;
        append_events(&mut *tx, &[event]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_upsert_category(
        &self,
        category: &Category,
    ) -> std::result::Result<(), Failure<Error>> {
        let mut tx = self.shared.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CATEGORY_TREE_LOCK)
            .execute(&mut *tx)
            .await?;
        if let Some(parent) = category.parent_id {
            let (exists, cycle): (bool, bool) = sqlx::query_as(
                "WITH RECURSIVE up (id, parent_id, depth) AS (
                     SELECT id, parent_id, 0 FROM commerce.categories WHERE id = $1
                     UNION ALL
                     SELECT c.id, c.parent_id, up.depth + 1
                       FROM commerce.categories c JOIN up ON c.id = up.parent_id
                      WHERE up.depth < 100000 AND up.id <> $2)
                 SELECT EXISTS (SELECT 1 FROM up), EXISTS (SELECT 1 FROM up WHERE id = $2)",
            )
            .bind(parent.as_uuid())
            .bind(category.id.as_uuid())
            .fetch_one(&mut *tx)
            .await?;
            if parent == category.id || cycle {
                return Err(Failure::Domain(Error::CategoryCycle {
                    category: category.id.to_string(),
                }));
            }
            if !exists {
                return Err(Failure::Domain(Error::not_found("category", parent)));
            }
        }
        let previous: Option<(Option<uuid::Uuid>,)> =
            sqlx::query_as("SELECT parent_id FROM commerce.categories WHERE id = $1")
                .bind(category.id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
        let previous_parent_id = previous
            .and_then(|(p,)| p.map(CategoryId::from_uuid))
            .filter(|old| Some(*old) != category.parent_id);
        sqlx::query(
            "INSERT INTO commerce.categories (id, parent_id, name, slug) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET
                 parent_id = EXCLUDED.parent_id, name = EXCLUDED.name, slug = EXCLUDED.slug",
        )
        .bind(category.id.as_uuid())
        .bind(category.parent_id.map(|p| p.as_uuid()))
        .bind(&category.name)
        .bind(&category.slug)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            conflict_or_backend(e, |c| {
                (c == "categories_slug_key")
                    .then(|| format!("category slug {} is taken", category.slug))
            })
        })?;
        let envelope = CategoryEvent::CategoryUpserted {
            category_id: category.id,
            parent_id: category.parent_id,
            previous_parent_id,
        }
        .envelope(self.shared.clock.now())
        .map_err(Failure::Domain)?;
        append_events(&mut *tx, &[envelope]).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl CatalogStore for PgCatalog {
    async fn upsert_product(&self, product: &Product) -> Result<()> {
        product.validate()?;
        retrying("upsert product", move || self.try_upsert_product(product)).await
    }

    async fn product(&self, id: ProductId) -> Result<Option<Product>> {
        let rows = sqlx::query("SELECT * FROM commerce.products WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_all(&self.reads)
            .await
            .map_err(Error::from_db)?;
        Ok(self.with_variants(rows).await?.pop())
    }

    async fn products(&self, ids: &[ProductId]) -> Result<Vec<Product>> {
        commerce_core::ports::check_batch("ids", ids.len())?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let uuids: Vec<uuid::Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let rows = sqlx::query("SELECT * FROM commerce.products WHERE id = ANY ($1)")
            .bind(&uuids)
            .fetch_all(&self.reads)
            .await
            .map_err(Error::from_db)?;
        let mut found: HashMap<ProductId, Product> = self
            .with_variants(rows)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    async fn product_by_slug(&self, slug: &str) -> Result<Option<Product>> {
        let rows = sqlx::query("SELECT * FROM commerce.products WHERE slug = $1")
            .bind(slug)
            .fetch_all(&self.reads)
            .await
            .map_err(Error::from_db)?;
        Ok(self.with_variants(rows).await?.pop())
    }

    async fn list_products(&self, query: &ProductQuery) -> Result<Vec<Product>> {
        if query.limit == 0 {
            return Err(Error::validation("limit", "must be at least 1"));
        }
        let rows = sqlx::query(
            "SELECT * FROM commerce.products
              WHERE ($1::uuid IS NULL OR $1 = ANY (category_ids))
                AND ($2::uuid IS NULL OR seller_id = $2)
                AND ($3::text IS NULL OR status = $3)
                AND ($4::uuid IS NULL OR id > $4)
              ORDER BY id
              LIMIT $5",
        )
        .bind(query.category_id.map(|c| c.as_uuid()))
        .bind(query.seller_id.map(|s| s.as_uuid()))
        .bind(query.status.map(status_name))
        .bind(query.after.map(|a| a.as_uuid()))
        .bind(i64::from(query.limit.min(MAX_PAGE)))
        .fetch_all(&self.reads)
        .await
        .map_err(Error::from_db)?;
        self.with_variants(rows).await
    }

    async fn listings(&self, skus: &[Sku]) -> Result<Vec<SkuListing>> {
        if skus.is_empty() {
            return Ok(Vec::new());
        }
        let codes: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        let rows = sqlx::query(
            "SELECT v.*, p.title AS product_title, p.status AS product_status, p.seller_id
               FROM commerce.variants v JOIN commerce.products p ON p.id = v.product_id
              WHERE v.sku = ANY ($1)",
        )
        .bind(&codes)
        .fetch_all(&self.reads)
        .await
        .map_err(Error::from_db)?;
        let mut found: HashMap<Sku, SkuListing> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let variant = variant_from_row(row)?;
            let status: String = row.try_get("product_status").map_err(Error::backend)?;
            found.insert(
                variant.sku.clone(),
                SkuListing {
                    product_title: row.try_get("product_title").map_err(Error::backend)?,
                    status: parse_status(&status)?,
                    seller_id: SellerId::from_uuid(
                        row.try_get("seller_id").map_err(Error::backend)?,
                    ),
                    variant,
                },
            );
        }
        let mut seen = HashSet::new();
        Ok(skus
            .iter()
            .filter(|s| seen.insert(*s))
            .filter_map(|s| found.remove(s))
            .collect())
    }

    async fn set_price(&self, sku: &Sku, price: Money) -> Result<()> {
        if price.is_negative() || !price.is_rounded() {
            return Err(Error::InvalidAmount(format!(
                "price of {sku} must be non-negative and in minor units"
            )));
        }
        retrying("set price", move || self.try_set_price(sku, price)).await
    }

    async fn upsert_category(&self, category: &Category) -> Result<()> {
        if category.name.trim().is_empty() {
            return Err(Error::validation("name", "must not be empty"));
        }
        commerce_core::catalog::rules::check_slug("slug", &category.slug)?;
        retrying("upsert category", move || {
            self.try_upsert_category(category)
        })
        .await
    }

    async fn categories(&self) -> Result<Vec<Category>> {
        let rows: Vec<(uuid::Uuid, Option<uuid::Uuid>, String, String)> =
            sqlx::query_as("SELECT id, parent_id, name, slug FROM commerce.categories ORDER BY id")
                .fetch_all(&self.reads)
                .await
                .map_err(Error::from_db)?;
        Ok(rows
            .into_iter()
            .map(|(id, parent, name, slug)| Category {
                id: CategoryId::from_uuid(id),
                parent_id: parent.map(CategoryId::from_uuid),
                name,
                slug,
            })
            .collect())
    }

    async fn upsert_seller(&self, seller: &Seller) -> Result<()> {
        let mut seller = seller.clone();
        seller.contact_email = commerce_core::address::normalize_email(&seller.contact_email);
        seller.validate()?;
        sqlx::query(
            "INSERT INTO commerce.sellers (id, name, slug, contact_email) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET
                 name = EXCLUDED.name, slug = EXCLUDED.slug, contact_email = EXCLUDED.contact_email",
        )
        .bind(seller.id.as_uuid())
        .bind(&seller.name)
        .bind(&seller.slug)
        .bind(&seller.contact_email)
        .execute(&self.shared.pool)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some("sellers_slug_key") => {
                Error::Conflict(format!("seller slug {} is taken", seller.slug))
            }
            _ => Error::from_db(e),
        })?;
        Ok(())
    }

    async fn seller(&self, id: SellerId) -> Result<Option<Seller>> {
        let row: Option<SellerRow> = sqlx::query_as(
            "SELECT id, name, slug, contact_email FROM commerce.sellers WHERE id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        Ok(row.map(seller_from_row))
    }

    async fn seller_by_slug(&self, slug: &str) -> Result<Option<Seller>> {
        let row: Option<SellerRow> = sqlx::query_as(
            "SELECT id, name, slug, contact_email FROM commerce.sellers WHERE slug = $1",
        )
        .bind(slug)
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        Ok(row.map(seller_from_row))
    }

    async fn sellers(&self) -> Result<Vec<Seller>> {
        let rows: Vec<SellerRow> = sqlx::query_as(
            "SELECT id, name, slug, contact_email FROM commerce.sellers ORDER BY id",
        )
        .fetch_all(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        Ok(rows.into_iter().map(seller_from_row).collect())
    }
}

type SellerRow = (uuid::Uuid, String, String, String);

fn seller_from_row((id, name, slug, contact_email): SellerRow) -> Seller {
    Seller::new(SellerId::from_uuid(id), name, slug, contact_email)
}
