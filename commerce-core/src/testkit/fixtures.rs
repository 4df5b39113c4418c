//! Builders for tests of every crate: products, SKUs, amounts, tax tables, shipping
//! methods, addresses, customers and events.
//!
//! These are test helpers: they panic on malformed literals (an invalid SKU code or
//! amount written in a test is a bug in that test). Timestamps are [`fixed_time`] so
//! values read back from any backend compare equal.
//!
//! The signatures are stable; other crates' tests and conformance suites use them.

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;

use crate::address::{Address, CountryCode, Customer, SavedAddress};
use crate::catalog::{
    Category, Product, ProductImage, ProductStatus, Seller, SkuListing, TaxClass, Variant,
};
use crate::event::EventEnvelope;
use crate::id::{AddressId, CategoryId, CustomerId, EventId, ProductId, SellerId, Sku};
use crate::money::{Currency, Money, Rounding};
use crate::pricing::PricingLine;
use crate::shipping::{ShippingMethod, ShippingZone, WeightTier};
use crate::tax::{TaxRate, TaxTable};

/// Unit weight of the variants built here, in grams.
pub const DEFAULT_WEIGHT_GRAMS: u32 = 500;

/// 2025-01-01T00:00:00Z: the timestamp every fixture carries (whole seconds, so it
/// survives any backend's timestamp precision).
pub fn fixed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// A SKU. Panics when `code` is not a valid SKU.
#[allow(clippy::expect_used)]
pub fn sku(code: &str) -> Sku {
    Sku::new(code).expect("fixture SKU must be valid")
}

/// An amount such as `"19.99"` in `currency`. Panics on a malformed amount or one
/// with more decimals than the currency allows.
#[allow(clippy::expect_used)]
pub fn money(amount: &str, currency: Currency) -> Money {
    Money::parse(amount, currency).expect("fixture amount must be valid")
}

/// An amount in US dollars, e.g. `usd("19.99")`.
pub fn usd(amount: &str) -> Money {
    money(amount, Currency::USD)
}

/// An amount in euros, e.g. `eur("19.99")`.
pub fn eur(amount: &str) -> Money {
    money(amount, Currency::EUR)
}

/// A country code. Panics when `code` is not two upper-case letters.
#[allow(clippy::expect_used)]
pub fn country(code: &str) -> CountryCode {
    CountryCode::new(code).expect("fixture country must be valid")
}

