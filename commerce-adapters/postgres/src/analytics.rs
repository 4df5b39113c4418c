//! [`PgAnalyticsStore`]: the analytics rollups on PostgreSQL (migration
//! `0060_analytics.sql`). One `apply` or `apply_batch` is one transaction of a fixed
//! number of statements: the event ids are inserted first (those already there
//! change nothing; none new ends the transaction with nothing changed), then the
//! counters, facts and stock levels of the new events, one statement each.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::Row;

use commerce_analytics::{
    AnalyticsStore, Change, CounterKey, CounterRow, DateRange, Error, EventChanges, Increment,
    KeyTotal, Metric, OrderFact, Result, StockLevel,
};
use commerce_core::{EventId, Sku};
use commerce_orders::OrderId;

use crate::stores::Shared;

/// The analytics rollups ([`commerce_analytics::AnalyticsStore`]).
#[derive(Clone)]
pub struct PgAnalyticsStore {
    shared: Shared,
}

impl std::fmt::Debug for PgAnalyticsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgAnalyticsStore").finish_non_exhaustive()
    }
}

fn db(e: sqlx::Error) -> Error {
    Error::backend(e)
}

fn count_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::backend(format!("negative count {v} in storage")))
}

fn count_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::validation("stock", "too large for storage"))
}

impl PgAnalyticsStore {
    pub(crate) fn new(shared: Shared) -> Self {
        PgAnalyticsStore { shared }
    }
}

/// Sums increments per counter (one statement cannot update a row twice); the last
/// label wins.
fn merge(increments: &[&Increment]) -> Vec<Increment> {
    let mut merged: BTreeMap<CounterKey, Increment> = BTreeMap::new();
    for inc in increments {
        merged
            .entry(inc.counter.clone())
            .and_modify(|m| {
                m.label.clone_from(&inc.label);
                m.count += inc.count;
                m.units += inc.units;
                m.amount += inc.amount;
            })
            .or_insert_with(|| (*inc).clone());
    }
    merged.into_values().collect()
}

