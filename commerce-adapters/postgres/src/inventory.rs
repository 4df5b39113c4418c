//! [`PgInventory`]: stock levels and reservations on PostgreSQL.
//!
//! Each port method is one call of a PL/pgSQL function from the `0002_inventory`
//! migration: one round trip and one implicit transaction, whatever the number of
//! lines. The functions lock stock rows in `(location, sku)` order (no deadlock
//! between reservations over overlapping SKUs), check and change stock under those
//! locks (no oversell), end reservations through a conditional status update (each
//! reservation ends exactly once, however commit, release and the sweeper race), skip
//! rows other sweepers hold (`FOR UPDATE SKIP LOCKED`), and write the
//! `inventory.*` events to the outbox in the same transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use tokio::sync::oneshot;

use commerce_core::Sku;
use commerce_inventory::{
    BackorderPolicy, Error, InventoryStore, LocationCode, Reservation, ReservationId,
    ReservationLine, ReservationStatus, ReserveRequest, Result, StockAdjustment, StockLevel,
    Transition,
};

use crate::batch::{self, Batcher, run_drain};
use crate::convert::{to_i64, to_u64};
use crate::error::{Failure, INSUFFICIENT_STOCK, PortError, retrying, shortage, sqlstate};
use crate::stores::Shared;

/// Stock and reservations. See the module docs for how each call stays exact.
#[derive(Clone)]
pub struct PgInventory {
    shared: Shared,
}

/// A `reserve` call waiting for its batch.
pub(crate) struct Pending {
    request: ReserveRequest,
    lines: Vec<ReservationLine>,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<Reservation>>,
}

impl batch::Queued for Pending {
    type Output = Reservation;
    type Error = Error;
    fn reply(self) -> oneshot::Sender<Result<Reservation>> {
        self.reply
    }
}

#[async_trait]
impl batch::RunBatch<Pending> for PgInventory {
    async fn many(&self, batch: &[Pending]) -> Result<Vec<Result<Reservation>>> {
        self.reserve_many(batch).await
    }

    async fn one(&self, pending: &Pending) -> Result<Reservation> {
        self.reserve_many(std::slice::from_ref(pending))
            .await
            .and_then(|mut r| r.pop().unwrap_or_else(|| Err(missing_answer())))
    }
}

/// The queue of `reserve` calls waiting for their batch.
pub(crate) type ReserveQueue = Batcher<Pending>;

impl std::fmt::Debug for PgInventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgInventory").finish_non_exhaustive()
    }
}

/// Reads the `(outcome, status)` row of a lifecycle function: `applied`, or the
/// status the reservation already had (`AlreadyDone` when it is the target, or when a
/// release finds it expired; `IllegalTransition` otherwise); no row: `NotFound`.
fn transition_outcome(
    id: ReservationId,
    target: ReservationStatus,
    row: Option<PgRow>,
) -> Result<Transition> {
    let Some(row) = row else {
        return Err(Error::NotFound {
            entity: "reservation",
            id: id.to_string(),
        });
    };
    let outcome: String = row.try_get("outcome").map_err(backend)?;
    let status: String = row.try_get("status").map_err(backend)?;
    if outcome == "applied" {
        return Ok(Transition::Applied);
    }
    match parse_status(&status)? {
        from if from == target => Ok(Transition::AlreadyDone),
        // A release finds an expired reservation already given back.
        ReservationStatus::Expired if target == ReservationStatus::Released => {
            Ok(Transition::AlreadyDone)
        }
        from => Err(Error::IllegalTransition {
            id,
            from,
            to: target,
        }),
    }
}

fn status_name(status: ReservationStatus) -> &'static str {
    match status {
        ReservationStatus::Active => "active",
        ReservationStatus::Committed => "committed",
        ReservationStatus::Released => "released",
        ReservationStatus::Expired => "expired",
        ReservationStatus::Restocked => "restocked",
    }
}

pub(crate) fn parse_status(name: &str) -> Result<ReservationStatus> {
    Ok(match name {
        "active" => ReservationStatus::Active,
        "committed" => ReservationStatus::Committed,
        "released" => ReservationStatus::Released,
        "expired" => ReservationStatus::Expired,
        "restocked" => ReservationStatus::Restocked,
        other => {
            return Err(Error::Backend(
                format!("unknown reservation status {other:?} in storage").into(),
            ));
        }
    })
}

fn backend(e: sqlx::Error) -> Error {
    Error::Backend(Box::new(e))
}

fn sku(value: String) -> Result<Sku> {
    Sku::new(value).map_err(Error::from)
}

