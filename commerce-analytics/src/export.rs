//! Every figure of the [`Dashboard`] as CSV (the `/v1/admin/analytics/{figure}.csv`
//! exports), written with the `csv` crate: one header row, one row per record.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::report::Dashboard;

/// A figure that can be exported on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Figure {
    /// Totals per currency (orders, revenue, average order value, units, refunds).
    Summary,
    /// Orders, revenue, units and refunds per day and currency.
    Daily,
    /// The funnel per day.
    Funnel,
    /// Best-selling products.
    TopProducts,
    /// Best-selling categories.
    TopCategories,
    /// Payment method mix.
    PaymentMethods,
    /// Reservation expiries per day.
    ReservationExpiries,
    /// SKUs low on stock.
    LowStock,
}

impl Figure {
    /// Every figure.
    pub const ALL: [Figure; 8] = [
        Figure::Summary,
        Figure::Daily,
        Figure::Funnel,
        Figure::TopProducts,
        Figure::TopCategories,
        Figure::PaymentMethods,
        Figure::ReservationExpiries,
        Figure::LowStock,
    ];

    /// Its name in URLs and file names (`top_products`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Figure::Summary => "summary",
            Figure::Daily => "daily",
            Figure::Funnel => "funnel",
            Figure::TopProducts => "top_products",
            Figure::TopCategories => "top_categories",
            Figure::PaymentMethods => "payment_methods",
            Figure::ReservationExpiries => "reservation_expiries",
            Figure::LowStock => "low_stock",
        }
    }

    /// Parses [`Figure::as_str`]; `Validation` otherwise.
    pub fn parse(s: &str) -> Result<Figure> {
        Figure::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| Error::validation("figure", format!("unknown figure {s:?}")))
    }
}

fn write<T: Serialize>(rows: &[T]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row).map_err(Error::backend)?;
    }
    let bytes = w.into_inner().map_err(|e| Error::backend(e.to_string()))?;
    String::from_utf8(bytes).map_err(Error::backend)
}

#[derive(Serialize)]
struct FunnelRow {
    day: chrono::NaiveDate,
    carts_created: i64,
    checkouts_started: i64,
    orders_confirmed: i64,
}

#[derive(Serialize)]
struct StockRow<'a> {
    sku: &'a str,
    location: &'a str,
    on_hand: u64,
    reserved: u64,
    available: u64,
}

/// `figure` of `dashboard` as CSV text (UTF-8, header first, amounts as decimal
/// strings).
pub fn to_csv(dashboard: &Dashboard, figure: Figure) -> Result<String> {
    match figure {
        Figure::Summary => write(&dashboard.summary),
        Figure::Daily => write(&dashboard.days),
        Figure::Funnel => write(
            &dashboard
                .funnel_days
                .iter()
                .map(|d| FunnelRow {
                    day: d.day,
                    carts_created: d.carts_created,
                    checkouts_started: d.checkouts_started,
                    orders_confirmed: d.orders_confirmed,
                })
                .collect::<Vec<_>>(),
        ),
        Figure::TopProducts => write(&dashboard.top_products),
        Figure::TopCategories => write(&dashboard.top_categories),
        Figure::PaymentMethods => write(&dashboard.payment_methods),
        Figure::ReservationExpiries => write(&dashboard.reservation_expiries),
        Figure::LowStock => write(
            &dashboard
                .low_stock
                .iter()
                .map(|s| StockRow {
                    sku: s.sku.as_str(),
                    location: &s.location,
                    on_hand: s.on_hand,
                    reserved: s.reserved,
                    available: s.available,
                })
                .collect::<Vec<_>>(),
        ),
    }
}
