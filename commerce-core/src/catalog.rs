//! The catalog model: products, variants (SKUs), categories and sellers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod builder;
pub mod rules;

pub use builder::{ProductBuilder, VariantBuilder};

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
///
/// Built with [`Variant::builder`] (the struct is `#[non_exhaustive]`, so later
/// fields do not break callers); fields stay public for reading and editing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// The value this variant takes for each option of its product (size, colour).
    #[serde(default)]
    pub options: Vec<OptionValue>,
}

/// A product with its variants.
///
/// Built with [`Product::builder`] (the struct is `#[non_exhaustive]`, so later
/// fields do not break callers); fields stay public for reading and editing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// Brand shown to shoppers and filtered on.
    #[serde(default)]
    pub brand: Option<String>,
    /// Free tags (searchable, filterable), each unique.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Images in display order.
    #[serde(default)]
    pub images: Vec<ProductImage>,
    /// The options variants differ by (size, colour) with their allowed values.
    #[serde(default)]
    pub options: Vec<ProductOption>,
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
        rules::check_slug("slug", &self.slug)?;
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
        rules::check_descriptors(self)?;
        rules::check_options(self)?;
        Ok(())
    }

    /// A builder for a new product of `seller_id` with `title` and `slug`: a new id,
    /// status `Draft`, created and updated now, no variants yet.
    pub fn builder(
        seller_id: SellerId,
        title: impl Into<String>,
        slug: impl Into<String>,
    ) -> ProductBuilder {
        ProductBuilder::new(seller_id, title.into(), slug.into())
    }

    /// The images sorted by their `position` (ties keep their stored order).
    pub fn images_in_order(&self) -> Vec<&ProductImage> {
        let mut images: Vec<&ProductImage> = self.images.iter().collect();
        images.sort_by_key(|i| i.position);
        images
    }
}

impl Variant {
    /// A builder for a variant `sku` at `price`: name = SKU, weight 0, standard tax
    /// class, no compare-at price, no option values. The product id is set when the
    /// variant is added to a [`ProductBuilder`] or built with
    /// [`VariantBuilder::build`].
    pub fn builder(sku: Sku, price: Money) -> VariantBuilder {
        VariantBuilder::new(sku, price)
    }

    /// The value this variant takes for option `name`, if any.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|o| o.name == name)
            .map(|o| o.value.as_str())
    }
}

/// An image of a product. `url` is either a path under the shop's CDN base URL
/// (`products/tee/front.jpg`) or an absolute `https://` URL; see
/// [`ProductImage::resolve`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProductImage {
    /// Path under the CDN base URL, or an absolute `https://` URL.
    pub url: String,
    /// Alternative text for screen readers (may be empty for a decorative image).
    #[serde(default)]
    pub alt: String,
    /// Display order, smallest first.
    #[serde(default)]
    pub position: u32,
}

impl ProductImage {
    /// An image at `url` with `alt` text and display `position`.
    pub fn new(url: impl Into<String>, alt: impl Into<String>, position: u32) -> Self {
        ProductImage {
            url: url.into(),
            alt: alt.into(),
            position,
        }
    }

    /// The URL a browser loads: `url` itself when absolute, else `url` under
    /// `cdn_base` (one `/` between them, whatever either side carries).
    pub fn resolve(&self, cdn_base: &str) -> String {
        if self.url.starts_with("https://") || self.url.starts_with("http://") {
            return self.url.clone();
        }
        format!(
            "{}/{}",
            cdn_base.trim_end_matches('/'),
            self.url.trim_start_matches('/')
        )
    }
}

/// An option variants of a product differ by (`size` with `S`, `M`, `L`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProductOption {
    /// Option name, unique within the product.
    pub name: String,
    /// Allowed values in display order, each unique.
    pub values: Vec<String>,
}

impl ProductOption {
    /// An option `name` with its `values`.
    pub fn new(
        name: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        ProductOption {
            name: name.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// The value a variant takes for one option (`size` = `M`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OptionValue {
    /// Name of an option of the product.
    pub name: String,
    /// One of that option's values.
    pub value: String,
}

impl OptionValue {
    /// Option `name` set to `value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        OptionValue {
            name: name.into(),
            value: value.into(),
        }
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
#[non_exhaustive]
pub struct Seller {
    /// Id.
    pub id: SellerId,
    /// Display name.
    pub name: String,
    /// URL-safe unique handle.
    pub slug: String,
    /// Contact email for shoppers and the shop's staff.
    pub contact_email: String,
}

impl Seller {
    /// A seller record.
    pub fn new(
        id: SellerId,
        name: impl Into<String>,
        slug: impl Into<String>,
        contact_email: impl Into<String>,
    ) -> Self {
        Seller {
            id,
            name: name.into(),
            slug: slug.into(),
            contact_email: contact_email.into(),
        }
    }

    /// Checks the record: a non-empty name, a slug of lower-case ASCII letters,
    /// digits and '-', a well-formed contact email (stored normalized by stores).
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() || self.name.chars().count() > rules::MAX_NAME {
            return Err(Error::validation("name", "must be 1 to 200 characters"));
        }
        rules::check_slug("slug", &self.slug)?;
        crate::address::check_email(&self.contact_email)
    }
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
