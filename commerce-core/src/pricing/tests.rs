use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;
use crate::address::CountryCode;
use crate::error::Error;
use crate::shipping::{ShippingZone, WeightTier};
use crate::tax::TaxRate;

fn m(amount: &str, currency: Currency) -> Money {
    Money::parse(amount, currency).unwrap()
}

fn usd(amount: &str) -> Money {
    m(amount, Currency::USD)
}

fn eur(amount: &str) -> Money {
    m(amount, Currency::EUR)
}

fn line(sku: &str, price: Money, quantity: u32) -> PricingLine {
    PricingLine {
        sku: Sku::new(sku).unwrap(),
        name: sku.to_owned(),
        unit_price: price,
        quantity,
        tax_class: TaxClass::standard(),
        weight_grams: 500,
    }
}

fn addr(country: &str, region: Option<&str>) -> Address {
    Address {
        name: "A".into(),
        line1: "1 Street".into(),
        line2: None,
        city: "City".into(),
        region: region.map(str::to_owned),
        postal_code: "1".into(),
        country: CountryCode::new(country).unwrap(),
        phone: None,
    }
}

fn rate(country: &str, region: Option<&str>, class: &str, rate: Decimal) -> TaxRate {
    TaxRate {
        country: CountryCode::new(country).unwrap(),
        region: region.map(str::to_owned),
        tax_class: TaxClass(class.into()),
        rate,
        name: "tax".into(),
    }
}

fn table(inclusive: bool, rounding: Rounding, rates: Vec<TaxRate>) -> TaxTable {
    TaxTable {
        prices_include_tax: inclusive,
        rounding,
        shipping_tax_class: None,
        rates,
    }
}

fn us_table() -> TaxTable {
    table(
        false,
        Rounding::HalfUp,
        vec![
            rate("US", Some("CA"), "standard", dec!(0.0725)),
            rate("US", Some("NY"), "standard", dec!(0.08875)),
        ],
    )
}

fn eu_table() -> TaxTable {
    TaxTable {
        shipping_tax_class: Some(TaxClass::standard()),
        ..table(
            true,
            Rounding::HalfEven,
            vec![
                rate("DE", None, "standard", dec!(0.19)),
                rate("DE", None, "reduced", dec!(0.07)),
                rate("FR", None, "standard", dec!(0.20)),
            ],
        )
    }
}

fn method(
    country: &str,
    regions: &[&str],
    tiers: &[(Option<u32>, Money)],
    free_over: Option<Money>,
) -> ShippingMethod {
    ShippingMethod {
        code: "standard".into(),
        name: "Standard".into(),
        zones: vec![ShippingZone {
            country: CountryCode::new(country).unwrap(),
            regions: regions.iter().map(|r| (*r).to_owned()).collect(),
        }],
        tiers: tiers
            .iter()
            .map(|(max_grams, price)| WeightTier {
                max_grams: *max_grams,
                price: *price,
            })
            .collect(),
        free_over,
    }
}

fn us_shipping() -> ShippingMethod {
    method(
        "US",
        &[],
        &[
            (Some(1_000), usd("5.00")),
            (Some(5_000), usd("9.50")),
            (None, usd("20.00")),
        ],
        Some(usd("100.00")),
    )
}

fn promo(code: &str, kind: DiscountKind) -> Promotion {
    Promotion {
        code: code.into(),
        kind,
        min_subtotal: None,
        skus: None,
    }
}

fn run(
    currency: Currency,
    lines: &[PricingLine],
    promotions: &[Promotion],
    tax: &TaxTable,
    destination: Option<&Address>,
    shipping: Option<&ShippingMethod>,
) -> Result<PriceBreakdown> {
    price(&PricingRequest {
        currency,
        lines,
        promotions,
        tax,
        destination,
        shipping,
    })
}

