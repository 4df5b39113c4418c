//! What the rollups store: counters per day, the facts of orders still being counted,
//! and the latest stock level of each SKU.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use commerce_core::{EventId, Sku};
use commerce_orders::OrderId;

use crate::error::{Error, Result};

/// A figure counted per day. Each has its own rows keyed by `(day, key, currency)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Metric {
    /// Confirmed orders: count, units, revenue (grand totals). Key empty.
    Orders,
    /// Units and revenue (line totals) of confirmed orders per product. Key: product id
    /// (the SKU when the product is unknown).
    Product,
    /// Units and revenue of confirmed orders per category. Key: category id
    /// (`uncategorized` when none).
    Category,
    /// Confirmed orders per payment method kind. Key: the kind (`card`, `wallet`...).
    PaymentMethod,
    /// Refunds: count and amount. Key empty.
    Refunds,
    /// Orders cancelled. Key empty, no currency.
    Cancellations,
    /// Funnel: carts created. Key empty, no currency.
    CartsCreated,
    /// Funnel: checkouts started (orders placed, pending payment). Key empty, no
    /// currency.
    CheckoutsStarted,
    /// Funnel: orders confirmed. Key empty, no currency.
    OrdersConfirmed,
    /// Reservations that expired (abandoned checkouts). Key empty, no currency.
    ReservationExpiries,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 10] = [
        Metric::Orders,
        Metric::Product,
        Metric::Category,
        Metric::PaymentMethod,
        Metric::Refunds,
        Metric::Cancellations,
        Metric::CartsCreated,
        Metric::CheckoutsStarted,
        Metric::OrdersConfirmed,
        Metric::ReservationExpiries,
    ];

    /// Stable text form (stored in databases).
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Orders => "orders",
            Metric::Product => "product",
            Metric::Category => "category",
            Metric::PaymentMethod => "payment_method",
            Metric::Refunds => "refunds",
            Metric::Cancellations => "cancellations",
            Metric::CartsCreated => "carts_created",
            Metric::CheckoutsStarted => "checkouts_started",
            Metric::OrdersConfirmed => "orders_confirmed",
            Metric::ReservationExpiries => "reservation_expiries",
        }
    }

    /// Parses [`Metric::as_str`]; `Validation` for anything else.
    pub fn parse(s: &str) -> Result<Metric> {
        Metric::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| Error::validation("metric", format!("unknown metric {s:?}")))
    }
}

/// The identity of a counter row.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CounterKey {
    /// UTC day the counted events happened.
    pub day: NaiveDate,
    /// The figure.
    pub metric: Metric,
    /// What within the figure (product id, category id, method kind; empty if none).
    pub key: String,
    /// ISO 4217 code of `amount`; empty for figures without an amount.
    pub currency: String,
}

/// An addition to one counter row (counters only grow by increments, each applied
/// once per event).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Increment {
    /// Which row.
    pub counter: CounterKey,
    /// Name shown for `counter.key` (product title, category name); the latest wins.
    pub label: String,
    /// How many (orders, refunds, carts...).
    pub count: i64,
    /// Units (products sold).
    pub units: i64,
    /// Money, in `counter.currency`.
    pub amount: Decimal,
}

/// A counter row as read back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CounterRow {
    /// Which row.
    pub counter: CounterKey,
    /// Name shown for `counter.key`.
    pub label: String,
    /// Sum of the increments' counts.
    pub count: i64,
    /// Sum of the increments' units.
    pub units: i64,
    /// Sum of the increments' amounts.
    pub amount: Decimal,
}

/// Totals of one key of a metric over a date range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyTotal {
    /// What within the metric.
    pub key: String,
    /// Its latest label.
    pub label: String,
    /// Currency of `amount` (empty if none).
    pub currency: String,
    /// Summed count.
    pub count: i64,
    /// Summed units.
    pub units: i64,
    /// Summed amount.
    pub amount: Decimal,
}

/// A line of an order kept until the order is confirmed, with what the catalog said
/// about its SKU when the order was placed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FactLine {
    /// The SKU.
    pub sku: Sku,
    /// Product key (product id, or the SKU when the catalog did not know it).
    pub product_key: String,
    /// Product title.
    pub product_label: String,
    /// Category key (first category of the product, or `uncategorized`).
    pub category_key: String,
    /// Category name.
    pub category_label: String,
    /// Units.
    pub quantity: u32,
    /// Line total.
    pub total: Decimal,
}

/// What the consumer remembers of an order between `order.placed` and
/// `order.confirmed` (events carry ids, the facts carry what to count).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrderFact {
    /// The order.
    pub order_id: OrderId,
    /// ISO 4217 code.
    pub currency: String,
    /// Grand total.
    pub grand_total: Decimal,
    /// Units over all lines.
    pub units: u64,
    /// The lines.
    pub lines: Vec<FactLine>,
    /// Payment method kind once authorized (`card`, `wallet`...).
    pub payment_method: Option<String>,
    /// Whether the confirmation was counted.
    pub confirmed: bool,
}

/// The latest stock level of a SKU at a location.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// The SKU.
    pub sku: Sku,
    /// The location code.
    pub location: String,
    /// Units on hand.
    pub on_hand: u64,
    /// Units reserved.
    pub reserved: u64,
    /// Units sellable now (`on_hand - reserved`, at least 0).
    pub available: u64,
}

/// One change of an event's effect; an event's changes are applied in one atomic step.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Adds to a counter row (creating it at zero).
    Add(Increment),
    /// Inserts or replaces the fact of an order.
    PutFact(OrderFact),
    /// Inserts or replaces the stock level of `(sku, location)`.
    PutStock(StockLevel),
}

/// One event's changes, as an element of a batch
/// ([`crate::AnalyticsStore::apply_batch`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct EventChanges {
    /// The event (its id deduplicates: an event counts once).
    pub event: EventId,
    /// Its changes, applied together.
    pub changes: Vec<Change>,
}

impl EventChanges {
    /// The changes of `event`.
    pub fn new(event: EventId, changes: Vec<Change>) -> Self {
        EventChanges { event, changes }
    }
}

/// An inclusive range of UTC days; built with [`DateRange::new`], which checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DateRange {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
}

impl DateRange {
    /// Longest range a report covers (about three years).
    pub const MAX_DAYS: i64 = 1100;

    /// `Validation` when `to` is before `from` or the range is longer than
    /// [`DateRange::MAX_DAYS`].
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<DateRange> {
        if to < from {
            return Err(Error::validation("to", "the range ends before it starts"));
        }
        if (to - from).num_days() >= Self::MAX_DAYS {
            return Err(Error::validation(
                "to",
                format!("a range covers at most {} days", Self::MAX_DAYS),
            ));
        }
        Ok(DateRange { from, to })
    }

    /// The days of the range, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.from.iter_days().take_while(|d| *d <= self.to)
    }

    /// Whether `day` is inside.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}
