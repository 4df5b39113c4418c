//! [`PgPricingTables`]: the shop's pricing tables on PostgreSQL, one row holding the
//! document and its version. A save is a compare-and-set on the version (an insert
//! for the first one) and the outbox append, in one transaction.

use async_trait::async_trait;
use sqlx::Row;

use commerce_core::EventEnvelope;
use commerce_orders::pricing_tables::PricingTables;
use commerce_orders::{Error, PricingTableStore, Result};

use crate::error::{Failure, retrying};
use crate::outbox::append_events;
use crate::stores::Shared;

/// The pricing tables ([`PricingTableStore`]).
#[derive(Clone)]
pub struct PgPricingTables {
    shared: Shared,
}

impl std::fmt::Debug for PgPricingTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPricingTables").finish_non_exhaustive()
    }
}

impl PgPricingTables {
    pub(crate) fn new(shared: Shared) -> Self {
        PgPricingTables { shared }
    }
}

fn version_of(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::validation("version", "too large"))
}

#[async_trait]
impl PricingTableStore for PgPricingTables {
    async fn load(&self) -> Result<Option<PricingTables>> {
        let row = sqlx::query("SELECT version, document FROM commerce.pricing_tables WHERE id = 1")
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(Error::backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let version: i64 = row.try_get("version").map_err(Error::backend)?;
        let document: serde_json::Value = row.try_get("document").map_err(Error::backend)?;
        let mut tables: PricingTables = serde_json::from_value(document).map_err(Error::backend)?;
        tables.version = u64::try_from(version)
            .map_err(|_| Error::backend(format!("negative version {version} in storage")))?;
        Ok(Some(tables))
    }

    async fn save(
        &self,
        tables: &PricingTables,
        expected_version: u64,
        events: &[EventEnvelope],
    ) -> Result<PricingTables> {
        let mut stored = tables.clone();
        stored.version = expected_version
            .checked_add(1)
            .ok_or_else(|| Error::validation("version", "too large"))?;
        let expected = version_of(expected_version)?;
        let next = version_of(stored.version)?;
        let document = serde_json::to_value(&stored).map_err(Error::backend)?;
        let (document, stored_ref) = (&document, &stored);
        retrying("save pricing tables", move || async move {
            let mut tx = self.shared.pool.begin().await?;
            let written = if expected == 0 {
                sqlx::query(
                    "INSERT INTO commerce.pricing_tables (id, version, document, updated_at)
                     VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
                )
                .bind(next)
                .bind(document)
                .bind(stored_ref.updated_at)
                .execute(&mut *tx)
                .await?
            } else {
                sqlx::query(
                    "UPDATE commerce.pricing_tables
                        SET version = $1, document = $2, updated_at = $3
                      WHERE id = 1 AND version = $4",
                )
                .bind(next)
                .bind(document)
                .bind(stored_ref.updated_at)
                .bind(expected)
                .execute(&mut *tx)
                .await?
            };
            if written.rows_affected() != 1 {
                return Err(Failure::Domain(Error::Conflict(format!(
                    "the pricing tables are not at version {expected}"
                ))));
            }
            append_events(&mut *tx, events).await?;
            tx.commit().await?;
            Ok(())
        })
        .await?;
        Ok(stored)
    }
}