fn assert_identity(b: &PriceBreakdown) {
    let mut expected = b
        .subtotal
        .checked_sub(b.discount_total)
        .unwrap()
        .checked_add(b.shipping_total)
        .unwrap();
    if !b.prices_include_tax {
        expected = expected.checked_add(b.tax_total).unwrap();
    }
    assert_eq!(b.grand_total, expected);
}

#[test]
fn us_exclusive_tax_depends_on_the_state() {
    let lines = [line("SHIRT", usd("19.99"), 3)];
    let tax = us_table();
    let ny = run(
        Currency::USD,
        &lines,
        &[],
        &tax,
        Some(&addr("US", Some("NY"))),
        None,
    )
    .unwrap();
    // 59.97 * 0.08875 = 5.3223375 -> 5.32
    assert_eq!(ny.subtotal, usd("59.97"));
    assert_eq!(ny.tax_total, usd("5.32"));
    assert_eq!(ny.lines[0].tax_rate, dec!(0.08875));
    assert_eq!(ny.lines[0].total, usd("65.29"));
    assert_eq!(ny.grand_total, usd("65.29"));
    let ca = run(
        Currency::USD,
        &lines,
        &[],
        &tax,
        Some(&addr("US", Some("CA"))),
        None,
    )
    .unwrap();
    // 59.97 * 0.0725 = 4.347825 -> 4.35
    assert_eq!(ca.tax_total, usd("4.35"));
    assert_eq!(ca.grand_total, usd("64.32"));
    let or = run(
        Currency::USD,
        &lines,
        &[],
        &tax,
        Some(&addr("US", Some("OR"))),
        None,
    )
    .unwrap();
    assert!(or.tax_total.is_zero());
    assert_eq!(or.grand_total, usd("59.97"));
    for b in [&ny, &ca, &or] {
        assert_identity(b);
    }
}

#[test]
fn tax_is_rounded_per_line() {
    // Two lines of 0.10 at 8.875 %: 0.008875 each -> 0.01 each (half-up), 0.02 in
    // total, where taxing the 0.20 subtotal once would give 0.02 as well; three
    // lines of 0.05 at 10 % round 0.005 -> 0.01 each = 0.03 vs 0.015 -> 0.02 once.
    let tax = table(
        false,
        Rounding::HalfUp,
        vec![rate("US", None, "standard", dec!(0.10))],
    );
    let lines = [
        line("A", usd("0.05"), 1),
        line("B", usd("0.05"), 1),
        line("C", usd("0.05"), 1),
    ];
    let b = run(
        Currency::USD,
        &lines,
        &[],
        &tax,
        Some(&addr("US", None)),
        None,
    )
    .unwrap();
    assert!(b.lines.iter().all(|l| l.tax == usd("0.01")));
    assert_eq!(b.tax_total, usd("0.03"));
    assert_identity(&b);
}

#[test]
fn eu_inclusive_vat_is_extracted_from_the_price() {
    let tax = eu_table();
    let lines = [line("BOOK", eur("11.90"), 2)];
    let ship = method("DE", &[], &[(None, eur("4.90"))], None);
    let de = run(
        Currency::EUR,
        &lines,
        &[],
        &tax,
        Some(&addr("DE", None)),
        Some(&ship),
    )
    .unwrap();
    // 23.80 - 23.80 / 1.19 = 3.80
    assert_eq!(de.lines[0].tax, eur("3.80"));
    assert_eq!(de.lines[0].total, eur("23.80"));
    // 4.90 - 4.90 / 1.19 = 0.7823... -> 0.78
    assert_eq!(de.shipping_total, eur("4.90"));
    assert_eq!(de.shipping_tax, eur("0.78"));
    assert_eq!(de.tax_total, eur("4.58"));
    assert_eq!(de.grand_total, eur("28.70"));
    assert_identity(&de);

    let fr = run(
        Currency::EUR,
        &lines,
        &[],
        &tax,
        Some(&addr("FR", None)),
        None,
    )
    .unwrap();
    // 23.80 - 23.80 / 1.20 = 3.9666... -> 3.97
    assert_eq!(fr.tax_total, eur("3.97"));
    assert_eq!(fr.grand_total, eur("23.80"));

    let mut reduced = line("FOOD", eur("10.70"), 1);
    reduced.tax_class = TaxClass("reduced".into());
    let de = run(
        Currency::EUR,
        &[reduced],
        &[],
        &tax,
        Some(&addr("DE", None)),
        None,
    )
    .unwrap();
    assert_eq!(de.tax_total, eur("0.70"));
}

