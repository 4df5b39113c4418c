//! The `CartStore` port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use commerce_core::Sku;

use crate::error::Result;
use crate::model::{Cart, CartKey, CartLimits, MergeOutcome};

/// Cart storage. Every change is one atomic step on the server, limits included
/// (never read-then-write from the client), refreshes the cart's expiry and returns
/// the cart as it is after the change.
#[async_trait]
pub trait CartStore: Send + Sync {
    /// The cart of `key`; `None` when it has no lines or has expired.
    async fn cart(&self, key: &CartKey) -> Result<Option<Cart>>;

    /// Adds `quantity` (at least 1) units of `sku`, atomically incrementing an
    /// existing line: two devices adding at once both count. `TooManyLines` or
    /// `QuantityLimit` when the result would break `limits` (nothing changes).
    async fn add(
        &self,
        key: &CartKey,
        sku: &Sku,
        quantity: u32,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<Cart>;

    /// Sets the quantity of `sku`; 0 removes the line. Limits as for [`CartStore::add`].
    async fn set_quantity(
        &self,
        key: &CartKey,
        sku: &Sku,
        quantity: u32,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<Cart>;

    /// Removes the line of `sku` (no-op when absent).
    async fn remove(&self, key: &CartKey, sku: &Sku, now: DateTime<Utc>) -> Result<Cart>;

    /// Removes every line.
    async fn clear(&self, key: &CartKey) -> Result<()>;

    /// Moves the guest cart `from` into the customer cart `into` atomically: quantities
    /// of the same SKU are summed and capped at `limits.max_quantity`; guest lines that
    /// would exceed `limits.max_lines` are dropped (the customer's own lines are kept
    /// first); the guest cart is deleted. Merging an absent guest cart returns the
    /// customer's cart unchanged.
    async fn merge(
        &self,
        from: &CartKey,
        into: &CartKey,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome>;
}
