//! [`PgAnalyticsStore`]: the analytics rollups on PostgreSQL (migration
//! `0060_analytics.sql`). One `apply` is one transaction: the event id is inserted
//! first (a duplicate ends the transaction with nothing changed), then every counter,
//! fact and stock level of the event in one statement each.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::Row;

use commerce_analytics::{
    AnalyticsStore, Change, CounterKey, CounterRow, DateRange, Error, Increment, KeyTotal, Metric,
    OrderFact, Result, StockLevel,
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

/// Sums the increments of one event per counter (one statement cannot update a row
/// twice); the last label wins.
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

#[async_trait]
impl AnalyticsStore for PgAnalyticsStore {
    async fn apply(&self, event: EventId, changes: &[Change]) -> Result<bool> {
        let mut tx = self.shared.pool.begin().await.map_err(db)?;
        let inserted = sqlx::query(
            "INSERT INTO commerce.analytics_applied (event_id) VALUES ($1) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await.map_err(db)?;
            return Ok(false);
        }
        let increments: Vec<&Increment> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Add(i) => Some(i),
                _ => None,
            })
            .collect();
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
        for change in changes {
            match change {
                Change::Add(_) => {}
                Change::PutFact(fact) => {
                    let doc = serde_json::to_value(fact).map_err(Error::backend)?;
                    sqlx::query(
                        "INSERT INTO commerce.analytics_order_facts (order_id, fact) \
                         VALUES ($1, $2) \
                         ON CONFLICT (order_id) DO UPDATE SET fact = EXCLUDED.fact",
                    )
                    .bind(fact.order_id.as_uuid())
                    .bind(doc)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
                Change::PutStock(level) => {
                    sqlx::query(
                        "INSERT INTO commerce.analytics_stock \
                           (sku, location, on_hand, reserved, available) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (sku, location) DO UPDATE SET \
                           on_hand = EXCLUDED.on_hand, reserved = EXCLUDED.reserved, \
                           available = EXCLUDED.available",
                    )
                    .bind(level.sku.as_str())
                    .bind(&level.location)
                    .bind(count_i64(level.on_hand)?)
                    .bind(count_i64(level.reserved)?)
                    .bind(count_i64(level.available)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
            }
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
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
