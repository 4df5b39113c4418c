//! Key layout. Every key starts with the store's [`KeyPrefix`]; the part in braces is
//! the Redis Cluster hash tag, so keys that one script touches share a slot.
//!
//! | key | type | what |
//! |---|---|---|
//! | `P:cart:{guest:ID}` / `P:cart:{customer:ID}` | hash | `:u` = last change (ms), `:l` = lines (`;SKU=QTY`) |
//! | `P:cart:{guest:ID}:merging` | hash | a guest cart being merged (cluster merges) |
//! | `P:cart:{customer:ID}:merged` | hash | merge id → outcome (cluster merges) |
//! | `P:session:{DIGEST}` | hash | customer, generation, created, expires |
//! | `P:session-gen:{CUSTOMER}` | string | session generation (changed by revoke-all) |
//! | `P:rate:KEY` | sorted set | hit times of a rate-limit key |
//! | `P:cache:product:{ID}` | hash | fill token, product, listings of its SKUs |
//! | `P:cache:slug:SLUG`, `P:cache:sku:SKU` | string | product id (a hint) |
//! | `P:cache:stock:SKU:LOCATION` | hash | fill token, stock level |

use commerce_cart::CartKey;
use commerce_core::auth::TokenDigest;
use commerce_core::{CustomerId, ProductId, Sku};
use commerce_inventory::LocationCode;

use crate::error::{Error, Result};

/// The namespace of a store's keys, e.g. `shop` or `shop:staging`.
///
/// 1 to 64 printable ASCII characters without spaces or braces (braces would change
/// the Redis Cluster hash tag). Stores sharing a Redis use one prefix per shop; tests
/// use a random prefix each.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// The prefix used when none is given: `commerce`.
    pub const DEFAULT: &'static str = "commerce";

    /// Validates a prefix.
    pub fn new(prefix: impl Into<String>) -> Result<Self> {
        let prefix = prefix.into();
        let reason = if prefix.is_empty() || prefix.len() > 64 {
            Some("must be 1 to 64 characters")
        } else if !prefix
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
        {
            Some("must be printable ASCII without spaces or braces")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidPrefix { prefix, reason }),
            None => Ok(KeyPrefix(prefix)),
        }
    }

    /// The prefix as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn cart(&self, key: &CartKey) -> String {
        format!("{}:cart:{{{key}}}", self.0)
    }

    pub(crate) fn cart_merging(&self, guest: &CartKey) -> String {
        format!("{}:cart:{{{guest}}}:merging", self.0)
    }

    pub(crate) fn cart_merged(&self, customer: &CartKey) -> String {
        format!("{}:cart:{{{customer}}}:merged", self.0)
    }

    pub(crate) fn session(&self, digest: &TokenDigest) -> String {
        format!("{}:session:{{{}}}", self.0, digest.to_hex())
    }

    pub(crate) fn session_generation(&self, customer: CustomerId) -> String {
        format!("{}:session-gen:{{{customer}}}", self.0)
    }

    pub(crate) fn rate(&self, key: &str) -> String {
        format!("{}:rate:{key}", self.0)
    }

    pub(crate) fn cached_product(&self, id: ProductId) -> String {
        format!("{}:cache:product:{{{id}}}", self.0)
    }

    pub(crate) fn slug_pointer(&self, slug: &str) -> String {
        format!("{}:cache:slug:{slug}", self.0)
    }

    pub(crate) fn sku_pointer(&self, sku: &Sku) -> String {
        format!("{}:cache:sku:{sku}", self.0)
    }

    pub(crate) fn cached_stock(&self, sku: &Sku, location: &LocationCode) -> String {
        // A SKU never contains ':', so the pair is unambiguous.
        format!("{}:cache:stock:{sku}:{location}", self.0)
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        KeyPrefix(Self::DEFAULT.to_owned())
    }
}

impl std::fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commerce_cart::GuestCartToken;

    #[test]
    fn prefixes_are_validated() {
        assert!(KeyPrefix::new("shop:eu").is_ok());
        assert!(KeyPrefix::new("").is_err());
        assert!(KeyPrefix::new("a b").is_err());
        assert!(KeyPrefix::new("a{b}").is_err());
        assert!(KeyPrefix::new("x".repeat(65)).is_err());
    }

    #[test]
    fn a_carts_keys_share_its_hash_tag() {
        let p = KeyPrefix::new("t").unwrap();
        let key = CartKey::guest(&GuestCartToken::generate().expect("random guest token"));
        let tag = format!("{{{key}}}");
        assert!(p.cart(&key).contains(&tag));
        assert!(p.cart_merging(&key).contains(&tag));
        let slot = redis::cluster_routing::Slot::for_key;
        assert_eq!(slot(p.cart(&key)), slot(p.cart_merging(&key)));
        let customer = CartKey::Customer(commerce_core::CustomerId::new());
        assert_eq!(slot(p.cart(&customer)), slot(p.cart_merged(&customer)));
    }
}
