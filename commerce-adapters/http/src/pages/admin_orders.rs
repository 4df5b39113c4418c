//! The admin's order pages: every order (a status filter and keyset paging), an
//! order's detail with its payment, refunds and shipments, cancel with a note, and
//! refund of part or all with an idempotency key the form carries (generated when
//! the page is drawn, so a resubmitted form refunds once).
//!
//! Queries per request: list 1 (a keyset page of every order, filtered by status
//! after the read: a page can hold fewer than its size, "Older orders" pages on
//! from the last order read, as the seller's `waiting` filter does); detail 1;
//! cancel and refund as the checkout service.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use commerce::core::{Actor, Money};
use commerce::orders::{CancelReason, IdempotencyKey, Order, OrderId, OrderPage, OrderStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin::staff_only;
use super::shopping::order_view;
use super::support::{CsrfForm, PageError, Visitor, humanize, money, name_of, page, see_other};
use crate::routes::admin::MAX_NOTE_CHARS;
use crate::state::AppState;

/// Orders read per page of the list.
const PAGE: u32 = 50;

/// The statuses of the filter, as `OrderStatus::as_str` names them.
const STATUSES: [OrderStatus; 4] = [
    OrderStatus::PendingPayment,
    OrderStatus::Confirmed,
    OrderStatus::Completed,
    OrderStatus::Cancelled,
];

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    before: Option<String>,
}

fn order_id(raw: &str) -> Result<OrderId, PageError> {
    raw.parse().map_err(|_| PageError::not_found("order"))
}

