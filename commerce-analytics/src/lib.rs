//! Admin analytics for `commerce`: an outbox consumer ([`RollupConsumer`]) turns
//! order, payment, refund, cart and inventory events into rollups kept by an
//! [`AnalyticsStore`]; [`Analytics`] reads a [`Dashboard`] over a date range from the
//! rollups alone (never from orders); [`export`] writes each figure as CSV and
//! [`chart`] draws them as SVG.
//!
//! ```
//! # async fn demo() -> Result<(), commerce_analytics::Error> {
//! use std::sync::Arc;
//! use commerce_analytics::{Analytics, DashboardOptions, DateRange, MemoryAnalyticsStore};
//! let store = Arc::new(MemoryAnalyticsStore::new());
//! let today = chrono::Utc::now().date_naive();
//! let range = DateRange::new(today - chrono::Days::new(29), today)?;
//! let dashboard = Analytics::new(store).dashboard(range, DashboardOptions::default()).await?;
//! assert!(dashboard.summary.is_empty());
//! # Ok(()) }
//! ```

pub mod chart;
pub mod consumer;
pub mod error;
pub mod export;
pub mod memory;
pub mod model;
pub mod ports;
pub mod report;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use consumer::{GROUP, RollupConsumer};
pub use error::{Error, Result};
pub use export::{Figure, to_csv};
pub use memory::MemoryAnalyticsStore;
pub use model::{
    Change, CounterKey, CounterRow, DateRange, EventChanges, FactLine, Increment, KeyTotal, Metric,
    OrderFact, StockLevel,
};
pub use ports::AnalyticsStore;
pub use report::{
    Analytics, CurrencySummary, Dashboard, DashboardOptions, DayCount, DayFigures, Funnel,
    FunnelDay, Ranked,
};

/// The storage ports under their former module name; use [`ports`].
#[doc(hidden)]
pub use ports as store;