fn reservation_from_row(row: &PgRow) -> Result<Reservation> {
    let skus: Vec<String> = row.try_get("skus").map_err(backend)?;
    let quantities: Vec<i64> = row.try_get("quantities").map_err(backend)?;
    let lines = skus
        .into_iter()
        .zip(quantities)
        .map(|(s, q)| {
            Ok(ReservationLine {
                sku: sku(s)?,
                quantity: to_u64(q)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let status: String = row.try_get("status").map_err(backend)?;
    Ok(Reservation {
        id: ReservationId::from_uuid(row.try_get("id").map_err(backend)?),
        reference: row.try_get("reference").map_err(backend)?,
        location: LocationCode(row.try_get("location").map_err(backend)?),
        lines,
        status: parse_status(&status)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        expires_at: row.try_get("expires_at").map_err(backend)?,
        finished_at: row.try_get("finished_at").map_err(backend)?,
    })
}

fn level_from_row(row: &PgRow) -> Result<StockLevel> {
    let limit: Option<i64> = row.try_get("backorder_limit").map_err(backend)?;
    Ok(StockLevel {
        sku: sku(row.try_get("sku").map_err(backend)?)?,
        location: LocationCode(row.try_get("location").map_err(backend)?),
        on_hand: to_u64(row.try_get("on_hand").map_err(backend)?)?,
        reserved: to_u64(row.try_get("reserved").map_err(backend)?)?,
        backordered: to_u64(row.try_get("backordered").map_err(backend)?)?,
        backorder: match limit {
            None => BackorderPolicy::Deny,
            Some(limit) => BackorderPolicy::Allow {
                limit: to_u64(limit)?,
            },
        },
    })
}

/// Maps a database error of an inventory function: a shortage becomes
/// `InsufficientStock`, anything else stays a database error (maybe retried).
fn classify(e: sqlx::Error) -> Failure<Error> {
    if sqlstate(&e) != Some(INSUFFICIENT_STOCK) {
        return Failure::Db(e);
    }
    match shortage(&e) {
        Some(s) => match Sku::new(s.sku) {
            Ok(sku) => Failure::Domain(Error::InsufficientStock {
                sku,
                requested: s.requested,
                available: s.available,
            }),
            Err(invalid) => Failure::Domain(invalid.into()),
        },
        None => Failure::Domain(Error::from_db(e)),
    }
}

impl PgInventory {
    pub(crate) fn new(shared: Shared) -> Self {
        PgInventory { shared }
    }

    /// Runs queued requests in batches until the queue is empty.
    async fn drain(self) {
        let max = self.shared.reserve_batching.max_batch;
        batch::drain(&self, &self.shared.reserve_queue, max).await;
    }

    /// One database call reserving every request of `batch`; one result per request,
    /// in order.
    async fn reserve_many(&self, batch: &[Pending]) -> Result<Vec<Result<Reservation>>> {
        let ids: Vec<uuid::Uuid> = batch.iter().map(|p| p.request.id.as_uuid()).collect();
        let references: Vec<&str> = batch.iter().map(|p| p.request.reference.as_str()).collect();
        let locations: Vec<&str> = batch
            .iter()
            .map(|p| p.request.location.0.as_str())
            .collect();
        let counts = batch
            .iter()
            .map(|p| i32::try_from(p.lines.len()))
            .collect::<std::result::Result<Vec<i32>, _>>()
            .map_err(|_| Error::Validation {
                field: "lines",
                message: "too many lines".to_owned(),
            })?;
        let skus: Vec<&str> = batch
            .iter()
            .flat_map(|p| p.lines.iter().map(|l| l.sku.as_str()))
            .collect();
        let quantities = batch
            .iter()
            .flat_map(|p| p.lines.iter().map(|l| to_i64(l.quantity)))
            .collect::<commerce_core::Result<Vec<i64>>>()?;
        let nows: Vec<DateTime<Utc>> = batch.iter().map(|p| p.now).collect();
        let expiries: Vec<DateTime<Utc>> = batch.iter().map(|p| p.request.expires_at).collect();
        let args = (
            &ids,
            &references,
            &locations,
            &counts,
            &skus,
            &quantities,
            &nows,
            &expiries,
        );
        let rows = retrying("reserve", move || async move {
            sqlx::query("SELECT * FROM commerce.reserve_many($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(args.0)
                .bind(args.1)
                .bind(args.2)
                .bind(args.3)
                .bind(args.4)
                .bind(args.5)
                .bind(args.6)
                .bind(args.7)
                .fetch_all(&self.shared.pool)
                .await
                .map_err(Failure::<Error>::Db)
        })
        .await?;
        let mut results: Vec<Result<Reservation>> =
            batch.iter().map(|_| Err(missing_answer())).collect();
        for row in &rows {
            let n: i32 = row.try_get("n").map_err(backend)?;
            let slot = usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| results.get_mut(i).zip(batch.get(i)));
            let Some((slot, pending)) = slot else {
                return Err(missing_answer());
            };
            *slot = answer(row, pending);
        }
        Ok(results)
    }

    /// Expires due reservations in batches of `batch` until none is left; returns how
    /// many were expired. Meant for a periodic task (several processes may run it).
    pub async fn sweep(&self, now: DateTime<Utc>, batch: u32) -> Result<usize> {
        let mut total = 0;
        loop {
            let expired = self.expire_due(now, batch.max(1)).await?;
            total += expired.len();
            if expired.len() < usize::try_from(batch.max(1)).unwrap_or(usize::MAX) {
                return Ok(total);
            }
        }
    }

    async fn finish(
        &self,
        id: ReservationId,
        target: ReservationStatus,
        now: DateTime<Utc>,
    ) -> Result<Transition> {
        let row = retrying("finish reservation", move || async move {
            sqlx::query("SELECT outcome, status FROM commerce.finish_reservation($1, $2, $3)")
                .bind(id.as_uuid())
                .bind(status_name(target))
                .bind(now)
                .fetch_optional(&self.shared.pool)
                .await
                .map_err(Failure::<Error>::Db)
        })
        .await?;
        transition_outcome(id, target, row)
    }
}

/// The result of one request of a batch.
fn answer(row: &PgRow, pending: &Pending) -> Result<Reservation> {
    let outcome: String = row.try_get("outcome").map_err(backend)?;
    if outcome == "short" {
        let sku_code: String = row.try_get("short_sku").map_err(backend)?;
        let requested: i64 = row.try_get("short_requested").map_err(backend)?;
        let available: i64 = row.try_get("short_available").map_err(backend)?;
        return Err(Error::InsufficientStock {
            sku: sku(sku_code)?,
            requested: to_u64(requested)?,
            available: to_u64(available)?,
        });
    }
    let reservation = reservation_from_row(row)?;
    if reservation.lines != pending.lines || reservation.location != pending.request.location {
        return Err(Error::Conflict(format!(
            "reservation {} already exists with other lines or location",
            pending.request.id
        )));
    }
    Ok(reservation)
}

fn missing_answer() -> Error {
    Error::Backend("the reservation batch ended without an answer for this request".into())
}

#[async_trait]
impl InventoryStore for PgInventory {
    /// Concurrent calls are gathered into batches (see [`crate::ReserveBatching`]):
    /// while a batch is in the database, new calls queue, and the next batch takes
    /// them in one call of `commerce.reserve_many` (one transaction: one commit for
    /// many reservations, which is what makes a hot SKU fast). Each request stays all
    /// or nothing on its own; a request that fails never fails the others.
    async fn reserve(&self, request: &ReserveRequest, now: DateTime<Utc>) -> Result<Reservation> {
        let lines = request.summed_lines()?;
        for line in &lines {
            to_i64(line.quantity)?;
        }
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            request: request.clone(),
            lines,
            now,
            reply,
        };
        let batching = self.shared.reserve_batching;
        if batching.max_batch <= 1 {
            return self
                .reserve_many(std::slice::from_ref(&pending))
                .await?
                .pop()
                .unwrap_or_else(|| Err(missing_answer()));
        }
        if self.shared.reserve_queue.push(pending, batching.in_flight) {
            run_drain(self.clone().drain()).await;
        }
        answer.await.unwrap_or_else(|_| Err(missing_answer()))
    }

    async fn commit(&self, id: ReservationId, now: DateTime<Utc>) -> Result<Transition> {
        self.finish(id, ReservationStatus::Committed, now).await
    }

    async fn release(&self, id: ReservationId, now: DateTime<Utc>) -> Result<Transition> {
        self.finish(id, ReservationStatus::Released, now).await
    }

    async fn restock(&self, id: ReservationId, now: DateTime<Utc>) -> Result<Transition> {
        let row = retrying("restock reservation", move || async move {
            sqlx::query("SELECT outcome, status FROM commerce.restock_reservation($1, $2)")
                .bind(id.as_uuid())
                .bind(now)
                .fetch_optional(&self.shared.pool)
                .await
                .map_err(Failure::<Error>::Db)
        })
        .await?;
        transition_outcome(id, ReservationStatus::Restocked, row)
    }

    async fn expire_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ReservationId>> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let ids: Vec<uuid::Uuid> = retrying("expire due reservations", move || async move {
            sqlx::query_scalar("SELECT id FROM commerce.expire_due($1, $2) AS id")
                .bind(now)
                .bind(limit)
                .fetch_all(&self.shared.pool)
                .await
                .map_err(Failure::<Error>::Db)
        })
        .await?;
        Ok(ids.into_iter().map(ReservationId::from_uuid).collect())
    }

    async fn prune_finished(&self, finished_before: DateTime<Utc>, limit: u32) -> Result<u64> {
        if limit == 0 {
            return Ok(0);
        }
        retrying("prune finished reservations", move || async move {
            let deleted = sqlx::query(
                "DELETE FROM commerce.reservations WHERE id IN (
                     SELECT id FROM commerce.reservations
                      WHERE status <> 'active' AND finished_at < $1
                      ORDER BY finished_at LIMIT $2)",
            )
            .bind(finished_before)
            .bind(i64::from(limit))
            .execute(&self.shared.pool)
            .await
            .map_err(Failure::<Error>::Db)?;
            Ok(deleted.rows_affected())
        })
        .await
    }

    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>> {
        let row = sqlx::query("SELECT * FROM commerce.reservations WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(Error::from_db)?;
        row.as_ref().map(reservation_from_row).transpose()
    }

    async fn stock(&self, sku: &Sku, location: &LocationCode) -> Result<Option<StockLevel>> {
        let row =
            sqlx::query("SELECT * FROM commerce.stock_levels WHERE location = $1 AND sku = $2")
                .bind(&location.0)
                .bind(sku.as_str())
                .fetch_optional(&self.shared.pool)
                .await
                .map_err(Error::from_db)?;
        row.as_ref().map(level_from_row).transpose()
    }

    async fn stock_levels(&self, skus: &[Sku], location: &LocationCode) -> Result<Vec<StockLevel>> {
        let skus: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        let rows = sqlx::query(
            "SELECT * FROM commerce.stock_levels WHERE location = $1 AND sku = ANY ($2) ORDER BY sku",
        )
        .bind(&location.0)
        .bind(&skus)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        rows.iter().map(level_from_row).collect()
    }

    async fn adjust(&self, adjustment: &StockAdjustment, now: DateTime<Utc>) -> Result<StockLevel> {
        adjustment.validate()?;
        let row = retrying("adjust stock", move || async move {
            sqlx::query("SELECT * FROM commerce.adjust_stock($1, $2, $3, $4)")
                .bind(&adjustment.location.0)
                .bind(adjustment.sku.as_str())
                .bind(adjustment.delta)
                .bind(now)
                .fetch_one(&self.shared.pool)
                .await
                .map_err(|e| {
                    if sqlstate(&e) == Some("22003") {
                        return Failure::Domain(Error::Validation {
                            field: "delta",
                            message: format!("on hand of {} would overflow", adjustment.sku),
                        });
                    }
                    classify(e)
                })
        })
        .await?;
        level_from_row(&row)
    }

    async fn set_backorder_policy(
        &self,
        sku: &Sku,
        location: &LocationCode,
        policy: BackorderPolicy,
        now: DateTime<Utc>,
    ) -> Result<StockLevel> {
        let limit = match policy {
            BackorderPolicy::Deny => None,
            BackorderPolicy::Allow { limit } => Some(to_i64(limit)?),
        };
        let row = retrying("set backorder policy", move || async move {
            sqlx::query(
                "WITH level AS (
                     INSERT INTO commerce.stock_levels (location, sku, backorder_limit)
                     VALUES ($1, $2, $3)
                     ON CONFLICT (location, sku) DO UPDATE SET backorder_limit = EXCLUDED.backorder_limit
                     RETURNING *
                 ), event AS (
                     INSERT INTO commerce.outbox
                         (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
                     SELECT commerce.uuid_v7(), 'inventory.stock_changed', 'sku', l.sku, $4,
                            jsonb_build_object('type', 'stock_changed', 'sku', l.sku,
                                               'location', l.location, 'on_hand', l.on_hand,
                                               'reserved', l.reserved,
                                               'backordered', l.backordered)
                       FROM level l
                 )
                 SELECT * FROM level",
            )
            .bind(&location.0)
            .bind(sku.as_str())
            .bind(limit)
            .bind(now)
            .fetch_one(&self.shared.pool)
            .await
            .map_err(Failure::<Error>::Db)
        })
        .await?;
        level_from_row(&row)
    }
}
