//! [`PgReviewStore`]: reviews, votes, reports and rating aggregates on PostgreSQL.
//!
//! Every write is one transaction: the review row (locked `FOR UPDATE` before an edit
//! or delete), the product's aggregate row moved by one upsert adding a delta, and
//! the events. Concurrent posts by one author meet at the unique constraint
//! `reviews_author_key`: `ON CONFLICT DO NOTHING` waits for the winner and writes
//! nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use commerce_core::{CustomerId, EventEnvelope, ProductId, Sku};
use commerce_reviews::store::MAX_PAGE;
use commerce_reviews::{
    AbuseReport, CustomerReviewPage, Error, ModerationPage, ProductReviewQuery, Rating,
    RatingAggregate, Result, Review, ReviewChange, ReviewId, ReviewOrder, ReviewStatus,
    ReviewStore,
};

use crate::convert::{from_json, to_json, to_u64};
use crate::error::{Failure, PortError, retrying};
use crate::outbox::append_events;
use crate::stores::Shared;

/// Reviews with their votes, reports and per-product rating aggregates.
#[derive(Clone)]
pub struct PgReviewStore {
    shared: Shared,
    /// Where listings and aggregates are read: the primary, or the read replica for
    /// [`PgStores::browse_reviews`](crate::PgStores::browse_reviews). `get` and `find`
    /// (which edits depend on) and every write use the primary.
    reads: sqlx::PgPool,
}

impl std::fmt::Debug for PgReviewStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgReviewStore").finish_non_exhaustive()
    }
}

fn db(e: impl Into<commerce_core::BoxError>) -> Error {
    Error::backend(e)
}

fn count(row: &PgRow, column: &str) -> Result<u32> {
    let n: i32 = row.try_get(column).map_err(db)?;
    u32::try_from(n).map_err(|_| db(format!("{column} {n} out of range in storage")))
}

fn review_from_row(row: &PgRow) -> Result<Review> {
    let rating: i16 = row.try_get("rating").map_err(db)?;
    let sku: Option<String> = row.try_get("sku").map_err(db)?;
    let moderation: Option<serde_json::Value> = row.try_get("moderation").map_err(db)?;
    let status: String = row.try_get("status").map_err(db)?;
    let version: i64 = row.try_get("version").map_err(db)?;
    Ok(Review {
        id: ReviewId::from_uuid(row.try_get("id").map_err(db)?),
        product_id: ProductId::from_uuid(row.try_get("product_id").map_err(db)?),
        customer_id: CustomerId::from_uuid(row.try_get("customer_id").map_err(db)?),
        sku: sku.map(Sku::new).transpose()?,
        rating: Rating::new(u8::try_from(rating).unwrap_or(0))?,
        title: row.try_get("title").map_err(db)?,
        body: row.try_get("body").map_err(db)?,
        verified: row.try_get("verified").map_err(db)?,
        status: ReviewStatus::parse(&status)?,
        moderation: moderation.map(from_json).transpose()?,
        helpful_count: count(row, "helpful_count")?,
        report_count: count(row, "report_count")?,
        created_at: row.try_get("created_at").map_err(db)?,
        updated_at: row.try_get("updated_at").map_err(db)?,
        version: to_u64(version)?,
    })
}

fn aggregate_from_row(product_id: ProductId, row: Option<&PgRow>) -> Result<RatingAggregate> {
    let mut aggregate = RatingAggregate::empty(product_id);
    if let Some(row) = row {
        for (i, column) in ["r1", "r2", "r3", "r4", "r5"].into_iter().enumerate() {
            aggregate.histogram[i] = count(row, column)?;
        }
    }
    Ok(aggregate)
}

/// +1/-1 per star of a contribution move.
fn delta(before: Option<Rating>, after: Option<Rating>) -> [i32; 5] {
    let mut d = [0i32; 5];
    if let Some(r) = before {
        d[usize::from(r.stars() - 1)] -= 1;
    }
    if let Some(r) = after {
        d[usize::from(r.stars() - 1)] += 1;
    }
    d
}

