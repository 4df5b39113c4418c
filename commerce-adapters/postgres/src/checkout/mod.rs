//! [`PgCheckoutStore`]: the checkout steps that change orders and stock together
//! ([`commerce_orders::CheckoutStore`]), each one transaction and one round trip.
//!
//! Concurrent calls are **batched** (the [`crate::ReserveBatching`] settings, a
//! queue per step): while a batch of place steps (or of commit steps) is in the
//! database, new calls queue, and the next batch does all of them with one call of
//! `commerce.place_order_batch` (`commerce.confirm_order_batch`), migration 0120,
//! whose one parameter is the batch as JSON (`batched.rs`). Each order stays all
//! or nothing on its own, as if the batch's orders had run one after the other; the
//! batch shares one commit and set-based writes (one statement per table
//! for the whole batch), which is what makes a checkout cheap under load
//! (docs/benchmarks.md). A batch that fails as a whole (a unique violation of one
//! order, say) is run again one order at a time, so one bad order never fails the
//! others.
//!
//! - **Place and reserve**: the orders are inserted (`ON CONFLICT (idempotency_key)
//!   DO NOTHING`: a taken key writes nothing), their stock rows locked in
//!   `(location, sku)` order, the orders admitted one after the other against the
//!   locked levels (`commerce.reservable`), the short ones deleted again, and for
//!   the placed ones reservations, stock, `inventory.stock_changed` events, lines,
//!   payment records and order events written. A short order is then stored
//!   cancelled (`OutOfStock`) with a plain create: a crash in between leaves
//!   nothing.
//! - **Commit and update**: the orders are locked and version-checked, their
//!   reservations locked, then their stock rows; each order in turn has its
//!   reservation committed (as `finish_reservation` does: stock changes once; an
//!   already committed one is fine) and is updated as `OrderStore::update` would. A
//!   reservation that cannot be committed or a stale version changes nothing for
//!   that order.
//!
//! Every writer takes locks in the order orders, reservations, stock rows (each
//! sorted), so batches never deadlock with each other or with the other stores.
//! Unbatched (`max_batch: 1`), or for an order with refunds, each step is one
//! statement: the order insert (update) of [`PgOrderStore`] with
//! `commerce.reserve_for_order` (`commerce.commit_for_order`) called from it, which
//! raises to roll the order back on a shortage (an illegal commit).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::types::Json;

use commerce_core::{EventEnvelope, Sku};
use commerce_inventory::{ReservationLine, ReservationStatus, ReserveRequest};
use commerce_orders::checkout_store::{check_reservation_of, rejected_order, shortage_reason};
use commerce_orders::{
    CheckoutStore, CreateOutcome, Error, Order, OrderStore, PlaceOutcome, Redemption, Result,
};
use tokio::sync::oneshot;

use crate::batch::{self, Queued, RunBatch, run_drain};
use crate::convert::to_i64;
use crate::error::{Failure, NOT_COMMITTABLE, pg_error, retrying, shortage, sqlstate};
use crate::inventory::parse_status;
use crate::order_record::OrderRecord;
use crate::orders::{CONFIRM, PLACE, PgOrderStore, map_unique, updated_from_row};
use crate::stores::Shared;

mod batched;
mod redeeming;

use batched::Placement;

impl Queued for PlacePending {
    type Output = Placement;
    type Error = Error;
    fn reply(self) -> oneshot::Sender<Result<Placement>> {
        self.reply
    }
}

impl Queued for ConfirmPending {
    type Output = Order;
    type Error = Error;
    fn reply(self) -> oneshot::Sender<Result<Order>> {
        self.reply
    }
}

#[async_trait]
impl RunBatch<PlacePending> for PgCheckoutStore {
    async fn many(&self, batch: &[PlacePending]) -> Result<Vec<Result<Placement>>> {
        batched::place_orders(&self.shared.pool, batch).await
    }

    async fn one(&self, p: &PlacePending) -> Result<Placement> {
        self.place_one(&p.order, &p.events, &p.reservation, &p.lines, p.now)
            .await
    }
}

#[async_trait]
impl RunBatch<ConfirmPending> for PgCheckoutStore {
    async fn many(&self, batch: &[ConfirmPending]) -> Result<Vec<Result<Order>>> {
        batched::confirm_orders(&self.shared.pool, batch).await
    }

    async fn one(&self, p: &ConfirmPending) -> Result<Order> {
        self.commit_one(&p.order, p.expected_version, &p.events, p.now)
            .await
    }
}
pub(crate) use batched::{ConfirmPending, PlacePending};

/// The checkout steps on PostgreSQL, over the same tables as [`PgOrderStore`] and
/// [`crate::PgInventory`]. See the module docs.
#[derive(Clone)]
pub struct PgCheckoutStore {
    shared: Shared,
    orders: PgOrderStore,
}

