//! The in-memory `AnalyticsStore`: the reference behaviour and the embedded default.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use commerce_core::EventId;
use commerce_orders::OrderId;

use crate::error::{Error, Result};
use crate::model::{
    Change, CounterKey, CounterRow, DateRange, EventChanges, KeyTotal, Metric, OrderFact,
    StockLevel,
};
use crate::ports::AnalyticsStore;

#[derive(Default)]
struct State {
    applied: HashSet<EventId>,
    counters: BTreeMap<CounterKey, CounterRow>,
    facts: HashMap<OrderId, OrderFact>,
    stock: BTreeMap<(String, String), StockLevel>,
}

impl State {
    /// Applies `changes` of `event` unless it was applied; whether it was now.
    fn apply(&mut self, event: EventId, changes: &[Change]) -> bool {
        if !self.applied.insert(event) {
            return false;
        }
        for change in changes {
            match change {
                Change::Add(inc) => {
                    let row =
                        self.counters
                            .entry(inc.counter.clone())
                            .or_insert_with(|| CounterRow {
                                counter: inc.counter.clone(),
                                label: String::new(),
                                count: 0,
                                units: 0,
                                amount: rust_decimal::Decimal::ZERO,
                            });
                    row.label.clone_from(&inc.label);
                    row.count += inc.count;
                    row.units += inc.units;
                    row.amount += inc.amount;
                }
                Change::PutFact(fact) => {
                    self.facts.insert(fact.order_id, fact.clone());
                }
                Change::PutStock(level) => {
                    self.stock.insert(
                        (level.sku.as_str().to_owned(), level.location.clone()),
                        level.clone(),
                    );
                }
            }
        }
        true
    }
}

/// Rollups in a mutex-guarded map. Each `apply` or `apply_batch` is one critical
/// section.
#[derive(Default)]
pub struct MemoryAnalyticsStore {
    state: Mutex<State>,
}

impl MemoryAnalyticsStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::backend("analytics store mutex poisoned"))
    }
}

/// Sorts totals as [`AnalyticsStore::totals`] promises.
pub(crate) fn sort_totals(totals: &mut [KeyTotal]) {
    totals.sort_by(|a, b| {
        b.amount
            .cmp(&a.amount)
            .then(b.units.cmp(&a.units))
            .then(b.count.cmp(&a.count))
            .then(a.key.cmp(&b.key))
            .then(a.currency.cmp(&b.currency))
    });
}

#[async_trait]
impl AnalyticsStore for MemoryAnalyticsStore {
    async fn apply(&self, event: EventId, changes: &[Change]) -> Result<bool> {
        Ok(self.lock()?.apply(event, changes))
    }

    async fn apply_batch(&self, batch: &[EventChanges]) -> Result<Vec<bool>> {
        let mut state = self.lock()?;
        Ok(batch
            .iter()
            .map(|e| state.apply(e.event, &e.changes))
            .collect())
    }

    async fn applied(&self, events: &[EventId]) -> Result<Vec<EventId>> {
        let state = self.lock()?;
        let mut seen = HashSet::new();
        Ok(events
            .iter()
            .filter(|e| state.applied.contains(e) && seen.insert(**e))
            .copied()
            .collect())
    }

    async fn order_fact(&self, order: OrderId) -> Result<Option<OrderFact>> {
        Ok(self.lock()?.facts.get(&order).cloned())
    }

    async fn order_facts(&self, orders: &[OrderId]) -> Result<Vec<OrderFact>> {
        let state = self.lock()?;
        let wanted: HashSet<&OrderId> = orders.iter().collect();
        Ok(wanted
            .into_iter()
            .filter_map(|o| state.facts.get(o).cloned())
            .collect())
    }

    async fn daily(&self, metric: Metric, range: DateRange) -> Result<Vec<CounterRow>> {
        let state = self.lock()?;
        let mut rows: Vec<CounterRow> = state
            .counters
            .values()
            .filter(|r| r.counter.metric == metric && range.contains(r.counter.day))
            .cloned()
            .collect();
        rows.sort_by(|a, b| {
            (a.counter.day, &a.counter.key, &a.counter.currency).cmp(&(
                b.counter.day,
                &b.counter.key,
                &b.counter.currency,
            ))
        });
        Ok(rows)
    }

    async fn totals(&self, metric: Metric, range: DateRange, limit: u32) -> Result<Vec<KeyTotal>> {
        let rows = self.daily(metric, range).await?;
        let mut by_key: BTreeMap<(String, String), KeyTotal> = BTreeMap::new();
        for row in rows {
            let total = by_key
                .entry((row.counter.key.clone(), row.counter.currency.clone()))
                .or_insert_with(|| KeyTotal {
                    key: row.counter.key.clone(),
                    label: String::new(),
                    currency: row.counter.currency.clone(),
                    count: 0,
                    units: 0,
                    amount: rust_decimal::Decimal::ZERO,
                });
            // Rows come by day: the last one seen carries the latest label.
            total.label = row.label;
            total.count += row.count;
            total.units += row.units;
            total.amount += row.amount;
        }
        let mut totals: Vec<KeyTotal> = by_key.into_values().collect();
        sort_totals(&mut totals);
        totals.truncate(limit as usize);
        Ok(totals)
    }

    async fn low_stock(&self, threshold: u64, limit: u32) -> Result<Vec<StockLevel>> {
        let state = self.lock()?;
        let mut low: Vec<StockLevel> = state
            .stock
            .values()
            .filter(|s| s.available <= threshold)
            .cloned()
            .collect();
        low.sort_by(|a, b| {
            (a.available, a.sku.as_str(), &a.location).cmp(&(
                b.available,
                b.sku.as_str(),
                &b.location,
            ))
        });
        low.truncate(limit as usize);
        Ok(low)
    }
}
