//! Tests for the defects of the original sketch (DESIGN.md) that `commerce-core`
//! makes impossible. Each would fail if the defect came back.

use commerce_core::pricing::{DiscountKind, PriceBreakdown, PricingRequest, price};
use commerce_core::testkit::fixtures::{
    address, eu_shipping, eu_vat_table, eur, pricing_line, standard_shipping, us_address,
    us_tax_table, usd,
};
use commerce_core::{
    Address, Currency, Error, Money, PricingLine, Promotion, Rounding, ShippingMethod, TaxTable,
};
use rust_decimal_macros::dec;

fn price_to(
    currency: Currency,
    lines: &[PricingLine],
    tax: &TaxTable,
    to: Option<&Address>,
    shipping: Option<&ShippingMethod>,
) -> Result<PriceBreakdown, Error> {
    price(
        &PricingRequest::new(currency, lines, tax)
            .with_destination(to)
            .with_shipping(shipping),
    )
}

/// Defect 1: amounts were floats (`price * quantity`, `subtotal * 0.08`), so sums and
/// taxes drifted. Amounts are exact decimals with a currency, rounded with a named
/// strategy, and never travel as JSON numbers.
#[test]
#[allow(clippy::float_arithmetic, clippy::float_cmp)]
fn defect_1_amounts_are_never_floats() {
    // 0.1 + 0.2 is 0.3, exactly.
    let sum = usd("0.10").checked_add(usd("0.20")).unwrap();
    assert_eq!(sum, usd("0.30"));
    assert_ne!(0.1_f64 + 0.2_f64, 0.3_f64, "what floats give");

    // Ten lines of 0.10 sum to exactly 1.00.
    let ten = Money::sum(Currency::USD, std::iter::repeat_n(usd("0.10"), 10)).unwrap();
    assert_eq!(ten, usd("1.00"));
    assert_ne!(
        std::iter::repeat_n(0.1_f64, 10).sum::<f64>(),
        1.0_f64,
        "what floats give"
    );

    // 3 x 19.99 at New York's 8.875 %: 59.97 * 0.08875 = 5.3223375 exactly, 5.32
    // after per-line rounding; the customer pays 65.29 to the cent.
    let lines = [pricing_line("SHIRT", usd("19.99"), 3)];
    let ny = us_address("NY");
    let b = price_to(Currency::USD, &lines, &us_tax_table(), Some(&ny), None).unwrap();
    assert_eq!(
        b.subtotal.checked_mul_rate(dec!(0.08875)).unwrap().amount(),
        dec!(5.3223375)
    );
    assert_eq!(b.tax_total, usd("5.32"));
    assert_eq!(b.grand_total, usd("65.29"));
    assert!(b.grand_total.is_rounded());

    // Where floats get the cent wrong: 2.00 at California's 7.25 % is 0.145 exactly,
    // 0.15 rounded half-up. In f64, 2.0 * 0.0725 * 100 = 14.499999999999998, which
    // rounds to 0.14.
    let exact = usd("2.00")
        .checked_mul_rate(dec!(0.0725))
        .unwrap()
        .round(Rounding::HalfUp);
    assert_eq!(exact, usd("0.15"));
    let lines = [pricing_line("PEN", usd("2.00"), 1)];
    let ca = us_address("CA");
    let b = price_to(Currency::USD, &lines, &us_tax_table(), Some(&ca), None).unwrap();
    assert_eq!(b.tax_total, usd("0.15"));
    let float_cents = (2.0_f64 * 0.0725_f64 * 100.0).round();
    assert_eq!(float_cents, 14.0, "what floats give");

    // Amounts serialize as strings, and a JSON number is rejected on the way in.
    let json = serde_json::to_value(usd("19.99")).unwrap();
    assert_eq!(json["amount"], serde_json::json!("19.99"));
    assert!(serde_json::from_str::<Money>(r#"{"amount":19.99,"currency":"USD"}"#).is_err());
    assert!(serde_json::from_str::<Money>(r#"{"amount":"19.99","currency":"USD"}"#).is_ok());
    let line_with_float = r#"{"sku":"A","name":"A","unit_price":{"amount":19.99,"currency":"USD"},
        "quantity":1,"tax_class":"standard","weight_grams":1}"#;
    assert!(serde_json::from_str::<PricingLine>(line_with_float).is_err());
    let promo_with_float = r#"{"code":"X","kind":{"type":"percentage","percent":12.5}}"#;
    assert!(serde_json::from_str::<Promotion>(promo_with_float).is_err());
    let promo = r#"{"code":"X","kind":{"type":"percentage","percent":"12.5"}}"#;
    let promo: Promotion = serde_json::from_str(promo).unwrap();
    assert_eq!(
        promo.kind,
        DiscountKind::Percentage {
            percent: dec!(12.5)
        }
    );

    // Sub-minor-unit amounts are refused where a price is expected.
    assert!(matches!(
        Money::parse("19.999", Currency::USD),
        Err(Error::InvalidAmount(_))
    ));
}

/// Defect 13: tax was a flat 8 % whatever the address, and shipping cost was
/// undefined. Tax comes from a table by country, region and tax class; shipping from
/// the method's zones and weight tiers; an unserved destination is an error.
#[test]
fn defect_13_tax_and_shipping_depend_on_address() {
    let lines = [pricing_line("BOOT", usd("50.00"), 1)];
    let us = us_tax_table();
    let ship = standard_shipping();
    let tax_in = |state: &str| {
        price_to(
            Currency::USD,
            &lines,
            &us,
            Some(&us_address(state)),
            Some(&ship),
        )
        .unwrap()
        .tax_total
    };
    // 50.00 * 7.25 % = 3.625 -> 3.63; * 8.875 % = 4.4375 -> 4.44; Oregon: none.
    assert_eq!(tax_in("CA"), usd("3.63"));
    assert_eq!(tax_in("NY"), usd("4.44"));
    assert_eq!(tax_in("OR"), usd("0.00"));
    assert_ne!(tax_in("CA"), usd("4.00"), "not a flat 8 %");

    // EU VAT by country, inside the price.
    let eu_lines = [pricing_line("BOOT", eur("59.50"), 1)];
    let vat = eu_vat_table();
    let de = price_to(
        Currency::EUR,
        &eu_lines,
        &vat,
        Some(&address("DE", None)),
        None,
    )
    .unwrap();
    let fr = price_to(
        Currency::EUR,
        &eu_lines,
        &vat,
        Some(&address("FR", None)),
        None,
    )
    .unwrap();
    assert_eq!(de.tax_total, eur("9.50")); // 59.50 - 59.50 / 1.19
    assert_eq!(fr.tax_total, eur("9.92")); // 59.50 - 59.50 / 1.20 = 9.9166...
    assert_eq!(de.grand_total, eur("59.50"));

    // Shipping is defined by zone and weight: 500 g -> 5.00, 1.5 kg -> 9.50,
    // 5.5 kg -> 20.00; free from 100.00.
    let ship_for = |qty: u32, unit: &str| {
        let lines = [pricing_line("BOOT", usd(unit), qty)];
        price_to(
            Currency::USD,
            &lines,
            &us,
            Some(&us_address("CA")),
            Some(&ship),
        )
        .unwrap()
        .shipping_total
    };
    assert_eq!(ship_for(1, "1.00"), usd("5.00"));
    assert_eq!(ship_for(3, "1.00"), usd("9.50"));
    assert_eq!(ship_for(11, "1.00"), usd("20.00"));
    assert_eq!(ship_for(2, "50.00"), usd("0.00"));
    let eu = price_to(
        Currency::EUR,
        &eu_lines,
        &vat,
        Some(&address("DE", None)),
        Some(&eu_shipping()),
    )
    .unwrap();
    assert_eq!(eu.shipping_total, eur("4.90"));

    // An unserved destination is an error, never a default rate.
    let err = price_to(
        Currency::USD,
        &lines,
        &us,
        Some(&address("DE", None)),
        Some(&ship),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NotServiceable(_)), "{err}");
    let err = price_to(
        Currency::EUR,
        &eu_lines,
        &vat,
        Some(&address("IT", None)),
        Some(&eu_shipping()),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NotServiceable(_)), "{err}");
}

/// Deserializing `Money` validates like `Money::new`: more decimals than the
/// currency's minor unit is an error, whatever the source of the JSON.
#[test]
fn error_meaning_money_deserialization_validates_like_money_new() {
    let bad: Result<commerce_core::Money, _> =
        serde_json::from_str(r#"{"amount":"1.234","currency":"USD"}"#);
    assert!(bad.is_err(), "{bad:?}");
    let bad: Result<commerce_core::Money, _> =
        serde_json::from_str(r#"{"amount":"1.5","currency":"JPY"}"#);
    assert!(bad.is_err(), "{bad:?}");
    let ok: commerce_core::Money =
        serde_json::from_str(r#"{"amount":"1.230","currency":"USD"}"#).unwrap();
    assert_eq!(
        ok,
        commerce_core::Money::parse("1.23", commerce_core::Currency::USD).unwrap()
    );
    let number: Result<commerce_core::Money, _> =
        serde_json::from_str(r#"{"amount":1.23,"currency":"USD"}"#);
    assert!(number.is_err(), "a JSON number is never an amount");
}
