//! Conversions between domain values and column values.

use rust_decimal::Decimal;

use commerce_core::{Currency, Error, Money, Result};

/// A domain count (`u64`) as a `bigint`; `Validation` above `i64::MAX`.
pub(crate) fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::validation("quantity", "too large for storage"))
}

/// A stored `bigint` as a domain count; negative values mean corrupted data.
pub(crate) fn to_u64(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::backend(format!("negative count {value} in storage")))
}

/// An amount read from a `numeric` column in `currency`.
pub(crate) fn money(amount: Decimal, currency: Currency) -> Money {
    Money::new_unrounded(amount, currency)
}

/// A currency read from a text column.
pub(crate) fn currency(code: &str) -> Result<Currency> {
    Currency::from_code(code)
        .map_err(|e| Error::backend(format!("stored currency {code:?} is not valid: {e}")))
}

/// A value deserialized from a stored JSON document.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value).map_err(Error::backend)
}

/// A value as a JSON document to store.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(Error::backend)
}
