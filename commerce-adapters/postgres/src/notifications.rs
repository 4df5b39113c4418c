//! [`PgPreferenceStore`] and [`PgDeliveryLog`]: notification preferences and the
//! delivery log on PostgreSQL.
//!
//! A choice is one upserted row per (customer, kind, channel), so concurrent choices
//! never lose each other. A delivery claim is an `INSERT ... ON CONFLICT DO NOTHING`
//! on the key: of concurrent claims exactly one inserts. A takeover is one
//! conditional `UPDATE` of the claim time: concurrent takeovers queue on the row
//! lock, and the ones after the first find the new claim time and update nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use commerce_core::CustomerId;
use commerce_orders::notification::{
    Channel, Choice, Claim, DeliveryKey, DeliveryLog, DeliveryRecord, DeliveryState,
    NotificationKind, NotificationPreferences, PreferenceStore, check_choice, check_contact,
};
use commerce_orders::{Error, Result};

use crate::stores::Shared;

fn db(e: impl Into<commerce_core::BoxError>) -> Error {
    Error::backend(e)
}

/// Notification preferences ([`PreferenceStore`]).
#[derive(Clone)]
pub struct PgPreferenceStore {
    shared: Shared,
}

impl std::fmt::Debug for PgPreferenceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPreferenceStore").finish_non_exhaustive()
    }
}

impl PgPreferenceStore {
    pub(crate) fn new(shared: Shared) -> Self {
        PgPreferenceStore { shared }
    }
}

#[async_trait]
impl PreferenceStore for PgPreferenceStore {
    async fn get(&self, customer_id: CustomerId) -> Result<NotificationPreferences> {
        let pool = &self.shared.pool;
        let rows = sqlx::query(
            "SELECT kind, channel, enabled FROM commerce.notification_choices
             WHERE customer_id = $1 ORDER BY kind, channel",
        )
        .bind(customer_id.as_uuid())
        .fetch_all(pool)
        .await
        .map_err(db)?;
        let mut prefs = NotificationPreferences::defaults(customer_id);
        for row in rows {
            let kind: String = row.try_get("kind").map_err(db)?;
            let channel: String = row.try_get("channel").map_err(db)?;
            prefs.choices.push(Choice {
                kind: NotificationKind::parse(&kind)?,
                channel: Channel::parse(&channel)?,
                enabled: row.try_get("enabled").map_err(db)?,
            });
        }
        prefs.choices.sort_by_key(|c| (c.kind, c.channel));
        let contact = sqlx::query(
            "SELECT phone, push_token FROM commerce.notification_contacts WHERE customer_id = $1",
        )
        .bind(customer_id.as_uuid())
        .fetch_optional(pool)
        .await
        .map_err(db)?;
        if let Some(row) = contact {
            prefs.phone = row.try_get("phone").map_err(db)?;
            prefs.push_token = row.try_get("push_token").map_err(db)?;
        }
        Ok(prefs)
    }

    async fn choose(
        &self,
        customer_id: CustomerId,
        kind: NotificationKind,
        channel: Channel,
        enabled: bool,
    ) -> Result<NotificationPreferences> {
        check_choice(kind, channel, enabled)?;
        sqlx::query(
            "INSERT INTO commerce.notification_choices (customer_id, kind, channel, enabled)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (customer_id, kind, channel) DO UPDATE SET enabled = EXCLUDED.enabled",
        )
        .bind(customer_id.as_uuid())
        .bind(kind.as_str())
        .bind(channel.as_str())
        .bind(enabled)
        .execute(&self.shared.pool)
        .await
        .map_err(db)?;
        self.get(customer_id).await
    }

    async fn set_contact(
        &self,
        customer_id: CustomerId,
        phone: Option<String>,
        push_token: Option<String>,
    ) -> Result<NotificationPreferences> {
        check_contact(phone.as_deref(), push_token.as_deref())?;
        sqlx::query(
            "INSERT INTO commerce.notification_contacts (customer_id, phone, push_token)
             VALUES ($1, $2, $3)
             ON CONFLICT (customer_id) DO UPDATE
                 SET phone = EXCLUDED.phone, push_token = EXCLUDED.push_token",
        )
        .bind(customer_id.as_uuid())
        .bind(phone)
        .bind(push_token)
        .execute(&self.shared.pool)
        .await
        .map_err(db)?;
        self.get(customer_id).await
    }
}

/// The delivery log ([`DeliveryLog`]).
#[derive(Clone)]
pub struct PgDeliveryLog {
    shared: Shared,
}

impl std::fmt::Debug for PgDeliveryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDeliveryLog").finish_non_exhaustive()
    }
}

