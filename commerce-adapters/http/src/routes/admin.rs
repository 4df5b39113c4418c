//! Shop staff's API (a session opened with a `Role::Admin` login): every order
//! (list, read, cancel with a note, refund in full or in part on the domain's refund
//! planning), any product (deactivate), customers (read, with their addresses and a
//! keyset page of their orders), categories (list), and the shop's tax and shipping
//! tables (read). The analytics routes are in `analytics.rs`; category writes and
//! product create/update in `admin_catalog.rs`.
//!
//! Queries per request: orders list 1 (a keyset page); order 1; cancel and refund
//! as the checkout service (1 read, the gateway call, 1-2 version-checked updates,
//! the stock returned in one call for a cancel); customer 4 whatever the page of
//! orders (customer, role, addresses, one keyset page of orders); categories 1;
//! product deactivate 1 read + 1 write; tables at most 1 (the cached pricing tables).
//! Writes to the pricing tables: `admin_pricing.rs`.

use axum::extract::State;
use commerce::core::{CustomerId, ProductStatus};
use commerce::orders::{CancelReason, IdempotencyKey, OrderId, OrderPage};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::routes::account::AddressEntry;
use crate::routes::catalog::parse_id;
use crate::routes::pricing_view::PricingTablesView;
use crate::routes::seller::{MoneyInput, SellerProductView};
use crate::state::AppState;
use crate::views::{CategoryNode, OrderView, category_tree};

/// Longest cancel note or refund reason, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// A page of orders.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminOrdersQuery {
    /// Only orders older than this order id (the last id of the previous page).
    pub before: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

/// Every order, newest first.
#[utoipa::path(get, path = "/v1/admin/orders", tag = "admin", params(AdminOrdersQuery),
    responses((status = 200, body = Vec<OrderView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_orders(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AdminOrdersQuery>,
) -> Result<ApiJson<Vec<OrderView>>, ApiError> {
    caller.admin()?;
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
    let orders = state.shop.orders().list_all(page).await?;
    Ok(ApiJson(orders.iter().map(OrderView::from).collect()))
}

fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    parse_id::<OrderId>("id", raw).map_err(|_| ApiError::not_found("order"))
}

/// Any order, with its shipments and refunds.
#[utoipa::path(get, path = "/v1/admin/orders/{id}", tag = "admin",
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = OrderView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<OrderView>, ApiError> {
    caller.admin()?;
    let actor = caller.actor()?;
    let order = state.shop.checkout().order(&actor, order_id(&id)?).await?;
    Ok(ApiJson(OrderView::from(&order)))
}

/// Why staff cancel an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminCancelInput {
    /// A note for the record (1 to 500 characters).
    pub note: String,
}

/// Cancels an order before anything shipped (payment voided or refunded, stock
/// returned).
#[utoipa::path(post, path = "/v1/admin/orders/{id}/cancel", tag = "admin", request_body = AdminCancelInput,
    params(("id" = String, Path, description = "Order id")),
    responses((status = 200, body = OrderView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn cancel_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<AdminCancelInput>,
) -> Result<ApiJson<OrderView>, ApiError> {
    caller.admin()?;
    let actor = caller.actor()?;
    check_note("note", &input.note)?;
    let order = state
        .shop
        .checkout()
        .cancel(
            &actor,
            order_id(&id)?,
            CancelReason::Merchant {
                note: input.note.trim().to_owned(),
            },
        )
        .await?;
    Ok(ApiJson(OrderView::from(&order)))
}

fn check_note(field: &str, note: &str) -> Result<(), ApiError> {
    if note.trim().is_empty() || note.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::validation(field, "1 to 500 characters"));
    }
    Ok(())
}

/// A refund to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundInput {
    /// Amount to give back (at most what is left to refund). Absent: everything left.
    pub amount: Option<MoneyInput>,
    /// Why (1 to 500 characters).
    pub reason: String,
}

/// Refunds an order in full or in part; the amount is allocated exactly across the
/// lines and shipping (the domain's refund planning). Requires an
/// `Idempotency-Key` header: a retry with the same key refunds once.
#[utoipa::path(post, path = "/v1/admin/orders/{id}/refunds", tag = "admin", request_body = RefundInput,
    params(("id" = String, Path, description = "Order id"),
           ("Idempotency-Key" = String, Header, description = "The same on every retry")),
    responses((status = 200, body = OrderView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn refund_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    key: crate::extract::IdempotencyKeyHeader,
    ApiJson(input): ApiJson<RefundInput>,
) -> Result<ApiJson<OrderView>, ApiError> {
    caller.admin()?;
    let actor = caller.actor()?;
    check_note("reason", &input.reason)?;
    let id = order_id(&id)?;
    let checkout = state.shop.checkout();
    let amount = match &input.amount {
        Some(m) => m.to_money("amount")?,
        None => {
            let order = checkout.order(&actor, id).await?;
            order.payment.captured.checked_sub(order.payment.refunded)?
        }
    };
    if amount.is_zero() {
        return Err(ApiError::validation("amount", "must be more than zero"));
    }
    // The key is scoped to the order, so one key cannot refund two orders.
    let scoped =
        IdempotencyKey::new(format!("refund:{id}:{}", key.0.as_str())).map_err(ApiError::from)?;
    let order = checkout
        .refund(&actor, id, amount, scoped, input.reason.trim())
        .await?;
    Ok(ApiJson(OrderView::from(&order)))
}

/// A customer as staff see them: the account, the address book, and a keyset page
/// of their orders (newest first).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AdminCustomerView {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role of the account (`customer`, `admin`, `seller:<id>`); absent without a
    /// password.
    pub role: Option<String>,
    /// When registered.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The saved addresses.
    pub addresses: Vec<AddressEntry>,
    /// A page of the customer's orders, newest first.
    pub orders: Vec<OrderView>,
    /// Pass as `orders_before` for the next page of orders; absent on the last.
    pub orders_next: Option<String>,
}