impl PgAnalyticsStore {
    /// Applies `batch` in one transaction of at most six statements, whatever its
    /// size: the event ids inserted at once (those that conflict, or repeat an
    /// earlier element, were applied before), then the changes of the new events:
    /// the counters summed per row, the last fact per order and the last level per
    /// (SKU, location), one statement each, rows in key order (concurrent batches
    /// lock rows in the same order).
    async fn apply_all(&self, batch: &[(EventId, &[Change])]) -> Result<Vec<bool>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut first = HashSet::new();
        let unique: Vec<bool> = batch.iter().map(|(id, _)| first.insert(*id)).collect();
        // In id order, so concurrent batches wait on each other's ids in one order.
        let mut ids: Vec<uuid::Uuid> = first.iter().map(|id| id.as_uuid()).collect();
        ids.sort_unstable();
        let mut tx = self.shared.pool.begin().await.map_err(db)?;
        let fresh: HashSet<uuid::Uuid> = sqlx::query_scalar(
            "INSERT INTO commerce.analytics_applied (event_id) \
             SELECT id FROM UNNEST($1::uuid[]) AS id ORDER BY id \
             ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?
        .into_iter()
        .collect();
        let done: Vec<bool> = batch
            .iter()
            .zip(&unique)
            .map(|((id, _), first)| *first && fresh.contains(&id.as_uuid()))
            .collect();
        if fresh.is_empty() {
            tx.rollback().await.map_err(db)?;
            return Ok(done);
        }
        let mut increments: Vec<&Increment> = Vec::new();
        let mut facts: BTreeMap<OrderId, &OrderFact> = BTreeMap::new();
        let mut stock: BTreeMap<(&str, &str), &StockLevel> = BTreeMap::new();
        for ((_, changes), applied) in batch.iter().zip(&done) {
            if !applied {
                continue;
            }
            for change in *changes {
                match change {
                    Change::Add(i) => increments.push(i),
                    Change::PutFact(f) => {
                        facts.insert(f.order_id, f);
                    }
                    Change::PutStock(l) => {
                        stock.insert((l.sku.as_str(), l.location.as_str()), l);
                    }
                }
            }
        }
        let merged = merge(&increments);
        if !merged.is_empty() {
            let metrics: Vec<&str> = merged.iter().map(|i| i.counter.metric.as_str()).collect();
            let days: Vec<NaiveDate> = merged.iter().map(|i| i.counter.day).collect();
            let keys: Vec<&str> = merged.iter().map(|i| i.counter.key.as_str()).collect();
            let currencies: Vec<&str> =
                merged.iter().map(|i| i.counter.currency.as_str()).collect();
            let labels: Vec<&str> = merged.iter().map(|i| i.label.as_str()).collect();
            let counts: Vec<i64> = merged.iter().map(|i| i.count).collect();
            let units: Vec<i64> = merged.iter().map(|i| i.units).collect();
            let amounts: Vec<Decimal> = merged.iter().map(|i| i.amount).collect();
            sqlx::query(
                "INSERT INTO commerce.analytics_counters \
                   (metric, day, key, currency, label, count, units, amount) \
                 SELECT * FROM UNNEST($1::text[], $2::date[], $3::text[], $4::text[], \
                                      $5::text[], $6::bigint[], $7::bigint[], $8::numeric[]) \
                 ON CONFLICT (metric, day, key, currency) DO UPDATE SET \
                   label = EXCLUDED.label, \
                   count = analytics_counters.count + EXCLUDED.count, \
                   units = analytics_counters.units + EXCLUDED.units, \
                   amount = analytics_counters.amount + EXCLUDED.amount",
            )
            .bind(&metrics)
            .bind(&days)
            .bind(&keys)
            .bind(&currencies)
            .bind(&labels)
            .bind(&counts)
            .bind(&units)
            .bind(&amounts)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        if !facts.is_empty() {
            let orders: Vec<uuid::Uuid> = facts.keys().map(|o| o.as_uuid()).collect();
            let docs = facts
                .values()
                .map(|f| serde_json::to_value(f).map_err(Error::backend))
                .collect::<Result<Vec<serde_json::Value>>>()?;
            sqlx::query(
                "INSERT INTO commerce.analytics_order_facts (order_id, fact) \
                 SELECT * FROM UNNEST($1::uuid[], $2::jsonb[]) \
                 ON CONFLICT (order_id) DO UPDATE SET fact = EXCLUDED.fact",
            )
            .bind(&orders)
            .bind(&docs)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        if !stock.is_empty() {
            let skus: Vec<&str> = stock.keys().map(|k| k.0).collect();
            let locations: Vec<&str> = stock.keys().map(|k| k.1).collect();
            let mut on_hand = Vec::with_capacity(stock.len());
            let mut reserved = Vec::with_capacity(stock.len());
            let mut available = Vec::with_capacity(stock.len());
            for level in stock.values() {
                on_hand.push(count_i64(level.on_hand)?);
                reserved.push(count_i64(level.reserved)?);
                available.push(count_i64(level.available)?);
            }
            sqlx::query(
                "INSERT INTO commerce.analytics_stock \
                   (sku, location, on_hand, reserved, available) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], \
                                      $5::bigint[]) \
                 ON CONFLICT (sku, location) DO UPDATE SET \
                   on_hand = EXCLUDED.on_hand, reserved = EXCLUDED.reserved, \
                   available = EXCLUDED.available",
            )
            .bind(&skus)
            .bind(&locations)
            .bind(&on_hand)
            .bind(&reserved)
            .bind(&available)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(done)
    }
}

#[async_trait]
impl AnalyticsStore for PgAnalyticsStore {
    async fn apply(&self, event: EventId, changes: &[Change]) -> Result<bool> {
        let done = self.apply_all(&[(event, changes)]).await?;
        Ok(done.first().copied().unwrap_or(false))
    }

    async fn apply_batch(&self, batch: &[EventChanges]) -> Result<Vec<bool>> {
        let batch: Vec<(EventId, &[Change])> = batch
            .iter()
            .map(|e| (e.event, e.changes.as_slice()))
            .collect();
        self.apply_all(&batch).await
    }

    async fn applied(&self, events: &[EventId]) -> Result<Vec<EventId>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<uuid::Uuid> = events.iter().map(|e| e.as_uuid()).collect();
        let applied: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT event_id FROM commerce.analytics_applied WHERE event_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(db)?;
        Ok(applied.into_iter().map(EventId::from_uuid).collect())
    }

    async fn order_facts(&self, orders: &[OrderId]) -> Result<Vec<OrderFact>> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<uuid::Uuid> = orders.iter().map(|o| o.as_uuid()).collect();
        let docs: Vec<serde_json::Value> = sqlx::query_scalar(
            "SELECT fact FROM commerce.analytics_order_facts WHERE order_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(db)?;
        docs.into_iter()
            .map(|d| serde_json::from_value(d).map_err(Error::backend))
            .collect()
    }

    async fn order_fact(&self, order: OrderId) -> Result<Option<OrderFact>> {
        let doc: Option<serde_json::Value> = sqlx::query_scalar(
            "SELECT fact FROM commerce.analytics_order_facts WHERE order_id = $1",
        )
        .bind(order.as_uuid())
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(db)?;
        doc.map(|d| serde_json::from_value(d).map_err(Error::backend))
            .transpose()
    }

    async fn daily(&self, metric: Metric, range: DateRange) -> Result<Vec<CounterRow>> {
        let rows = sqlx::query(
            "SELECT day, key, currency, label, count, units, amount \
               FROM commerce.analytics_counters \
              WHERE metric = $1 AND day BETWEEN $2 AND $3 \
              ORDER BY day, key, currency",
        )
        .bind(metric.as_str())
        .bind(range.from)
        .bind(range.to)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|r| {
                Ok(CounterRow {
                    counter: CounterKey {
                        day: r.try_get("day").map_err(db)?,
                        metric,
                        key: r.try_get("key").map_err(db)?,
                        currency: r.try_get("currency").map_err(db)?,
                    },
                    label: r.try_get("label").map_err(db)?,
                    count: r.try_get("count").map_err(db)?,
                    units: r.try_get("units").map_err(db)?,
                    amount: r.try_get("amount").map_err(db)?,
                })
            })
            .collect()
    }

    async fn totals(&self, metric: Metric, range: DateRange, limit: u32) -> Result<Vec<KeyTotal>> {
        let rows = sqlx::query(
            "SELECT key, currency, \
                    (array_agg(label ORDER BY day DESC))[1] AS label, \
                    sum(count)::bigint AS count, sum(units)::bigint AS units, \
                    sum(amount) AS amount \
               FROM commerce.analytics_counters \
              WHERE metric = $1 AND day BETWEEN $2 AND $3 \
              GROUP BY key, currency \
              ORDER BY amount DESC, units DESC, count DESC, key, currency \
              LIMIT $4",
        )
        .bind(metric.as_str())
        .bind(range.from)
        .bind(range.to)
        .bind(i64::from(limit))
        .fetch_all(&self.shared.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|r| {
                Ok(KeyTotal {
                    key: r.try_get("key").map_err(db)?,
                    label: r.try_get("label").map_err(db)?,
                    currency: r.try_get("currency").map_err(db)?,
                    count: r.try_get("count").map_err(db)?,
                    units: r.try_get("units").map_err(db)?,
                    amount: r.try_get("amount").map_err(db)?,
                })
            })
            .collect()
    }

    async fn low_stock(&self, threshold: u64, limit: u32) -> Result<Vec<StockLevel>> {
        let rows = sqlx::query(
            "SELECT sku, location, on_hand, reserved, available \
               FROM commerce.analytics_stock WHERE available <= $1 \
              ORDER BY available, sku, location LIMIT $2",
        )
        .bind(i64::try_from(threshold).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.shared.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|r| {
                let sku: String = r.try_get("sku").map_err(db)?;
                Ok(StockLevel {
                    sku: Sku::new(sku).map_err(Error::from)?,
                    location: r.try_get("location").map_err(db)?,
                    on_hand: count_u64(r.try_get("on_hand").map_err(db)?)?,
                    reserved: count_u64(r.try_get("reserved").map_err(db)?)?,
                    available: count_u64(r.try_get("available").map_err(db)?)?,
                })
            })
            .collect()
    }
}
