//! The `CheckoutStore` port: the two checkout steps that change orders and stock
//! together, each one atomic step.
//!
//! A checkout writes the order and the stock at two moments: when the order is placed
//! (store the pending order, reserve its lines) and when it is paid (commit the
//! reservation, confirm the order). A backend holding orders and stock in one
//! database does each moment in one transaction ([`CheckoutStore`] implemented
//! natively, e.g. `commerce_postgres::PgCheckoutStore`); stores in different systems
//! use [`SeparateStores`], which calls [`OrderStore`] and [`InventoryStore`] in
//! sequence, exactly as a checkout did before this port existed, and relies on the
//! recovery pass ([`crate::Checkout::recover`]) for a crash between its two calls.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use commerce_core::EventEnvelope;
use commerce_inventory::{InventoryStore, ReservationStatus, ReserveRequest};

use crate::checkout::envelopes;
use crate::error::{Error, Result};
use crate::model::{CancelReason, Order};
use crate::store::{CreateOutcome, OrderStore};

/// What [`CheckoutStore::place_and_reserve`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaceOutcome {
    /// The order is stored pending payment (version 1, its events written) and every
    /// line of the reservation is held.
    Placed(Order),
    /// An order with the same idempotency key already existed: it is returned as it
    /// is now; nothing was written and nothing reserved.
    Existing(Order),
    /// The stock could not be reserved: the order is stored **cancelled** (with
    /// [`CancelReason::OutOfStock`] naming the first short SKU in SKU order, or
    /// [`CancelReason::ReservationExpired`] when the reservation id was already used
    /// and has ended), its events (the events passed in, then `OrderCancelled`)
    /// written, and nothing is held. A repeated checkout with the key finds this order.
    Rejected(Order),
}

/// The checkout steps that touch orders and stock together.
///
/// Both methods are one atomic step in a native implementation (one transaction,
/// events into the outbox in it). [`SeparateStores`] runs them as two calls on the
/// separate ports; the doc of each method says what a crash between them leaves,
/// which the checkout's recovery pass finishes or undoes. The conformance suite
/// (`testkit::checkout_store`) is the spec.
#[async_trait]
pub trait CheckoutStore: Send + Sync {
    /// Stores the pending `order` with `events` and reserves `reservation` (whose id
    /// must be `order.reservation_id`: `Validation` otherwise), all or nothing.
    ///
    /// The idempotency key is unique as in [`OrderStore::create`]: of concurrent calls
    /// with one key exactly one returns `Placed` (or `Rejected`), the others
    /// `Existing`, and only the first reserves anything. On a shortage (or an ended
    /// reservation with the same id) the order is stored cancelled instead:
    /// [`PlaceOutcome::Rejected`] (build it with [`rejected_order`]). The stored order
    /// gets version 1 when placed; `order.version` is ignored.
    ///
    /// A native store decides the shortage in the transaction that would place the
    /// order, and stores the rejected order after it: a crash leaves nothing, or the
    /// placed and reserved order, or the rejected order.
    /// [`SeparateStores`] creates the order first: a crash before the reservation
    /// leaves a pending order holding no stock, which recovery cancels.
    async fn place_and_reserve(
        &self,
        order: &Order,
        events: &[EventEnvelope],
        reservation: &ReserveRequest,
        now: DateTime<Utc>,
    ) -> Result<PlaceOutcome>;

    /// Commits the reservation `order.reservation_id` (active -> committed; already
    /// committed is fine and changes no stock) and replaces the order as
    /// [`OrderStore::update`] does (compare-and-set on `expected_version`, `events`
    /// into the outbox), together. Returns the order as stored.
    ///
    /// Errors, with nothing changed:
    /// - the reservation cannot be committed: the inventory store's error as
    ///   [`Error::from`] maps it: [`Error::Inventory`] holding
    ///   `commerce_inventory::Error::IllegalTransition` (released or expired) or
    ///   `NotFound` (unknown id), exactly what `InventoryStore::commit` returns;
    /// - `Conflict` when the stored version is not `expected_version`; `NotFound` for
    ///   an unknown order.
    ///
    /// A native store checks the version before it commits, so a `Conflict` leaves
    /// the reservation as it was. [`SeparateStores`] commits first and then updates
    /// (the order a checkout always used): after a `Conflict` the reservation may be
    /// committed, and a crash between the two leaves a committed reservation on a
    /// pending order, which recovery confirms.
    async fn commit_and_update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<Order>;
}

