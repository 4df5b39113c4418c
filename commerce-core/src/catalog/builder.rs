//! Builders for [`Product`] and [`Variant`], so fields added later do not break
//! code that constructs them.

use chrono::{DateTime, Utc};

use crate::catalog::{
    OptionValue, Product, ProductImage, ProductOption, ProductStatus, TaxClass, Variant,
};
use crate::error::Result;
use crate::id::{CategoryId, ProductId, SellerId, Sku};
use crate::money::Money;

/// Builds a [`Product`]; see [`Product::builder`]. [`ProductBuilder::build`]
/// validates the result.
#[derive(Clone, Debug)]
#[must_use]
pub struct ProductBuilder {
    product: Product,
}

impl ProductBuilder {
    pub(crate) fn new(seller_id: SellerId, title: String, slug: String) -> Self {
        let now = Utc::now();
        ProductBuilder {
            product: Product {
                id: ProductId::new(),
                seller_id,
                title,
                slug,
                description: String::new(),
                category_ids: Vec::new(),
                status: ProductStatus::Draft,
                brand: None,
                tags: Vec::new(),
                images: Vec::new(),
                options: Vec::new(),
                variants: Vec::new(),
                created_at: now,
                updated_at: now,
            },
        }
    }

    /// Sets the id (variants added before or after follow it).
    pub fn id(mut self, id: ProductId) -> Self {
        self.product.id = id;
        for v in &mut self.product.variants {
            v.product_id = id;
        }
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.product.description = description.into();
        self
    }

    /// Lists the product in `category`.
    pub fn category(mut self, category: CategoryId) -> Self {
        self.product.category_ids.push(category);
        self
    }

    /// Sets the status.
    pub fn status(mut self, status: ProductStatus) -> Self {
        self.product.status = status;
        self
    }

    /// Sets the brand.
    pub fn brand(mut self, brand: impl Into<String>) -> Self {
        self.product.brand = Some(brand.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.product.tags.push(tag.into());
        self
    }

    /// Adds an image after the existing ones (its position is their count).
    pub fn image(mut self, url: impl Into<String>, alt: impl Into<String>) -> Self {
        let position = u32::try_from(self.product.images.len()).unwrap_or(u32::MAX);
        self.product
            .images
            .push(ProductImage::new(url, alt, position));
        self
    }

    /// Adds an option with its values.
    pub fn option(
        mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.product.options.push(ProductOption::new(name, values));
        self
    }

    /// Adds a variant.
    pub fn variant(mut self, variant: VariantBuilder) -> Self {
        let id = self.product.id;
        self.product.variants.push(variant.build(id));
        self
    }

    /// Sets creation and last-change time.
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.product.created_at = at;
        self.product.updated_at = at;
        self
    }

    /// Sets the last-change time.
    pub fn updated_at(mut self, at: DateTime<Utc>) -> Self {
        self.product.updated_at = at;
        self
    }

    /// The product, checked by [`Product::validate`].
    pub fn build(self) -> Result<Product> {
        self.product.validate()?;
        Ok(self.product)
    }

    /// The product without validation (to build deliberately bad input in tests;
    /// stores validate on write).
    pub fn build_unchecked(self) -> Product {
        self.product
    }
}

/// Builds a [`Variant`]; see [`Variant::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct VariantBuilder {
    variant: Variant,
}

impl VariantBuilder {
    pub(crate) fn new(sku: Sku, price: Money) -> Self {
        VariantBuilder {
            variant: Variant {
                name: sku.as_str().to_owned(),
                sku,
                product_id: ProductId::from_uuid(uuid::Uuid::nil()),
                price,
                compare_at_price: None,
                weight_grams: 0,
                tax_class: TaxClass::standard(),
                options: Vec::new(),
            },
        }
    }

    /// Sets the display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.variant.name = name.into();
        self
    }

    /// Sets the "was" price.
    pub fn compare_at_price(mut self, price: Money) -> Self {
        self.variant.compare_at_price = Some(price);
        self
    }

    /// Sets the shipping weight.
    pub fn weight_grams(mut self, grams: u32) -> Self {
        self.variant.weight_grams = grams;
        self
    }

    /// Sets the tax class.
    pub fn tax_class(mut self, class: TaxClass) -> Self {
        self.variant.tax_class = class;
        self
    }

    /// Sets option `name` to `value`.
    pub fn option(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variant.options.push(OptionValue::new(name, value));
        self
    }

    /// The variant of product `product_id`.
    pub fn build(mut self, product_id: ProductId) -> Variant {
        self.variant.product_id = product_id;
        self.variant
    }
}