#[test]
fn jpy_has_no_minor_units() {
    let jpy = |s: &str| m(s, Currency::JPY);
    let tax = table(
        false,
        Rounding::HalfEven,
        vec![rate("JP", None, "standard", dec!(0.08))],
    );
    let lines = [line("TEA", jpy("1999"), 1)];
    let promos = [promo("P15", DiscountKind::Percentage { percent: dec!(15) })];
    let b = run(
        Currency::JPY,
        &lines,
        &promos,
        &tax,
        Some(&addr("JP", None)),
        None,
    )
    .unwrap();
    // 15 % of 1999 = 299.85 -> 300; (1999 - 300) * 0.08 = 135.92 -> 136
    assert_eq!(b.discount_total, jpy("300"));
    assert_eq!(b.tax_total, jpy("136"));
    assert_eq!(b.grand_total, jpy("1835"));
    assert!(b.grand_total.is_rounded());
    assert_identity(&b);
}

#[test]
fn bhd_has_three_minor_units() {
    let bhd = |s: &str| m(s, Currency::BHD);
    let tax = table(
        false,
        Rounding::HalfEven,
        vec![rate("BH", None, "standard", dec!(0.10))],
    );
    let lines = [line("DATES", bhd("2.345"), 3)];
    let b = run(
        Currency::BHD,
        &lines,
        &[],
        &tax,
        Some(&addr("BH", None)),
        None,
    )
    .unwrap();
    // 7.035 * 0.10 = 0.7035 -> 0.704 (half-even)
    assert_eq!(b.subtotal, bhd("7.035"));
    assert_eq!(b.tax_total, bhd("0.704"));
    assert_eq!(b.grand_total, bhd("7.739"));
    assert_identity(&b);
}

#[test]
fn percentage_then_fixed_discounts_are_allocated_exactly() {
    let lines = [line("A", usd("60.00"), 1), line("B", usd("40.00"), 1)];
    let promos = [
        promo("TEN", DiscountKind::Percentage { percent: dec!(10) }),
        promo(
            "NINE",
            DiscountKind::Fixed {
                amount: usd("9.00"),
            },
        ),
    ];
    let b = run(Currency::USD, &lines, &promos, &us_table(), None, None).unwrap();
    // 10 % = 6.00 + 4.00, then 9.00 over 54.00 / 36.00 = 5.40 + 3.60.
    assert_eq!(b.lines[0].discount, usd("11.40"));
    assert_eq!(b.lines[1].discount, usd("7.60"));
    assert_eq!(b.discount_total, usd("19.00"));
    assert_eq!(
        b.applied_promotions,
        vec!["TEN".to_owned(), "NINE".to_owned()]
    );
    assert_eq!(b.grand_total, usd("81.00"));
    assert_identity(&b);
}

#[test]
fn fixed_discount_remainder_goes_to_one_line() {
    let lines = [
        line("A", usd("1.00"), 1),
        line("B", usd("1.00"), 1),
        line("C", usd("1.00"), 1),
    ];
    let promos = [promo(
        "ONE",
        DiscountKind::Fixed {
            amount: usd("1.00"),
        },
    )];
    let b = run(Currency::USD, &lines, &promos, &us_table(), None, None).unwrap();
    let shares: Vec<Money> = b.lines.iter().map(|l| l.discount).collect();
    assert_eq!(shares, vec![usd("0.34"), usd("0.33"), usd("0.33")]);
    assert_eq!(b.discount_total, usd("1.00"));
}

