//! The checkout steps in batches: concurrent `place_and_reserve` (and
//! `commit_and_update`) calls queue while a batch of their kind is in the database,
//! and the next batch does all of them with one call of `commerce.place_order_batch`
//! (`commerce.confirm_order_batch`), migration 0120: one statement with one
//! parameter, the batch as a JSON array of [`OrderRecord`]s with the step's own
//! fields (a place step's reservation row; a confirm step's expected version and
//! commit time), which SQL writes straight into the tables
//! (`jsonb_populate_record(set)` over their row types); one transaction, one
//! commit, and set-based writes for many checkouts.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use sqlx::types::Json;
use tokio::sync::oneshot;

use commerce_core::{EventEnvelope, Sku};
use commerce_inventory::{ReservationLine, ReservationStatus, ReserveRequest};
use commerce_orders::{CancelReason, Error, Order, Result};

use crate::convert::to_i64;
use crate::error::{Failure, retrying};
use crate::inventory::parse_status;
use crate::order_record::{OrderRecord, micros};
use crate::orders::{map_unique, updated_from_row};

/// What one place did (short of an error).
#[derive(Debug)]
pub(crate) enum Placement {
    /// Stored and reserved.
    Placed,
    /// The idempotency key was taken: nothing written.
    KeyTaken,
    /// Short of stock: nothing written.
    Short(CancelReason),
}

/// A place call waiting for its batch.
pub(crate) struct PlacePending {
    pub(crate) order: Order,
    pub(crate) events: Vec<EventEnvelope>,
    pub(crate) reservation: ReserveRequest,
    /// The reservation's lines, summed per SKU and sorted.
    pub(crate) lines: Vec<ReservationLine>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) reply: oneshot::Sender<Result<Placement>>,
}

/// One order of a place batch: its record and its reservation.
#[derive(Serialize)]
struct PlaceRecord<'a> {
    #[serde(flatten)]
    order: OrderRecord<'a>,
    reservation: ReservationRecord<'a>,
}

/// The row of `commerce.reservations` a placed order gets (its status is
/// `active`); its lines summed per SKU and sorted, as two parallel arrays like the
/// columns.
#[derive(Serialize)]
struct ReservationRecord<'a> {
    id: uuid::Uuid,
    reference: &'a str,
    location: &'a str,
    skus: Vec<&'a str>,
    quantities: Vec<i64>,
    /// The place time: also the time of its `stock_changed` events.
    created_at: String,
    expires_at: String,
}

impl<'a> PlaceRecord<'a> {
    fn new(p: &'a PlacePending) -> Result<Self> {
        Ok(PlaceRecord {
            order: OrderRecord::new(&p.order, &p.events)?,
            reservation: ReservationRecord {
                id: p.reservation.id.as_uuid(),
                reference: p.reservation.reference.as_str(),
                location: p.reservation.location.0.as_str(),
                skus: p.lines.iter().map(|l| l.sku.as_str()).collect(),
                quantities: p
                    .lines
                    .iter()
                    .map(|l| to_i64(l.quantity))
                    .collect::<commerce_core::Result<_>>()?,
                created_at: micros(p.now),
                expires_at: micros(p.reservation.expires_at),
            },
        })
    }
}

/// The whole batch, one parameter (see `commerce.place_order_batch`, migration 0120).
const PLACE_ORDERS: &str = "SELECT n, outcome, short_sku, short_requested, short_available
   FROM commerce.place_order_batch($1)";

/// One call placing every order of `batch`; one result per order, in order. An
/// error of the whole call (a unique violation of one order, say) is returned as
/// such: the caller then places the orders one by one.
pub(crate) async fn place_orders(
    pool: &sqlx::PgPool,
    batch: &[PlacePending],
) -> Result<Vec<Result<Placement>>> {
    let records = Json(
        batch
            .iter()
            .map(PlaceRecord::new)
            .collect::<Result<Vec<_>>>()?,
    );
    let records = &records;
    let rows = retrying("place orders", move || async move {
        sqlx::query(PLACE_ORDERS)
            .bind(records)
            .fetch_all(pool)
            .await
            .map_err(|e| match batch.first() {
                Some(first) if batch.len() == 1 => map_unique(e, &first.order),
                _ => Failure::<Error>::Db(e),
            })
    })
    .await?;
    let mut results: Vec<Result<Placement>> = batch.iter().map(|_| Err(missing())).collect();
    for row in &rows {
        let n: i32 = row.try_get("n").map_err(Error::backend)?;
        let Some(slot) = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| results.get_mut(i).zip(batch.get(i)))
        else {
            return Err(missing());
        };
        *slot.0 = answer(row, slot.1);
    }
    Ok(results)
}

