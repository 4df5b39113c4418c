//! Property tests of pricing: the documented identity holds to the minor unit, every
//! amount is in minor units, discounts never exceed what they discount, and the
//! same input always gives the same output.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use commerce_core::pricing::{DiscountKind, PriceBreakdown, PricingRequest, price};
use commerce_core::shipping::{ShippingZone, WeightTier};
use commerce_core::testkit::fixtures::{address, country, sku};
use commerce_core::{
    Address, Currency, Money, PricingLine, Promotion, Rounding, ShippingMethod, TaxClass, TaxRate,
    TaxTable,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

#[derive(Clone, Debug)]
struct Case {
    currency: Currency,
    lines: Vec<PricingLine>,
    promotions: Vec<Promotion>,
    tax: TaxTable,
    destination: Option<Address>,
    shipping: Option<ShippingMethod>,
}

impl Case {
    fn price(&self) -> PriceBreakdown {
        price(
            &PricingRequest::new(self.currency, &self.lines, &self.tax)
                .with_promotions(&self.promotions)
                .with_destination(self.destination.as_ref())
                .with_shipping(self.shipping.as_ref()),
        )
        .unwrap()
    }
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::USD),
        Just(Currency::JPY),
        Just(Currency::BHD)
    ]
}

fn class() -> impl Strategy<Value = TaxClass> {
    prop_oneof![
        Just(TaxClass::standard()),
        Just(TaxClass("reduced".into())),
        Just(TaxClass("zero".into())),
    ]
}

fn rounding() -> impl Strategy<Value = Rounding> {
    prop_oneof![
        Just(Rounding::HalfEven),
        Just(Rounding::HalfUp),
        Just(Rounding::HalfDown),
        Just(Rounding::Down),
        Just(Rounding::Up),
    ]
}

/// A rate from 0 to 30 % with up to 5 decimals of the fraction (8.875 % = 0.08875).
fn rate() -> impl Strategy<Value = Decimal> {
    (0_i64..=30_000).prop_map(|n| Decimal::new(n, 5))
}

fn lines(currency: Currency) -> impl Strategy<Value = Vec<PricingLine>> {
    prop::collection::vec((0_i64..200_000, 1_u32..25, 0_u32..3_000, class()), 1..8).prop_map(
        move |specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (price, quantity, weight_grams, tax_class))| {
                    PricingLine::new(
                        sku(&format!("SKU-{i}")),
                        format!("Item {i}"),
                        Money::from_minor(price, currency),
                        quantity,
                    )
                    .with_tax_class(tax_class)
                    .with_weight_grams(weight_grams)
                })
                .collect()
        },
    )
}

fn promotions(currency: Currency) -> impl Strategy<Value = Vec<Promotion>> {
    let kind = prop_oneof![
        (1_i64..=1000).prop_map(|p| DiscountKind::Percentage {
            percent: Decimal::new(p, 1)
        }),
        (1_i64..500_000).prop_map(move |m| DiscountKind::Fixed {
            amount: Money::from_minor(m, currency)
        }),
        Just(DiscountKind::FreeShipping),
    ];
    let promo = (
        kind,
        prop::option::of(0_i64..300_000),
        prop::option::of(prop::collection::vec(0_usize..8, 1..4)),
    );
    prop::collection::vec(promo, 0..4).prop_map(move |specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (kind, min, skus))| Promotion {
                code: format!("PROMO{i}"),
                kind,
                min_subtotal: min.map(|m| Money::from_minor(m, currency)),
                skus: skus.map(|idx| idx.into_iter().map(|i| sku(&format!("SKU-{i}"))).collect()),
            })
            .collect()
    })
}

fn tax_table() -> impl Strategy<Value = TaxTable> {
    (
        any::<bool>(),
        rounding(),
        rate(),
        rate(),
        rate(),
        any::<bool>(),
    )
        .prop_map(
            |(inclusive, rounding, standard, regional, reduced, tax_shipping)| {
                let r = |region: Option<&str>, class: &str, rate| TaxRate {
                    country: country("US"),
                    region: region.map(str::to_owned),
                    tax_class: TaxClass(class.into()),
                    rate,
                    name: "tax".into(),
                };
                TaxTable {
                    prices_include_tax: inclusive,
                    rounding,
                    shipping_tax_class: tax_shipping.then(TaxClass::standard),
                    rates: vec![
                        r(None, "standard", standard),
                        r(Some("CA"), "standard", regional),
                        r(None, "reduced", reduced),
                    ],
                }
            },
        )
}