impl std::fmt::Debug for PgCheckoutStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCheckoutStore").finish_non_exhaustive()
    }
}

/// Maps a failed place statement: a shortage is `InsufficientStock` (final), a unique
/// violation a `Conflict`, anything else a database error (maybe retried).
fn place_failure(e: sqlx::Error, order: &Order) -> Failure<Error> {
    let Some(s) = shortage(&e) else {
        return map_unique(e, order);
    };
    match Sku::new(s.sku) {
        Ok(sku) => Failure::Domain(Error::InsufficientStock {
            sku,
            requested: s.requested,
            available: s.available,
        }),
        Err(invalid) => Failure::Domain(invalid.into()),
    }
}

/// Maps a failed commit-and-update statement: a reservation that cannot be committed
/// is the inventory's `IllegalTransition` or `NotFound`, as `InventoryStore::commit`
/// reports it.
fn confirm_failure(e: sqlx::Error, order: &Order) -> Failure<Error> {
    if sqlstate(&e) != Some(NOT_COMMITTABLE) {
        return map_unique(e, order);
    }
    let id = order.reservation_id;
    let status = pg_error(&e).and_then(|pg| pg.detail()).unwrap_or("missing");
    let inventory_error = match status {
        "missing" => commerce_inventory::Error::NotFound {
            entity: "reservation",
            id: id.to_string(),
        },
        name => match parse_status(name) {
            Ok(from) => commerce_inventory::Error::IllegalTransition {
                id,
                from,
                to: ReservationStatus::Committed,
            },
            Err(e) => e,
        },
    };
    Failure::Domain(Error::from(inventory_error))
}

impl PgCheckoutStore {
    pub(crate) fn new(shared: Shared) -> Self {
        PgCheckoutStore {
            orders: PgOrderStore::new(shared.clone()),
            shared,
        }
    }

    /// One statement: the order insert and, when it inserted, the reservation.
    async fn place_one(
        &self,
        order: &Order,
        events: &[EventEnvelope],
        reservation: &ReserveRequest,
        lines: &[ReservationLine],
        now: DateTime<Utc>,
    ) -> Result<Placement> {
        let skus: Vec<&str> = lines.iter().map(|l| l.sku.as_str()).collect();
        let quantities = lines
            .iter()
            .map(|l| to_i64(l.quantity))
            .collect::<commerce_core::Result<Vec<i64>>>()?;
        let record = Json(OrderRecord::new(order, events)?);
        let (record, skus, quantities) = (&record, &skus, &quantities);
        let placed = retrying("place order", move || async move {
            let row = sqlx::query(PLACE)
                .bind(record)
                .bind(reservation.id.as_uuid())
                .bind(reservation.reference.as_str())
                .bind(reservation.location.0.as_str())
                .bind(skus)
                .bind(quantities)
                .bind(now)
                .bind(reservation.expires_at)
                .fetch_one(&self.shared.pool)
                .await
                .map_err(|e| place_failure(e, order))?;
            Ok(row.try_get::<bool, _>("created")?)
        })
        .await;
        match placed {
            Ok(true) => Ok(Placement::Placed),
            Ok(false) => Ok(Placement::KeyTaken),
            Err(e) => shortage_reason(&e).map(Placement::Short).ok_or(e),
        }
    }

    /// Queues the place step for the next batch (see [`crate::ReserveBatching`]).
    async fn place_queued(
        &self,
        order: &Order,
        events: &[EventEnvelope],
        reservation: &ReserveRequest,
        lines: Vec<ReservationLine>,
        now: DateTime<Utc>,
    ) -> Result<Placement> {
        let (reply, answer) = oneshot::channel();
        let pending = PlacePending {
            order: order.clone(),
            events: events.to_vec(),
            reservation: reservation.clone(),
            lines,
            now,
            reply,
        };
        let in_flight = self.shared.reserve_batching.in_flight;
        if self.shared.place_queue.push(pending, in_flight) {
            run_drain(self.clone().drain()).await;
        }
        answer.await.unwrap_or_else(|_| Err(batched::missing()))
    }

    /// Places queued orders in batches until the queue is empty.
    async fn drain(self) {
        let max = self.shared.reserve_batching.max_batch;
        batch::drain(&self, &self.shared.place_queue, max).await;
    }

