//! Money and currencies: exact decimal amounts tagged with an ISO 4217 currency.
//!
//! Amounts are [`Decimal`]s, never floats. Arithmetic is checked: mixing currencies is a
//! [`Error::CurrencyMismatch`], overflow is [`Error::Overflow`]. Rounding always names a
//! [`Rounding`] strategy, and [`Money::allocate`] splits an amount into parts that sum
//! exactly to the whole.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// An ISO 4217 currency with its number of minor units (USD 2, JPY 0, BHD 3).
///
/// Serializes as its three-letter code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// US dollar (2 minor units).
    pub const USD: Currency = Currency(iso_currency::Currency::USD);
    /// Euro (2 minor units).
    pub const EUR: Currency = Currency(iso_currency::Currency::EUR);
    /// Pound sterling (2 minor units).
    pub const GBP: Currency = Currency(iso_currency::Currency::GBP);
    /// Japanese yen (0 minor units).
    pub const JPY: Currency = Currency(iso_currency::Currency::JPY);
    /// Bahraini dinar (3 minor units).
    pub const BHD: Currency = Currency(iso_currency::Currency::BHD);
    /// Vietnamese dong (0 minor units).
    pub const VND: Currency = Currency(iso_currency::Currency::VND);

    /// Looks a currency up by its ISO 4217 alphabetic code (case-sensitive, e.g. `"USD"`).
    ///
    /// Codes without minor units (funds, precious metals such as `XAU`) are rejected:
    /// they cannot price goods.
    pub fn from_code(code: &str) -> Result<Self> {
        let inner = iso_currency::Currency::from_code(code)
            .ok_or_else(|| Error::UnknownCurrency(code.to_owned()))?;
        if inner.exponent().is_none() {
            return Err(Error::UnknownCurrency(code.to_owned()));
        }
        Ok(Currency(inner))
    }

    /// The three-letter ISO 4217 code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Number of digits after the decimal point of the minor unit (USD 2, JPY 0, BHD 3).
    pub fn minor_units(&self) -> u32 {
        // `from_code` rejects currencies without an exponent; the constants all have one.
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

/// A named rounding strategy. Every rounding in the crate family names one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Round half to even ("banker's rounding"): 0.125 -> 0.12, 0.135 -> 0.14.
    #[default]
    HalfEven,
    /// Round half away from zero (commercial rounding): 0.125 -> 0.13.
    HalfUp,
    /// Round half toward zero: 0.125 -> 0.12.
    HalfDown,
    /// Truncate toward zero.
    Down,
    /// Round away from zero.
    Up,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfDown => RoundingStrategy::MidpointTowardZero,
            Rounding::Down => RoundingStrategy::ToZero,
            Rounding::Up => RoundingStrategy::AwayFromZero,
        }
    }
}

/// An exact amount of one currency.
///
/// The amount may carry more decimals than the currency's minor unit while a
/// computation is in progress (a tax of 8.875 %); [`Money::round`] brings it back to
/// the minor unit with a named strategy. Serializes as
/// `{"amount": "12.34", "currency": "USD"}` with the amount as a string;
/// deserializing validates like [`Money::new`] (`{"amount": "1.234", "currency":
/// "USD"}` is an error).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
    currency: Currency,
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(with = "rust_decimal::serde::str")]
            amount: Decimal,
            currency: Currency,
        }
        let raw = Raw::deserialize(d)?;
        // The same rule as `Money::new`, keeping the amount's scale as written.
        if raw.amount.normalize().scale() > raw.currency.minor_units() {
            return Err(serde::de::Error::custom(format!(
                "{} has more decimals than {} allows ({})",
                raw.amount,
                raw.currency,
                raw.currency.minor_units()
            )));
        }
        Ok(Money {
            amount: raw.amount,
            currency: raw.currency,
        })
    }
}

impl Money {
    /// An amount in `currency`. Fails with [`Error::InvalidAmount`] when `amount` has
    /// more decimals than the currency's minor unit (use [`Money::new_unrounded`] for
    /// intermediate values).
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self> {
        let amount = amount.normalize();
        if amount.scale() > currency.minor_units() {
            return Err(Error::InvalidAmount(format!(
                "{amount} has more decimals than {currency} allows ({})",
                currency.minor_units()
            )));
        }
        Ok(Money { amount, currency })
    }

    /// An amount that may carry more precision than the minor unit (an intermediate
    /// result such as an unrounded tax).
    pub fn new_unrounded(amount: Decimal, currency: Currency) -> Self {
        Money { amount, currency }
    }

