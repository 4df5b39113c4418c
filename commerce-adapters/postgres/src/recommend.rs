//! [`PgRecommendStore`]: the precomputed recommendation tables on PostgreSQL.
//!
//! Recording a purchase, or a batch of them, is one transaction of a fixed number of
//! statements: the event ids are inserted first (those already there, even by a
//! concurrent call, change nothing; none new stops there), then what the new
//! purchases add to per-product order counts, pair counts, popularity and the
//! customers' purchases, summed per row in Rust, each one statement with rows in key
//! order (concurrent recordings lock in the same order). Reads are one
//! statement each over indexed tables.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use commerce_core::{CategoryId, CustomerId, ProductId};
use commerce_recommend::decay::{add_log2, sale_weight};
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

    /// Records `purchases` in one transaction of at most seven statements,
    /// whatever their number (see the module documentation).
    async fn try_record(
        &self,
        purchases: &[Purchase],
    ) -> std::result::Result<Vec<bool>, Failure<Error>> {
        if purchases.is_empty() {
            return Ok(Vec::new());
        }
        let mut first = HashSet::new();
        let unique: Vec<bool> = purchases.iter().map(|p| first.insert(p.event_id)).collect();
        let mut ids: Vec<uuid::Uuid> = first.iter().map(|e| e.as_uuid()).collect();
        ids.sort_unstable();
        let mut tx = self.shared.pool.begin().await?;
        let fresh: HashSet<uuid::Uuid> = sqlx::query_scalar(
            "INSERT INTO commerce.rec_events (event_id, recorded_at)
             SELECT id, now() FROM unnest($1::uuid[]) AS id ORDER BY id
             ON CONFLICT DO NOTHING RETURNING event_id",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let done: Vec<bool> = purchases
            .iter()
            .zip(&unique)
            .map(|(p, first)| *first && fresh.contains(&p.event_id.as_uuid()))
            .collect();
        if fresh.is_empty() {
            return Ok(done);
        }
        // What the new purchases add, summed per row (one statement cannot change a
        // row twice), in key order.
        let mut orders: BTreeMap<uuid::Uuid, i64> = BTreeMap::new();
        let mut pairs: BTreeMap<(uuid::Uuid, uuid::Uuid), i64> = BTreeMap::new();
        let mut weights: BTreeMap<uuid::Uuid, f64> = BTreeMap::new();
        let mut bought: BTreeMap<(uuid::Uuid, uuid::Uuid), DateTime<Utc>> = BTreeMap::new();
        for purchase in purchases
            .iter()
            .zip(&done)
            .filter(|(_, d)| **d)
            .map(|(p, _)| p)
        {
            let lines = distinct_lines(purchase);
            for (product, units) in &lines {
                let id = product.as_uuid();
                *orders.entry(id).or_default() += 1;
                let weight = sale_weight(*units, purchase.at);
                weights
                    .entry(id)
                    .and_modify(|w| *w = add_log2(*w, weight))
                    .or_insert(weight);
                if let Some(customer) = purchase.customer_id {
                    let at = bought
                        .entry((customer.as_uuid(), id))
                        .or_insert(purchase.at);
                    *at = (*at).max(purchase.at);
                }
            }
            let paired: Vec<uuid::Uuid> = lines
                .iter()
                .take(MAX_PAIR_LINES)
                .map(|(p, _)| p.as_uuid())
                .collect();
            for a in &paired {
                for b in &paired {
                    if a != b {
                        *pairs.entry((*a, *b)).or_default() += 1;
                    }
                }
            }
        }
        if !orders.is_empty() {
            let ids: Vec<uuid::Uuid> = orders.keys().copied().collect();
            let counts: Vec<i64> = orders.values().copied().collect();
            sqlx::query(
                "INSERT INTO commerce.rec_orders AS o (product_id, orders)
                 SELECT id, n FROM unnest($1::uuid[], $2::bigint[]) AS t (id, n) ORDER BY id
                 ON CONFLICT (product_id) DO UPDATE SET orders = o.orders + EXCLUDED.orders",
            )
            .bind(&ids)
            .bind(&counts)
            .execute(&mut *tx)
            .await?;
        }
        if !pairs.is_empty() {
            let a: Vec<uuid::Uuid> = pairs.keys().map(|k| k.0).collect();
            let b: Vec<uuid::Uuid> = pairs.keys().map(|k| k.1).collect();
            let n: Vec<i64> = pairs.values().copied().collect();
            sqlx::query(
                "INSERT INTO commerce.rec_pairs AS p (product_id, other_id, together)
                 SELECT a, b, n FROM unnest($1::uuid[], $2::uuid[], $3::bigint[]) AS t (a, b, n)
                  ORDER BY a, b
                 ON CONFLICT (product_id, other_id) DO UPDATE
                 SET together = p.together + EXCLUDED.together",
            )
            .bind(&a)
            .bind(&b)
            .bind(&n)
            .execute(&mut *tx)
            .await?;
        }
        if !weights.is_empty() {
            let ids: Vec<uuid::Uuid> = weights.keys().copied().collect();
            let w: Vec<f64> = weights.values().copied().collect();
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
            .bind(&w)
            .bind(ALL_CATEGORIES.as_uuid())
            .execute(&mut *tx)
            .await?;
        }
        if !bought.is_empty() {
            let customers: Vec<uuid::Uuid> = bought.keys().map(|k| k.0).collect();
            let products: Vec<uuid::Uuid> = bought.keys().map(|k| k.1).collect();
            let at: Vec<DateTime<Utc>> = bought.values().copied().collect();
            sqlx::query(
                "INSERT INTO commerce.rec_purchases AS p (customer_id, product_id, last_at)
                 SELECT c, id, at FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[])
                        AS t (c, id, at)
                  ORDER BY c, id
                 ON CONFLICT (customer_id, product_id)
                 DO UPDATE SET last_at = greatest(p.last_at, EXCLUDED.last_at)",
            )
            .bind(&customers)
            .bind(&products)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// The distinct products of a purchase with their units, first lines first.
fn distinct_lines(purchase: &Purchase) -> Vec<(ProductId, u32)> {
    let mut lines: Vec<(ProductId, u32)> = Vec::new();
    for line in &purchase.lines {
        match lines.iter_mut().find(|(p, _)| *p == line.product_id) {
            Some((_, units)) => *units = units.saturating_add(line.units),
            None => lines.push((line.product_id, line.units)),
        }
    }
    lines
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
        let done = retrying("record purchase", || {
            self.try_record(std::slice::from_ref(purchase))
        })
        .await?;
        Ok(done.first().copied().unwrap_or(false))
    }

    async fn record_purchases(&self, purchases: &[Purchase]) -> Result<Vec<bool>> {
        retrying("record purchases", || self.try_record(purchases)).await
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
