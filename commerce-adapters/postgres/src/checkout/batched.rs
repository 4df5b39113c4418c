//! The checkout steps in batches: concurrent `place_and_reserve` (and
//! `commit_and_update`) calls queue while a batch of their kind is in the database,
//! and the next batch does all of them with one call of `commerce.place_orders`
//! (`commerce.confirm_orders`), migration 0005: one transaction, one commit, and
//! set-based writes for many checkouts.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Postgres, Row};
use tokio::sync::oneshot;

use commerce_core::{EventEnvelope, Sku};
use commerce_inventory::{ReservationLine, ReservationStatus, ReserveRequest};
use commerce_orders::{CancelReason, Error, Order, Result};

use crate::convert::to_i64;
use crate::error::{Failure, retrying};
use crate::inventory::parse_status;
use crate::orders::{map_unique, name_of, updated_from_row};

/// What one place did (short of an error).
#[derive(Debug)]
pub(crate) enum Placement {
    /// Stored and reserved.
    Placed,
    /// The idempotency key was taken: nothing written.
    KeyTaken,
    /// Short of stock: nothing written.
    Short(CancelReason),
}

/// A place call waiting for its batch.
pub(crate) struct PlacePending {
    pub(crate) order: Order,
    pub(crate) events: Vec<EventEnvelope>,
    pub(crate) reservation: ReserveRequest,
    /// The reservation's lines, summed per SKU and sorted.
    pub(crate) lines: Vec<ReservationLine>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) reply: oneshot::Sender<Result<Placement>>,
}

/// The arrays `commerce.place_orders` and `commerce.confirm_orders` take for the
/// orders of a batch (`$1..$38`: order rows, lines, payment records, events).
#[derive(Default)]
struct OrderArgs<'a> {
    ids: Vec<uuid::Uuid>,
    keys: Vec<&'a str>,
    customer_ids: Vec<Option<uuid::Uuid>>,
    numbers: Vec<Option<&'a str>>,
    emails: Vec<&'a str>,
    currencies: Vec<&'static str>,
    statuses: Vec<&'static str>,
    payment_statuses: Vec<String>,
    fulfilment_statuses: Vec<String>,
    grand_totals: Vec<Decimal>,
    reservation_ids: Vec<uuid::Uuid>,
    created_ats: Vec<DateTime<Utc>>,
    updated_ats: Vec<DateTime<Utc>>,
    documents: Vec<Json<&'a Order>>,
    line_counts: Vec<i32>,
    line_skus: Vec<&'a str>,
    line_names: Vec<&'a str>,
    line_quantities: Vec<i32>,
    unit_prices: Vec<Decimal>,
    subtotals: Vec<Decimal>,
    discounts: Vec<Decimal>,
    taxes: Vec<Decimal>,
    tax_rates: Vec<Decimal>,
    totals: Vec<Decimal>,
    line_refunded: Vec<Decimal>,
    payment_keys: Vec<&'a str>,
    methods: Vec<String>,
    authorized: Vec<Decimal>,
    captured: Vec<Decimal>,
    refunded: Vec<Decimal>,
    provider_references: Vec<Option<&'a str>>,
    event_counts: Vec<i32>,
    event_ids: Vec<uuid::Uuid>,
    topics: Vec<&'a str>,
    kinds: Vec<&'a str>,
    aggregates: Vec<&'a str>,
    event_times: Vec<DateTime<Utc>>,
    payloads: Vec<&'a serde_json::Value>,
}

/// The reservation arrays of `commerce.place_orders` (`$39..$45`).
#[derive(Default)]
struct ReservationArgs<'a> {
    references: Vec<&'a str>,
    locations: Vec<&'a str>,
    counts: Vec<i32>,
    skus: Vec<&'a str>,
    quantities: Vec<i64>,
    nows: Vec<DateTime<Utc>>,
    expires_at: Vec<DateTime<Utc>>,
}

fn count(n: usize, what: &'static str) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::validation(what, "too many for one order"))
}

