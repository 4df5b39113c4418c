//! OpenAPI schema of the admin dashboard (`commerce::analytics::Dashboard`), which
//! `GET /v1/admin/analytics` returns as the domain serializes it. The schema mirrors
//! that serialization (amounts and percentages are decimal strings, days
//! `YYYY-MM-DD`); `tests/http_openapi_typed.rs` checks a real answer against it.

#![allow(dead_code)] // Schema-only types: read by utoipa, never built.

use utoipa::ToSchema;

/// The days covered, both included.
#[derive(ToSchema)]
pub struct DateRangeSchema {
    /// First day (`YYYY-MM-DD`).
    pub from: String,
    /// Last day.
    pub to: String,
}

/// Totals of one currency over the range.
#[derive(ToSchema)]
pub struct CurrencySummarySchema {
    /// ISO 4217 code.
    pub currency: String,
    /// Confirmed orders.
    pub orders: i64,
    /// Revenue (decimal string).
    pub revenue: String,
    /// Revenue per order.
    pub average_order_value: String,
    /// Units sold.
    pub units: i64,
    /// Refunds made.
    pub refunds: i64,
    /// Amount refunded.
    pub refunded: String,
    /// Revenue less refunds.
    pub net_revenue: String,
}

/// One day of one currency.
#[derive(ToSchema)]
pub struct DayFiguresSchema {
    /// The day.
    pub day: String,
    /// Currency.
    pub currency: String,
    /// Orders.
    pub orders: i64,
    /// Revenue.
    pub revenue: String,
    /// Units.
    pub units: i64,
    /// Refunded.
    pub refunded: String,
}

/// The funnel over the range.
#[derive(ToSchema)]
pub struct FunnelSchema {
    /// Carts created.
    pub carts_created: i64,
    /// Checkouts started.
    pub checkouts_started: i64,
    /// Orders confirmed.
    pub orders_confirmed: i64,
    /// Percent of carts reaching checkout; absent without carts.
    pub cart_to_checkout_pct: Option<String>,
    /// Percent of checkouts confirmed.
    pub checkout_to_order_pct: Option<String>,
    /// Percent of carts confirmed.
    pub cart_to_order_pct: Option<String>,
}

/// The funnel on one day.
#[derive(ToSchema)]
pub struct FunnelDaySchema {
    /// The day.
    pub day: String,
    /// Carts created.
    pub carts_created: i64,
    /// Checkouts started.
    pub checkouts_started: i64,
    /// Orders confirmed.
    pub orders_confirmed: i64,
}

/// A ranked product, category or payment method.
#[derive(ToSchema)]
pub struct RankedSchema {
    /// Its key (id, code).
    pub key: String,
    /// Its name.
    pub label: String,
    /// Currency.
    pub currency: String,
    /// Orders.
    pub orders: i64,
    /// Units.
    pub units: i64,
    /// Revenue.
    pub revenue: String,
}

/// A count on one day.
#[derive(ToSchema)]
pub struct DayCountSchema {
    /// The day.
    pub day: String,
    /// The count.
    pub count: i64,
}

/// A SKU's stock at a location.
#[derive(ToSchema)]
pub struct LowStockSchema {
    /// SKU.
    pub sku: String,
    /// Location code.
    pub location: String,
    /// Units on hand.
    pub on_hand: u64,
    /// Units reserved.
    pub reserved: u64,
    /// Units available.
    pub available: u64,
}

/// Every figure of the dashboard for a range.
#[derive(ToSchema)]
pub struct DashboardSchema {
    /// The range.
    pub range: DateRangeSchema,
    /// Totals per currency.
    pub summary: Vec<CurrencySummarySchema>,
    /// Every day of the range per currency.
    pub days: Vec<DayFiguresSchema>,
    /// The funnel.
    pub funnel: FunnelSchema,
    /// The funnel per day.
    pub funnel_days: Vec<FunnelDaySchema>,
    /// Best-selling products.
    pub top_products: Vec<RankedSchema>,
    /// Best-selling categories.
    pub top_categories: Vec<RankedSchema>,
    /// Confirmed orders per payment method.
    pub payment_methods: Vec<RankedSchema>,
    /// Orders cancelled in the range.
    pub cancellations: i64,
    /// Reservation expiries per day.
    pub reservation_expiries: Vec<DayCountSchema>,
    /// SKUs low on stock now.
    pub low_stock: Vec<LowStockSchema>,
}
