//! A complete checkout in memory: seed a catalog and stock, fill a cart, check out
//! with a test card, and print the priced order.
//!
//! ```text
//! cargo run --example checkout
//! ```

use std::error::Error;
use std::sync::Arc;

use rust_decimal_macros::dec;

use commerce::cart::{CartKey, CartLimits, CartStore, GuestCartToken, MemoryCartStore};
use commerce::core::memory::{MemoryCatalog, MemoryOutbox};
use commerce::core::ports::CatalogStore;
use commerce::core::pricing::{DiscountKind, Promotion};
use commerce::core::shipping::{ShippingZone, WeightTier};
use commerce::core::{
    Actor, Address, Clock, CountryCode, Currency, Money, Product, ProductStatus, SellerId,
    ShippingMethod, Sku, SystemClock, TaxClass, TaxRate, TaxTable, Variant,
};
use commerce::inventory::{InventoryStore, LocationCode, MemoryInventory, StockAdjustment};
use commerce::orders::simulated::test_cards;
use commerce::orders::{
    Checkout, CheckoutConfig, CheckoutRequest, IdempotencyKey, MemoryOrderStore, Order,
    PaymentMethod, SimulatedGateway,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn usd(amount: rust_decimal::Decimal) -> Result<Money> {
    Ok(Money::new(amount, Currency::USD)?)
}

/// A product with one variant.
fn product(title: &str, slug: &str, sku: &str, price: Money, grams: u32) -> Result<Product> {
    Ok(Product::builder(SellerId::new(), title, slug)
        .status(ProductStatus::Active)
        .variant(
            Variant::builder(Sku::new(sku)?, price)
                .name("")
                .weight_grams(grams)
                .tax_class(TaxClass::standard()),
        )
        .build()?)
}

/// US sales tax (California 7.25 %), prices exclusive of tax.
fn tax_table() -> Result<TaxTable> {
    Ok(TaxTable {
        prices_include_tax: false,
        rounding: commerce::core::Rounding::HalfUp,
        shipping_tax_class: None,
        rates: vec![TaxRate {
            country: CountryCode::new("US")?,
            region: Some("CA".to_owned()),
            tax_class: TaxClass::standard(),
            rate: dec!(0.0725),
            name: "CA sales tax".to_owned(),
        }],
    })
}

/// Standard shipping in the US: 5.00 up to 1 kg, 9.50 up to 5 kg.
fn shipping() -> Result<ShippingMethod> {
    Ok(ShippingMethod {
        code: "standard".to_owned(),
        name: "Standard (3-5 days)".to_owned(),
        zones: vec![ShippingZone {
            country: CountryCode::new("US")?,
            regions: Vec::new(),
        }],
        tiers: vec![
            WeightTier {
                max_grams: Some(1_000),
                price: usd(dec!(5.00))?,
            },
            WeightTier {
                max_grams: Some(5_000),
                price: usd(dec!(9.50))?,
            },
        ],
        free_over: Some(usd(dec!(150.00))?),
    })
}

fn print_order(order: &Order) {
    println!(
        "Order {} ({})",
        order.number.as_deref().unwrap_or("-"),
        order.id
    );
    println!(
        "  status: {}, payment: {} ({}), fulfilment: {}",
        order.status.as_str(),
        order.payment.status.as_str(),
        order.payment.method.label,
        order.fulfilment.status.as_str()
    );
    println!();
    println!(
        "  {:<22} {:>3} {:>12} {:>12} {:>12} {:>12}",
        "item", "qty", "unit", "discount", "tax", "total"
    );
    for line in &order.lines {
        println!(
            "  {:<22} {:>3} {:>12} {:>12} {:>12} {:>12}",
            line.name,
            line.quantity,
            line.unit_price.to_string(),
            line.discount.to_string(),
            line.tax.to_string(),
            line.total.to_string()
        );
    }
    let t = &order.totals;
    println!();
    println!("  {:<40} {:>12}", "subtotal", t.subtotal.to_string());
    println!(
        "  {:<40} {:>12}",
        format!("discounts ({})", order.promotions.join(", ")),
        t.discount_total.negate().to_string()
    );
    println!(
        "  {:<40} {:>12}",
        format!("shipping ({})", order.shipping.name),
        t.shipping_total.to_string()
    );
    println!("  {:<40} {:>12}", "tax", t.tax_total.to_string());
    println!("  {:<40} {:>12}", "total", t.grand_total.to_string());
}

#[tokio::main]
async fn main() -> Result<()> {
    // Stores, all in memory, writing their events to one outbox.
    let outbox = Arc::new(MemoryOutbox::new());
    let catalog = Arc::new(MemoryCatalog::new(outbox.clone()));
    let inventory = Arc::new(MemoryInventory::new(outbox.clone()));
    let carts = Arc::new(MemoryCartStore::new());
    let orders = Arc::new(MemoryOrderStore::new(outbox.clone()));
    let gateway = Arc::new(SimulatedGateway::new());

    // A small catalog with stock.
    let mug = product(
        "Enamel mug",
        "enamel-mug",
        "MUG-ENAMEL",
        usd(dec!(14.50))?,
        350,
    )?;
    let tee = product(
        "Organic tee",
        "organic-tee",
        "TEE-ORG-M",
        usd(dec!(24.00))?,
        200,
    )?;
    for (p, units) in [(&mug, 40), (&tee, 25)] {
        catalog.upsert_product(p).await?;
        inventory
            .adjust(
                &StockAdjustment::received(p.variants[0].sku.clone(), units)
                    .with_note("opening stock"),
                SystemClock.now(),
            )
            .await?;
    }

    // A guest fills a cart.
    // The guest holds a secret cart token (a cookie); the shop knows its digest.
    let token = GuestCartToken::generate()?;
    let guest = Actor::guest(&token);
    let cart = CartKey::guest(&token);
    carts
        .add(
            &cart,
            &mug.variants[0].sku,
            2,
            CartLimits::default(),
            SystemClock.now(),
        )
        .await?;
    carts
        .add(
            &cart,
            &tee.variants[0].sku,
            1,
            CartLimits::default(),
            SystemClock.now(),
        )
        .await?;

    // The shop's checkout: tax, shipping and one promotion.
    let config = CheckoutConfig::new(Currency::USD, tax_table()?, vec![shipping()?])
        .with_promotions(vec![Promotion {
            code: "WELCOME10".to_owned(),
            kind: DiscountKind::Percentage { percent: dec!(10) },
            min_subtotal: None,
            skus: None,
        }]);
    let checkout = Checkout::new(
        carts.clone(),
        catalog,
        inventory.clone(),
        orders,
        gateway.clone(),
        Arc::new(SystemClock),
        config,
    );

    let address = Address::new(
        "Ada Lovelace",
        "1 Analytical Way",
        "San Francisco",
        "94105",
        CountryCode::new("US")?,
    )
    .with_region("CA");
    let card = PaymentMethod::Card {
        number: test_cards::APPROVED.to_owned(),
        expiry_month: 12,
        expiry_year: 2099,
        cvc: "123".to_owned(),
    };
    let key = IdempotencyKey::new("example-checkout-1")?;
    let request = CheckoutRequest::new(key, "ada@example.com", address, "standard", card)
        .with_promo_code("welcome10");
    let order = checkout.checkout(&guest, &request).await?;
    print_order(&order);

    // A retry with the same key (a double click) returns the same order, no charge.
    let again = checkout.checkout(&guest, &request).await?;
    let stock = inventory
        .stock(&mug.variants[0].sku, &LocationCode::default_location())
        .await?
        .map_or(0, |s| s.on_hand);
    println!();
    println!(
        "Retry returned the same order: {}; authorizations: {}; mugs left: {stock}; cart empty: {}; outbox events: {}",
        again.id == order.id,
        gateway.stats().authorizations,
        carts.cart(&cart).await?.is_none(),
        outbox.len()
    );
    Ok(())
}
