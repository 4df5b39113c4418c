//! The admin dashboard: the analytics figures for a date range, the charts (the
//! SVG charts of `/v1/admin/analytics/charts`), CSV exports, low stock, and an
//! order lookup.
//!
//! Queries per request: the dashboard's rollup reads (never the orders), plus one
//! order read for a lookup.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Days, NaiveDate};
use commerce::analytics::{Analytics, DashboardOptions, DateRange, Figure};
use commerce::core::Actor;
use commerce::orders::OrderId;
use serde::Deserialize;
use serde_json::{Value, json};

use super::shopping::order_view;
use super::support::{PageError, Visitor, page, see_other};
use crate::routes::analytics::CHARTS;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub(super) struct DashboardQuery {
    from: Option<String>,
    to: Option<String>,
    order: Option<String>,
}

fn day(raw: Option<&str>) -> Option<NaiveDate> {
    raw.filter(|s| !s.is_empty())
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// The staff gate: anonymous visitors go to sign in, other roles get 403.
pub(super) fn staff_only(visitor: &Visitor, path: &str) -> Result<(), Box<Response>> {
    match visitor.actor() {
        Actor::Admin => Ok(()),
        Actor::Guest(_) => {
            let qs = serde_urlencoded::to_string([("next", path)]).unwrap_or_default();
            Err(Box::new(see_other(&format!("/signin?{qs}"))))
        }
        _ => Err(Box::new(axum::response::IntoResponse::into_response(
            PageError::new(StatusCode::FORBIDDEN, "The admin pages are for shop staff."),
        ))),
    }
}

/// The analytics dashboard.
pub(super) async fn dashboard(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, PageError> {
    if let Err(r) = staff_only(&visitor, "/admin") {
        return Ok(*r);
    }
    let today = state.shop.clock().now().date_naive();
    let to = day(q.to.as_deref()).unwrap_or(today);
    let from = day(q.from.as_deref())
        .or_else(|| to.checked_sub_days(Days::new(29)))
        .unwrap_or(to);
    let range = DateRange::new(from, to)?;
    let defaults = DashboardOptions::default();
    let options =
        defaults.with_low_stock(state.config.low_stock_threshold, defaults.low_stock_limit);
    let d = Analytics::dashboard(&state.shop.analytics(), range, options).await?;
    let qs = format!("from={from}&to={to}");
    let summary: Vec<Value> = d
        .summary
        .iter()
        .map(|s| {
            json!({
                "currency": s.currency,
                "orders": s.orders,
                "revenue": s.revenue.round_dp(2).to_string(),
                "aov": s.average_order_value.round_dp(2).to_string(),
                "units": s.units,
                "refunded": s.refunded.round_dp(2).to_string(),
                "net": s.net_revenue.round_dp(2).to_string(),
            })
        })
        .collect();
    let pct = |p: Option<rust_decimal::Decimal>| p.map_or("–".to_owned(), |p| format!("{p}%"));
    let found = match q.order.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => match raw.parse::<OrderId>() {
            Ok(id) => match state.shop.checkout().order(&Actor::Admin, id).await {
                Ok(o) => Some(order_view(&o)),
                Err(commerce::orders::Error::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        },
        None => None,
    };
    page(
        &state,
        &visitor,
        "admin.html",
        json!({
            "title": "Admin dashboard",
            "section": "dashboard",
            "from": from.to_string(),
            "to": to.to_string(),
            "summary": summary,
            "funnel": {
                "carts": d.funnel.carts_created,
                "checkouts": d.funnel.checkouts_started,
                "orders": d.funnel.orders_confirmed,
                "cart_to_order": pct(d.funnel.cart_to_order_pct),
            },
            "cancellations": d.cancellations,
            "charts": CHARTS.iter().map(|c| json!({
                "name": c,
                "title": super::support::humanize(c),
                "url": format!("/v1/admin/analytics/charts/{c}?{qs}"),
            })).collect::<Vec<_>>(),
            "csv": Figure::ALL.iter().map(|f| json!({
                "name": super::support::humanize(f.as_str()),
                "url": format!("/v1/admin/analytics/csv/{}?{qs}", f.as_str()),
            })).collect::<Vec<_>>(),
            "low_stock": d.low_stock.iter().take(20).map(|l| json!({
                "sku": l.sku.as_str(), "location": l.location, "available": l.available,
            })).collect::<Vec<_>>(),
            "lookup": q.order,
            "found": found,
        }),
    )
    .await
}
