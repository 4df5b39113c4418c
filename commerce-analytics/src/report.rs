//! The figures of the admin dashboard over a date range, as serde types (the JSON of
//! `/v1/admin/analytics`), read from the rollups only.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use commerce_core::{Currency, Money, Rounding};

use crate::error::Result;
use crate::model::{DateRange, KeyTotal, Metric, StockLevel};
use crate::ports::AnalyticsStore;

/// Orders, revenue and units of one day in one currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DayFigures {
    /// The UTC day.
    pub day: NaiveDate,
    /// ISO 4217 code.
    pub currency: String,
    /// Orders confirmed.
    pub orders: i64,
    /// Revenue (grand totals of confirmed orders).
    pub revenue: Decimal,
    /// Units sold.
    pub units: i64,
    /// Refunded amount.
    pub refunded: Decimal,
}

/// Totals over the range in one currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CurrencySummary {
    /// ISO 4217 code.
    pub currency: String,
    /// Orders confirmed.
    pub orders: i64,
    /// Revenue.
    pub revenue: Decimal,
    /// Average order value (revenue / orders, half-even to the minor unit; 0 without
    /// orders).
    pub average_order_value: Decimal,
    /// Units sold.
    pub units: i64,
    /// Refunds made.
    pub refunds: i64,
    /// Amount refunded.
    pub refunded: Decimal,
    /// Revenue less refunds.
    pub net_revenue: Decimal,
}

/// Carts created, checkouts started, orders confirmed, and the rates between them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Funnel {
    /// Carts that got their first line.
    pub carts_created: i64,
    /// Checkouts started (orders placed).
    pub checkouts_started: i64,
    /// Orders confirmed (paid).
    pub orders_confirmed: i64,
    /// Percentage of carts that started a checkout (2 decimals; none without carts).
    pub cart_to_checkout_pct: Option<Decimal>,
    /// Percentage of checkouts that were confirmed.
    pub checkout_to_order_pct: Option<Decimal>,
    /// Percentage of carts that became orders.
    pub cart_to_order_pct: Option<Decimal>,
}

/// A product, a category or a payment method with its totals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ranked {
    /// Its key (product id, category id, method kind).
    pub key: String,
    /// What people read.
    pub label: String,
    /// ISO 4217 code of `revenue`.
    pub currency: String,
    /// Orders it appeared in.
    pub orders: i64,
    /// Units sold (products and categories).
    pub units: i64,
    /// Money taken.
    pub revenue: Decimal,
}

impl From<KeyTotal> for Ranked {
    fn from(t: KeyTotal) -> Self {
        Ranked {
            key: t.key,
            label: t.label,
            currency: t.currency,
            orders: t.count,
            units: t.units,
            revenue: t.amount,
        }
    }
}

/// A count on one day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DayCount {
    /// The UTC day.
    pub day: NaiveDate,
    /// How many.
    pub count: i64,
}

/// Every figure of the dashboard for a range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Dashboard {
    /// The range.
    pub range: DateRange,
    /// Per currency totals, by currency code.
    pub summary: Vec<CurrencySummary>,
    /// Every day of the range for every currency with sales or refunds in it (zero
    /// days included, so charts have no gaps), by currency then day.
    pub days: Vec<DayFigures>,
    /// The funnel over the range.
    pub funnel: Funnel,
    /// Funnel steps per day (carts, checkouts, orders), every day of the range.
    pub funnel_days: Vec<FunnelDay>,
    /// Best-selling products by revenue, the best `top` of each currency.
    pub top_products: Vec<Ranked>,
    /// Best-selling categories by revenue, the best `top` of each currency.
    pub top_categories: Vec<Ranked>,
    /// Confirmed orders per payment method.
    pub payment_methods: Vec<Ranked>,
    /// Orders cancelled in the range.
    pub cancellations: i64,
    /// Reservation expiries per day (every day of the range).
    pub reservation_expiries: Vec<DayCount>,
    /// SKUs at or under the low-stock threshold now, lowest first.
    pub low_stock: Vec<StockLevel>,
}

