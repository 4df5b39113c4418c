//! The place step of an order that redeems limited promotion codes
//! ([`commerce_orders::CheckoutStore::place_redeeming`], migration 0105): one
//! transaction that places the order as the single-statement path does, locks the
//! codes' rows, counts the redemptions their orders still hold, and records the
//! order's own, or rolls everything back when a limit is reached. Five statements
//! whatever the number of codes or lines; never batched (the lock serialises the
//! checkouts of one code anyway).

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::types::Json;

use commerce_core::EventEnvelope;
use commerce_inventory::{ReservationLine, ReserveRequest};
use commerce_orders::checkout_store::shortage_reason;
use commerce_orders::{Error, Order, Redemption, Result};

use crate::convert::to_i64;
use crate::error::{Failure, retrying};
use crate::order_record::OrderRecord;
use crate::orders::PLACE;

use super::batched::Placement;
use super::{PgCheckoutStore, place_failure};

/// Redemptions (`r`) held per code of `$1` with their orders (`o`): all but those
/// of orders cancelled before a capture.
macro_rules! held_redemptions {
    () => {
        "FROM commerce.promotion_redemptions r
           JOIN commerce.orders o ON o.id = r.order_id
          WHERE r.code = ANY($1::text[])
            AND NOT (o.status = 'cancelled'
                     AND o.payment_status NOT IN ('captured', 'partially_refunded', 'refunded'))
          GROUP BY r.code"
    };
}

/// Creates the lock rows of new codes.
const ENSURE_LOCKS: &str = "INSERT INTO commerce.promotion_code_locks (code)
     SELECT unnest($1::text[]) ON CONFLICT DO NOTHING";

/// Locks the codes' rows in code order (the same order for every writer).
const LOCK: &str = "SELECT code FROM commerce.promotion_code_locks
     WHERE code = ANY($1::text[]) ORDER BY code FOR UPDATE";

/// Redemptions held per code, and those of buyer `$2`.
const COUNT_WITH_BUYER: &str = concat!(
    "SELECT r.code, count(*) AS used, count(*) FILTER (WHERE r.buyer = $2) AS mine ",
    held_redemptions!()
);

/// Redemptions held per code.
const COUNT: &str = concat!("SELECT r.code, count(*) AS used ", held_redemptions!());

/// Records the order's redemptions.
const RECORD: &str = "INSERT INTO commerce.promotion_redemptions (code, order_id, buyer)
     SELECT unnest($1::text[]), $2, $3";

impl PgCheckoutStore {
    /// One transaction: the order and its reservation (the single-statement place),
    /// then the limits, then the redemptions. A taken key, a shortage or a reached
    /// limit rolls back and writes nothing.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn place_redeeming_one(
        &self,
        order: &Order,
        events: &[EventEnvelope],
        reservation: &ReserveRequest,
        lines: &[ReservationLine],
        redemptions: &[Redemption],
        now: DateTime<Utc>,
    ) -> Result<Placement> {
        let skus: Vec<&str> = lines.iter().map(|l| l.sku.as_str()).collect();
        let quantities = lines
            .iter()
            .map(|l| to_i64(l.quantity))
            .collect::<commerce_core::Result<Vec<i64>>>()?;
        let record = Json(OrderRecord::new(order, events)?);
        let mut codes: Vec<&str> = redemptions.iter().map(|r| r.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        let buyer = redemptions.first().map_or("", |r| r.buyer.as_str());
        let (record, skus, quantities, codes) = (&record, &skus, &quantities, &codes);
        let placed = retrying("place order redeeming promotions", move || async move {
            let mut tx = self.shared.pool.begin().await?;
            let row = sqlx::query(PLACE)
                .bind(record)
                .bind(reservation.id.as_uuid())
                .bind(reservation.reference.as_str())
                .bind(reservation.location.0.as_str())
                .bind(skus)
                .bind(quantities)
                .bind(now)
                .bind(reservation.expires_at)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| place_failure(e, order))?;
            if !row.try_get::<bool, _>("created")? {
                // Rolled back on drop: nothing to undo.
                return Ok(Placement::KeyTaken);
            }
            sqlx::query(ENSURE_LOCKS)
                .bind(codes)
                .execute(&mut *tx)
                .await?;
            sqlx::query(LOCK).bind(codes).fetch_all(&mut *tx).await?;
            let rows = sqlx::query(COUNT_WITH_BUYER)
                .bind(codes)
                .bind(buyer)
                .fetch_all(&mut *tx)
                .await?;
            for r in redemptions {
                let (mut used, mut mine) = (0i64, 0i64);
                for row in &rows {
                    if row.try_get::<&str, _>("code")? == r.code {
                        used = row.try_get("used")?;
                        mine = row.try_get("mine")?;
                    }
                }
                let (used, mine) = (used.max(0).unsigned_abs(), mine.max(0).unsigned_abs());
                r.check(used, mine).map_err(Failure::Domain)?;
            }
            sqlx::query(RECORD)
                .bind(codes)
                .bind(order.id.as_uuid())
                .bind(buyer)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Placement::Placed)
        })
        .await;
        match placed {
            Ok(p) => Ok(p),
            Err(e) => shortage_reason(&e).map(Placement::Short).ok_or(e),
        }
    }

    /// Redemptions held per code of `codes`, in the order given (one statement).
    pub(super) async fn count_redemptions(&self, codes: &[String]) -> Result<Vec<u64>> {
        let codes_ref = &codes;
        let rows = retrying("count promotion redemptions", move || async move {
            Ok::<_, Failure<Error>>(
                sqlx::query(COUNT)
                    .bind(codes_ref)
                    .fetch_all(&self.shared.pool)
                    .await?,
            )
        })
        .await?;
        let mut counts = vec![0u64; codes.len()];
        for row in rows {
            let code: String = row.try_get("code").map_err(Error::backend)?;
            let used: i64 = row.try_get("used").map_err(Error::backend)?;
            for (i, c) in codes.iter().enumerate() {
                if *c == code {
                    counts[i] = used.max(0).unsigned_abs();
                }
            }
        }
        Ok(counts)
    }
}