#[test]
fn fixed_discount_never_exceeds_the_eligible_subtotal() {
    let lines = [line("A", usd("3.00"), 1), line("B", usd("50.00"), 1)];
    let mut p = promo(
        "BIG",
        DiscountKind::Fixed {
            amount: usd("10.00"),
        },
    );
    p.skus = Some(vec![Sku::new("A").unwrap()]);
    let b = run(Currency::USD, &lines, &[p], &us_table(), None, None).unwrap();
    assert_eq!(b.lines[0].discount, usd("3.00"));
    assert!(b.lines[1].discount.is_zero());
    assert_eq!(b.lines[0].total, usd("0.00"));
    assert_eq!(b.grand_total, usd("50.00"));
}

#[test]
fn min_subtotal_gates_a_promotion() {
    let lines = [line("A", usd("30.00"), 1)];
    let mut p = promo("BIGSPENDER", DiscountKind::Percentage { percent: dec!(20) });
    p.min_subtotal = Some(usd("50.00"));
    let b = run(Currency::USD, &lines, &[p.clone()], &us_table(), None, None).unwrap();
    assert!(b.discount_total.is_zero());
    assert!(b.applied_promotions.is_empty());
    let lines = [line("A", usd("30.00"), 2)];
    let b = run(Currency::USD, &lines, &[p], &us_table(), None, None).unwrap();
    assert_eq!(b.discount_total, usd("12.00"));
}

#[test]
fn free_shipping_threshold_uses_the_discounted_subtotal() {
    let tax = us_table();
    let to = addr("US", Some("CA"));
    let ship = us_shipping();
    let under = [line("A", usd("99.99"), 1)];
    let b = run(Currency::USD, &under, &[], &tax, Some(&to), Some(&ship)).unwrap();
    assert_eq!(b.shipping_total, usd("5.00"));
    assert_identity(&b);
    let at = [line("A", usd("100.00"), 1)];
    let b = run(Currency::USD, &at, &[], &tax, Some(&to), Some(&ship)).unwrap();
    assert!(b.shipping_total.is_zero());
    let promos = [promo(
        "OFF",
        DiscountKind::Fixed {
            amount: usd("0.01"),
        },
    )];
    let b = run(Currency::USD, &at, &promos, &tax, Some(&to), Some(&ship)).unwrap();
    assert_eq!(b.shipping_total, usd("5.00"));
    assert_identity(&b);
}

#[test]
fn free_shipping_promotion_zeroes_shipping() {
    let lines = [line("A", usd("10.00"), 1)];
    let promos = [promo("SHIPFREE", DiscountKind::FreeShipping)];
    let b = run(
        Currency::USD,
        &lines,
        &promos,
        &us_table(),
        Some(&addr("US", Some("NY"))),
        Some(&us_shipping()),
    )
    .unwrap();
    assert!(b.shipping_total.is_zero());
    assert_eq!(b.applied_promotions, vec!["SHIPFREE".to_owned()]);
    assert_eq!(b.grand_total, usd("10.89"));
}

#[test]
fn shipping_follows_weight_tiers() {
    let to = addr("US", Some("NY"));
    let ship = us_shipping();
    let cost = |qty: u32| {
        let lines = [line("A", usd("1.00"), qty)];
        run(
            Currency::USD,
            &lines,
            &[],
            &us_table(),
            Some(&to),
            Some(&ship),
        )
        .unwrap()
        .shipping_total
    };
    assert_eq!(cost(2), usd("5.00")); // 1000 g
    assert_eq!(cost(3), usd("9.50")); // 1500 g
    assert_eq!(cost(10), usd("9.50")); // 5000 g
    assert_eq!(cost(11), usd("20.00")); // 5500 g
    let capped = method("US", &[], &[(Some(1_000), usd("5.00"))], None);
    let lines = [line("A", usd("1.00"), 3)];
    let err = run(
        Currency::USD,
        &lines,
        &[],
        &us_table(),
        Some(&to),
        Some(&capped),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NotServiceable(_)), "{err}");
}