/// Moves the product's aggregate by one review's contribution and appends `events`
/// (plus `RatingChanged` when it moved), in the caller's transaction.
async fn settle(
    conn: &mut PgConnection,
    product_id: ProductId,
    before: Option<&Review>,
    after: Option<Review>,
    at: DateTime<Utc>,
    events: &[EventEnvelope],
) -> std::result::Result<ReviewChange, Failure<Error>> {
    let (was, now) = (
        before.and_then(Review::counted_rating),
        after.as_ref().and_then(Review::counted_rating),
    );
    let changed = was != now;
    let row = if changed {
        let d = delta(was, now);
        sqlx::query(
            "INSERT INTO commerce.review_aggregates AS a (product_id, r1, r2, r3, r4, r5)
             VALUES ($1, greatest($2, 0), greatest($3, 0), greatest($4, 0), greatest($5, 0), greatest($6, 0))
             ON CONFLICT (product_id) DO UPDATE SET
                 r1 = a.r1 + $2, r2 = a.r2 + $3, r3 = a.r3 + $4, r4 = a.r4 + $5, r5 = a.r5 + $6
             RETURNING r1, r2, r3, r4, r5",
        )
        .bind(product_id.as_uuid())
        .bind(d[0])
        .bind(d[1])
        .bind(d[2])
        .bind(d[3])
        .bind(d[4])
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query(
            "SELECT r1, r2, r3, r4, r5 FROM commerce.review_aggregates WHERE product_id = $1",
        )
        .bind(product_id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?
    };
    let aggregate = aggregate_from_row(product_id, row.as_ref()).map_err(Failure::Domain)?;
    let mut out = events.to_vec();
    if changed {
        out.push(aggregate.rating_changed(at).map_err(Failure::Domain)?);
    }
    append_events(&mut *conn, &out).await?;
    Ok(ReviewChange {
        review: after,
        aggregate,
        aggregate_changed: changed,
    })
}

impl PgReviewStore {
    pub(crate) fn new(shared: Shared) -> Self {
        let reads = shared.pool.clone();
        PgReviewStore { shared, reads }
    }

    /// Listings and aggregates read from the read replica, if one is configured.
    pub(crate) fn lagging(shared: Shared) -> Self {
        let reads = shared.lagging_reads.clone();
        PgReviewStore { shared, reads }
    }

    /// The review `id` locked for update, checked against `expected_version`.
    async fn locked(
        conn: &mut PgConnection,
        id: ReviewId,
        expected_version: u64,
    ) -> std::result::Result<Review, Failure<Error>> {
        let row = sqlx::query("SELECT * FROM commerce.reviews WHERE id = $1 FOR UPDATE")
            .bind(id.as_uuid())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| Failure::Domain(Error::not_found("review", id)))?;
        let current = review_from_row(&row).map_err(Failure::Domain)?;
        if current.version != expected_version {
            return Err(Failure::Domain(Error::Conflict(format!(
                "review {id} is at version {}, not {expected_version}",
                current.version
            ))));
        }
        Ok(current)
    }

    async fn try_create(
        &self,
        review: &Review,
        events: &[EventEnvelope],
    ) -> std::result::Result<ReviewChange, Failure<Error>> {
        let mut tx = self.shared.pool.begin().await?;
        let moderation = review
            .moderation
            .as_ref()
            .map(to_json)
            .transpose()
            .map_err(|e| Failure::Domain(e.into()))?;
        let row = sqlx::query(
            "INSERT INTO commerce.reviews
                 (id, product_id, customer_id, sku, rating, title, body, verified, status,
                  moderation, helpful_count, report_count, created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 0, $11, $12, 1)
             ON CONFLICT ON CONSTRAINT reviews_author_key DO NOTHING
             RETURNING *",
        )
        .bind(review.id.as_uuid())
        .bind(review.product_id.as_uuid())
        .bind(review.customer_id.as_uuid())
        .bind(review.sku.as_ref().map(Sku::as_str))
        .bind(i16::from(review.rating.stars()))
        .bind(&review.title)
        .bind(&review.body)
        .bind(review.verified)
        .bind(review.status.as_str())
        .bind(moderation)
        .bind(review.created_at)
        .bind(review.updated_at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| match crate::error::unique_violation(&e) {
            Some(_) => {
                Failure::Domain(Error::Conflict(format!("review id {} is taken", review.id)))
            }
            None => Failure::Db(e),
        })?;
        let Some(row) = row else {
            // The author's review exists (the insert waited for its writer to commit).
            let existing: Option<uuid::Uuid> = sqlx::query_scalar(
                "SELECT id FROM commerce.reviews WHERE product_id = $1 AND customer_id = $2",
            )
            .bind(review.product_id.as_uuid())
            .bind(review.customer_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
            return Err(Failure::Domain(match existing {
                Some(id) => Error::AlreadyReviewed {
                    review_id: ReviewId::from_uuid(id),
                },
                None => Error::Conflict("the author's review was deleted meanwhile; retry".into()),
            }));
        };
        let stored = review_from_row(&row).map_err(Failure::Domain)?;
        let change = settle(
            &mut tx,
            review.product_id,
            None,
            Some(stored),
            review.updated_at,
            events,
        )
        .await?;
        tx.commit().await?;
        Ok(change)
    }

    async fn try_update(
        &self,
        review: &Review,
        expected_version: u64,
        events: &[EventEnvelope],
    ) -> std::result::Result<ReviewChange, Failure<Error>> {
        let mut tx = self.shared.pool.begin().await?;
        let current = Self::locked(&mut tx, review.id, expected_version).await?;
        let moderation = review
            .moderation
            .as_ref()
            .map(to_json)
            .transpose()
            .map_err(|e| Failure::Domain(e.into()))?;
        let row = sqlx::query(
            "UPDATE commerce.reviews SET
                 sku = $2, rating = $3, title = $4, body = $5, status = $6, moderation = $7,
                 updated_at = $8, version = version + 1
             WHERE id = $1
             RETURNING *",
        )
        .bind(review.id.as_uuid())
        .bind(review.sku.as_ref().map(Sku::as_str))
        .bind(i16::from(review.rating.stars()))
        .bind(&review.title)
        .bind(&review.body)
        .bind(review.status.as_str())
        .bind(moderation)
        .bind(review.updated_at)
        .fetch_one(&mut *tx)
        .await?;
        let stored = review_from_row(&row).map_err(Failure::Domain)?;
        let change = settle(
            &mut tx,
            current.product_id,
            Some(&current),
            Some(stored),
            review.updated_at,
            events,
        )
        .await?;
        tx.commit().await?;
        Ok(change)
    }

    async fn try_delete(
        &self,
        id: ReviewId,
        expected_version: u64,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> std::result::Result<ReviewChange, Failure<Error>> {
        let mut tx = self.shared.pool.begin().await?;
        let current = Self::locked(&mut tx, id, expected_version).await?;
        sqlx::query("DELETE FROM commerce.reviews WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await?;
        let change = settle(
            &mut tx,
            current.product_id,
            Some(&current),
            None,
            now,
            events,
        )
        .await?;
        tx.commit().await?;
        Ok(change)
    }

    /// Inserts one vote or report row (`insert`, binding `$1` review and `$2`
    /// customer first) and bumps the review's counter (`bump`) when it is new.
    async fn try_once(
        &self,
        id: ReviewId,
        insert: &'static str,
        bump: &'static str,
        binds: (CustomerId, Option<(&str, DateTime<Utc>)>),
        events: &[EventEnvelope],
    ) -> std::result::Result<bool, Failure<Error>> {
        let mut tx = self.shared.pool.begin().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM commerce.reviews WHERE id = $1)")
                .bind(id.as_uuid())
                .fetch_one(&mut *tx)
                .await?;
        if !exists {
            return Err(Failure::Domain(Error::not_found("review", id)));
        }
        let mut query = sqlx::query(insert)
            .bind(id.as_uuid())
            .bind(binds.0.as_uuid());
        if let Some((reason, at)) = binds.1 {
            query = query.bind(reason).bind(at);
        }
        let inserted = query
            .execute(&mut *tx)
            .await
            .map_err(|e| match crate::error::sqlstate(&e) {
                // The review was deleted between the check and the insert.
                Some("23503") => Failure::Domain(Error::not_found("review", id)),
                _ => Failure::Db(e),
            })?
            .rows_affected()
            == 1;
        if inserted {
            sqlx::query(bump)
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await?;
            append_events(&mut *tx, events).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }
}

const LIST_NEWEST: &str = "SELECT * FROM commerce.reviews
     WHERE product_id = $1 AND status = 'published'
       AND ($2::smallint IS NULL OR rating = $2)
       AND ($3::uuid IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $5";
const LIST_HELPFUL: &str = "SELECT * FROM commerce.reviews
     WHERE product_id = $1 AND status = 'published'
       AND ($2::smallint IS NULL OR rating = $2)
       AND ($3::uuid IS NULL OR (helpful_count, id) < ($4::bigint, $3))
     ORDER BY helpful_count DESC, id DESC LIMIT $5";
const LIST_HIGHEST: &str = "SELECT * FROM commerce.reviews
     WHERE product_id = $1 AND status = 'published'
       AND ($2::smallint IS NULL OR rating = $2)
       AND ($3::uuid IS NULL OR (rating, id) < ($4::bigint, $3))
     ORDER BY rating DESC, id DESC LIMIT $5";
const LIST_LOWEST: &str = "SELECT * FROM commerce.reviews
     WHERE product_id = $1 AND status = 'published'
       AND ($2::smallint IS NULL OR rating = $2)
       AND ($3::uuid IS NULL OR rating > $4::bigint OR (rating = $4::bigint AND id < $3))
     ORDER BY rating ASC, id DESC LIMIT $5";

#[async_trait]
impl ReviewStore for PgReviewStore {
    async fn create(&self, review: &Review, events: &[EventEnvelope]) -> Result<ReviewChange> {
        retrying("create review", || self.try_create(review, events)).await
    }

    async fn update(
        &self,
        review: &Review,
        expected_version: u64,
        events: &[EventEnvelope],
    ) -> Result<ReviewChange> {
        retrying("update review", || {
            self.try_update(review, expected_version, events)
        })
        .await
    }

    async fn delete(
        &self,
        id: ReviewId,
        expected_version: u64,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<ReviewChange> {
        retrying("delete review", || {
            self.try_delete(id, expected_version, events, now)
        })
        .await
    }

    async fn get(&self, id: ReviewId) -> Result<Option<Review>> {
        sqlx::query("SELECT * FROM commerce.reviews WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(Error::from_db)?
            .as_ref()
            .map(review_from_row)
            .transpose()
    }

    async fn find(&self, product_id: ProductId, customer_id: CustomerId) -> Result<Option<Review>> {
        sqlx::query("SELECT * FROM commerce.reviews WHERE product_id = $1 AND customer_id = $2")
            .bind(product_id.as_uuid())
            .bind(customer_id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(Error::from_db)?
            .as_ref()
            .map(review_from_row)
            .transpose()
    }

    async fn list_for_product(&self, query: &ProductReviewQuery) -> Result<Vec<Review>> {
        let sql = match query.order {
            ReviewOrder::Newest => LIST_NEWEST,
            ReviewOrder::MostHelpful => LIST_HELPFUL,
            ReviewOrder::HighestRating => LIST_HIGHEST,
            ReviewOrder::LowestRating => LIST_LOWEST,
        };
        sqlx::query(sql)
            .bind(query.product_id.as_uuid())
            .bind(query.rating.map(|r| i16::from(r.stars())))
            .bind(query.after.map(|c| c.id.as_uuid()))
            .bind(query.after.map_or(0, |c| c.key))
            .bind(i64::from(query.limit.min(MAX_PAGE)))
            .fetch_all(&self.reads)
            .await
            .map_err(Error::from_db)?
            .iter()
            .map(review_from_row)
            .collect()
    }

    async fn list_for_customer(
        &self,
        customer_id: CustomerId,
        page: CustomerReviewPage,
    ) -> Result<Vec<Review>> {
        sqlx::query(
            "SELECT * FROM commerce.reviews
              WHERE customer_id = $1 AND ($2::uuid IS NULL OR id < $2)
              ORDER BY id DESC LIMIT $3",
        )
        .bind(customer_id.as_uuid())
        .bind(page.before.map(|b| b.as_uuid()))
        .bind(i64::from(page.limit.min(MAX_PAGE)))
        .fetch_all(&self.reads)
        .await
        .map_err(Error::from_db)?
        .iter()
        .map(review_from_row)
        .collect()
    }

    async fn list_for_moderation(&self, page: ModerationPage) -> Result<Vec<Review>> {
        // Two statements rather than `$3 IS NULL OR status = $3`, so a filtered
        // page plans on `reviews_moderation_by_status` (migration 0110).
        let sql = match page.status {
            None => {
                "SELECT * FROM commerce.reviews
                  WHERE (report_count > 0 OR status = 'hidden')
                    AND ($1::uuid IS NULL OR id < $1)
                  ORDER BY id DESC LIMIT $2"
            }
            Some(_) => {
                "SELECT * FROM commerce.reviews
                  WHERE (report_count > 0 OR status = 'hidden')
                    AND status = $3
                    AND ($1::uuid IS NULL OR id < $1)
                  ORDER BY id DESC LIMIT $2"
            }
        };
        let mut query = sqlx::query(sql)
            .bind(page.before.map(|b| b.as_uuid()))
            .bind(i64::from(page.limit.min(MAX_PAGE)));
        if let Some(status) = page.status {
            query = query.bind(status.as_str());
        }
        query
            .fetch_all(&self.reads)
            .await
            .map_err(Error::from_db)?
            .iter()
            .map(review_from_row)
            .collect()
    }

    async fn aggregate(&self, product_id: ProductId) -> Result<RatingAggregate> {
        let row = sqlx::query(
            "SELECT r1, r2, r3, r4, r5 FROM commerce.review_aggregates WHERE product_id = $1",
        )
        .bind(product_id.as_uuid())
        .fetch_optional(&self.reads)
        .await
        .map_err(Error::from_db)?;
        aggregate_from_row(product_id, row.as_ref())
    }

    async fn vote_helpful(
        &self,
        id: ReviewId,
        customer_id: CustomerId,
        events: &[EventEnvelope],
    ) -> Result<bool> {
        retrying("vote on review", || {
            self.try_once(
                id,
                "INSERT INTO commerce.review_votes (review_id, customer_id) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                "UPDATE commerce.reviews SET helpful_count = helpful_count + 1 WHERE id = $1",
                (customer_id, None),
                events,
            )
        })
        .await
    }

    async fn report(&self, report: &AbuseReport, events: &[EventEnvelope]) -> Result<bool> {
        retrying("report review", || {
            self.try_once(
                report.review_id,
                "INSERT INTO commerce.review_reports (review_id, customer_id, reason, reported_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                "UPDATE commerce.reviews SET report_count = report_count + 1 WHERE id = $1",
                (
                    report.customer_id,
                    Some((report.reason.as_str(), report.at)),
                ),
                events,
            )
        })
        .await
    }
}
