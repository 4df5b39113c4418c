//! The admin's customer pages: the customer list (keyset pages by email, a search
//! by email prefix) and a customer's profile with their addresses and their orders
//! (keyset pages, newest first, each linking to the admin's order page).
//!
//! Queries per request: list 1 (one page of `CustomerStore::list_customers`);
//! detail 4 whatever the page size (customer, role, addresses, one keyset page of
//! orders).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use commerce::core::CustomerId;
use commerce::core::ports::CustomerPage;
use commerce::orders::{OrderId, OrderPage};
use serde::Deserialize;
use serde_json::json;

use super::admin::staff_only;
use super::support::{PageError, Visitor, humanize, money, name_of, page};
use crate::routes::admin_customers::MAX_PREFIX_CHARS;
use crate::state::AppState;

/// Customers per page of the list.
const PAGE: u32 = 50;
/// Orders per page of a customer's orders.
const ORDERS_PAGE: u32 = 20;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    email: Option<String>,
    after: Option<String>,
}

fn too_long(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.chars().count() > MAX_PREFIX_CHARS)
}

/// Customers by email, searched by email prefix.
pub(super) async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    if let Err(r) = staff_only(&visitor, "/admin/customers") {
        return Ok(*r);
    }
    let email = q
        .email
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let after = q.after.clone().filter(|s| !s.is_empty());
    if too_long(email.as_deref()) || too_long(after.as_deref()) {
        return Err(PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Search: at most 254 characters.",
        ));
    }
    let customers = state
        .shop
        .customers()
        .list_customers(&CustomerPage {
            email_prefix: email.clone(),
            after: after.clone(),
            limit: PAGE,
        })
        .await?;
    let next = (customers.len() == PAGE as usize)
        .then(|| customers.last().map(|c| c.email.clone()))
        .flatten()
        .map(|last| {
            let mut pairs = vec![("after", last)];
            if let Some(e) = &email {
                pairs.push(("email", e.clone()));
            }
            format!(
                "/admin/customers?{}",
                serde_urlencoded::to_string(pairs).unwrap_or_default()
            )
        });
    page(
        &state,
        &visitor,
        "admin_customers.html",
        json!({
            "title": "Customers",
            "section": "customers",
            "email": email,
            "customers": customers.iter().map(|c| json!({
                "id": c.id.to_string(),
                "email": c.email,
                "name": c.name,
                "joined": c.created_at.format("%b %e, %Y").to_string(),
            })).collect::<Vec<_>>(),
            "next": next,
            "paged": after.is_some(),
        }),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DetailQuery {
    before: Option<String>,
}

/// A customer's profile, addresses and orders.
pub(super) async fn detail(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, PageError> {
    if let Err(r) = staff_only(&visitor, "/admin/customers") {
        return Ok(*r);
    }
    let id: CustomerId = id.parse().map_err(|_| PageError::not_found("customer"))?;
    let before = q
        .before
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|b| b.parse::<OrderId>())
        .transpose()
        .map_err(|_| PageError::not_found("order"))?;
    let customers = state.shop.customers();
    let customer = customers
        .customer(id)
        .await?
        .ok_or_else(|| PageError::not_found("customer"))?;
    let role = state.shop.accounts().role(id).await?;
    let addresses = customers.addresses(id).await?;
    let orders = state
        .shop
        .orders()
        .list_for_customer(
            id,
            OrderPage {
                before,
                limit: ORDERS_PAGE,
            },
        )
        .await?;
    let next = (orders.len() == ORDERS_PAGE as usize)
        .then(|| orders.last().map(|o| o.id.to_string()))
        .flatten();
    page(
        &state,
        &visitor,
        "admin_customer.html",
        json!({
            "title": customer.name,
            "section": "customers",
            "customer": {
                "id": customer.id.to_string(),
                "name": customer.name,
                "email": customer.email,
                "role": role.map(|r| humanize(&r.to_string())),
                "joined": customer.created_at.format("%b %e, %Y").to_string(),
            },
            "addresses": addresses.iter().map(|s| {
                let a = &s.address;
                json!({
                    "lines": ([
                        Some(a.name.clone()), Some(a.line1.clone()), a.line2.clone(),
                        Some(format!("{} {} {}", a.city, a.region.clone().unwrap_or_default(), a.postal_code)),
                        Some(a.country.as_str().to_owned()),
                    ].into_iter().flatten().collect::<Vec<_>>()),
                    "shipping": s.is_default_shipping,
                    "billing": s.is_default_billing,
                })
            }).collect::<Vec<_>>(),
            "orders": orders.iter().map(|o| json!({
                "id": o.id.to_string(),
                "number": o.number.clone().unwrap_or_else(|| o.id.to_string()),
                "placed": o.created_at.format("%b %e, %Y %H:%M").to_string(),
                "status": humanize(o.status.as_str()),
                "status_code": o.status.as_str(),
                "fulfilment": humanize(&name_of(&o.fulfilment.status)),
                "total": money(o.totals.grand_total),
            })).collect::<Vec<_>>(),
            "next": next.map(|n| format!("/admin/customers/{}?before={n}#orders", customer.id)),
            "paged": before.is_some(),
        }),
    )
    .await
}