impl<'a> OrderArgs<'a> {
    /// Appends `o` and its `events`.
    fn push(&mut self, o: &'a Order, events: &'a [EventEnvelope]) -> Result<()> {
        self.ids.push(o.id.as_uuid());
        self.keys.push(o.idempotency_key.as_str());
        self.customer_ids.push(o.customer_id.map(|c| c.as_uuid()));
        self.numbers.push(o.number.as_deref());
        self.emails.push(o.email.as_str());
        self.currencies.push(o.currency.code());
        self.statuses.push(o.status.as_str());
        self.payment_statuses.push(name_of(&o.payment.status)?);
        self.fulfilment_statuses
            .push(name_of(&o.fulfilment.status)?);
        self.grand_totals.push(o.totals.grand_total.amount());
        self.reservation_ids.push(o.reservation_id.as_uuid());
        self.created_ats.push(o.created_at);
        self.updated_ats.push(o.updated_at);
        self.documents.push(Json(o));
        self.line_counts.push(count(o.lines.len(), "lines")?);
        for l in &o.lines {
            self.line_skus.push(l.sku.as_str());
            self.line_names.push(l.name.as_str());
            self.line_quantities.push(
                i32::try_from(l.quantity)
                    .map_err(|_| Error::validation("quantity", "too large for storage"))?,
            );
            self.unit_prices.push(l.unit_price.amount());
            self.subtotals.push(l.subtotal.amount());
            self.discounts.push(l.discount.amount());
            self.taxes.push(l.tax.amount());
            self.tax_rates.push(l.tax_rate);
            self.totals.push(l.total.amount());
            self.line_refunded.push(l.refunded.amount());
        }
        self.payment_keys.push(o.payment.idempotency_key.as_str());
        self.methods.push(name_of(&o.payment.method.kind)?);
        self.authorized.push(o.payment.authorized.amount());
        self.captured.push(o.payment.captured.amount());
        self.refunded.push(o.payment.refunded.amount());
        self.provider_references
            .push(o.payment.provider_reference.as_ref().map(|r| r.0.as_str()));
        self.event_counts.push(count(events.len(), "events")?);
        for e in events {
            self.event_ids.push(e.id.as_uuid());
            self.topics.push(e.topic.as_str());
            self.kinds.push(e.aggregate_type.as_str());
            self.aggregates.push(e.aggregate_id.as_str());
            self.event_times.push(e.occurred_at);
            self.payloads.push(&e.payload);
        }
        Ok(())
    }

    /// Binds `$1..$38`.
    fn bind<'q>(
        &'q self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        query
            .bind(&self.ids)
            .bind(&self.keys)
            .bind(&self.customer_ids)
            .bind(&self.numbers)
            .bind(&self.emails)
            .bind(&self.currencies)
            .bind(&self.statuses)
            .bind(&self.payment_statuses)
            .bind(&self.fulfilment_statuses)
            .bind(&self.grand_totals)
            .bind(&self.reservation_ids)
            .bind(&self.created_ats)
            .bind(&self.updated_ats)
            .bind(&self.documents)
            .bind(&self.line_counts)
            .bind(&self.line_skus)
            .bind(&self.line_names)
            .bind(&self.line_quantities)
            .bind(&self.unit_prices)
            .bind(&self.subtotals)
            .bind(&self.discounts)
            .bind(&self.taxes)
            .bind(&self.tax_rates)
            .bind(&self.totals)
            .bind(&self.line_refunded)
            .bind(&self.payment_keys)
            .bind(&self.methods)
            .bind(&self.authorized)
            .bind(&self.captured)
            .bind(&self.refunded)
            .bind(&self.provider_references)
            .bind(&self.event_counts)
            .bind(&self.event_ids)
            .bind(&self.topics)
            .bind(&self.kinds)
            .bind(&self.aggregates)
            .bind(&self.event_times)
            .bind(&self.payloads)
    }
}

impl<'a> ReservationArgs<'a> {
    fn push(&mut self, p: &'a PlacePending) -> Result<()> {
        self.references.push(p.reservation.reference.as_str());
        self.locations.push(p.reservation.location.0.as_str());
        self.counts.push(count(p.lines.len(), "lines")?);
        for l in &p.lines {
            self.skus.push(l.sku.as_str());
            self.quantities.push(to_i64(l.quantity)?);
        }
        self.nows.push(p.now);
        self.expires_at.push(p.reservation.expires_at);
        Ok(())
    }
}

const PLACE_ORDERS: &str = "SELECT n, outcome, short_sku, short_requested, short_available
   FROM commerce.place_orders($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                              $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26,
                              $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38,
                              $39, $40, $41, $42, $43, $44, $45)";

/// One call placing every order of `batch`; one result per order, in order. An
/// error of the whole call (a unique violation of one order, say) is returned as
/// such: the caller then places the orders one by one.
pub(crate) async fn place_orders(
    pool: &sqlx::PgPool,
    batch: &[PlacePending],
) -> Result<Vec<Result<Placement>>> {
    let mut orders = OrderArgs::default();
    let mut reservations = ReservationArgs::default();
    for p in batch {
        orders.push(&p.order, &p.events)?;
        reservations.push(p)?;
    }
    let (o, r) = (&orders, &reservations);
    let rows = retrying("place orders", move || async move {
        o.bind(sqlx::query(PLACE_ORDERS))
            .bind(&r.references)
            .bind(&r.locations)
            .bind(&r.counts)
            .bind(&r.skus)
            .bind(&r.quantities)
            .bind(&r.nows)
            .bind(&r.expires_at)
            .fetch_all(pool)
            .await
            .map_err(|e| match batch.first() {
                Some(first) if batch.len() == 1 => map_unique(e, &first.order),
                _ => Failure::<Error>::Db(e),
            })
    })
    .await?;
    let mut results: Vec<Result<Placement>> = batch.iter().map(|_| Err(missing())).collect();
    for row in &rows {
        let n: i32 = row.try_get("n").map_err(Error::backend)?;
        let Some(slot) = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| results.get_mut(i).zip(batch.get(i)))
        else {
            return Err(missing());
        };
        *slot.0 = answer(row, slot.1);
    }
    Ok(results)
}

