//! [`SeparateStores`]: the [`CheckoutStore`] for orders and stock kept in different
//! systems, and the helpers native checkout stores share.
//!
//! A checkout writes the order and the stock at two moments: when the order is placed
//! (store the pending order, reserve its lines) and when it is paid (commit the
//! reservation, confirm the order). A backend holding orders and stock in one
//! database does each moment in one transaction ([`CheckoutStore`] implemented
//! natively, e.g. `commerce_postgres::PgCheckoutStore`); stores in different systems
//! use [`SeparateStores`], which calls [`OrderStore`] and [`InventoryStore`] in
//! sequence, exactly as a checkout did before the port existed, and relies on the
//! recovery pass ([`crate::Checkout::recover`]) for a crash between its two calls.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use commerce_core::EventEnvelope;
use commerce_inventory::{InventoryStore, ReservationStatus, ReserveRequest};

use crate::checkout::envelopes;
use crate::error::{Error, Result};
use crate::model::{CancelReason, Order};
use crate::ports::{CheckoutStore, CreateOutcome, OrderStore, PlaceOutcome};
use crate::redemption::{Redemption, RedemptionLedger};

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
    /// Promotion redemptions, counted in this process.
    redemptions: Arc<RedemptionLedger>,
}

impl std::fmt::Debug for SeparateStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeparateStores").finish_non_exhaustive()
    }
}

impl SeparateStores {
    /// Steps over `orders` and `inventory`.
    pub fn new(orders: Arc<dyn OrderStore>, inventory: Arc<dyn InventoryStore>) -> Self {
        SeparateStores {
            orders,
            inventory,
            redemptions: Arc::new(RedemptionLedger::new()),
        }
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

    /// Looks the key up first (a repeat is `Existing` whatever the limits), claims
    /// the redemptions in this process's [`RedemptionLedger`] (one lock: concurrent
    /// claims never pass a limit), then places; the claim is kept with a placed
    /// order and given back otherwise.
    async fn place_redeeming(
        &self,
        order: &Order,
        events: &[EventEnvelope],
        reservation: &ReserveRequest,
        redemptions: &[Redemption],
        now: DateTime<Utc>,
    ) -> Result<PlaceOutcome> {
        if redemptions.is_empty() {
            return self
                .place_and_reserve(order, events, reservation, now)
                .await;
        }
        check_reservation_of(order, reservation)?;
        if let Some(existing) = self
            .orders
            .by_idempotency_key(&order.idempotency_key)
            .await?
        {
            return Ok(PlaceOutcome::Existing(existing));
        }
        let claim = self
            .redemptions
            .claim(redemptions, self.orders.as_ref())
            .await?;
        let outcome = self
            .place_and_reserve(order, events, reservation, now)
            .await;
        match &outcome {
            Ok(PlaceOutcome::Placed(placed)) => self.redemptions.confirm(claim, placed.id),
            _ => self.redemptions.release(claim),
        }
        outcome
    }

    /// Counted by this process's ledger.
    async fn redemption_counts(&self, codes: &[String]) -> Result<Vec<u64>> {
        self.redemptions.counts(codes, self.orders.as_ref()).await
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
