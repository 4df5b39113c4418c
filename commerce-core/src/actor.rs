//! Who is acting: the [`Actor`] every service call that reads or changes something
//! owned takes as an argument, and the guest cart token a guest acts with.
//!
//! The actor is established by the driving side (a session cookie, a guest cart
//! token, a staff login) and passed to the domain, which checks it: it is never read
//! from a request body. A guest is known only by the secret [`GuestCartToken`] they
//! hold; the domain and the stores see only its SHA-256 digest, the [`GuestCartId`].

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::to_hex;
use crate::error::{Error, Result};
use crate::id::{CustomerId, SellerId};

/// Random bytes in a [`GuestCartToken`].
pub const GUEST_CART_TOKEN_BYTES: usize = 32;

/// The bearer secret of a guest's cart: 32 random bytes from the operating system as
/// 64 lower-case hex characters, handed to the client once (in a cookie). Whoever
/// holds it acts as that guest, so stores keep only its digest ([`GuestCartId`]).
///
/// `Debug` does not print it; use [`GuestCartToken::as_str`] to send it to the client.
#[derive(Clone, PartialEq, Eq)]
pub struct GuestCartToken(String);

impl GuestCartToken {
    /// A new token from the operating system's random number generator. `Backend`
    /// when the generator fails.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; GUEST_CART_TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| Error::backend(e.to_string()))?;
        Ok(GuestCartToken(to_hex(&bytes)))
    }

    /// Checks the shape of a token received from a client (64 hex characters);
    /// `Validation` otherwise.
    pub fn parse(s: &str) -> Result<Self> {
        if s.len() != GUEST_CART_TOKEN_BYTES * 2 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::validation(
                "cart_token",
                "must be 64 hexadecimal characters",
            ));
        }
        Ok(GuestCartToken(s.to_ascii_lowercase()))
    }

    /// The token as text, for a cookie or a header.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the cart: the SHA-256 digest of the token text. What stores keep.
    pub fn cart_id(&self) -> GuestCartId {
        GuestCartId(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for GuestCartToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GuestCartToken(<redacted>)")
    }
}

impl std::str::FromStr for GuestCartToken {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        GuestCartToken::parse(s)
    }
}

/// A guest's cart, by the SHA-256 digest of its [`GuestCartToken`]. Knowing it does
/// not give the token, so it can sit in stores, logs and order records; it is shown
/// and parsed as 64 lower-case hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GuestCartId([u8; 32]);

impl GuestCartId {
    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex characters (as [`fmt::Display`] writes them); `Validation`
    /// otherwise.
    pub fn parse(s: &str) -> Result<Self> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(Error::validation(
                "guest_cart_id",
                "must be 64 hexadecimal characters",
            ));
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0]);
            let lo = hex_value(pair[1]);
            match (hi, lo, out.get_mut(i)) {
                (Some(hi), Some(lo), Some(slot)) => *slot = (hi << 4) | lo,
                _ => {
                    return Err(Error::validation(
                        "guest_cart_id",
                        "must be 64 hexadecimal characters",
                    ));
                }
            }
        }
        Ok(GuestCartId(out))
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for GuestCartId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for GuestCartId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuestCartId({self})")
    }
}

impl std::str::FromStr for GuestCartId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        GuestCartId::parse(s)
    }
}

impl TryFrom<String> for GuestCartId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        GuestCartId::parse(&s)
    }
}

impl From<GuestCartId> for String {
    fn from(id: GuestCartId) -> String {
        id.to_string()
    }
}

/// Who is acting on a service call. Passed as an argument to every call that reads
/// or changes something owned, and checked by the domain.
///
/// - a [`Actor::Guest`] reaches only the cart of the token they hold and the orders
///   placed from it;
/// - a [`Actor::Customer`] reaches their own cart, orders, addresses and store credit;
/// - a [`Actor::Seller`] reaches their own products and the order lines of those
///   products;
/// - an [`Actor::Admin`] (staff) reaches everything.
///
/// Refused access to something owned by someone else reads as not found, so a caller
/// cannot learn that it exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Actor {
    /// A visitor without an account, holding the token of a guest cart.
    Guest(GuestCartId),
    /// A signed-in customer.
    Customer(CustomerId),
    /// A seller's staff, acting for the seller.
    Seller(SellerId),
    /// Shop staff with every right.
    Admin,
}

impl Actor {
    /// The guest holding `token`.
    pub fn guest(token: &GuestCartToken) -> Self {
        Actor::Guest(token.cart_id())
    }

    /// A signed-in customer.
    pub fn customer(id: CustomerId) -> Self {
        Actor::Customer(id)
    }

    /// A seller.
    pub fn seller(id: SellerId) -> Self {
        Actor::Seller(id)
    }

    /// The customer acting, if a customer is.
    pub fn customer_id(&self) -> Option<CustomerId> {
        match self {
            Actor::Customer(id) => Some(*id),
            _ => None,
        }
    }

    /// The guest cart of a guest actor.
    pub fn guest_cart(&self) -> Option<GuestCartId> {
        match self {
            Actor::Guest(id) => Some(*id),
            _ => None,
        }
    }

    /// The seller acting, if a seller is.
    pub fn seller_id(&self) -> Option<SellerId> {
        match self {
            Actor::Seller(id) => Some(*id),
            _ => None,
        }
    }

    /// True for shop staff.
    pub fn is_admin(&self) -> bool {
        matches!(self, Actor::Admin)
    }

    /// Whether the actor may manage what belongs to `seller` (its products, stock
    /// and prices): that seller's staff, or an admin.
    pub fn manages_seller(&self, seller: SellerId) -> bool {
        match self {
            Actor::Seller(id) => *id == seller,
            Actor::Admin => true,
            _ => false,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Guest(id) => write!(f, "guest:{id}"),
            Actor::Customer(id) => write!(f, "customer:{id}"),
            Actor::Seller(id) => write!(f, "seller:{id}"),
            Actor::Admin => f.write_str("admin"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_token_is_32_random_bytes_and_hides_in_debug() {
        let a = GuestCartToken::generate().unwrap();
        let b = GuestCartToken::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 64);
        assert_eq!(GuestCartToken::parse(a.as_str()).unwrap(), a);
        assert!(!format!("{a:?}").contains(a.as_str()));
        assert!(GuestCartToken::parse("0123").is_err());
    }

    #[test]
    fn guest_token_cart_id_is_sha256_of_the_token_and_round_trips() {
        let t = GuestCartToken::parse(&"0".repeat(64)).unwrap();
        let id = t.cart_id();
        assert_eq!(
            id.to_string(),
            "60e05bd1b195af2f94112fa7197a5c88289058840ce7c6df9693756bc6250f55"
        );
        assert_ne!(id.to_string(), t.as_str());
        assert_eq!(GuestCartId::parse(&id.to_string()).unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<GuestCartId>(&json).unwrap(), id);
        assert!(GuestCartId::parse("zz").is_err());
        assert!(GuestCartId::parse(&"g".repeat(64)).is_err());
    }

    #[test]
    fn actor_accessors_name_the_one_acting() {
        let c = CustomerId::new();
        assert_eq!(Actor::customer(c).customer_id(), Some(c));
        assert_eq!(Actor::Admin.customer_id(), None);
        assert!(Actor::Admin.is_admin());
        let t = GuestCartToken::generate().unwrap();
        assert_eq!(Actor::guest(&t).guest_cart(), Some(t.cart_id()));
        assert!(!Actor::guest(&t).to_string().contains(t.as_str()));
    }
}
