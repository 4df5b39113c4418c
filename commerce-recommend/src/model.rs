//! What the tables hold: product signals, recorded purchases, scored products.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use commerce_core::{CategoryId, CustomerId, EventId, ProductId};

/// The pseudo-category under which every product's popularity is also kept (the
/// shop-wide "popular now" list).
pub const ALL_CATEGORIES: CategoryId = CategoryId::from_uuid(uuid::Uuid::nil());

/// What recommendations know of a product: where it is listed, its terms, and whether
/// it may be recommended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSignals {
    /// The product.
    pub product_id: ProductId,
    /// Its categories.
    pub category_ids: Vec<CategoryId>,
    /// Distinct terms of its title and description ([`crate::signals::terms`]).
    pub terms: Vec<String>,
    /// The product is active.
    pub active: bool,
    /// Some variant has stock available.
    pub in_stock: bool,
}

impl ProductSignals {
    /// True when lists may show it.
    pub fn recommendable(&self) -> bool {
        self.active && self.in_stock
    }
}

/// One product of a confirmed order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseLine {
    /// The product.
    pub product_id: ProductId,
    /// Units bought (over all its variants).
    pub units: u32,
}

/// A confirmed order as recommendations record it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    /// The outbox event it came from: each event is recorded once.
    pub event_id: EventId,
    /// The buyer, unless a guest.
    pub customer_id: Option<CustomerId>,
    /// Distinct products with units.
    pub lines: Vec<PurchaseLine>,
    /// When the order was confirmed.
    pub at: DateTime<Utc>,
}

/// A recommended product with its score (higher first; comparable within a list only).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// The product.
    pub product_id: ProductId,
    /// Its score in the list.
    pub score: f64,
}
