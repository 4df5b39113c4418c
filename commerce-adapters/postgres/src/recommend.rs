//! [`PgRecommendStore`]: the precomputed recommendation tables on PostgreSQL.
//!
//! Recording a purchase is one transaction: the event id is inserted first (a
//! duplicate, even a concurrent one, stops there), then per-product order counts,
//! pair counts, popularity and the customer's purchases, each one statement with
//! rows in key order (concurrent recordings lock in the same order). Reads are one
//! statement each over indexed tables.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use commerce_core::{CategoryId, CustomerId, ProductId};
use commerce_recommend::decay::sale_weight;
use commerce_recommend::store::{MAX_PAIR_LINES, rank};
use commerce_recommend::{
    ALL_CATEGORIES, Error, MAX_LIST, PAIR_CANDIDATES, ProductSignals, Purchase, RecommendStore,
    Result, Scored,
};

use crate::error::{Failure, PortError, retrying};
use crate::stores::Shared;

/// The recommendation tables.
#[derive(Clone)]
pub struct PgRecommendStore {
    shared: Shared,
    /// Where the tables are read: the primary, or the read replica for
    /// [`PgStores::browse_recommendations`](crate::PgStores::browse_recommendations).
    /// Writes use the primary.
    reads: sqlx::PgPool,
}

impl std::fmt::Debug for PgRecommendStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgRecommendStore").finish_non_exhaustive()
    }
}

fn uuids(ids: &[ProductId]) -> Vec<uuid::Uuid> {
    ids.iter().map(|p| p.as_uuid()).collect()
}

fn scored(rows: Vec<PgRow>) -> Result<Vec<Scored>> {
    rows.iter()
        .map(|r| {
            Ok(Scored {
                product_id: ProductId::from_uuid(r.try_get("product_id").map_err(Error::backend)?),
                score: r.try_get("score").map_err(Error::backend)?,
            })
        })
        .collect()
}

fn limit(limit: u32) -> i64 {
    i64::from(limit.min(MAX_LIST))
}

impl PgRecommendStore {
    pub(crate) fn new(shared: Shared) -> Self {
        let reads = shared.pool.clone();
        PgRecommendStore { shared, reads }
    }

    /// Reads from the read replica, if one is configured.
    pub(crate) fn lagging(shared: Shared) -> Self {
        let reads = shared.lagging_reads.clone();
        PgRecommendStore { shared, reads }
    }

