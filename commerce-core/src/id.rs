//! Typed identifiers: UUID v7 newtypes (time-ordered, index friendly) and SKUs.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Declares a UUID v7 newtype id with `new`, `from_uuid`, `as_uuid`, `Display`,
/// `FromStr` and serde as a plain UUID string.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $entity:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name($crate::__private::Uuid);

        impl $name {
            /// A new time-ordered (UUID v7) id.
            pub fn new() -> Self {
                Self($crate::__private::Uuid::now_v7())
            }
            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: $crate::__private::Uuid) -> Self {
                Self(uuid)
            }
            /// The underlying UUID.
            pub const fn as_uuid(&self) -> $crate::__private::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> $crate::Result<Self> {
                $crate::__private::Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|e| $crate::Error::validation($entity, e.to_string()))
            }
        }

        impl From<$crate::__private::Uuid> for $name {
            fn from(uuid: $crate::__private::Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

typed_id!(
    /// Identifies a product.
    ProductId, "product_id"
);
typed_id!(
    /// Identifies a product category.
    CategoryId, "category_id"
);
typed_id!(
    /// Identifies a seller (a merchant on a marketplace, or the shop itself).
    SellerId, "seller_id"
);
typed_id!(
    /// Identifies a customer account.
    CustomerId, "customer_id"
);
typed_id!(
    /// Identifies a saved customer address.
    AddressId, "address_id"
);
typed_id!(
    /// Identifies a domain event (also its outbox row).
    EventId, "event_id"
);

/// A stock keeping unit: the code of one sellable variant.
///
/// 1 to 64 characters of ASCII letters, digits, `-`, `_` and `.`; compared exactly.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sku(String);

impl Sku {
    /// Maximum length of a SKU.
    pub const MAX_LEN: usize = 64;

    /// Validates and wraps a SKU.
    pub fn new(s: impl Into<String>) -> Result<Self> {
        let s = s.into();
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(Error::validation("sku", "must be 1 to 64 characters"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(Error::validation(
                "sku",
                "may contain only ASCII letters, digits, '-', '_' and '.'",
            ));
        }
        Ok(Sku(s))
    }

    /// The SKU as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sku {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Sku::new(s)
    }
}

impl From<Sku> for String {
    fn from(s: Sku) -> String {
        s.0
    }
}

impl FromStr for Sku {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Sku::new(s)
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sku({})", self.0)
    }
}

impl AsRef<str> for Sku {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_validation() {
        assert!(Sku::new("TSHIRT-RED-M").is_ok());
        assert!(Sku::new("").is_err());
        assert!(Sku::new("has space").is_err());
        assert!(Sku::new("x".repeat(65)).is_err());
        assert!(serde_json::from_str::<Sku>("\"bad sku\"").is_err());
    }

    #[test]
    fn ids_are_v7_and_roundtrip() {
        let id = ProductId::new();
        assert_eq!(id.as_uuid().get_version_num(), 7);
        let parsed: ProductId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        assert!("nope".parse::<ProductId>().is_err());
    }
}
