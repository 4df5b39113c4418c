//! The admin analytics: every figure of the dashboard as JSON, each figure as a CSV
//! export, and the charts as SVG, over a date range (default: the last 30 days).
//! Admins only.
//!
//! Queries per request: the dashboard reads nine rollup queries (never orders),
//! whatever the number of orders or days.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Days, NaiveDate};
use commerce::analytics::{
    Analytics, Dashboard, DashboardOptions, DateRange, Error as AnalyticsError, Figure, chart,
    to_csv,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::state::AppState;

impl From<AnalyticsError> for ApiError {
    fn from(e: AnalyticsError) -> Self {
        match e {
            AnalyticsError::Validation { field, message } => ApiError::validation(field, message),
            other => ApiError::from(commerce::core::Error::from(other)),
        }
    }
}

/// The date range of a report.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First UTC day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<NaiveDate>,
    /// Last UTC day, inclusive (default: today).
    pub to: Option<NaiveDate>,
    /// Currency of the revenue and ranking charts (default: the first with sales).
    pub currency: Option<String>,
}

impl RangeQuery {
    fn range(&self, today: NaiveDate) -> Result<DateRange, ApiError> {
        let to = self.to.unwrap_or(today);
        let from = match self.from {
            Some(from) => from,
            None => to
                .checked_sub_days(Days::new(29))
                .ok_or_else(|| ApiError::validation("to", "out of range"))?,
        };
        Ok(DateRange::new(from, to)?)
    }
}

async fn dashboard(state: &AppState, q: &RangeQuery) -> Result<Dashboard, ApiError> {
    let today = state.shop.clock().now().date_naive();
    let range = q.range(today)?;
    let options = DashboardOptions {
        low_stock_threshold: state.config.low_stock_threshold,
        ..DashboardOptions::default()
    };
    Ok(Analytics::dashboard(&state.shop.analytics(), range, options).await?)
}

/// Every figure of the dashboard (revenue and orders per day and currency, average
/// order value, units, top products and categories, funnel, refunds, payment mix,
/// reservation expiries, low stock). Amounts are decimal strings.
#[utoipa::path(get, path = "/v1/admin/analytics", tag = "admin", params(RangeQuery),
    responses(
        (status = 200, description = "The dashboard", body = crate::routes::analytics_schema::DashboardSchema),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn get_dashboard(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<ApiJson<Dashboard>, ApiError> {
    caller.admin()?;
    Ok(ApiJson(dashboard(&state, &q).await?))
}

/// One figure as CSV (`summary`, `daily`, `funnel`, `top_products`,
/// `top_categories`, `payment_methods`, `reservation_expiries`, `low_stock`).
#[utoipa::path(get, path = "/v1/admin/analytics/csv/{figure}", tag = "admin",
    params(("figure" = String, Path, description = "Figure name"), RangeQuery),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_csv(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(figure): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Response, ApiError> {
    caller.admin()?;
    let figure = Figure::parse(&figure).map_err(|_| ApiError::not_found("figure"))?;
    let d = dashboard(&state, &q).await?;
    let body = to_csv(&d, figure)?;
    let disposition = format!(
        "attachment; filename=\"{}_{}_{}.csv\"",
        figure.as_str(),
        d.range.from,
        d.range.to
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The names of the charts.
pub const CHARTS: [&str; 6] = [
    "revenue",
    "orders",
    "funnel",
    "top_products",
    "top_categories",
    "payment_methods",
];

/// Draws chart `name` of `d` (revenue and rankings in `currency`); `None` for an
/// unknown name.
pub fn draw(d: &Dashboard, name: &str, currency: Option<&str>) -> Option<String> {
    let currencies = d.currencies();
    let currency = currency
        .map(str::to_owned)
        .or_else(|| currencies.first().cloned())
        .unwrap_or_else(|| "USD".to_owned());
    Some(match name {
        "revenue" => chart::revenue_chart(d, &currency),
        "orders" => chart::orders_chart(d),
        "funnel" => chart::funnel(d),
        "top_products" => chart::top_products_chart(d, &currency),
        "top_categories" => chart::top_categories_chart(d, &currency),
        "payment_methods" => chart::payment_methods_chart(d),
        _ => return None,
    })
}

/// One chart as SVG (`revenue`, `orders`, `funnel`, `top_products`,
/// `top_categories`, `payment_methods`).
#[utoipa::path(get, path = "/v1/admin/analytics/charts/{chart}", tag = "admin",
    params(("chart" = String, Path, description = "Chart name"), RangeQuery),
    responses(
        (status = 200, description = "An SVG image", content_type = "image/svg+xml", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_chart(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Response, ApiError> {
    caller.admin()?;
    if !CHARTS.contains(&name.as_str()) {
        return Err(ApiError::not_found("chart"));
    }
    let d = dashboard(&state, &q).await?;
    let svg = draw(&d, &name, q.currency.as_deref()).ok_or_else(|| ApiError::not_found("chart"))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// The analytics routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_dashboard))
        .routes(routes!(get_csv))
        .routes(routes!(get_chart))
}