/// The slug [`product`] derives from a SKU: lower-cased, every character other than
/// a letter or digit replaced by `-`.
pub fn slug_for(sku: &str) -> String {
    sku.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// A variant of `product_id`: name = SKU, [`DEFAULT_WEIGHT_GRAMS`], standard tax class.
pub fn variant(product_id: ProductId, sku_code: &str, price: Money) -> Variant {
    Variant {
        sku: sku(sku_code),
        product_id,
        name: sku_code.to_owned(),
        price,
        compare_at_price: None,
        weight_grams: DEFAULT_WEIGHT_GRAMS,
        tax_class: TaxClass::standard(),
        options: Vec::new(),
    }
}

/// An `Active` product with one variant `sku` at `price`, a new id, a new seller,
/// title `"Product <sku>"` and slug [`slug_for`]`(sku)`.
pub fn product(sku: &str, price: Money) -> Product {
    product_with_variants(&slug_for(sku), &[(sku, price)])
}

/// An `Active` product with slug `slug` and one variant per `(sku, price)`.
pub fn product_with_variants(slug: &str, variants: &[(&str, Money)]) -> Product {
    let id = ProductId::new();
    Product {
        id,
        seller_id: SellerId::new(),
        title: format!("Product {slug}"),
        slug: slug.to_owned(),
        description: String::new(),
        category_ids: Vec::new(),
        status: ProductStatus::Active,
        brand: None,
        tags: Vec::new(),
        images: Vec::new(),
        options: Vec::new(),
        variants: variants
            .iter()
            .map(|(code, price)| variant(id, code, *price))
            .collect(),
        created_at: fixed_time(),
        updated_at: fixed_time(),
    }
}

/// The listings of every variant of `product`, as [`crate::ports::CatalogStore::listings`]
/// returns them.
pub fn listings(product: &Product) -> Vec<SkuListing> {
    product
        .variants
        .iter()
        .map(|v| SkuListing {
            variant: v.clone(),
            product_title: product.title.clone(),
            status: product.status,
            seller_id: product.seller_id,
        })
        .collect()
}

/// A pricing line: name = SKU, standard tax class, [`DEFAULT_WEIGHT_GRAMS`].
pub fn pricing_line(sku_code: &str, unit_price: Money, quantity: u32) -> PricingLine {
    PricingLine {
        sku: sku(sku_code),
        name: sku_code.to_owned(),
        unit_price,
        quantity,
        tax_class: TaxClass::standard(),
        weight_grams: DEFAULT_WEIGHT_GRAMS,
    }
}

fn rate(
    country_code: &str,
    region: Option<&str>,
    class: &str,
    rate: Decimal,
    name: &str,
) -> TaxRate {
    TaxRate {
        country: country(country_code),
        region: region.map(str::to_owned),
        tax_class: TaxClass(class.to_owned()),
        rate,
        name: name.to_owned(),
    }
}

/// US-style sales tax, prices exclusive of tax, rounded half-up per line, shipping
/// untaxed: CA 7.25 %, NY 8.875 % (New York City combined), every other state 0 %.
pub fn us_tax_table() -> TaxTable {
    TaxTable {
        prices_include_tax: false,
        rounding: Rounding::HalfUp,
        shipping_tax_class: None,
        rates: vec![
            rate(
                "US",
                Some("CA"),
                "standard",
                Decimal::new(725, 4),
                "CA sales tax",
            ),
            rate(
                "US",
                Some("NY"),
                "standard",
                Decimal::new(8875, 5),
                "NY sales tax",
            ),
        ],
    }
}

/// EU-style VAT, prices inclusive of tax, rounded half-even per line, shipping taxed
/// as `standard`: DE 19 % (`reduced` 7 %), FR 20 % (`reduced` 5.5 %).
pub fn eu_vat_table() -> TaxTable {
    TaxTable {
        prices_include_tax: true,
        rounding: Rounding::HalfEven,
        shipping_tax_class: Some(TaxClass::standard()),
        rates: vec![
            rate("DE", None, "standard", Decimal::new(19, 2), "MwSt"),
            rate("DE", None, "reduced", Decimal::new(7, 2), "MwSt ermäßigt"),
            rate("FR", None, "standard", Decimal::new(20, 2), "TVA"),
            rate("FR", None, "reduced", Decimal::new(55, 3), "TVA réduite"),
        ],
    }
}

/// A US shipping method `standard` serving every state: up to 1 kg 5.00 USD, up to
/// 5 kg 9.50 USD, heavier 20.00 USD; free from a 100.00 USD discounted subtotal.
pub fn standard_shipping() -> ShippingMethod {
    ShippingMethod {
        code: "standard".to_owned(),
        name: "Standard".to_owned(),
        zones: vec![ShippingZone {
            country: country("US"),
            regions: Vec::new(),
        }],
        tiers: vec![
            WeightTier {
                max_grams: Some(1_000),
                price: usd("5.00"),
            },
            WeightTier {
                max_grams: Some(5_000),
                price: usd("9.50"),
            },
            WeightTier {
                max_grams: None,
                price: usd("20.00"),
            },
        ],
        free_over: Some(usd("100.00")),
    }
}

/// An EU shipping method `eu-standard` serving DE and FR: up to 2 kg 4.90 EUR,
/// heavier 9.90 EUR; never free.
pub fn eu_shipping() -> ShippingMethod {
    ShippingMethod {
        code: "eu-standard".to_owned(),
        name: "EU Standard".to_owned(),
        zones: vec![
            ShippingZone {
                country: country("DE"),
                regions: Vec::new(),
            },
            ShippingZone {
                country: country("FR"),
                regions: Vec::new(),
            },
        ],
        tiers: vec![
            WeightTier {
                max_grams: Some(2_000),
                price: eur("4.90"),
            },
            WeightTier {
                max_grams: None,
                price: eur("9.90"),
            },
        ],
        free_over: None,
    }
}

/// An address in `country_code` (and `region`, if given) with filler lines.
pub fn address(country_code: &str, region: Option<&str>) -> Address {
    Address {
        name: "Ada Lovelace".to_owned(),
        line1: "1 Test Street".to_owned(),
        line2: None,
        city: "Testville".to_owned(),
        region: region.map(str::to_owned),
        postal_code: "12345".to_owned(),
        country: country(country_code),
        phone: None,
    }
}

/// A US address in `state` (e.g. `"CA"`).
pub fn us_address(state: &str) -> Address {
    address("US", Some(state))
}

/// A customer with a new id, `email` lower-cased, name "Test Customer".
pub fn customer(email: &str) -> Customer {
    Customer {
        id: CustomerId::new(),
        email: email.to_lowercase(),
        name: "Test Customer".to_owned(),
        created_at: fixed_time(),
    }
}

/// A saved address of `customer_id` with a new id, not a default of either kind.
pub fn saved_address(customer_id: CustomerId, address: Address) -> SavedAddress {
    SavedAddress {
        id: AddressId::new(),
        customer_id,
        address,
        is_default_shipping: false,
        is_default_billing: false,
    }
}

/// A category with a new id, name = slug.
pub fn category(slug: &str, parent_id: Option<CategoryId>) -> Category {
    Category {
        id: CategoryId::new(),
        parent_id,
        name: slug.to_owned(),
        slug: slug.to_owned(),
    }
}

/// A product with every descriptor set: brand, two tags, two images (given out of
/// order), options `size` (S, M) and `colour` (red) and one variant per size.
pub fn described_product(slug: &str) -> Product {
    let sku_s = format!("{}-S", slug.to_uppercase());
    let sku_m = format!("{}-M", slug.to_uppercase());
    let mut p = Product::builder(SellerId::new(), format!("Product {slug}"), slug)
        .status(ProductStatus::Active)
        .brand("Acme Ünïcode")
        .tag("cotton")
        .tag("summer")
        .option("size", ["S", "M"])
        .option("colour", ["red"])
        .variant(
            Variant::builder(sku(&sku_s), usd("10.00"))
                .option("size", "S")
                .option("colour", "red"),
        )
        .variant(
            Variant::builder(sku(&sku_m), usd("11.00"))
                .option("size", "M")
                .option("colour", "red")
                .weight_grams(DEFAULT_WEIGHT_GRAMS),
        )
        .created_at(fixed_time())
        .build_unchecked();
    p.images = vec![
        ProductImage::new("https://img.example.com/front.jpg", "Front view", 0),
        ProductImage::new("products/back.jpg", "Back view", 1),
    ];
    p.images.reverse();
    p
}

/// A seller record with a new id, name = slug, contact `<slug>@example.com`.
pub fn seller(slug: &str) -> Seller {
    Seller::new(SellerId::new(), slug, slug, format!("{slug}@example.com"))
}

/// An event envelope with a new id, aggregate `test`/`aggregate_id`, payload
/// `{"n": n}` (so consumers can check order).
pub fn event(topic: &str, n: u64) -> EventEnvelope {
    EventEnvelope {
        id: EventId::new(),
        topic: topic.to_owned(),
        aggregate_type: "test".to_owned(),
        aggregate_id: n.to_string(),
        occurred_at: fixed_time(),
        payload: serde_json::json!({ "n": n }),
    }
}
