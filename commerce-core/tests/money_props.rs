//! Property tests of money arithmetic and allocation.

use commerce_core::{Currency, Error, Money};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::USD),
        Just(Currency::EUR),
        Just(Currency::JPY),
        Just(Currency::BHD),
    ]
}

/// Amounts up to ±10^12 minor units: far beyond any cart, far inside `Decimal`.
fn minor() -> impl Strategy<Value = i64> {
    -1_000_000_000_000_i64..=1_000_000_000_000_i64
}

fn money_in(currency: Currency) -> impl Strategy<Value = Money> {
    minor().prop_map(move |m| Money::from_minor(m, currency))
}

/// Weights with at least one positive entry, some zeros, some fractional.
fn weights() -> impl Strategy<Value = Vec<Decimal>> {
    prop::collection::vec(
        prop_oneof![
            1 => Just(Decimal::ZERO),
            4 => (1_i64..1_000_000, 0_u32..4).prop_map(|(n, s)| Decimal::new(n, s)),
        ],
        1..25,
    )
    .prop_filter("at least one positive weight", |w| {
        w.iter().any(|x| !x.is_zero())
    })
}

fn minor_units(m: &Money) -> Decimal {
    let mut d = m.amount();
    d.rescale(m.currency().minor_units());
    Decimal::from_i128_with_scale(d.mantissa(), 0)
}

proptest! {
    #[test]
    fn addition_is_associative_and_commutative(
        (a, b, c) in currency().prop_flat_map(|c| (money_in(c), money_in(c), money_in(c)))
    ) {
        let left = a.checked_add(b).unwrap().checked_add(c).unwrap();
        let right = a.checked_add(b.checked_add(c).unwrap()).unwrap();
        prop_assert_eq!(left, right);
        prop_assert_eq!(a.checked_add(b).unwrap(), b.checked_add(a).unwrap());
    }

    #[test]
    fn subtraction_undoes_addition(
        (a, b) in currency().prop_flat_map(|c| (money_in(c), money_in(c)))
    ) {
        prop_assert_eq!(a.checked_add(b).unwrap().checked_sub(b).unwrap(), a);
        prop_assert_eq!(a.checked_sub(b).unwrap(), b.checked_sub(a).unwrap().negate());
        prop_assert!(a.checked_add(b).unwrap().is_rounded());
    }

    #[test]
    fn mixed_currencies_are_always_an_error(x in minor(), y in minor(), c1 in currency(), c2 in currency()) {
        prop_assume!(c1 != c2);
        let a = Money::from_minor(x, c1);
        let b = Money::from_minor(y, c2);
        let is_mismatch = |r: Result<Money, Error>| matches!(
            r, Err(Error::CurrencyMismatch { expected, found }) if expected == c1 && found == c2
        );
        prop_assert!(is_mismatch(a.checked_add(b)));
        prop_assert!(is_mismatch(a.checked_sub(b)));
        prop_assert!(is_mismatch(a.min(b)));
        let cmp_mismatch = matches!(a.checked_cmp(&b), Err(Error::CurrencyMismatch { .. }));
        prop_assert!(cmp_mismatch);
        let sum_mismatch = matches!(Money::sum(c1, [a, b]), Err(Error::CurrencyMismatch { .. }));
        prop_assert!(sum_mismatch);
    }

    #[test]
    fn allocation_sums_exactly_and_stays_within_one_unit_of_the_share(
        whole in currency().prop_flat_map(money_in),
        weights in weights(),
    ) {
        let parts = whole.allocate(&weights).unwrap();
        prop_assert_eq!(parts.len(), weights.len());
        prop_assert_eq!(Money::sum(whole.currency(), parts.iter().copied()).unwrap(), whole);
        let total: Decimal = weights.iter().sum();
        let whole_minor = minor_units(&whole);
        for (part, w) in parts.iter().zip(&weights) {
            prop_assert!(part.is_rounded());
            prop_assert_eq!(part.currency(), whole.currency());
            let exact = whole_minor * *w / total;
            let diff = (minor_units(part) - exact).abs();
            prop_assert!(diff < Decimal::ONE, "part {:?} vs exact share {} (weight {})", part, exact, w);
            if w.is_zero() {
                prop_assert!(part.is_zero());
            }
        }
    }

    #[test]
    fn split_evenly_parts_differ_by_at_most_one_unit(
        whole in currency().prop_flat_map(money_in),
        n in 1_usize..60,
    ) {
        let parts = whole.split_evenly(n).unwrap();
        prop_assert_eq!(parts.len(), n);
        prop_assert_eq!(Money::sum(whole.currency(), parts.iter().copied()).unwrap(), whole);
        let units: Vec<Decimal> = parts.iter().map(minor_units).collect();
        let max = units.iter().max().copied().unwrap();
        let min = units.iter().min().copied().unwrap();
        prop_assert!(max - min <= Decimal::ONE);
    }

    #[test]
    fn parse_and_display_round_trip(m in currency().prop_flat_map(money_in)) {
        let text = m.amount().to_string();
        prop_assert_eq!(Money::parse(&text, m.currency()).unwrap(), m);
        let json = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    }
}

#[test]
fn allocation_of_nothing_or_by_nothing_is_an_error() {
    let m = Money::from_minor(100, Currency::USD);
    assert!(matches!(m.allocate(&[]), Err(Error::InvalidAmount(_))));
    assert!(matches!(
        m.allocate(&[Decimal::ZERO]),
        Err(Error::InvalidAmount(_))
    ));
    assert!(matches!(m.split_evenly(0), Err(Error::InvalidAmount(_))));
}
