//! Carts, their keys, lines and limits.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use commerce_core::{CustomerId, Sku};

pub use commerce_core::actor::{GuestCartId, GuestCartToken};

/// Default time a cart is kept after its last change: 30 days.
pub const DEFAULT_CART_TTL: Duration = Duration::days(30);

/// Whose cart: a guest's (by the digest of the secret token the guest holds, see
/// [`GuestCartToken`]) or a signed-in customer's (one per customer, shared by all
/// their devices).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum CartKey {
    /// A guest's cart.
    Guest(GuestCartId),
    /// A customer's cart.
    Customer(CustomerId),
}

impl CartKey {
    /// The cart of a guest holding `token`.
    pub fn guest(token: &GuestCartToken) -> Self {
        CartKey::Guest(token.cart_id())
    }

    /// The cart `actor` acts on: a guest's cart or a customer's own; `None` for
    /// sellers and staff, who have no cart.
    pub fn of(actor: &commerce_core::Actor) -> Option<Self> {
        if let Some(id) = actor.guest_cart() {
            return Some(CartKey::Guest(id));
        }
        actor.customer_id().map(CartKey::Customer)
    }
}

impl fmt::Display for CartKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CartKey::Guest(id) => write!(f, "guest:{id}"),
            CartKey::Customer(id) => write!(f, "customer:{id}"),
        }
    }
}

/// Limits enforced atomically by every cart change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CartLimits {
    /// Most distinct SKUs in one cart.
    pub max_lines: u32,
    /// Most units of one SKU in one cart.
    pub max_quantity: u32,
}

impl CartLimits {
    /// At most `max_lines` distinct SKUs, `max_quantity` units of each.
    pub const fn new(max_lines: u32, max_quantity: u32) -> Self {
        CartLimits {
            max_lines,
            max_quantity,
        }
    }
}

impl Default for CartLimits {
    /// 100 lines, 99 units per line.
    fn default() -> Self {
        CartLimits {
            max_lines: 100,
            max_quantity: 99,
        }
    }
}

/// One line of a cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    /// SKU.
    pub sku: Sku,
    /// Units, at least 1.
    pub quantity: u32,
}

/// A cart. Lines are sorted by SKU; a cart with no lines is the same as no cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// Whose cart.
    pub key: CartKey,
    /// Lines, sorted by SKU, quantities at least 1.
    pub lines: Vec<CartLine>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Cart {
    /// An empty cart for `key`.
    pub fn empty(key: CartKey, now: DateTime<Utc>) -> Self {
        Cart {
            key,
            lines: Vec::new(),
            updated_at: now,
        }
    }

    /// Quantity of `sku` in the cart (0 when absent).
    pub fn quantity_of(&self, sku: &Sku) -> u32 {
        self.lines
            .iter()
            .find(|l| &l.sku == sku)
            .map_or(0, |l| l.quantity)
    }

    /// Total units over all lines.
    pub fn total_units(&self) -> u64 {
        self.lines.iter().map(|l| u64::from(l.quantity)).sum()
    }

    /// True when the cart has no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// What a merge did with the guest's lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeOutcome {
    /// The customer's cart after the merge.
    pub cart: Cart,
    /// Guest lines that did not fit (line limit) and were dropped.
    pub dropped: Vec<CartLine>,
    /// SKUs whose summed quantity was capped at the per-line limit.
    pub capped: Vec<Sku>,
}

/// Events of carts, written by the stores that have an outbox in the same atomic step
/// as the change (the in-memory store given one, PostgreSQL).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CartEvent {
    /// A cart got its first line (it did not exist, was empty or had expired): the
    /// first step of the analytics funnel.
    CartCreated {
        /// The cart's key as text (`guest:<digest>` or `customer:<id>`).
        cart: String,
    },
}

impl commerce_core::DomainEvent for CartEvent {
    fn topic(&self) -> &'static str {
        match self {
            CartEvent::CartCreated { .. } => "cart.created",
        }
    }
    fn aggregate_type(&self) -> &'static str {
        "cart"
    }
    fn aggregate_id(&self) -> String {
        match self {
            CartEvent::CartCreated { cart } => cart.clone(),
        }
    }
}
