//! [`OrderRecord`]: an order as every order statement takes it, one JSON parameter.
//!
//! The single statements of `PgOrderStore` and `PgCheckoutStore` bind one record;
//! the batched checkout steps bind one JSON array of them (with the step's own
//! fields added, see `checkout::batched`). Field names are the column names of
//! `commerce.orders`, `order_lines`, `payments`, `refunds` and `outbox`, so SQL reads
//! them with `jsonb_populate_record(set)` over those tables' row types, and the
//! shape of an order in SQL is written here once.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use commerce_core::EventEnvelope;
use commerce_orders::{Error, Order, Result};

/// The snake_case name a unit enum serializes to (statuses, method kinds).
pub(crate) fn name_of<T: Serialize>(value: &T) -> Result<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(Error::backend(format!("expected a name, got {other}"))),
        Err(e) => Err(Error::backend(e)),
    }
}

/// A time as PostgreSQL stores it: microseconds, truncated as sqlx's binary
/// encoding truncates them (a text input would round).
pub(crate) fn micros(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The row of `commerce.orders` and everything written with it.
#[derive(Debug, Serialize)]
pub(crate) struct OrderRecord<'a> {
    id: uuid::Uuid,
    idempotency_key: &'a str,
    customer_id: Option<uuid::Uuid>,
    number: Option<&'a str>,
    email: &'a str,
    currency: &'static str,
    status: &'static str,
    payment_status: String,
    fulfilment_status: String,
    grand_total: Decimal,
    reservation_id: uuid::Uuid,
    created_at: String,
    updated_at: String,
    /// The whole order, as `document`.
    document: &'a Order,
    lines: Vec<LineRecord<'a>>,
    payment: PaymentRecord<'a>,
    refunds: Vec<RefundRecord<'a>>,
    events: Vec<EventRecord<'a>>,
}

/// A row of `commerce.order_lines` (without its order id).
#[derive(Debug, Serialize)]
struct LineRecord<'a> {
    /// 1-based, in the order's line order.
    position: i32,
    sku: &'a str,
    name: &'a str,
    quantity: i32,
    unit_price: Decimal,
    subtotal: Decimal,
    discount: Decimal,
    tax: Decimal,
    tax_rate: Decimal,
    total: Decimal,
    refunded: Decimal,
}

/// The row of `commerce.payments` (without its order id).
#[derive(Debug, Serialize)]
struct PaymentRecord<'a> {
    idempotency_key: &'a str,
    status: String,
    method: String,
    authorized: Decimal,
    captured: Decimal,
    refunded: Decimal,
    provider_reference: Option<&'a str>,
    updated_at: String,
}

/// A row of `commerce.refunds` (without its order id).
#[derive(Debug, Serialize)]
struct RefundRecord<'a> {
    id: uuid::Uuid,
    idempotency_key: &'a str,
    amount: Decimal,
    reason: &'a str,
    gateway_reference: &'a str,
    refunded_at: String,
}

/// A row of `commerce.outbox`.
#[derive(Debug, Serialize)]
struct EventRecord<'a> {
    event_id: uuid::Uuid,
    topic: &'a str,
    aggregate_type: &'a str,
    aggregate_id: &'a str,
    occurred_at: String,
    payload: &'a serde_json::Value,
}

/// `n` as an `integer` column.
fn int4(n: impl TryInto<i32>, what: &'static str) -> Result<i32> {
    n.try_into()
        .map_err(|_| Error::validation(what, "too large for storage"))
}

impl<'a> OrderRecord<'a> {
    /// The record of `order` and the `events` written with it.
    pub(crate) fn new(order: &'a Order, events: &'a [EventEnvelope]) -> Result<Self> {
        let payment = &order.payment;
        let lines = order
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                Ok(LineRecord {
                    position: int4(i + 1, "lines")?,
                    sku: l.sku.as_str(),
                    name: l.name.as_str(),
                    quantity: int4(l.quantity, "quantity")?,
                    unit_price: l.unit_price.amount(),
                    subtotal: l.subtotal.amount(),
                    discount: l.discount.amount(),
                    tax: l.tax.amount(),
                    tax_rate: l.tax_rate,
                    total: l.total.amount(),
                    refunded: l.refunded.amount(),
                })
            })
            .collect::<Result<_>>()?;
        Ok(OrderRecord {
            id: order.id.as_uuid(),
            idempotency_key: order.idempotency_key.as_str(),
            customer_id: order.customer_id.map(|c| c.as_uuid()),
            number: order.number.as_deref(),
            email: order.email.as_str(),
            currency: order.currency.code(),
            status: order.status.as_str(),
            payment_status: name_of(&payment.status)?,
            fulfilment_status: name_of(&order.fulfilment.status)?,
            grand_total: order.totals.grand_total.amount(),
            reservation_id: order.reservation_id.as_uuid(),
            created_at: micros(order.created_at),
            updated_at: micros(order.updated_at),
            document: order,
            lines,
            payment: PaymentRecord {
                idempotency_key: payment.idempotency_key.as_str(),
                status: name_of(&payment.status)?,
                method: name_of(&payment.method.kind)?,
                authorized: payment.authorized.amount(),
                captured: payment.captured.amount(),
                refunded: payment.refunded.amount(),
                provider_reference: payment.provider_reference.as_ref().map(|r| r.0.as_str()),
                updated_at: micros(order.updated_at),
            },
            refunds: payment
                .refunds
                .iter()
                .map(|r| RefundRecord {
                    id: r.id.as_uuid(),
                    idempotency_key: r.idempotency_key.as_str(),
                    amount: r.amount.amount(),
                    reason: r.reason.as_str(),
                    gateway_reference: r.gateway_reference.as_str(),
                    refunded_at: micros(r.refunded_at),
                })
                .collect(),
            events: events
                .iter()
                .map(|e| EventRecord {
                    event_id: e.id.as_uuid(),
                    topic: e.topic.as_str(),
                    aggregate_type: e.aggregate_type.as_str(),
                    aggregate_id: e.aggregate_id.as_str(),
                    occurred_at: micros(e.occurred_at),
                    payload: &e.payload,
                })
                .collect(),
        })
    }
}