    /// One statement: the version-checked order update and, when it updated, the
    /// commit of the reservation.
    async fn commit_one(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<Order> {
        let expected = i64::try_from(expected_version)
            .map_err(|_| Error::validation("expected_version", "too large"))?;
        let record = Json(OrderRecord::new(order, events)?);
        let record = &record;
        let row = retrying("commit and update order", move || async move {
            sqlx::query(CONFIRM)
                .bind(record)
                .bind(expected)
                .bind(now)
                .fetch_optional(&self.shared.pool)
                .await
                .map_err(|e| confirm_failure(e, order))
        })
        .await?;
        match row {
            Some(row) => updated_from_row(order, &row),
            None => Err(self.orders.update_missed(order, expected_version).await),
        }
    }

    /// What a place step's `placement` of `stored` means for the caller.
    async fn outcome(
        &self,
        stored: Order,
        events: &[EventEnvelope],
        placement: Placement,
        now: DateTime<Utc>,
    ) -> Result<PlaceOutcome> {
        let order = &stored;
        match placement {
            Placement::Placed => Ok(PlaceOutcome::Placed(stored)),
            // The key is taken: the statement waited for the other writer to commit,
            // so a new statement sees its order.
            Placement::KeyTaken => match self
                .orders
                .by_idempotency_key(&order.idempotency_key)
                .await?
            {
                Some(existing) => Ok(PlaceOutcome::Existing(existing)),
                None => Err(Error::Conflict(format!(
                    "idempotency key {} was taken and released concurrently; retry",
                    order.idempotency_key.as_str()
                ))),
            },
            Placement::Short(reason) => {
                // Nothing was written: store the order cancelled instead (a duplicate
                // that placed it meanwhile wins, as with any create).
                let (rejected, events) = rejected_order(&stored, events, reason, now)?;
                match self.orders.create(&rejected, &events).await? {
                    CreateOutcome::Created(rejected) => Ok(PlaceOutcome::Rejected(rejected)),
                    CreateOutcome::Existing(existing) => Ok(PlaceOutcome::Existing(existing)),
                }
            }
        }
    }

    /// Confirms queued orders in batches until the queue is empty.
    async fn drain_confirms(self) {
        let max = self.shared.reserve_batching.max_batch;
        batch::drain(&self, &self.shared.confirm_queue, max).await;
    }
}

#[async_trait]
impl CheckoutStore for PgCheckoutStore {
    /// Concurrent calls are gathered into batches like `PgInventory::reserve`
    /// (the same [`crate::ReserveBatching`] settings): one call of
    /// `commerce.place_order_batch` places every order of a batch, each all or
    /// nothing on its own. An order with refunds (never one a checkout places), or
    /// batching turned off, takes the single-statement path.
    async fn place_and_reserve(
        &self,
        order: &Order,
        events: &[EventEnvelope],
        reservation: &ReserveRequest,
        now: DateTime<Utc>,
    ) -> Result<PlaceOutcome> {
        check_reservation_of(order, reservation)?;
        let lines = reservation.summed_lines()?;
        let mut stored = order.clone();
        stored.version = 1;
        let placement =
            if self.shared.reserve_batching.max_batch <= 1 || !stored.payment.refunds.is_empty() {
                self.place_one(&stored, events, reservation, &lines, now)
                    .await?
            } else {
                self.place_queued(&stored, events, reservation, lines, now)
                    .await?
            };
        self.outcome(stored, events, placement, now).await
    }

    /// Limited codes take one transaction of their own (`redeeming.rs`): the order
    /// and its reservation, then the limits counted under a lock of each code's row,
    /// then the redemptions; all rolled back when a limit is reached.
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
        let lines = reservation.summed_lines()?;
        let mut stored = order.clone();
        stored.version = 1;
        let placement = self
            .place_redeeming_one(&stored, events, reservation, &lines, redemptions, now)
            .await?;
        self.outcome(stored, events, placement, now).await
    }

    /// One statement over the redemptions table.
    async fn redemption_counts(&self, codes: &[String]) -> Result<Vec<u64>> {
        self.count_redemptions(codes).await
    }

    /// Batched like the place step (see [`crate::ReserveBatching`]) with one call of
    /// `commerce.confirm_order_batch` per batch; an order with refunds, or batching
    /// turned off, takes the single-statement path.
    async fn commit_and_update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<Order> {
        if self.shared.reserve_batching.max_batch <= 1 || !order.payment.refunds.is_empty() {
            return self.commit_one(order, expected_version, events, now).await;
        }
        let (reply, answer) = oneshot::channel();
        let pending = ConfirmPending {
            order: order.clone(),
            expected_version,
            events: events.to_vec(),
            now,
            reply,
        };
        let in_flight = self.shared.reserve_batching.in_flight;
        if self.shared.confirm_queue.push(pending, in_flight) {
            run_drain(self.clone().drain_confirms()).await;
        }
        answer.await.unwrap_or_else(|_| Err(batched::missing()))
    }
}