/// Every order, newest first, optionally of one status.
pub(super) async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    if let Err(r) = staff_only(&visitor, "/admin/orders") {
        return Ok(*r);
    }
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => Some(
            STATUSES
                .into_iter()
                .find(|s| s.as_str() == raw)
                .ok_or_else(|| {
                    PageError::new(StatusCode::UNPROCESSABLE_ENTITY, "Unknown order status.")
                })?,
        ),
        None => None,
    };
    let before = q
        .before
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(order_id)
        .transpose()?;
    let orders = state
        .shop
        .orders()
        .list_all(OrderPage {
            before,
            limit: PAGE,
        })
        .await?;
    let next = (orders.len() == PAGE as usize)
        .then(|| orders.last().map(|o| o.id.to_string()))
        .flatten();
    let rows: Vec<Value> = orders
        .iter()
        .filter(|o| status.is_none_or(|s| o.status == s))
        .map(|o| {
            json!({
                "id": o.id.to_string(),
                "number": o.number.clone().unwrap_or_else(|| o.id.to_string()),
                "placed": o.created_at.format("%b %e, %Y %H:%M").to_string(),
                "email": o.email,
                "status": humanize(o.status.as_str()),
                "status_code": o.status.as_str(),
                "payment": humanize(&name_of(&o.payment.status)),
                "fulfilment": humanize(&name_of(&o.fulfilment.status)),
                "total": money(o.totals.grand_total),
                "refunded": (!o.payment.refunded.is_zero()).then(|| money(o.payment.refunded)),
            })
        })
        .collect();
    let status_code = status.map(|s| s.as_str());
    let next_url = next.map(|n| {
        let mut pairs = vec![("before", n)];
        if let Some(s) = status_code {
            pairs.push(("status", s.to_owned()));
        }
        format!(
            "/admin/orders?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    page(
        &state,
        &visitor,
        "admin_orders.html",
        json!({
            "title": "Orders",
            "section": "orders",
            "orders": rows,
            "status": status_code,
            "statuses": STATUSES.iter().map(|s| json!({"code": s.as_str(), "name": humanize(s.as_str())})).collect::<Vec<_>>(),
            "next": next_url,
            "paged": before.is_some(),
        }),
    )
    .await
}

fn detail_view(order: &Order) -> Value {
    let mut view = order_view(order);
    let p = &order.payment;
    let refundable = p.refundable().ok().filter(|m| !m.is_zero());
    view["payment"] = json!({
        "status": humanize(&name_of(&p.status)),
        "method": p.method.label,
        "authorized": money(p.authorized),
        "captured": money(p.captured),
        "refunded": money(p.refunded),
        "reference": p.provider_reference.as_ref().map(ToString::to_string),
        "failure": p.failure.as_ref().map(|f| f.message.clone()),
        "pending": p.intent.as_ref().map(|i| i.action.name()),
    });
    view["refunds"] = json!(
        p.refunds
            .iter()
            .map(|r| json!({
                "amount": money(r.amount),
                "reason": r.reason,
                "when": r.refunded_at.format("%b %e, %Y %H:%M UTC").to_string(),
                "reference": r.gateway_reference,
            }))
            .collect::<Vec<_>>()
    );
    view["shipments"] = json!(
        order
            .fulfilment
            .shipments
            .iter()
            .map(|s| json!({
                "carrier": s.carrier.clone().unwrap_or_else(|| "–".into()),
                "tracking": s.tracking_number.clone().unwrap_or_else(|| "–".into()),
                "when": s.shipped_at.format("%b %e, %Y %H:%M UTC").to_string(),
                "delivered": s.delivered_at.map(|d| d.format("%b %e, %Y").to_string()),
                "items": s.lines.iter().map(|l| format!("{} × {}", l.quantity, l.sku.as_str())).collect::<Vec<_>>().join(", "),
            }))
            .collect::<Vec<_>>()
    );
    view["refundable"] = json!(refundable.map(money));
    view["refundable_amount"] = json!(refundable.map(|m| {
        let mut a = m.amount();
        a.rescale(m.currency().minor_units());
        a.to_string()
    }));
    view["currency"] = json!(order.currency.code());
    view["admin_cancellable"] = json!(
        matches!(
            order.status,
            OrderStatus::PendingPayment | OrderStatus::Confirmed
        ) && order.nothing_shipped()
    );
    view
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DetailQuery {
    done: Option<String>,
}

/// An order with its payment, refunds and shipments, and the cancel and refund
/// forms.
pub(super) async fn detail(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, PageError> {
    if let Err(r) = staff_only(&visitor, "/admin/orders") {
        return Ok(*r);
    }
    let order = state
        .shop
        .checkout()
        .order(&Actor::Admin, order_id(&id)?)
        .await?;
    let done = match q.done.as_deref() {
        Some("refunded") => Some("Refund made."),
        Some("cancelled") => Some("Order cancelled: payment voided or refunded, stock returned."),
        _ => None,
    };
    page(
        &state,
        &visitor,
        "admin_order.html",
        json!({
            "title": format!("Order {}", order.number.clone().unwrap_or_default()),
            "section": "orders",
            "order": detail_view(&order),
            "refund_key": uuid::Uuid::now_v7().to_string(),
            "done": done,
        }),
    )
    .await
}

fn unprocessable(message: impl Into<String>) -> PageError {
    PageError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}

fn check_note(what: &str, note: &str) -> Result<String, PageError> {
    let note = note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE_CHARS {
        return Err(unprocessable(format!(
            "{what}: 1 to {MAX_NOTE_CHARS} characters."
        )));
    }
    Ok(note.to_owned())
}

#[derive(Debug, Deserialize)]
pub(super) struct CancelForm {
    #[serde(default)]
    note: String,
}

/// Cancels an order before anything shipped, with a note for the record.
pub(super) async fn cancel(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CancelForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    let note = check_note("Note", &form.note)?;
    let id = order_id(&id)?;
    state
        .shop
        .checkout()
        .cancel(&Actor::Admin, id, CancelReason::Merchant { note })
        .await?;
    Ok(see_other(&format!("/admin/orders/{id}?done=cancelled")))
}

#[derive(Debug, Deserialize)]
pub(super) struct RefundForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

/// Refunds part (an amount) or all (amount left blank: everything left) of an
/// order. The form's key is scoped to the order as the JSON route scopes its
/// `Idempotency-Key`: a resubmitted form refunds once.
pub(super) async fn refund(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RefundForm>,
) -> Result<Response, PageError> {
    admin_required(&visitor)?;
    let reason = check_note("Reason", &form.reason)?;
    let id = order_id(&id)?;
    let key = form.key.trim();
    if key.is_empty() {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "The form lost its key: reload the page and try again.",
        ));
    }
    let checkout = state.shop.checkout();
    let order = checkout.order(&Actor::Admin, id).await?;
    let amount = if form.amount.trim().is_empty() {
        order.payment.refundable()?
    } else {
        let m = Money::parse(form.amount.trim(), order.currency)
            .map_err(|_| unprocessable("Amount: a decimal amount like 5.00."))?;
        if m.amount().is_sign_negative() {
            return Err(unprocessable("Amount: more than zero."));
        }
        m
    };
    if amount.is_zero() {
        return Err(unprocessable("Amount: more than zero."));
    }
    let scoped = IdempotencyKey::new(format!("refund:{id}:{key}"))?;
    checkout
        .refund(&Actor::Admin, id, amount, scoped, &reason)
        .await?;
    Ok(see_other(&format!("/admin/orders/{id}?done=refunded")))
}

/// The admin acting, else 403 (form posts; pages send the anonymous to sign in).
pub(super) fn admin_required(visitor: &Visitor) -> Result<(), PageError> {
    match visitor.actor() {
        Actor::Admin => Ok(()),
        _ => Err(PageError::new(
            StatusCode::FORBIDDEN,
            "The admin pages are for shop staff.",
        )),
    }
}
