//! [`PgOutbox`]: the transactional outbox on PostgreSQL.
//!
//! Writers append rows in the transaction of their change ([`append_events`]). A row
//! gets its consumer-visible position `seq` only later, from the claim path: before it
//! reads, a claim stamps every committed row that has no `seq` yet with the next
//! positions, in append (`id`) order, under a transaction-level advisory lock (one
//! sequencer at a time) held only for that one statement (`commerce.outbox_sequence`,
//! migration 0128); the claim itself runs without the lock. Stamped positions are
//! always a gap-free prefix (each stamping commits at once and the next starts from
//! the largest), so a claim's snapshot never sees a position without those before
//! it. Because a row is stamped only once it is committed and visible, a position
//! once handed out is never followed by a row with a smaller one: a transaction that
//! commits late gets a later position instead of appearing behind a consumer's
//! cursor. Writers pay nothing for this (no lock, no extra statement).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, Row};

use commerce_core::ports::{Claimed, LeaseId, Outbox, OutboxEntry, OutboxPruned, lease_end};
use commerce_core::{Error, EventEnvelope, EventId, Result};

use crate::convert::{to_i64, to_u64};
use crate::error::{Failure, PortError, retrying};
use crate::stores::Shared;

/// Most events one claim hands out, whatever `limit` asks for.
pub const MAX_CLAIM: u32 = 1_000;

/// Most rows one claim stamps with positions.
const SEQUENCE_BATCH: i64 = 10_000;

/// Key of the advisory lock serialising sequencers ("commerce.outbox" as a number).
const SEQUENCER_LOCK: i64 = 0x636f_6d6d_6f62_7831;

/// The outbox, read by consumer groups. See the module docs for how positions are
/// assigned.
#[derive(Clone)]
pub struct PgOutbox {
    shared: Shared,
}

impl std::fmt::Debug for PgOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOutbox").finish_non_exhaustive()
    }
}

/// Appends `events` in the given order with one statement, in whatever transaction
/// `executor` is part of.
pub(crate) async fn append_events<'e, X: PgExecutor<'e>>(
    executor: X,
    events: &[EventEnvelope],
) -> sqlx::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<uuid::Uuid> = events.iter().map(|e| e.id.as_uuid()).collect();
    let topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.aggregate_type.as_str()).collect();
    let aggregates: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
    let times: Vec<DateTime<Utc>> = events.iter().map(|e| e.occurred_at).collect();
    let payloads: Vec<&serde_json::Value> = events.iter().map(|e| &e.payload).collect();
    sqlx::query(
        "INSERT INTO commerce.outbox
             (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
         SELECT e.event_id, e.topic, e.aggregate_type, e.aggregate_id, e.occurred_at, e.payload
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])
                WITH ORDINALITY AS e (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload, n)
          ORDER BY e.n",
    )
    .bind(ids)
    .bind(topics)
    .bind(kinds)
    .bind(aggregates)
    .bind(times)
    .bind(payloads)
    .execute(executor)
    .await?;
    Ok(())
}

fn check_consumer(consumer: &str) -> Result<()> {
    if consumer.trim().is_empty() {
        return Err(Error::validation("consumer", "must not be empty"));
    }
    Ok(())
}

impl PgOutbox {
    pub(crate) fn new(shared: Shared) -> Self {
        PgOutbox { shared }
    }

    /// Every event appended so far with its position (positions are stamped first),
    /// in order. For tests and diagnostics; consumers use [`Outbox::claim`].
    pub async fn entries(&self) -> Result<Vec<OutboxEntry>> {
        retrying("outbox entries", move || async move {
            sequence(&self.shared.pool).await?;
            let rows = sqlx::query(
                "SELECT seq, event_id, topic, aggregate_type, aggregate_id, occurred_at, payload
                   FROM commerce.outbox WHERE seq IS NOT NULL ORDER BY seq",
            )
            .fetch_all(&self.shared.pool)
            .await?;
            rows.iter()
                .map(entry_from_row)
                .collect::<Result<Vec<_>>>()
                .map_err(Failure::Domain)
        })
        .await
    }