/// The page of the customer's orders shown with the customer.
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminCustomerQuery {
    /// Only orders older than this order id (the `orders_next` of the previous page).
    pub orders_before: Option<String>,
    /// Orders per page, 1 to 100 (default 20).
    pub orders_limit: Option<u32>,
}

/// The customer `raw` with their addresses and a page of their orders: 4 queries
/// whatever the page size (customer, role, addresses, one keyset page of orders).
pub(crate) async fn customer_detail(
    state: &AppState,
    raw: &str,
    q: &AdminCustomerQuery,
) -> Result<AdminCustomerView, ApiError> {
    let id = parse_id::<CustomerId>("id", raw).map_err(|_| ApiError::not_found("customer"))?;
    let limit = q.orders_limit.unwrap_or(20);
    if limit == 0 || limit > 100 {
        return Err(ApiError::validation("orders_limit", "must be 1 to 100"));
    }
    let page = OrderPage {
        before: q
            .orders_before
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|b| parse_id::<OrderId>("orders_before", b))
            .transpose()?,
        limit,
    };
    let customers = state.shop.customers();
    let customer = customers
        .customer(id)
        .await?
        .ok_or_else(|| ApiError::not_found("customer"))?;
    let role = state.shop.accounts().role(id).await?;
    let addresses = customers.addresses(id).await?;
    let orders = state.shop.orders().list_for_customer(id, page).await?;
    let orders_next = (orders.len() == limit as usize)
        .then(|| orders.last().map(|o| o.id.to_string()))
        .flatten();
    Ok(AdminCustomerView {
        id: customer.id.to_string(),
        email: customer.email,
        name: customer.name,
        role: role.map(|r| r.to_string()),
        created_at: customer.created_at,
        addresses: addresses.iter().map(AddressEntry::from).collect(),
        orders: orders.iter().map(OrderView::from).collect(),
        orders_next,
    })
}

/// A customer account with their addresses and a keyset page of their orders.
#[utoipa::path(get, path = "/v1/admin/customers/{id}", tag = "admin",
    params(("id" = String, Path, description = "Customer id"), AdminCustomerQuery),
    responses((status = 200, body = AdminCustomerView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn get_customer(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AdminCustomerQuery>,
) -> Result<ApiJson<AdminCustomerView>, ApiError> {
    caller.admin()?;
    Ok(ApiJson(customer_detail(&state, &id, &q).await?))
}

/// The category tree (staff's view, as the storefront's).
#[utoipa::path(get, path = "/v1/admin/categories", tag = "admin",
    responses((status = 200, body = Vec<CategoryNode>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
async fn categories(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<Vec<CategoryNode>>, ApiError> {
    caller.admin()?;
    let all = state.shop.catalog().categories().await?;
    Ok(ApiJson(category_tree(&all)))
}

/// Deactivates (archives) any seller's product.
#[utoipa::path(post, path = "/v1/admin/products/{id}/deactivate", tag = "admin",
    params(("id" = String, Path, description = "Product id")),
    responses((status = 200, body = SellerProductView), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn deactivate_product(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<SellerProductView>, ApiError> {
    caller.admin()?;
    let id = parse_id::<commerce::core::ProductId>("id", &id)
        .map_err(|_| ApiError::not_found("product"))?;
    let mut product = state
        .shop
        .catalog()
        .product(id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    product.status = ProductStatus::Archived;
    product.updated_at = state.shop.clock().now();
    state.shop.catalog().upsert_product(&product).await?;
    Ok(ApiJson(crate::routes::seller::product_view(
        &product,
        &state.config.cdn_base_url,
    )))
}

/// The shop's checkout tables as checkout prices with them now: currency, and the
/// pricing tables (admins change them through `admin_pricing.rs`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTablesView {
    /// ISO 4217 code of the shop's currency.
    pub currency: String,
    /// The tables.
    #[serde(flatten)]
    pub tables: PricingTablesView,
}

/// The shop's checkout tables: currency, tax table, shipping methods, promotions.
#[utoipa::path(get, path = "/v1/admin/tables", tag = "admin",
    responses((status = 200, description = "The tables as configured", body = AdminTablesView),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn tables(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<AdminTablesView>, ApiError> {
    caller.admin()?;
    let config = state.shop.checkout().config();
    let tables = state.shop.pricing_tables().current().await?;
    Ok(ApiJson(AdminTablesView {
        currency: config.currency.code().to_owned(),
        tables: PricingTablesView::load(&state, &tables).await?,
    }))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(refund_order))
        .routes(routes!(get_customer))
        .routes(routes!(categories))
        .routes(routes!(deactivate_product))
        .routes(routes!(tables))
}