impl PgDeliveryLog {
    pub(crate) fn new(shared: Shared) -> Self {
        PgDeliveryLog { shared }
    }
}

fn record(row: &PgRow) -> Result<DeliveryRecord> {
    let state: String = row.try_get("state").map_err(db)?;
    Ok(DeliveryRecord {
        key: DeliveryKey::from_stored(row.try_get("key").map_err(db)?),
        state: match state.as_str() {
            "sent" => DeliveryState::Sent,
            "claimed" => DeliveryState::Claimed,
            other => return Err(db(format!("stored delivery state {other:?}"))),
        },
        claimed_at: row.try_get("claimed_at").map_err(db)?,
        sent_at: row.try_get("sent_at").map_err(db)?,
        provider_id: row.try_get("provider_id").map_err(db)?,
        resends: u32::try_from(row.try_get::<i32, _>("resends").map_err(db)?).unwrap_or(0),
    })
}

const COLUMNS: &str = "key, state, claimed_at, sent_at, provider_id, resends";

#[async_trait]
impl DeliveryLog for PgDeliveryLog {
    async fn claim(&self, key: &DeliveryKey, now: DateTime<Utc>) -> Result<Claim> {
        // A release between our insert attempt and our read makes the key free again:
        // try again (bounded: each round either inserts or reads a record).
        for _ in 0..3 {
            let inserted = sqlx::query(
                "INSERT INTO commerce.notification_deliveries (key, state, claimed_at)
                 VALUES ($1, 'claimed', $2) ON CONFLICT (key) DO NOTHING RETURNING key",
            )
            .bind(key.as_str())
            .bind(now)
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(db)?;
            if inserted.is_some() {
                return Ok(Claim::Claimed);
            }
            if let Some(r) = self.get(key).await? {
                return Ok(match r.state {
                    DeliveryState::Sent => Claim::AlreadySent(r),
                    DeliveryState::Claimed => Claim::InFlight(r),
                });
            }
        }
        Err(Error::Conflict(format!(
            "{key} is being claimed and released"
        )))
    }

    async fn mark_sent(
        &self,
        key: &DeliveryKey,
        provider_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let updated = sqlx::query(
            "UPDATE commerce.notification_deliveries
             SET state = 'sent', sent_at = $2, provider_id = $3
             WHERE key = $1 AND state = 'claimed'",
        )
        .bind(key.as_str())
        .bind(now)
        .bind(provider_id)
        .execute(&self.shared.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if updated == 0 && self.get(key).await?.is_none() {
            return Err(Error::not_found("delivery", key));
        }
        Ok(())
    }

    async fn release(&self, key: &DeliveryKey, claimed_at: DateTime<Utc>) -> Result<()> {
        let deleted = sqlx::query(
            "DELETE FROM commerce.notification_deliveries
              WHERE key = $1 AND state = 'claimed' AND claimed_at = $2",
        )
        .bind(key.as_str())
        .bind(claimed_at)
        .execute(&self.shared.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if deleted == 0
            && let Some(r) = self.get(key).await?
            && r.state == DeliveryState::Sent
        {
            return Err(Error::Conflict(format!("{key} was sent")));
        }
        Ok(())
    }

    async fn take_over(
        &self,
        key: &DeliveryKey,
        claimed_at_or_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        // Under READ COMMITTED a concurrent UPDATE of the row waits for the first,
        // then evaluates its WHERE again on the new row version: the new claim time
        // (`now`) fails `claimed_at < $3` and usually `claimed_at <= $2`.
        let updated = sqlx::query(
            "UPDATE commerce.notification_deliveries
             SET claimed_at = $3, resends = resends + 1
             WHERE key = $1 AND state = 'claimed' AND claimed_at <= $2 AND claimed_at < $3",
        )
        .bind(key.as_str())
        .bind(claimed_at_or_before)
        .bind(now)
        .execute(&self.shared.pool)
        .await
        .map_err(db)?
        .rows_affected();
        Ok(updated == 1)
    }

    async fn get(&self, key: &DeliveryKey) -> Result<Option<DeliveryRecord>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM commerce.notification_deliveries WHERE key = $1"
        )))
        .bind(key.as_str())
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(db)?
        .as_ref()
        .map(record)
        .transpose()
    }

    async fn stale_claims(
        &self,
        older_than: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM commerce.notification_deliveries
             WHERE state = 'claimed' AND claimed_at <= $1
             ORDER BY claimed_at, key LIMIT $2"
        )))
        .bind(older_than)
        .bind(i64::from(limit))
        .fetch_all(&self.shared.pool)
        .await
        .map_err(db)?
        .iter()
        .map(record)
        .collect()
    }
}
