//! Identifiers of orders, shipments and refunds, and idempotency keys.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

commerce_core::typed_id!(
    /// Identifies an order (UUID v7: time-ordered, so newest-first listing is by id).
    OrderId, "order_id"
);
commerce_core::typed_id!(
    /// Identifies a shipment of (part of) an order.
    ShipmentId, "shipment_id"
);
commerce_core::typed_id!(
    /// Identifies a refund of (part of) an order's captured payment.
    RefundId, "refund_id"
);

/// A client-chosen key that makes a request idempotent: the same key always gives the
/// same result (the same order for a checkout, the same charge for a payment).
///
/// 1 to [`IdempotencyKey::MAX_LEN`] visible ASCII characters (`!` to `~`, no spaces).
/// Keys derived with [`IdempotencyKey::derive`] may be up to
/// [`IdempotencyKey::MAX_DERIVED_LEN`] long, so a store column of 255 characters
/// holds every key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Longest key a client may send.
    pub const MAX_LEN: usize = 200;
    /// Longest key, derived keys included.
    pub const MAX_DERIVED_LEN: usize = 255;

    /// Validates a client key.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        if key.is_empty() || key.len() > Self::MAX_LEN {
            return Err(Error::validation(
                "idempotency_key",
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        Self::check_chars(&key)?;
        Ok(IdempotencyKey(key))
    }

    fn check_chars(key: &str) -> Result<()> {
        if key.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(())
        } else {
            Err(Error::validation(
                "idempotency_key",
                "may contain only visible ASCII characters",
            ))
        }
    }

    /// A key derived from this one for a sub-operation, `"{self}/{purpose}"` (e.g. the
    /// payment authorization of a checkout). Deterministic: the same checkout key always
    /// derives the same payment key. `purpose` is 1 to 54 visible ASCII characters.
    pub fn derive(&self, purpose: &str) -> Result<Self> {
        let key = format!("{}/{purpose}", self.0);
        if purpose.is_empty() || key.len() > Self::MAX_DERIVED_LEN {
            return Err(Error::validation(
                "idempotency_key",
                "derived key purpose must be 1 to 54 characters",
            ));
        }
        Self::check_chars(&key)?;
        Ok(IdempotencyKey(key))
    }

    /// This client key scoped to one buyer, `"{scope}/{self}"`: checkout stores orders
    /// under the scoped key, so the same client key from two buyers names two
    /// checkouts. `scope` is 1 to 40 visible ASCII characters.
    pub fn scoped(&self, scope: &str) -> Result<Self> {
        if scope.is_empty() || scope.len() > 40 {
            return Err(Error::validation(
                "idempotency_key",
                "a key scope is 1 to 40 characters",
            ));
        }
        Self::check_chars(scope)?;
        let key = format!("{scope}/{}", self.0);
        if key.len() > Self::MAX_DERIVED_LEN {
            return Err(Error::validation(
                "idempotency_key",
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        Ok(IdempotencyKey(key))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        if s.len() > Self::MAX_LEN && s.len() <= Self::MAX_DERIVED_LEN && s.contains('/') {
            Self::check_chars(&s)?;
            return Ok(IdempotencyKey(s));
        }
        IdempotencyKey::new(s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(k: IdempotencyKey) -> String {
        k.0
    }
}

impl std::str::FromStr for IdempotencyKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        IdempotencyKey::try_from(s.to_owned())
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.0)
    }
}

impl AsRef<str> for IdempotencyKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated_and_derived_deterministically() {
        let k = IdempotencyKey::new("checkout-123").unwrap();
        assert_eq!(
            k.derive("authorize").unwrap().as_str(),
            "checkout-123/authorize"
        );
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("has space").is_err());
        assert!(IdempotencyKey::new("x".repeat(201)).is_err());
        let long = IdempotencyKey::new("x".repeat(200)).unwrap();
        let derived = long.derive("authorize").unwrap();
        let back: IdempotencyKey =
            serde_json::from_str(&serde_json::to_string(&derived).unwrap()).unwrap();
        assert_eq!(back, derived);
    }
}