#[test]
fn shipping_is_taxed_when_the_table_says_so() {
    let tax = TaxTable {
        shipping_tax_class: Some(TaxClass::standard()),
        ..us_table()
    };
    let lines = [line("A", usd("10.00"), 1)];
    let b = run(
        Currency::USD,
        &lines,
        &[],
        &tax,
        Some(&addr("US", Some("CA"))),
        Some(&us_shipping()),
    )
    .unwrap();
    // goods tax 0.725 -> 0.73; shipping 5.00 * 0.0725 = 0.3625 -> 0.36
    assert_eq!(b.shipping_tax, usd("0.36"));
    assert_eq!(b.tax_total, usd("1.09"));
    assert_eq!(b.grand_total, usd("16.09"));
    assert_identity(&b);
}

#[test]
fn unserved_destination_is_an_error() {
    let lines = [line("A", usd("10.00"), 1)];
    let err = run(
        Currency::USD,
        &lines,
        &[],
        &us_table(),
        Some(&addr("DE", None)),
        Some(&us_shipping()),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NotServiceable(_)), "{err}");
    let west = method("US", &["CA", "OR", "WA"], &[(None, usd("5.00"))], None);
    let err = run(
        Currency::USD,
        &lines,
        &[],
        &us_table(),
        Some(&addr("US", Some("NY"))),
        Some(&west),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NotServiceable(_)), "{err}");
}

#[test]
fn no_destination_means_no_tax_and_no_shipping() {
    let lines = [line("A", usd("10.00"), 1)];
    let b = run(
        Currency::USD,
        &lines,
        &[],
        &us_table(),
        None,
        Some(&us_shipping()),
    )
    .unwrap();
    assert!(b.tax_total.is_zero());
    assert!(b.shipping_total.is_zero());
    assert_eq!(b.grand_total, usd("10.00"));
}

#[test]
fn invalid_requests_are_rejected() {
    let tax = us_table();
    let zero = [line("A", usd("1.00"), 0)];
    assert!(matches!(
        run(Currency::USD, &zero, &[], &tax, None, None),
        Err(Error::Validation {
            field: "quantity",
            ..
        })
    ));
    let dup = [line("A", usd("1.00"), 1), line("A", usd("2.00"), 1)];
    assert!(matches!(
        run(Currency::USD, &dup, &[], &tax, None, None),
        Err(Error::Validation { field: "lines", .. })
    ));
    let eur_line = [line("A", eur("1.00"), 1)];
    assert!(matches!(
        run(Currency::USD, &eur_line, &[], &tax, None, None),
        Err(Error::CurrencyMismatch { .. })
    ));
    let ok = [line("A", usd("1.00"), 1)];
    let eur_promo = [promo(
        "X",
        DiscountKind::Fixed {
            amount: eur("1.00"),
        },
    )];
    assert!(matches!(
        run(Currency::USD, &ok, &eur_promo, &tax, None, None),
        Err(Error::CurrencyMismatch { .. })
    ));
    let eur_ship = method("US", &[], &[(None, eur("5.00"))], None);
    assert!(matches!(
        run(
            Currency::USD,
            &ok,
            &[],
            &tax,
            Some(&addr("US", None)),
            Some(&eur_ship)
        ),
        Err(Error::CurrencyMismatch { .. })
    ));
    let over = [promo("X", DiscountKind::Percentage { percent: dec!(101) })];
    assert!(matches!(
        run(Currency::USD, &ok, &over, &tax, None, None),
        Err(Error::Validation { .. })
    ));
    let neg = [line("A", usd("-1.00"), 1)];
    assert!(matches!(
        run(Currency::USD, &neg, &[], &tax, None, None),
        Err(Error::InvalidAmount(_))
    ));
}

#[test]
fn empty_cart_prices_to_zero() {
    let b = run(Currency::USD, &[], &[], &us_table(), None, None).unwrap();
    assert!(b.grand_total.is_zero());
    assert!(b.lines.is_empty());
}
