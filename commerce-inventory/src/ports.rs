//! The `InventoryStore` port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use commerce_core::Sku;

use crate::error::Result;
use crate::model::{
    BackorderPolicy, LocationCode, Reservation, ReservationId, ReserveRequest, StockAdjustment,
    StockLevel, Transition,
};

/// Stock and reservations.
///
/// Every method is atomic on its own; implementations must be exact under any number
/// of concurrent callers (no oversell, no stock created or lost). Each stock change
/// writes an `InventoryEvent::StockChanged` per SKU, and each end of a reservation an
/// `InventoryEvent::ReservationFinished`, to the outbox in the same transaction,
/// stamped with the call's `now`; a call that fails writes nothing. Input rules are
/// shared: [`ReserveRequest::summed_lines`] and [`StockAdjustment::validate`] /
/// [`StockAdjustment::apply_to_level`]. The conformance suite (`testkit`) is the spec.
#[async_trait]
pub trait InventoryStore: Send + Sync {
    /// Reserves every line of `request` or none: quantities of the same SKU are
    /// summed first; a SKU without stock row, or short of stock under its backorder
    /// policy, fails with `InsufficientStock` (the first short SKU in SKU order) and
    /// nothing is held. Repeating a request with the same id and lines returns the
    /// existing reservation (in whatever status it is now) without reserving again;
    /// the same id with other lines is a `Conflict`.
    async fn reserve(&self, request: &ReserveRequest, now: DateTime<Utc>) -> Result<Reservation>;

    /// Marks an active reservation sold: `on_hand` and `reserved` both drop by its
    /// quantities. `AlreadyDone` when already committed; `IllegalTransition` when
    /// released or expired (no stock changes). An active reservation past its expiry
    /// that the sweep has not reached yet can still be committed. Units reserved
    /// beyond stock under `BackorderPolicy::Allow` are sold on backorder: `on_hand`
    /// stops at zero while `reserved` drops by the whole quantity.
    async fn commit(&self, id: ReservationId, now: DateTime<Utc>) -> Result<Transition>;

    /// Gives the stock of an active reservation back. `AlreadyDone` when already
    /// released or expired; `IllegalTransition` when committed (sold stock never comes
    /// back through release: use a `Restock` adjustment).
    async fn release(&self, id: ReservationId, now: DateTime<Utc>) -> Result<Transition>;

    /// Takes the units of a committed reservation back into stock (its order was
    /// cancelled before it shipped), all lines in one atomic step: owed backorders are
    /// filled first, the rest go on hand; the reservation becomes `Restocked`.
    /// `AlreadyDone` when already restocked (a retried cancel restocks once);
    /// `IllegalTransition` from any other status (nothing was sold).
    async fn restock(&self, id: ReservationId, now: DateTime<Utc>) -> Result<Transition>;

    /// Expires up to `limit` active reservations whose `expires_at <= now`, returning
    /// their stock, earliest expiry first; returns their ids (none for `limit` 0).
    /// Safe to run in several processes at once: each reservation is expired by
    /// exactly one caller.
    async fn expire_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ReservationId>>;

    /// Deletes up to `limit` finished reservations (committed, released, expired or
    /// restocked) that finished before `finished_before`, oldest first, and returns
    /// how many (none for `limit` 0). Active reservations and stock are never
    /// touched; no event is written. A deleted reservation is unknown afterwards
    /// (`reservation` is `None`), so the retention must outlast whatever may still
    /// act on it: cancelling an order restocks its committed reservation only while
    /// it exists. One call is one batch (no long lock): call again while the answer
    /// equals `limit`.
    async fn prune_finished(&self, finished_before: DateTime<Utc>, limit: u32) -> Result<u64>;

    /// A reservation by id.
    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>>;

    /// Stock of one SKU at a location; `None` when it has never been stocked there.
    async fn stock(&self, sku: &Sku, location: &LocationCode) -> Result<Option<StockLevel>>;

    /// Stock of many SKUs at a location in one read; unknown SKUs are left out.
    async fn stock_levels(&self, skus: &[Sku], location: &LocationCode) -> Result<Vec<StockLevel>>;

    /// Applies an adjustment to `on_hand`, creating the stock row at zero first if
    /// needed, and returns the new level. A delta whose sign does not fit the reason
    /// is a `Validation` error (see [`StockAdjustment::validate`]). A negative delta that would take `on_hand`
    /// below zero, or below `reserved` under `BackorderPolicy::Deny`, fails with
    /// `InsufficientStock` and changes nothing.
    async fn adjust(&self, adjustment: &StockAdjustment, now: DateTime<Utc>) -> Result<StockLevel>;

    /// Sets the backorder policy of a SKU at a location (creating the row at zero),
    /// and writes an `inventory.stock_changed` event stamped `now` with the level in
    /// the same step: what can be sold changed, so caches over the level must drop it.
    async fn set_backorder_policy(
        &self,
        sku: &Sku,
        location: &LocationCode,
        policy: BackorderPolicy,
        now: DateTime<Utc>,
    ) -> Result<StockLevel>;
}

/// Reading displayed stock levels (product pages, listings). Read-only on purpose:
/// caches implement this trait and not [`InventoryStore`], so a cache can never be
/// handed to a checkout, which decides stock on the system of record.
#[async_trait]
pub trait StockReader: Send + Sync {
    /// The stock of `sku` at `location`, if tracked (see [`InventoryStore::stock`]).
    async fn stock(&self, sku: &Sku, location: &LocationCode) -> Result<Option<StockLevel>>;

    /// The stock of every tracked SKU of `skus` at `location`, each once (see
    /// [`InventoryStore::stock_levels`]).
    async fn stock_levels(&self, skus: &[Sku], location: &LocationCode) -> Result<Vec<StockLevel>>;
}