    async fn try_record(&self, purchase: &Purchase) -> std::result::Result<bool, Failure<Error>> {
        let mut tx = self.shared.pool.begin().await?;
        let fresh = sqlx::query(
            "INSERT INTO commerce.rec_events (event_id, recorded_at) VALUES ($1, now())
             ON CONFLICT DO NOTHING",
        )
        .bind(purchase.event_id.as_uuid())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !fresh {
            return Ok(false);
        }
        let mut lines: Vec<(ProductId, u32)> = Vec::new();
        for line in &purchase.lines {
            match lines.iter_mut().find(|(p, _)| *p == line.product_id) {
                Some((_, units)) => *units = units.saturating_add(line.units),
                None => lines.push((line.product_id, line.units)),
            }
        }
        let paired: Vec<uuid::Uuid> = lines
            .iter()
            .take(MAX_PAIR_LINES)
            .map(|(p, _)| p.as_uuid())
            .collect();
        let ids: Vec<uuid::Uuid> = lines.iter().map(|(p, _)| p.as_uuid()).collect();
        let weights: Vec<f64> = lines
            .iter()
            .map(|(_, units)| sale_weight(*units, purchase.at))
            .collect();
        sqlx::query(
            "INSERT INTO commerce.rec_orders AS o (product_id, orders)
             SELECT id, 1 FROM unnest($1::uuid[]) AS id ORDER BY id
             ON CONFLICT (product_id) DO UPDATE SET orders = o.orders + 1",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO commerce.rec_pairs AS p (product_id, other_id, together)
             SELECT a, b, 1 FROM unnest($1::uuid[]) AS a, unnest($1::uuid[]) AS b
              WHERE a <> b ORDER BY a, b
             ON CONFLICT (product_id, other_id) DO UPDATE SET together = p.together + 1",
        )
        .bind(&paired)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO commerce.rec_popular AS r (category_id, product_id, score)
             SELECT c, l.id, l.w
               FROM unnest($1::uuid[], $2::float8[]) AS l (id, w)
               LEFT JOIN commerce.rec_products s ON s.product_id = l.id
               CROSS JOIN LATERAL unnest(coalesce(s.category_ids, '{}') || $3::uuid) AS c
              ORDER BY c, l.id
             ON CONFLICT (category_id, product_id) DO UPDATE SET score =
                 greatest(r.score, EXCLUDED.score)
                 + ln(1 + power(2::float8, -abs(r.score - EXCLUDED.score))) / ln(2::float8)",
        )
        .bind(&ids)
        .bind(&weights)
        .bind(ALL_CATEGORIES.as_uuid())
        .execute(&mut *tx)
        .await?;
        if let Some(customer) = purchase.customer_id {
            sqlx::query(
                "INSERT INTO commerce.rec_purchases AS p (customer_id, product_id, last_at)
                 SELECT $1, id, $3 FROM unnest($2::uuid[]) AS id ORDER BY id
                 ON CONFLICT (customer_id, product_id)
                 DO UPDATE SET last_at = greatest(p.last_at, EXCLUDED.last_at)",
            )
            .bind(customer.as_uuid())
            .bind(&ids)
            .bind(purchase.at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

#[async_trait]
impl RecommendStore for PgRecommendStore {
    async fn upsert_signals(&self, signals: &ProductSignals) -> Result<()> {
        let categories: Vec<uuid::Uuid> =
            signals.category_ids.iter().map(|c| c.as_uuid()).collect();
        sqlx::query(
            "INSERT INTO commerce.rec_products (product_id, category_ids, terms, active, in_stock)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (product_id) DO UPDATE SET category_ids = EXCLUDED.category_ids,
                 terms = EXCLUDED.terms, active = EXCLUDED.active, in_stock = EXCLUDED.in_stock",
        )
        .bind(signals.product_id.as_uuid())
        .bind(&categories)
        .bind(&signals.terms)
        .bind(signals.active)
        .bind(signals.in_stock)
        .execute(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        Ok(())
    }

    async fn signals(&self, product_id: ProductId) -> Result<Option<ProductSignals>> {
        let row = sqlx::query("SELECT * FROM commerce.rec_products WHERE product_id = $1")
            .bind(product_id.as_uuid())
            .fetch_optional(&self.reads)
            .await
            .map_err(Error::from_db)?;
        row.map(|r| {
            let categories: Vec<uuid::Uuid> = r.try_get("category_ids").map_err(Error::backend)?;
            Ok(ProductSignals {
                product_id,
                category_ids: categories.into_iter().map(CategoryId::from_uuid).collect(),
                terms: r.try_get("terms").map_err(Error::backend)?,
                active: r.try_get("active").map_err(Error::backend)?,
                in_stock: r.try_get("in_stock").map_err(Error::backend)?,
            })
        })
        .transpose()
    }

    async fn record_purchase(&self, purchase: &Purchase) -> Result<bool> {
        retrying("record purchase", || self.try_record(purchase)).await
    }

    async fn bought_together(
        &self,
        anchors: &[ProductId],
        exclude: &[ProductId],
        limit_: u32,
    ) -> Result<Vec<Scored>> {
        let rows = sqlx::query(
            "SELECT c.other_id AS product_id,
                    sum(c.together::float8 / sqrt(na.orders::float8 * nb.orders::float8)) AS score
               FROM (SELECT DISTINCT id FROM unnest($1::uuid[]) AS id) AS a
               CROSS JOIN LATERAL (
                    SELECT other_id, together FROM commerce.rec_pairs
                     WHERE product_id = a.id
                     ORDER BY together DESC, other_id LIMIT $4) AS c
               JOIN commerce.rec_orders na ON na.product_id = a.id
               JOIN commerce.rec_orders nb ON nb.product_id = c.other_id
               JOIN commerce.rec_products s ON s.product_id = c.other_id AND s.active AND s.in_stock
              WHERE c.other_id <> ALL ($1) AND c.other_id <> ALL ($2)
              GROUP BY c.other_id
              ORDER BY score DESC, c.other_id LIMIT $3",
        )
        .bind(uuids(anchors))
        .bind(uuids(exclude))
        .bind(limit(limit_))
        .bind(i64::from(PAIR_CANDIDATES))
        .fetch_all(&self.reads)
        .await
        .map_err(Error::from_db)?;
        // Re-rank in Rust so ties and float sums order exactly as in memory.
        Ok(rank(scored(rows)?, limit_))
    }

    async fn similar(
        &self,
        product_id: ProductId,
        exclude: &[ProductId],
        limit_: u32,
    ) -> Result<Vec<Scored>> {
        let rows = sqlx::query(
            "SELECT p.product_id,
                    ((SELECT count(*) FROM unnest(p.terms) t WHERE t = ANY (a.terms))
                     + 2 * (SELECT count(*) FROM unnest(p.category_ids) c WHERE c = ANY (a.category_ids))
                    )::float8 AS score
               FROM commerce.rec_products a
               JOIN commerce.rec_products p
                 ON (p.terms && a.terms OR p.category_ids && a.category_ids)
              WHERE a.product_id = $1 AND p.product_id <> $1 AND p.active AND p.in_stock
                AND p.product_id <> ALL ($2)
              ORDER BY score DESC, p.product_id LIMIT $3",
        )
        .bind(product_id.as_uuid())
        .bind(uuids(exclude))
        .bind(limit(limit_))
        .fetch_all(&self.reads)
        .await
        .map_err(Error::from_db)?;
        scored(rows)
    }

    async fn popular(
        &self,
        category_id: CategoryId,
        exclude: &[ProductId],
        limit_: u32,
    ) -> Result<Vec<Scored>> {
        let rows = sqlx::query(
            "SELECT r.product_id, r.score
               FROM commerce.rec_popular r
               JOIN commerce.rec_products s ON s.product_id = r.product_id AND s.active AND s.in_stock
              WHERE r.category_id = $1 AND r.product_id <> ALL ($2)
              ORDER BY r.score DESC, r.product_id LIMIT $3",
        )
        .bind(category_id.as_uuid())
        .bind(uuids(exclude))
        .bind(limit(limit_))
        .fetch_all(&self.reads)
        .await
        .map_err(Error::from_db)?;
        scored(rows)
    }

    async fn purchased(&self, customer_id: CustomerId, limit_: u32) -> Result<Vec<ProductId>> {
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT product_id FROM commerce.rec_purchases WHERE customer_id = $1
              ORDER BY last_at DESC, product_id LIMIT $2",
        )
        .bind(customer_id.as_uuid())
        .bind(i64::from(limit_))
        .fetch_all(&self.reads)
        .await
        .map_err(Error::from_db)?;
        Ok(ids.into_iter().map(ProductId::from_uuid).collect())
    }

    async fn save_for_you(&self, customer_id: CustomerId, list: &[Scored]) -> Result<()> {
        let kept = &list[..list.len().min(MAX_LIST as usize)];
        let ids: Vec<uuid::Uuid> = kept.iter().map(|s| s.product_id.as_uuid()).collect();
        let scores: Vec<f64> = kept.iter().map(|s| s.score).collect();
        sqlx::query(
            "INSERT INTO commerce.rec_for_you (customer_id, product_ids, scores, computed_at)
             VALUES ($1, $2, $3, now())
             ON CONFLICT (customer_id) DO UPDATE SET product_ids = EXCLUDED.product_ids,
                 scores = EXCLUDED.scores, computed_at = EXCLUDED.computed_at",
        )
        .bind(customer_id.as_uuid())
        .bind(&ids)
        .bind(&scores)
        .execute(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        Ok(())
    }

    async fn for_you(&self, customer_id: CustomerId, limit_: u32) -> Result<Option<Vec<Scored>>> {
        // One statement: the stored row (a flag row when it has no item), its items
        // that are recommendable and not bought, in stored order.
        let rows = sqlx::query(
            "SELECT l.product_id, l.score, l.n
               FROM commerce.rec_for_you f
               CROSS JOIN LATERAL (
                    SELECT i.product_id, i.score, i.n
                      FROM unnest(f.product_ids, f.scores) WITH ORDINALITY AS i (product_id, score, n)
                      JOIN commerce.rec_products s ON s.product_id = i.product_id
                                                  AND s.active AND s.in_stock
                     WHERE NOT EXISTS (SELECT 1 FROM commerce.rec_purchases p
                                        WHERE p.customer_id = f.customer_id
                                          AND p.product_id = i.product_id)
                    UNION ALL SELECT NULL, NULL, 0) AS l
              WHERE f.customer_id = $1
              ORDER BY l.n LIMIT $2 + 1",
        )
        .bind(customer_id.as_uuid())
        .bind(limit(limit_))
        .fetch_all(&self.reads)
        .await
        .map_err(Error::from_db)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut list = Vec::new();
        for r in rows {
            let id: Option<uuid::Uuid> = r.try_get("product_id").map_err(Error::backend)?;
            let score: Option<f64> = r.try_get("score").map_err(Error::backend)?;
            if let (Some(id), Some(score)) = (id, score) {
                list.push(Scored {
                    product_id: ProductId::from_uuid(id),
                    score,
                });
            }
        }
        Ok(Some(list))
    }
}