/// The funnel's steps on one day.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunnelDay {
    /// The UTC day.
    pub day: NaiveDate,
    /// Carts created.
    pub carts_created: i64,
    /// Checkouts started.
    pub checkouts_started: i64,
    /// Orders confirmed.
    pub orders_confirmed: i64,
}

/// Options of a dashboard read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DashboardOptions {
    /// How many products and categories to rank in each currency.
    pub top: u32,
    /// Available units at or under which a SKU is low on stock.
    pub low_stock_threshold: u64,
    /// How many low-stock SKUs to list.
    pub low_stock_limit: u32,
}

impl DashboardOptions {
    /// With the `top` longest ranked lists.
    #[must_use]
    pub fn with_top(mut self, top: u32) -> Self {
        self.top = top;
        self
    }

    /// With low stock meaning at most `threshold` units, listing at most `limit` SKUs.
    #[must_use]
    pub fn with_low_stock(mut self, threshold: u64, limit: u32) -> Self {
        self.low_stock_threshold = threshold;
        self.low_stock_limit = limit;
        self
    }
}

impl Default for DashboardOptions {
    fn default() -> Self {
        DashboardOptions {
            top: 10,
            low_stock_threshold: 5,
            low_stock_limit: 20,
        }
    }
}

/// Most ranked rows read before keeping the best of each currency.
const RANKED_SCAN: u32 = 5_000;

/// Reads the dashboard from an [`AnalyticsStore`]: a fixed number of store reads
/// (nine) whatever the number of orders.
#[derive(Clone)]
pub struct Analytics {
    store: Arc<dyn AnalyticsStore>,
}

/// `part / whole` in percent with two decimals; `None` when `whole` is 0.
pub fn percent(part: i64, whole: i64) -> Option<Decimal> {
    if whole == 0 {
        return None;
    }
    (Decimal::from(part) * Decimal::ONE_HUNDRED)
        .checked_div(Decimal::from(whole))
        .map(|p| p.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven))
}

/// `revenue / orders` rounded half-even to `currency`'s minor unit (0 without orders
/// or for an unknown code).
pub fn average_order_value(revenue: Decimal, orders: i64, currency: &str) -> Decimal {
    let Ok(c) = Currency::from_code(currency) else {
        return Decimal::ZERO;
    };
    if orders == 0 {
        return Decimal::ZERO;
    }
    match revenue.checked_div(Decimal::from(orders)) {
        Some(avg) => Money::new_unrounded(avg, c)
            .round(Rounding::HalfEven)
            .amount(),
        None => Decimal::ZERO,
    }
}

impl Dashboard {
    /// The currencies with sales or refunds in the range, by code.
    pub fn currencies(&self) -> Vec<String> {
        self.summary.iter().map(|s| s.currency.clone()).collect()
    }
}

impl Analytics {
    /// Reports over `store`.
    pub fn new(store: Arc<dyn AnalyticsStore>) -> Self {
        Analytics { store }
    }

    /// The store read from.
    pub fn store(&self) -> &Arc<dyn AnalyticsStore> {
        &self.store
    }

