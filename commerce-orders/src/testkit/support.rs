//! Builders shared by the checks.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use commerce_core::testkit::fixtures::{sku, us_address};
use commerce_core::{Currency, CustomerId, Money};

use crate::id::{IdempotencyKey, OrderId};
use crate::lifecycle::{NewOrder, Transitioned};
use crate::model::{OrderLine, OrderTotals, ShippingSnapshot};
use crate::payment::{PaymentMethodKind, PaymentMethodSummary};

/// `prefix` plus a random suffix: SKUs, keys and codes no other check uses.
pub fn unique(prefix: &str) -> String {
    // The last 12 hex digits of a v7 UUID are random.
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("{prefix}-{}", &id[id.len() - 12..])
}

fn line(code: &str, unit_minor: i64, quantity: u32, currency: Currency) -> OrderLine {
    let unit = Money::from_minor(unit_minor, currency);
    let subtotal = Money::from_minor(unit_minor * i64::from(quantity), currency);
    OrderLine {
        sku: sku(code),
        name: format!("Product {code}"),
        quantity,
        unit_price: unit,
        subtotal,
        discount: Money::zero(currency),
        tax: Money::zero(currency),
        tax_rate: Decimal::ZERO,
        total: subtotal,
        refunded: Money::zero(currency),
        seller_id: None,
    }
}

/// A placed order of `customer_id` in `currency` with two lines (unit prices 1000
/// and 250 minor units, quantities 2 and 3) and 500 minor units of shipping, placed
/// at `now` with checkout key `key`.
pub fn sample_order(
    customer_id: Option<CustomerId>,
    key: &str,
    currency: Currency,
    now: DateTime<Utc>,
) -> Transitioned {
    let id = OrderId::new();
    let a = line(&unique("SKU-A"), 1000, 2, currency);
    let b = line(&unique("SKU-B"), 250, 3, currency);
    let shipping = Money::from_minor(500, currency);
    let zero = Money::zero(currency);
    let subtotal = a.subtotal.checked_add(b.subtotal).unwrap();
    let key = IdempotencyKey::new(key).unwrap();
    let totals = OrderTotals {
        prices_include_tax: false,
        subtotal,
        discount_total: zero,
        shipping_total: shipping,
        shipping_tax: zero,
        tax_total: zero,
        grand_total: subtotal.checked_add(shipping).unwrap(),
        shipping_refunded: zero,
    };
    let standard = ShippingSnapshot {
        code: "standard".to_owned(),
        name: "Standard".to_owned(),
        price: shipping,
        carrier_rate: None,
    };
    let card = PaymentMethodSummary {
        kind: PaymentMethodKind::Card,
        label: "card ending 4242".to_owned(),
    };
    let new = NewOrder::new(
        id,
        IdempotencyKey::new(key).unwrap(),
        "ada@example.com",
        vec![a, b],
        totals,
        us_address("CA"),
        standard,
        card,
        now,
    )
    .unwrap()
    .with_number(format!("N-{}", &id.to_string()[..8]))
    .with_customer(customer_id)
    .with_billing_address(us_address("NY"))
    .with_promotions(["WELCOME"]);
    crate::model::Order::place(new).unwrap()
}