/// The result of one order of a batch.
fn answer(row: &sqlx::postgres::PgRow, pending: &PlacePending) -> Result<Placement> {
    let outcome: String = row.try_get("outcome").map_err(Error::backend)?;
    match outcome.as_str() {
        "placed" => Ok(Placement::Placed),
        "existing" => Ok(Placement::KeyTaken),
        "short" => {
            let sku: String = row.try_get("short_sku").map_err(Error::backend)?;
            let requested: i64 = row.try_get("short_requested").map_err(Error::backend)?;
            let available: i64 = row.try_get("short_available").map_err(Error::backend)?;
            Ok(Placement::Short(CancelReason::OutOfStock {
                sku: Sku::new(sku)?,
                requested: u64::try_from(requested).map_err(Error::backend)?,
                available: u64::try_from(available).map_err(Error::backend)?,
            }))
        }
        _ => Err(Error::Conflict(format!(
            "reservation {} of order {} exists already",
            pending.reservation.id, pending.order.id
        ))),
    }
}

/// The error of a request its batch did not answer (never expected).
pub(crate) fn missing() -> Error {
    Error::backend("the checkout batch ended without an answer for this order")
}

/// A commit-and-update call waiting for its batch.
pub(crate) struct ConfirmPending {
    pub(crate) order: Order,
    pub(crate) expected_version: u64,
    pub(crate) events: Vec<EventEnvelope>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) reply: oneshot::Sender<Result<Order>>,
}

const CONFIRM_ORDERS: &str = "SELECT n, outcome, status, version, stored_id, stored_key,
        stored_created_at
   FROM commerce.confirm_orders($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                                $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25,
                                $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37,
                                $38, $39, $40)";

/// One call committing and updating every order of `batch`; one result per order,
/// in order (an error of the whole call is returned as such).
pub(crate) async fn confirm_orders(
    pool: &sqlx::PgPool,
    batch: &[ConfirmPending],
) -> Result<Vec<Result<Order>>> {
    let mut orders = OrderArgs::default();
    let mut expected = Vec::with_capacity(batch.len());
    let mut nows = Vec::with_capacity(batch.len());
    for p in batch {
        orders.push(&p.order, &p.events)?;
        expected.push(
            i64::try_from(p.expected_version)
                .map_err(|_| Error::validation("expected_version", "too large"))?,
        );
        nows.push(p.now);
    }
    let (o, expected, nows) = (&orders, &expected, &nows);
    let rows = retrying("commit and update orders", move || async move {
        o.bind(sqlx::query(CONFIRM_ORDERS))
            .bind(expected)
            .bind(nows)
            .fetch_all(pool)
            .await
            .map_err(Failure::<Error>::Db)
    })
    .await?;
    let mut results: Vec<Result<Order>> = batch.iter().map(|_| Err(missing())).collect();
    for row in &rows {
        let n: i32 = row.try_get("n").map_err(Error::backend)?;
        let Some(slot) = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| results.get_mut(i).zip(batch.get(i)))
        else {
            return Err(missing());
        };
        *slot.0 = confirmed(row, slot.1);
    }
    Ok(results)
}

/// The result of one order of a confirm batch.
fn confirmed(row: &sqlx::postgres::PgRow, pending: &ConfirmPending) -> Result<Order> {
    let order = &pending.order;
    let outcome: String = row.try_get("outcome").map_err(Error::backend)?;
    let version: Option<i64> = row.try_get("version").map_err(Error::backend)?;
    match outcome.as_str() {
        "updated" => updated_from_row(order, row),
        "conflict" => Err(Error::Conflict(format!(
            "order {} is at version {}, not {}: reload and retry",
            order.id,
            version.unwrap_or_default(),
            pending.expected_version
        ))),
        "missing" => Err(Error::from(commerce_inventory::Error::NotFound {
            entity: "reservation",
            id: order.reservation_id.to_string(),
        })),
        "illegal" => {
            let status: String = row.try_get("status").map_err(Error::backend)?;
            Err(Error::from(commerce_inventory::Error::IllegalTransition {
                id: order.reservation_id,
                from: parse_status(&status)?,
                to: ReservationStatus::Committed,
            }))
        }
        _ => Err(Error::not_found("order", order.id)),
    }
}