/// The order a place step stores when the stock cannot be reserved: `order`
/// cancelled for `reason` at `now`, and the events to write with it (`placed_events`,
/// then `OrderCancelled` stamped with the cancel time). For native
/// [`CheckoutStore`]s, which store it with [`OrderStore::create`] after the
/// reservation failed.
pub fn rejected_order(
    order: &Order,
    placed_events: &[EventEnvelope],
    reason: CancelReason,
    now: DateTime<Utc>,
) -> Result<(Order, Vec<EventEnvelope>)> {
    let t = order.cancel(reason, now)?;
    let mut events = placed_events.to_vec();
    events.extend(envelopes(&t.events, t.order.updated_at)?);
    Ok((t.order, events))
}

/// Why a reservation was refused, as a cancel reason: `Some(OutOfStock)` for
/// `InsufficientStock`, `None` for any other error.
pub fn shortage_reason(error: &Error) -> Option<CancelReason> {
    match error {
        Error::InsufficientStock {
            sku,
            requested,
            available,
        } => Some(CancelReason::OutOfStock {
            sku: sku.clone(),
            requested: *requested,
            available: *available,
        }),
        _ => None,
    }
}

/// Checks that `reservation` is the reservation of `order`.
pub fn check_reservation_of(order: &Order, reservation: &ReserveRequest) -> Result<()> {
    if reservation.id != order.reservation_id {
        return Err(Error::validation(
            "reservation",
            format!(
                "reservation {} is not the reservation {} of order {}",
                reservation.id, order.reservation_id, order.id
            ),
        ));
    }
    Ok(())
}

/// [`CheckoutStore`] over an [`OrderStore`] and an [`InventoryStore`] that may live in
/// different systems: each step is two calls in sequence (see the trait for what a
/// crash between them leaves). This is what [`crate::Checkout::new`] uses.
#[derive(Clone)]
pub struct SeparateStores {
    orders: Arc<dyn OrderStore>,
    inventory: Arc<dyn InventoryStore>,
}

impl std::fmt::Debug for SeparateStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeparateStores").finish_non_exhaustive()
    }
}

impl SeparateStores {
    /// Steps over `orders` and `inventory`.
    pub fn new(orders: Arc<dyn OrderStore>, inventory: Arc<dyn InventoryStore>) -> Self {
        SeparateStores { orders, inventory }
    }
}

#[async_trait]
impl CheckoutStore for SeparateStores {
    /// Creates the order, then reserves; on a shortage (or an ended reservation with
    /// the order's reservation id) cancels the order with one version-checked update.
    async fn place_and_reserve(
        &self,
        order: &Order,
        events: &[EventEnvelope],
        reservation: &ReserveRequest,
        now: DateTime<Utc>,
    ) -> Result<PlaceOutcome> {
        check_reservation_of(order, reservation)?;
        let placed = match self.orders.create(order, events).await? {
            CreateOutcome::Created(placed) => placed,
            CreateOutcome::Existing(existing) => return Ok(PlaceOutcome::Existing(existing)),
        };
        let reason = match self.inventory.reserve(reservation, now).await {
            Ok(r)
                if matches!(
                    r.status,
                    ReservationStatus::Active | ReservationStatus::Committed
                ) =>
            {
                return Ok(PlaceOutcome::Placed(placed));
            }
            Ok(_) => CancelReason::ReservationExpired,
            Err(e) => {
                let e = Error::from(e);
                match shortage_reason(&e) {
                    Some(reason) => reason,
                    // The order stays pending, holding nothing: recovery cancels it.
                    None => return Err(e),
                }
            }
        };
        let t = placed.cancel(reason, now)?;
        let events = envelopes(&t.events, t.order.updated_at)?;
        let cancelled = self
            .orders
            .update(&t.order, placed.version, &events)
            .await?;
        Ok(PlaceOutcome::Rejected(cancelled))
    }

    /// Commits, then updates the order.
    async fn commit_and_update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<Order> {
        self.inventory.commit(order.reservation_id, now).await?;
        self.orders.update(order, expected_version, events).await
    }
}
