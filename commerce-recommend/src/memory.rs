//! The in-memory [`RecommendStore`]: the reference behaviour.

use std::collections::{HashMap, HashSet};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use commerce_core::{CategoryId, CustomerId, EventId, ProductId};

use crate::decay::{add_log2, sale_weight};
use crate::error::Result;
use crate::model::{ALL_CATEGORIES, ProductSignals, Purchase, Scored};
use crate::ports::{MAX_LIST, MAX_PAIR_LINES, PAIR_CANDIDATES, RecommendStore, rank};

#[derive(Debug, Default)]
struct Tables {
    signals: HashMap<ProductId, ProductSignals>,
    recorded: HashSet<EventId>,
    orders: HashMap<ProductId, u64>,
    pairs: HashMap<ProductId, HashMap<ProductId, u64>>,
    popular: HashMap<CategoryId, HashMap<ProductId, f64>>,
    purchased: HashMap<CustomerId, HashMap<ProductId, DateTime<Utc>>>,
    for_you: HashMap<CustomerId, Vec<Scored>>,
}

impl Tables {
    /// Records `purchase` unless its event was; whether it was now.
    fn record(&mut self, purchase: &Purchase) -> bool {
        if !self.recorded.insert(purchase.event_id) {
            return false;
        }
        let lines = distinct_lines(purchase);
        for (p, _) in &lines {
            *self.orders.entry(*p).or_default() += 1;
        }
        let paired: Vec<ProductId> = lines.iter().take(MAX_PAIR_LINES).map(|l| l.0).collect();
        for a in &paired {
            for b in &paired {
                if a != b {
                    *self.pairs.entry(*a).or_default().entry(*b).or_default() += 1;
                }
            }
        }
        for (p, units) in &lines {
            let weight = sale_weight(*units, purchase.at);
            let mut categories = vec![ALL_CATEGORIES];
            if let Some(s) = self.signals.get(p) {
                categories.extend(s.category_ids.iter().copied());
            }
            for c in categories {
                let score = self
                    .popular
                    .entry(c)
                    .or_default()
                    .entry(*p)
                    .or_insert(f64::NEG_INFINITY);
                *score = if score.is_finite() {
                    add_log2(*score, weight)
                } else {
                    weight
                };
            }
            if let Some(customer) = purchase.customer_id {
                let at = self
                    .purchased
                    .entry(customer)
                    .or_default()
                    .entry(*p)
                    .or_insert(purchase.at);
                *at = (*at).max(purchase.at);
            }
        }
        true
    }

    fn eligible(&self, id: &ProductId) -> bool {
        self.signals
            .get(id)
            .is_some_and(ProductSignals::recommendable)
    }
}

/// Recommendation tables in memory (one lock; reads share it).
#[derive(Debug, Default)]
pub struct MemoryRecommendStore {
    tables: RwLock<Tables>,
}

