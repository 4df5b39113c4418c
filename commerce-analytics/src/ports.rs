//! The `AnalyticsStore` port.

use async_trait::async_trait;

use commerce_core::EventId;
use commerce_orders::OrderId;

use crate::error::Result;
use crate::model::{
    Change, CounterRow, DateRange, EventChanges, KeyTotal, Metric, OrderFact, StockLevel,
};

/// Where the rollups live. Reads touch only the rows of the metric and the days
/// asked for, never orders.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// Applies the changes of event `event` in one atomic step, once: returns `false`
    /// and changes nothing when `event` was applied before (a redelivered event
    /// counts once).
    async fn apply(&self, event: EventId, changes: &[Change]) -> Result<bool>;

    /// Applies a batch of events in one atomic step (all of it or nothing), each
    /// once, as [`AnalyticsStore::apply`] on each in order would: an event applied
    /// before, or earlier in the same batch, changes nothing. Returns, per element,
    /// whether this call applied it. The cost does not grow with round trips per
    /// event (a backend applies the batch in a fixed number of statements).
    async fn apply_batch(&self, batch: &[EventChanges]) -> Result<Vec<bool>>;

    /// Those of `events` that were applied before, in no particular order.
    async fn applied(&self, events: &[EventId]) -> Result<Vec<EventId>>;

    /// The fact of an order, if its `order.placed` was seen.
    async fn order_fact(&self, order: OrderId) -> Result<Option<OrderFact>>;

    /// The facts of those of `orders` whose `order.placed` was seen, in no
    /// particular order (one read for a batch).
    async fn order_facts(&self, orders: &[OrderId]) -> Result<Vec<OrderFact>>;

    /// The rows of `metric` for the days of `range`, ordered by day, key, currency.
    async fn daily(&self, metric: Metric, range: DateRange) -> Result<Vec<CounterRow>>;

    /// The rows of `metric` over `range` summed per `(key, currency)`, ordered by
    /// amount then units then count (all descending), then key; at most `limit`.
    async fn totals(&self, metric: Metric, range: DateRange, limit: u32) -> Result<Vec<KeyTotal>>;

    /// Stock levels with `available <= threshold`, lowest first (then SKU,
    /// location); at most `limit`.
    async fn low_stock(&self, threshold: u64, limit: u32) -> Result<Vec<StockLevel>>;
}
