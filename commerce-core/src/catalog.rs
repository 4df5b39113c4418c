//! The catalog model: products, variants (SKUs), categories and sellers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::{CategoryId, ProductId, SellerId, Sku};
use crate::money::Money;

/// A tax class groups goods taxed alike (`standard`, `reduced`, `zero`, `digital`...).
/// Rates are looked up by country, region and tax class.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaxClass(pub String);

impl TaxClass {
    /// The default class, `standard`.
    pub fn standard() -> Self {
        TaxClass("standard".to_owned())
    }
}

impl Default for TaxClass {
    fn default() -> Self {
        TaxClass::standard()
    }
}

/// Whether a product can be bought.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Not visible to shoppers yet.
    #[default]
    Draft,
    /// Visible and purchasable.
    Active,
    /// No longer sold; kept for order history.
    Archived,
}

/// A sellable variant of a product, identified by its SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// Stock keeping unit, unique across the catalog.
    pub sku: Sku,
    /// The product this variant belongs to.
    pub product_id: ProductId,
    /// Variant name, e.g. "Red / M".
    pub name: String,
    /// Unit price. Whether it includes tax is set by the tax table.
    pub price: Money,
    /// Optional "was" price shown struck through.
    #[serde(default)]
    pub compare_at_price: Option<Money>,
    /// Shipping weight in grams.
    pub weight_grams: u32,
    /// Tax class used to look up the tax rate.
    #[serde(default)]
    pub tax_class: TaxClass,
}

/// A product with its variants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Id.
    pub id: ProductId,
    /// Seller offering the product.
    pub seller_id: SellerId,
    /// Title shown to shoppers.
    pub title: String,
    /// URL-safe unique handle.
    pub slug: String,
    /// Long description.
    #[serde(default)]
    pub description: String,
    /// Categories the product is listed in.
    #[serde(default)]
    pub category_ids: Vec<CategoryId>,
    /// Lifecycle status.
    pub status: ProductStatus,
    /// Variants (at least one).
    pub variants: Vec<Variant>,
    /// When the product was created.
    pub created_at: DateTime<Utc>,
    /// When the product last changed.
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// Checks the product is well formed: non-empty title and slug, at least one
    /// variant, every variant pointing at this product, prices rounded to the minor
    /// unit, not negative and all in one currency.
    pub fn validate(&self) -> Result<()> {
        if self.title.trim().is_empty() {
            return Err(Error::validation("title", "must not be empty"));
        }
        if self.slug.is_empty()
            || !self
                .slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(Error::validation(
                "slug",
                "must be lower-case ASCII letters, digits and '-'",
            ));
        }
        let first = self
            .variants
            .first()
            .ok_or_else(|| Error::validation("variants", "a product needs a variant"))?;
        for v in &self.variants {
            if v.product_id != self.id {
                return Err(Error::validation("variants", "variant of another product"));
            }
            if v.price.is_negative() || !v.price.is_rounded() {
                return Err(Error::InvalidAmount(format!(
                    "price of {} must be non-negative and in minor units",
                    v.sku
                )));
            }
            if v.price.currency() != first.price.currency() {
                return Err(Error::CurrencyMismatch {
                    expected: first.price.currency(),
                    found: v.price.currency(),
                });
            }
        }
        let mut skus: Vec<&Sku> = self.variants.iter().map(|v| &v.sku).collect();
        skus.sort();
        if skus.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::validation("variants", "duplicate sku"));
        }
        Ok(())
    }
}

/// A node of the category tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Id.
    pub id: CategoryId,
    /// Parent category; `None` for a root.
    pub parent_id: Option<CategoryId>,
    /// Display name.
    pub name: String,
    /// URL-safe unique handle.
    pub slug: String,
}

/// A seller: a merchant of a marketplace, or the shop itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    /// Id.
    pub id: SellerId,
    /// Display name.
    pub name: String,
}

/// What checkout and pricing need of a SKU, read in one batch for a whole cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuListing {
    /// The variant.
    pub variant: Variant,
    /// Title of its product (snapshotted into order lines).
    pub product_title: String,
    /// Status of its product; only `Active` products can be bought.
    pub status: ProductStatus,
    /// Seller of its product.
    pub seller_id: SellerId,
}