impl MemoryRecommendStore {
    /// Empty tables.
    pub fn new() -> Self {
        MemoryRecommendStore::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Tables> {
        self.tables
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.tables
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The distinct products of a purchase with their units, first lines first.
pub(crate) fn distinct_lines(purchase: &Purchase) -> Vec<(ProductId, u32)> {
    let mut out: Vec<(ProductId, u32)> = Vec::new();
    for line in &purchase.lines {
        match out.iter_mut().find(|(p, _)| *p == line.product_id) {
            Some((_, units)) => *units = units.saturating_add(line.units),
            None => out.push((line.product_id, line.units)),
        }
    }
    out
}

#[async_trait]
impl RecommendStore for MemoryRecommendStore {
    async fn upsert_signals(&self, signals: &ProductSignals) -> Result<()> {
        self.write()
            .signals
            .insert(signals.product_id, signals.clone());
        Ok(())
    }

    async fn signals(&self, product_id: ProductId) -> Result<Option<ProductSignals>> {
        Ok(self.read().signals.get(&product_id).cloned())
    }

    async fn record_purchase(&self, purchase: &Purchase) -> Result<bool> {
        Ok(self.write().record(purchase))
    }

    async fn record_purchases(&self, purchases: &[Purchase]) -> Result<Vec<bool>> {
        let mut t = self.write();
        Ok(purchases.iter().map(|p| t.record(p)).collect())
    }

    async fn bought_together(
        &self,
        anchors: &[ProductId],
        exclude: &[ProductId],
        limit: u32,
    ) -> Result<Vec<Scored>> {
        let t = self.read();
        let mut scores: HashMap<ProductId, f64> = HashMap::new();
        let anchors: HashSet<&ProductId> = anchors.iter().collect();
        for a in &anchors {
            let Some(row) = t.pairs.get(a) else { continue };
            let n_a = t.orders.get(a).copied().unwrap_or(1) as f64;
            let mut candidates: Vec<(&ProductId, &u64)> = row.iter().collect();
            candidates.sort_by(|x, y| y.1.cmp(x.1).then_with(|| x.0.cmp(y.0)));
            for (b, together) in candidates.into_iter().take(PAIR_CANDIDATES as usize) {
                if anchors.contains(b) || exclude.contains(b) || !t.eligible(b) {
                    continue;
                }
                let n_b = t.orders.get(b).copied().unwrap_or(1) as f64;
                *scores.entry(*b).or_default() += *together as f64 / (n_a * n_b).sqrt();
            }
        }
        Ok(rank(
            scores
                .into_iter()
                .map(|(product_id, score)| Scored { product_id, score })
                .collect(),
            limit,
        ))
    }

    async fn similar(
        &self,
        product_id: ProductId,
        exclude: &[ProductId],
        limit: u32,
    ) -> Result<Vec<Scored>> {
        let t = self.read();
        let Some(anchor) = t.signals.get(&product_id) else {
            return Ok(Vec::new());
        };
        let list = t
            .signals
            .values()
            .filter(|s| s.product_id != product_id && s.recommendable())
            .filter(|s| !exclude.contains(&s.product_id))
            .filter_map(|s| {
                let terms = s.terms.iter().filter(|w| anchor.terms.contains(w)).count();
                let categories = s
                    .category_ids
                    .iter()
                    .filter(|c| anchor.category_ids.contains(c))
                    .count();
                let score = (terms + 2 * categories) as f64;
                (score > 0.0).then_some(Scored {
                    product_id: s.product_id,
                    score,
                })
            })
            .collect();
        Ok(rank(list, limit))
    }

    async fn popular(
        &self,
        category_id: CategoryId,
        exclude: &[ProductId],
        limit: u32,
    ) -> Result<Vec<Scored>> {
        let t = self.read();
        let Some(row) = t.popular.get(&category_id) else {
            return Ok(Vec::new());
        };
        let list = row
            .iter()
            .filter(|(p, _)| !exclude.contains(p) && t.eligible(p))
            .map(|(p, s)| Scored {
                product_id: *p,
                score: *s,
            })
            .collect();
        Ok(rank(list, limit))
    }

    async fn purchased(&self, customer_id: CustomerId, limit: u32) -> Result<Vec<ProductId>> {
        let t = self.read();
        let mut list: Vec<(ProductId, DateTime<Utc>)> = t
            .purchased
            .get(&customer_id)
            .map(|m| m.iter().map(|(p, at)| (*p, *at)).collect())
            .unwrap_or_default();
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        list.truncate(limit as usize);
        Ok(list.into_iter().map(|(p, _)| p).collect())
    }

    async fn save_for_you(&self, customer_id: CustomerId, list: &[Scored]) -> Result<()> {
        let kept = list.iter().take(MAX_LIST as usize).copied().collect();
        self.write().for_you.insert(customer_id, kept);
        Ok(())
    }

    async fn for_you(&self, customer_id: CustomerId, limit: u32) -> Result<Option<Vec<Scored>>> {
        let t = self.read();
        let Some(list) = t.for_you.get(&customer_id) else {
            return Ok(None);
        };
        let bought = t.purchased.get(&customer_id);
        Ok(Some(
            list.iter()
                .filter(|s| t.eligible(&s.product_id))
                .filter(|s| bought.is_none_or(|b| !b.contains_key(&s.product_id)))
                .take(limit.min(MAX_LIST) as usize)
                .copied()
                .collect(),
        ))
    }
}