    /// Every figure for `range`.
    pub async fn dashboard(
        &self,
        range: DateRange,
        options: DashboardOptions,
    ) -> Result<Dashboard> {
        let orders = self.store.daily(Metric::Orders, range).await?;
        let refunds = self.store.daily(Metric::Refunds, range).await?;
        let mut per_day: BTreeMap<(String, NaiveDate), DayFigures> = BTreeMap::new();
        let currencies: std::collections::BTreeSet<String> = orders
            .iter()
            .chain(&refunds)
            .map(|r| r.counter.currency.clone())
            .collect();
        for currency in &currencies {
            for day in range.days() {
                per_day.insert(
                    (currency.clone(), day),
                    DayFigures {
                        day,
                        currency: currency.clone(),
                        orders: 0,
                        revenue: Decimal::ZERO,
                        units: 0,
                        refunded: Decimal::ZERO,
                    },
                );
            }
        }
        let mut summary: BTreeMap<String, CurrencySummary> = BTreeMap::new();
        for currency in &currencies {
            summary.insert(
                currency.clone(),
                CurrencySummary {
                    currency: currency.clone(),
                    orders: 0,
                    revenue: Decimal::ZERO,
                    average_order_value: Decimal::ZERO,
                    units: 0,
                    refunds: 0,
                    refunded: Decimal::ZERO,
                    net_revenue: Decimal::ZERO,
                },
            );
        }
        for row in &orders {
            let key = (row.counter.currency.clone(), row.counter.day);
            if let Some(d) = per_day.get_mut(&key) {
                d.orders += row.count;
                d.revenue += row.amount;
                d.units += row.units;
            }
            if let Some(s) = summary.get_mut(&row.counter.currency) {
                s.orders += row.count;
                s.revenue += row.amount;
                s.units += row.units;
            }
        }
        for row in &refunds {
            let key = (row.counter.currency.clone(), row.counter.day);
            if let Some(d) = per_day.get_mut(&key) {
                d.refunded += row.amount;
            }
            if let Some(s) = summary.get_mut(&row.counter.currency) {
                s.refunds += row.count;
                s.refunded += row.amount;
            }
        }
        for s in summary.values_mut() {
            s.average_order_value = average_order_value(s.revenue, s.orders, &s.currency);
            s.net_revenue = s.revenue - s.refunded;
        }

        let carts = self.day_counts(Metric::CartsCreated, range).await?;
        let checkouts = self.day_counts(Metric::CheckoutsStarted, range).await?;
        let confirmed = self.day_counts(Metric::OrdersConfirmed, range).await?;
        let funnel_days: Vec<FunnelDay> = range
            .days()
            .map(|day| FunnelDay {
                day,
                carts_created: carts.get(&day).copied().unwrap_or(0),
                checkouts_started: checkouts.get(&day).copied().unwrap_or(0),
                orders_confirmed: confirmed.get(&day).copied().unwrap_or(0),
            })
            .collect();
        let sum = |m: &BTreeMap<NaiveDate, i64>| m.values().sum::<i64>();
        let (c, k, o) = (sum(&carts), sum(&checkouts), sum(&confirmed));
        let funnel = Funnel {
            carts_created: c,
            checkouts_started: k,
            orders_confirmed: o,
            cart_to_checkout_pct: percent(k, c),
            checkout_to_order_pct: percent(o, k),
            cart_to_order_pct: percent(o, c),
        };
        let expiries = self.day_counts(Metric::ReservationExpiries, range).await?;
        let cancellations = self
            .store
            .daily(Metric::Cancellations, range)
            .await?
            .iter()
            .map(|r| r.count)
            .sum();
        Ok(Dashboard {
            range,
            summary: summary.into_values().collect(),
            days: per_day.into_values().collect(),
            funnel,
            funnel_days,
            top_products: self.ranked(Metric::Product, range, options.top).await?,
            top_categories: self.ranked(Metric::Category, range, options.top).await?,
            payment_methods: self.ranked(Metric::PaymentMethod, range, 100).await?,
            cancellations,
            reservation_expiries: range
                .days()
                .map(|day| DayCount {
                    day,
                    count: expiries.get(&day).copied().unwrap_or(0),
                })
                .collect(),
            low_stock: self
                .store
                .low_stock(options.low_stock_threshold, options.low_stock_limit)
                .await?,
        })
    }

    async fn day_counts(
        &self,
        metric: Metric,
        range: DateRange,
    ) -> Result<BTreeMap<NaiveDate, i64>> {
        let mut out = BTreeMap::new();
        for row in self.store.daily(metric, range).await? {
            *out.entry(row.counter.day).or_insert(0) += row.count;
        }
        Ok(out)
    }

    /// The best `limit` keys of each currency (amounts of different currencies are
    /// never ranked against each other), in the store's order.
    async fn ranked(&self, metric: Metric, range: DateRange, limit: u32) -> Result<Vec<Ranked>> {
        let mut per_currency: BTreeMap<String, u32> = BTreeMap::new();
        Ok(self
            .store
            .totals(metric, range, RANKED_SCAN)
            .await?
            .into_iter()
            .filter(|t| {
                let n = per_currency.entry(t.currency.clone()).or_insert(0);
                *n += 1;
                *n <= limit
            })
            .map(Ranked::from)
            .collect())
    }
}