/// The result of one order of a batch.
fn answer(row: &sqlx::postgres::PgRow, pending: &PlacePending) -> Result<Placement> {
    let outcome: String = row.try_get("outcome").map_err(Error::backend)?;
    match outcome.as_str() {
        "placed" => Ok(Placement::Placed),
        "existing" => Ok(Placement::KeyTaken),
        "short" => {
            let sku: String = row.try_get("short_sku").map_err(Error::backend)?;
            let requested: i64 = row.try_get("short_requested").map_err(Error::backend)?;
            let available: i64 = row.try_get("short_available").map_err(Error::backend)?;
            Ok(Placement::Short(CancelReason::OutOfStock {
                sku: Sku::new(sku)?,
                requested: u64::try_from(requested).map_err(Error::backend)?,
                available: u64::try_from(available).map_err(Error::backend)?,
            }))
        }
        _ => Err(Error::Conflict(format!(
            "reservation {} of order {} exists already",
            pending.reservation.id, pending.order.id
        ))),
    }
}

/// The error of a request its batch did not answer (never expected).
pub(crate) fn missing() -> Error {
    Error::backend("the checkout batch ended without an answer for this order")
}

/// A commit-and-update call waiting for its batch.
pub(crate) struct ConfirmPending {
    pub(crate) order: Order,
    pub(crate) expected_version: u64,
    pub(crate) events: Vec<EventEnvelope>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) reply: oneshot::Sender<Result<Order>>,
}

/// One order of a confirm batch: its record, the version it must be at and the
/// commit time.
#[derive(Serialize)]
struct ConfirmRecord<'a> {
    #[serde(flatten)]
    order: OrderRecord<'a>,
    expected_version: i64,
    now: String,
}

impl<'a> ConfirmRecord<'a> {
    fn new(p: &'a ConfirmPending) -> Result<Self> {
        Ok(ConfirmRecord {
            order: OrderRecord::new(&p.order, &p.events)?,
            expected_version: i64::try_from(p.expected_version)
                .map_err(|_| Error::validation("expected_version", "too large"))?,
            now: micros(p.now),
        })
    }
}

/// The whole batch, one parameter (see `commerce.confirm_order_batch`, migration
/// 0120).
const CONFIRM_ORDERS: &str = "SELECT n, outcome, status, version, stored_id, stored_key,
        stored_created_at
   FROM commerce.confirm_order_batch($1)";

/// One call committing and updating every order of `batch`; one result per order,
/// in order (an error of the whole call is returned as such).
pub(crate) async fn confirm_orders(
    pool: &sqlx::PgPool,
    batch: &[ConfirmPending],
) -> Result<Vec<Result<Order>>> {
    let records = Json(
        batch
            .iter()
            .map(ConfirmRecord::new)
            .collect::<Result<Vec<_>>>()?,
    );
    let records = &records;
    let rows = retrying("commit and update orders", move || async move {
        sqlx::query(CONFIRM_ORDERS)
            .bind(records)
            .fetch_all(pool)
            .await
            .map_err(Failure::<Error>::Db)
    })
    .await?;
    let mut results: Vec<Result<Order>> = batch.iter().map(|_| Err(missing())).collect();
    for row in &rows {
        let n: i32 = row.try_get("n").map_err(Error::backend)?;
        let Some(slot) = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| results.get_mut(i).zip(batch.get(i)))
        else {
            return Err(missing());
        };
        *slot.0 = confirmed(row, slot.1);
    }
    Ok(results)
}

/// The result of one order of a confirm batch.
fn confirmed(row: &sqlx::postgres::PgRow, pending: &ConfirmPending) -> Result<Order> {
    let order = &pending.order;
    let outcome: String = row.try_get("outcome").map_err(Error::backend)?;
    let version: Option<i64> = row.try_get("version").map_err(Error::backend)?;
    match outcome.as_str() {
        "updated" => updated_from_row(order, row),
        "conflict" => Err(Error::Conflict(format!(
            "order {} is at version {}, not {}: reload and retry",
            order.id,
            version.unwrap_or_default(),
            pending.expected_version
        ))),
        "missing" => Err(Error::from(commerce_inventory::Error::NotFound {
            entity: "reservation",
            id: order.reservation_id.to_string(),
        })),
        "illegal" => {
            let status: String = row.try_get("status").map_err(Error::backend)?;
            Err(Error::from(commerce_inventory::Error::IllegalTransition {
                id: order.reservation_id,
                from: parse_status(&status)?,
                to: ReservationStatus::Committed,
            }))
        }
        _ => Err(Error::not_found("order", order.id)),
    }
}