    /// Parses a decimal string such as `"19.99"` in `currency`.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self> {
        let value = Decimal::from_str_exact(amount)
            .map_err(|e| Error::InvalidAmount(format!("{amount:?}: {e}")))?;
        Money::new(value, currency)
    }

    /// An amount given in minor units (cents for USD, yen for JPY, fils for BHD).
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Money {
            amount: Decimal::new(minor, currency.minor_units()),
            currency,
        }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Money {
            amount: Decimal::ZERO,
            currency,
        }
    }

    /// The decimal amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units, after rounding half-even to the minor unit.
    /// Fails with [`Error::Overflow`] when it does not fit an `i64`.
    pub fn to_minor(&self) -> Result<i64> {
        let scaled = self
            .round(Rounding::HalfEven)
            .amount
            .checked_mul(Decimal::from(10_i64.pow(self.currency.minor_units())))
            .ok_or(Error::Overflow)?;
        i64::try_from(scaled.trunc()).map_err(|_| Error::Overflow)
    }

    /// True when the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// True when the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// True when the amount has no more decimals than the minor unit.
    pub fn is_rounded(&self) -> bool {
        self.amount.normalize().scale() <= self.currency.minor_units()
    }

    fn same_currency(&self, other: &Money) -> Result<()> {
        if self.currency != other.currency {
            return Err(Error::CurrencyMismatch {
                expected: self.currency,
                found: other.currency,
            });
        }
        Ok(())
    }

    /// `self + other`; an error on mixed currencies or overflow.
    pub fn checked_add(&self, other: Money) -> Result<Money> {
        self.same_currency(&other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(Error::Overflow)?;
        Ok(Money { amount, ..*self })
    }

    /// `self - other`; an error on mixed currencies or overflow. May go negative.
    pub fn checked_sub(&self, other: Money) -> Result<Money> {
        self.same_currency(&other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(Error::Overflow)?;
        Ok(Money { amount, ..*self })
    }

    /// `self * quantity`; an error on overflow.
    pub fn checked_mul_qty(&self, quantity: u64) -> Result<Money> {
        let amount = self
            .amount
            .checked_mul(Decimal::from(quantity))
            .ok_or(Error::Overflow)?;
        Ok(Money { amount, ..*self })
    }

    /// `self * rate`, unrounded (e.g. a tax rate of `0.0875`); an error on overflow.
    pub fn checked_mul_rate(&self, rate: Decimal) -> Result<Money> {
        let amount = self.amount.checked_mul(rate).ok_or(Error::Overflow)?;
        Ok(Money { amount, ..*self })
    }

    /// The negated amount.
    pub fn negate(&self) -> Money {
        Money {
            amount: -self.amount,
            ..*self
        }
    }

    /// The smaller of two amounts of the same currency.
    pub fn min(&self, other: Money) -> Result<Money> {
        self.same_currency(&other)?;
        Ok(if other.amount < self.amount {
            other
        } else {
            *self
        })
    }

    /// Compares two amounts of the same currency.
    pub fn checked_cmp(&self, other: &Money) -> Result<std::cmp::Ordering> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// Rounds to the currency's minor unit with `strategy`.
    pub fn round(&self, strategy: Rounding) -> Money {
        Money {
            amount: self
                .amount
                .round_dp_with_strategy(self.currency.minor_units(), strategy.strategy())
                .normalize(),
            ..*self
        }
    }

    /// Sums amounts that must all be in `currency`.
    pub fn sum<I: IntoIterator<Item = Money>>(currency: Currency, items: I) -> Result<Money> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    /// Splits this amount (rounded half-even to the minor unit first) into parts
    /// proportional to `weights`, in minor units, so that the parts sum exactly to the
    /// rounded whole. Remainder units go to the parts with the largest fractional
    /// share (ties to the earlier part).
    ///
    /// Fails with [`Error::InvalidAmount`] when `weights` is empty or all zero.
    pub fn allocate(&self, weights: &[Decimal]) -> Result<Vec<Money>> {
        if weights.is_empty() {
            return Err(Error::InvalidAmount(
                "allocation needs at least one weight".into(),
            ));
        }
        if weights.iter().any(|w| w.is_sign_negative() && !w.is_zero()) {
            return Err(Error::InvalidAmount(
                "allocation weights must not be negative".into(),
            ));
        }
        let total_weight = weights
            .iter()
            .try_fold(Decimal::ZERO, |acc, w| acc.checked_add(*w))
            .ok_or(Error::Overflow)?;
        if total_weight.is_zero() {
            return Err(Error::InvalidAmount(
                "allocation weights sum to zero".into(),
            ));
        }
        let whole = i128::from(self.to_minor()?);
        let sign: i128 = if whole < 0 { -1 } else { 1 };
        let whole_abs = whole.abs();
        let whole_dec = Decimal::from_i128_with_scale(whole_abs, 0);
        let mut parts = Vec::with_capacity(weights.len());
        let mut remainders = Vec::with_capacity(weights.len());
        let mut assigned: i128 = 0;
        for (i, w) in weights.iter().enumerate() {
            let exact = whole_dec
                .checked_mul(*w)
                .and_then(|v| v.checked_div(total_weight))
                .ok_or(Error::Overflow)?;
            let floor = exact.floor();
            let floor_i: i128 = i128::try_from(floor).map_err(|_| Error::Overflow)?;
            parts.push(floor_i);
            remainders.push((exact - floor, i));
            assigned += floor_i;
        }
        let mut left = whole_abs - assigned;
        // Largest remainder first; ties go to the earlier index.
        remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, i) in remainders.iter().cycle() {
            if left <= 0 {
                break;
            }
            parts[*i] += 1;
            left -= 1;
        }
        parts
            .into_iter()
            .map(|p| {
                let minor = i64::try_from(sign * p).map_err(|_| Error::Overflow)?;
                Ok(Money::from_minor(minor, self.currency))
            })
            .collect()
    }

    /// Splits this amount into `n` parts that differ by at most one minor unit and
    /// sum exactly to the rounded whole.
    pub fn split_evenly(&self, n: usize) -> Result<Vec<Money>> {
        self.allocate(&vec![Decimal::ONE; n])
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    /// Formats with exactly the currency's minor units when rounded, e.g. `12.50 USD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut amount = self.amount;
        if self.is_rounded() {
            amount.rescale(self.currency.minor_units());
        }
        write!(f, "{} {}", amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Currency::USD.minor_units(), 2);
        assert_eq!(Currency::JPY.minor_units(), 0);
        assert_eq!(Currency::BHD.minor_units(), 3);
        assert!(Currency::from_code("XAU").is_err());
        assert!(Currency::from_code("usd").is_err());
    }

    #[test]
    fn new_rejects_sub_minor_precision() {
        assert!(Money::new(dec!(1.234), Currency::USD).is_err());
        assert!(Money::new(dec!(1.234), Currency::BHD).is_ok());
        assert!(Money::new(dec!(1.5), Currency::JPY).is_err());
        assert!(Money::new(dec!(1.50), Currency::USD).is_ok());
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let a = Money::from_minor(100, Currency::USD);
        let b = Money::from_minor(100, Currency::EUR);
        assert!(matches!(
            a.checked_add(b),
            Err(Error::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn rounding_strategies_are_named() {
        let m = Money::new_unrounded(dec!(0.125), Currency::USD);
        assert_eq!(m.round(Rounding::HalfEven).amount(), dec!(0.12));
        assert_eq!(m.round(Rounding::HalfUp).amount(), dec!(0.13));
        assert_eq!(m.round(Rounding::Down).amount(), dec!(0.12));
        assert_eq!(m.round(Rounding::Up).amount(), dec!(0.13));
    }

    #[test]
    fn allocation_sums_exactly() {
        let m = Money::parse("100.00", Currency::USD).unwrap();
        let parts = m.split_evenly(3).unwrap();
        assert_eq!(
            parts
                .iter()
                .map(|p| p.to_minor().unwrap())
                .collect::<Vec<_>>(),
            vec![3334, 3333, 3333]
        );
        let neg = m.negate().split_evenly(3).unwrap();
        assert_eq!(Money::sum(Currency::USD, neg).unwrap(), m.negate());
    }

    #[test]
    fn serializes_amount_as_string() {
        let m = Money::parse("12.34", Currency::USD).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"12.34","currency":"USD"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert!(serde_json::from_str::<Money>(r#"{"amount":12.34,"currency":"USD"}"#).is_err());
    }

    #[test]
    fn display_pads_minor_units() {
        assert_eq!(
            Money::from_minor(1250, Currency::USD).to_string(),
            "12.50 USD"
        );
        assert_eq!(
            Money::from_minor(1250, Currency::JPY).to_string(),
            "1250 JPY"
        );
    }
}
