//! The signed-in customer's orders: history, status, cancel. Another customer's
//! order answers 404.
//!
//! Queries per request: list 1; get 1; cancel as the checkout service (read,
//! one transition, stock returned in one call).

use axum::extract::State;
use commerce::orders::{CancelReason, OrderId, OrderPage};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::routes::catalog::parse_id;
use crate::state::AppState;
use crate::views::OrderView;

/// Query of an order page.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// Only orders older than this order id (the last id of the previous page).
    pub before: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/v1/orders", tag = "orders", params(OrdersQuery), responses(
    (status = 200, body = Vec<OrderView>), (status = 400, body = ErrorBody),
    (status = 401, body = ErrorBody)))]
async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> Result<ApiJson<Vec<OrderView>>, ApiError> {
    let customer = caller.customer()?;
    let limit = q.limit.unwrap_or(20);
    if limit == 0 || limit > 100 {
        return Err(ApiError::validation("limit", "must be 1 to 100"));
    }
    let page = OrderPage {
        before: q
            .before
            .as_deref()
            .map(|b| parse_id::<OrderId>("before", b))
            .transpose()?,
        limit,
    };
    let orders = state
        .shop
        .orders()
        .list_for_customer(customer, page)
        .await?;
    Ok(ApiJson(orders.iter().map(OrderView::from).collect()))
}

/// One of the caller's orders.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "Order id")), responses(
    (status = 200, body = OrderView), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody)))]
async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<OrderView>, ApiError> {
    let actor = caller.actor()?;
    let id = parse_id::<OrderId>("id", &id).map_err(|_| ApiError::not_found("order"))?;
    let order = state.shop.checkout().order(&actor, id).await?;
    Ok(ApiJson(OrderView::from(&order)))
}

/// Cancels one of the caller's orders before it ships (stock returns, payment
/// voided or refunded).
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders",
    params(("id" = String, Path, description = "Order id")), responses(
    (status = 200, body = OrderView), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<OrderView>, ApiError> {
    let actor = caller.actor()?;
    let id = parse_id::<OrderId>("id", &id).map_err(|_| ApiError::not_found("order"))?;
    let order = state
        .shop
        .checkout()
        .cancel(&actor, id, CancelReason::CustomerRequested)
        .await?;
    Ok(ApiJson(OrderView::from(&order)))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
}