fn shipping(currency: Currency) -> impl Strategy<Value = ShippingMethod> {
    (
        0_i64..5_000,
        0_i64..20_000,
        prop::option::of(0_i64..500_000),
    )
        .prop_map(move |(light, heavy, free_over)| ShippingMethod {
            code: "std".into(),
            name: "Standard".into(),
            zones: vec![ShippingZone {
                country: country("US"),
                regions: Vec::new(),
            }],
            tiers: vec![
                WeightTier {
                    max_grams: Some(2_000),
                    price: Money::from_minor(light, currency),
                },
                WeightTier {
                    max_grams: None,
                    price: Money::from_minor(heavy, currency),
                },
            ],
            free_over: free_over.map(|m| Money::from_minor(m, currency)),
        })
}

fn case() -> impl Strategy<Value = Case> {
    currency().prop_flat_map(|currency| {
        (
            lines(currency),
            promotions(currency),
            tax_table(),
            prop::option::of(prop_oneof![Just(Some("CA")), Just(Some("NY")), Just(None)]),
            prop::option::of(shipping(currency)),
        )
            .prop_map(move |(lines, promotions, tax, region, shipping)| Case {
                currency,
                lines,
                promotions,
                tax,
                destination: region.map(|r| address("US", r)),
                shipping,
            })
    })
}

fn all_amounts(b: &PriceBreakdown) -> Vec<Money> {
    let mut v = vec![
        b.subtotal,
        b.discount_total,
        b.shipping_total,
        b.shipping_tax,
        b.tax_total,
        b.grand_total,
    ];
    for l in &b.lines {
        v.extend([l.unit_price, l.subtotal, l.discount, l.tax, l.total]);
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn grand_total_identity_holds_to_the_minor_unit(case in case()) {
        let b = case.price();
        let mut expected = b.subtotal.checked_sub(b.discount_total).unwrap().checked_add(b.shipping_total).unwrap();
        if !b.prices_include_tax {
            expected = expected.checked_add(b.tax_total).unwrap();
        }
        prop_assert_eq!(b.grand_total, expected);

        let sum = |f: fn(&commerce_core::PricedLine) -> Money| {
            Money::sum(case.currency, b.lines.iter().map(f)).unwrap()
        };
        prop_assert_eq!(b.subtotal, sum(|l| l.subtotal));
        prop_assert_eq!(b.discount_total, sum(|l| l.discount));
        prop_assert_eq!(b.tax_total, sum(|l| l.tax).checked_add(b.shipping_tax).unwrap());
        let lines_total = sum(|l| l.total);
        let goods = if b.prices_include_tax {
            b.subtotal.checked_sub(b.discount_total).unwrap()
        } else {
            b.subtotal.checked_sub(b.discount_total).unwrap().checked_add(sum(|l| l.tax)).unwrap()
        };
        prop_assert_eq!(lines_total, goods);
    }

    #[test]
    fn every_amount_is_in_minor_units_and_never_negative(case in case()) {
        let b = case.price();
        for m in all_amounts(&b) {
            prop_assert!(m.is_rounded(), "{:?} is not in minor units", m);
            prop_assert!(!m.is_negative(), "{:?} is negative", m);
            prop_assert_eq!(m.currency(), case.currency);
        }
        for (l, input) in b.lines.iter().zip(&case.lines) {
            prop_assert_eq!(&l.sku, &input.sku);
            prop_assert_eq!(l.subtotal, input.unit_price.checked_mul_qty(u64::from(input.quantity)).unwrap());
            prop_assert!(l.discount.checked_cmp(&l.subtotal).unwrap().is_le(), "discount above subtotal");
            if b.prices_include_tax {
                let net = l.subtotal.checked_sub(l.discount).unwrap();
                prop_assert!(l.tax.checked_cmp(&net).unwrap().is_le(), "inclusive tax above the amount");
            }
        }
        prop_assert!(b.shipping_tax.checked_cmp(&b.tax_total).unwrap().is_le());
        if case.destination.is_none() {
            prop_assert!(b.tax_total.is_zero());
            prop_assert!(b.shipping_total.is_zero());
        }
    }

    #[test]
    fn same_input_same_output(case in case()) {
        let first = case.price();
        let second = case.clone().price();
        prop_assert_eq!(&first, &second);
        // And through JSON: the breakdown survives a round trip unchanged.
        let json = serde_json::to_string(&first).unwrap();
        let back: PriceBreakdown = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, first);
    }
}