    async fn try_claim(
        &self,
        consumer: &str,
        limit: u32,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> std::result::Result<Claimed, Failure<Error>> {
        sequence(&self.shared.pool).await?;
        let mut tx = self.shared.pool.begin().await?;
        sqlx::query(
            "INSERT INTO commerce.outbox_consumers (consumer, seen_at) VALUES ($1, $2)
             ON CONFLICT (consumer) DO UPDATE SET seen_at = excluded.seen_at",
        )
        .bind(consumer)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let group = sqlx::query(
            "SELECT acked_seq, claimed_upto, lease_until FROM commerce.outbox_consumers
              WHERE consumer = $1 FOR UPDATE",
        )
        .bind(consumer)
        .fetch_one(&mut *tx)
        .await?;
        let acked: i64 = group.try_get("acked_seq")?;
        let claimed: Option<i64> = group.try_get("claimed_upto")?;
        let lease: Option<DateTime<Utc>> = group.try_get("lease_until")?;
        if claimed.is_some() && lease.is_some_and(|until| now < until) {
            return Ok(Claimed::default());
        }
        let rows = sqlx::query(
            "SELECT seq, event_id, topic, aggregate_type, aggregate_id, occurred_at, payload
               FROM commerce.outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(acked)
        .bind(i64::from(limit.min(MAX_CLAIM)))
        .fetch_all(&mut *tx)
        .await?;
        let entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>>>()
            .map_err(Failure::Domain)?;
        let last = entries
            .last()
            .map(|e| to_i64(e.seq))
            .transpose()
            .map_err(Failure::Domain)?;
        let id = last.map(|_| LeaseId::new());
        sqlx::query(
            "UPDATE commerce.outbox_consumers
                SET claimed_upto = $2, lease_until = $3, lease_id = $4
              WHERE consumer = $1",
        )
        .bind(consumer)
        .bind(last)
        .bind(last.map(|_| lease_until))
        .bind(id.map(|l| l.as_uuid()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Claimed::new(entries, id))
    }
}

/// Stamps positions on committed rows that have none, in append order: one call of
/// `commerce.outbox_sequence` (migration 0128), in a transaction of its own, so the
/// sequencer lock is held only while its statement runs, never across a client
/// round trip (claims used to hold it for their whole transaction and queued behind
/// each other). Rows committed before the call get positions; a claim that calls it
/// first and then reads sees them.
async fn sequence<'e, X: PgExecutor<'e>>(executor: X) -> sqlx::Result<()> {
    sqlx::query("SELECT commerce.outbox_sequence($1, $2)")
        .bind(SEQUENCER_LOCK)
        .bind(SEQUENCE_BATCH)
        .execute(executor)
        .await?;
    Ok(())
}

fn entry_from_row(row: &sqlx::postgres::PgRow) -> Result<OutboxEntry> {
    let get = |e: sqlx::Error| Error::backend(e);
    let seq: i64 = row.try_get("seq").map_err(get)?;
    Ok(OutboxEntry {
        seq: to_u64(seq)?,
        event: EventEnvelope {
            id: EventId::from_uuid(row.try_get("event_id").map_err(get)?),
            topic: row.try_get("topic").map_err(get)?,
            aggregate_type: row.try_get("aggregate_type").map_err(get)?,
            aggregate_id: row.try_get("aggregate_id").map_err(get)?,
            occurred_at: row.try_get("occurred_at").map_err(get)?,
            payload: row.try_get("payload").map_err(get)?,
        },
    })
}

#[async_trait]
impl Outbox for PgOutbox {
    async fn append(&self, events: &[EventEnvelope]) -> Result<()> {
        retrying("outbox append", move || async move {
            append_events(&self.shared.pool, events).await?;
            Ok(())
        })
        .await
    }

    async fn claim_leased(&self, consumer: &str, limit: u32, lease: Duration) -> Result<Claimed> {
        check_consumer(consumer)?;
        if limit == 0 {
            return Err(Error::validation("limit", "must be at least 1"));
        }
        let now = self.shared.clock.now();
        let lease_until = lease_end(now, lease, "lease")?;
        retrying("outbox claim", || {
            self.try_claim(consumer, limit, lease_until, now)
        })
        .await
    }

    async fn join(&self, consumer: &str) -> Result<()> {
        check_consumer(consumer)?;
        let now = self.shared.clock.now();
        retrying("outbox join", move || async move {
            sqlx::query(
                "INSERT INTO commerce.outbox_consumers (consumer, seen_at) VALUES ($1, $2)
                 ON CONFLICT (consumer) DO UPDATE SET seen_at = excluded.seen_at",
            )
            .bind(consumer)
            .bind(now)
            .execute(&self.shared.pool)
            .await?;
            Ok(())
        })
        .await
    }

    async fn release(&self, consumer: &str, lease: LeaseId) -> Result<bool> {
        check_consumer(consumer)?;
        let lease = lease.as_uuid();
        retrying("outbox release", move || async move {
            let released = sqlx::query(
                "UPDATE commerce.outbox_consumers
                    SET claimed_upto = NULL, lease_until = NULL, lease_id = NULL
                  WHERE consumer = $1 AND lease_id = $2",
            )
            .bind(consumer)
            .bind(lease)
            .execute(&self.shared.pool)
            .await?;
            Ok(released.rows_affected() == 1)
        })
        .await
    }

    async fn extend(&self, consumer: &str, lease: LeaseId, by: Duration) -> Result<bool> {
        check_consumer(consumer)?;
        let now = self.shared.clock.now();
        let until = lease_end(now, by, "by")?;
        let lease = lease.as_uuid();
        retrying("outbox extend", move || async move {
            let extended = sqlx::query(
                "UPDATE commerce.outbox_consumers
                    SET lease_until = $3, seen_at = $4
                  WHERE consumer = $1 AND lease_id = $2",
            )
            .bind(consumer)
            .bind(lease)
            .bind(until)
            .bind(now)
            .execute(&self.shared.pool)
            .await?;
            Ok(extended.rows_affected() == 1)
        })
        .await
    }

    async fn lag(&self, consumer: &str) -> Result<commerce_core::ports::OutboxLag> {
        check_consumer(consumer)?;
        // Unstamped rows (no position yet) are behind every group too.
        let row = sqlx::query(
            "SELECT count(*) AS pending, min(o.occurred_at) AS oldest
               FROM commerce.outbox o
              WHERE o.seq IS NULL
                 OR o.seq > COALESCE((SELECT acked_seq FROM commerce.outbox_consumers
                                       WHERE consumer = $1), 0)",
        )
        .bind(consumer)
        .fetch_one(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        let pending: i64 = row.try_get("pending").map_err(Error::backend)?;
        let oldest: Option<DateTime<Utc>> = row.try_get("oldest").map_err(Error::backend)?;
        Ok(commerce_core::ports::OutboxLag::new(
            to_u64(pending)?,
            oldest,
        ))
    }

    async fn prune(&self, group_retention: Duration, limit: u32) -> Result<OutboxPruned> {
        if limit == 0 {
            return Err(Error::validation("limit", "must be at least 1"));
        }
        let retention = chrono::Duration::from_std(group_retention)
            .map_err(|_| Error::validation("group_retention", "too long"))?;
        let seen_before = self
            .shared
            .clock
            .now()
            .checked_sub_signed(retention)
            .ok_or_else(|| Error::validation("group_retention", "too long"))?;
        retrying("outbox prune", move || async move {
            let mut tx = self.shared.pool.begin().await?;
            let mut dropped: Vec<String> = sqlx::query_scalar(
                "DELETE FROM commerce.outbox_consumers WHERE seen_at < $1 RETURNING consumer",
            )
            .bind(seen_before)
            .fetch_all(&mut *tx)
            .await?;
            dropped.sort();
            // The last stamped row is kept whatever the groups acknowledged: the
            // sequencer numbers new rows from the largest position in the table.
            let deleted = sqlx::query(
                "DELETE FROM commerce.outbox WHERE id IN (
                     SELECT id FROM commerce.outbox
                      WHERE seq <= (SELECT min(acked_seq) FROM commerce.outbox_consumers)
                        AND seq < (SELECT max(seq) FROM commerce.outbox)
                      ORDER BY seq LIMIT $1)",
            )
            .bind(i64::from(limit))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(OutboxPruned::new(dropped, deleted))
        })
        .await
    }

    async fn ack(&self, consumer: &str, seq: u64) -> Result<()> {
        check_consumer(consumer)?;
        let seq = to_i64(seq)?;
        retrying("outbox ack", move || async move {
            let row = sqlx::query(
                "WITH g AS (SELECT acked_seq, claimed_upto FROM commerce.outbox_consumers
                             WHERE consumer = $1 FOR UPDATE),
                      a AS (UPDATE commerce.outbox_consumers c
                               SET acked_seq = $2, claimed_upto = NULL, lease_until = NULL, lease_id = NULL
                              FROM g
                             WHERE c.consumer = $1 AND $2 > g.acked_seq AND $2 <= g.claimed_upto
                         RETURNING 1)
                 SELECT (SELECT acked_seq FROM g) AS acked, EXISTS (SELECT 1 FROM a) AS done",
            )
            .bind(consumer)
            .bind(seq)
            .fetch_one(&self.shared.pool)
            .await?;
            let acked: Option<i64> = row.try_get("acked")?;
            let done: bool = row.try_get("done")?;
            match acked {
                None => Err(Failure::Domain(Error::Conflict(format!(
                    "{consumer} has claimed nothing"
                )))),
                Some(_) if done => Ok(()),
                // Already acknowledged: a retried ack is a no-op.
                Some(acked) if seq <= acked => Ok(()),
                Some(_) => Err(Failure::Domain(Error::Conflict(format!(
                    "{consumer} has not claimed position {seq}"
                )))),
            }
        })
        .await
    }
}
