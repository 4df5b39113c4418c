//! [`PgOrderStore`]: orders, their payment records, refunds and idempotency keys on
//! PostgreSQL.
//!
//! `create` and `update` are each one SQL statement (data-modifying CTEs): the order
//! row, its lines (passed as arrays and expanded with `unnest`, so the statement and
//! its round trip do not grow with the number of lines), the payment record, refunds
//! and the outbox events are written together or not at all. The unique idempotency
//! key of the order makes concurrent duplicate checkouts end in one order. `update`
//! rewrites only the lines that changed (a refund); an order's lines are otherwise a
//! snapshot. The same statements, with the reservation (or its commit) added, are
//! `PgCheckoutStore`'s unbatched steps.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::Row;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Postgres, query::Query};

use commerce_core::{CustomerId, EventEnvelope, SellerId};
use commerce_orders::{
    CreateOutcome, Error, IdempotencyKey, Order, OrderId, OrderPage, OrderStore, Result,
};

use crate::convert::from_json;
use crate::error::{Failure, PortError, retrying, unique_violation};
use crate::stores::Shared;

/// Orders with their payment records and idempotency keys.
#[derive(Clone)]
pub struct PgOrderStore {
    shared: Shared,
}

impl std::fmt::Debug for PgOrderStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgOrderStore").finish_non_exhaustive()
    }
}

/// The snake_case name a unit enum serializes to (statuses, method kinds).
pub(crate) fn name_of<T: Serialize>(value: &T) -> Result<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(Error::backend(format!("expected a name, got {other}"))),
        Err(e) => Err(Error::backend(e)),
    }
}

/// Everything `create` and `update` bind besides the order's own fields, computed
/// from the order once and bound by reference (no copies per attempt).
pub(crate) struct Projection<'a> {
    status: &'static str,
    payment_status: String,
    fulfilment_status: String,
    method: String,
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
    refund_ids: Vec<uuid::Uuid>,
    refund_keys: Vec<&'a str>,
    refund_amounts: Vec<Decimal>,
    refund_reasons: Vec<&'a str>,
    refund_references: Vec<&'a str>,
    refund_times: Vec<DateTime<Utc>>,
    event_ids: Vec<uuid::Uuid>,
    event_topics: Vec<&'a str>,
    event_kinds: Vec<&'a str>,
    event_aggregates: Vec<&'a str>,
    event_times: Vec<DateTime<Utc>>,
    event_payloads: Vec<&'a serde_json::Value>,
}

impl<'a> Projection<'a> {
    pub(crate) fn new(order: &'a Order, events: &'a [EventEnvelope]) -> Result<Self> {
        let lines = &order.lines;
        let refunds = &order.payment.refunds;
        Ok(Projection {
            status: order.status.as_str(),
            payment_status: name_of(&order.payment.status)?,
            fulfilment_status: name_of(&order.fulfilment.status)?,
            method: name_of(&order.payment.method.kind)?,
            line_skus: lines.iter().map(|l| l.sku.as_str()).collect(),
            line_names: lines.iter().map(|l| l.name.as_str()).collect(),
            line_quantities: lines
                .iter()
                .map(|l| i32::try_from(l.quantity))
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| Error::validation("quantity", "too large for storage"))?,
            unit_prices: lines.iter().map(|l| l.unit_price.amount()).collect(),
            subtotals: lines.iter().map(|l| l.subtotal.amount()).collect(),
            discounts: lines.iter().map(|l| l.discount.amount()).collect(),
            taxes: lines.iter().map(|l| l.tax.amount()).collect(),
            tax_rates: lines.iter().map(|l| l.tax_rate).collect(),
            totals: lines.iter().map(|l| l.total.amount()).collect(),
            line_refunded: lines.iter().map(|l| l.refunded.amount()).collect(),
            refund_ids: refunds.iter().map(|r| r.id.as_uuid()).collect(),
            refund_keys: refunds.iter().map(|r| r.idempotency_key.as_str()).collect(),
            refund_amounts: refunds.iter().map(|r| r.amount.amount()).collect(),
            refund_reasons: refunds.iter().map(|r| r.reason.as_str()).collect(),
            refund_references: refunds
                .iter()
                .map(|r| r.gateway_reference.as_str())
                .collect(),
            refund_times: refunds.iter().map(|r| r.refunded_at).collect(),
            event_ids: events.iter().map(|e| e.id.as_uuid()).collect(),
            event_topics: events.iter().map(|e| e.topic.as_str()).collect(),
            event_kinds: events.iter().map(|e| e.aggregate_type.as_str()).collect(),
            event_aggregates: events.iter().map(|e| e.aggregate_id.as_str()).collect(),
            event_times: events.iter().map(|e| e.occurred_at).collect(),
            event_payloads: events.iter().map(|e| &e.payload).collect(),
        })
    }

    /// Binds $1..$42 shared by [`CREATE`], [`UPDATE`], [`PLACE`] and [`CONFIRM`]
    /// (`$14`, the document, is `order` serialized straight into the message).
    pub(crate) fn bind<'q>(
        &'q self,
        order: &'q Order,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        let payment = &order.payment;
        query
            .bind(order.id.as_uuid())
            .bind(order.idempotency_key.as_str())
            .bind(order.customer_id.map(|c| c.as_uuid()))
            .bind(order.number.as_deref())
            .bind(order.email.as_str())
            .bind(order.currency.code())
            .bind(self.status)
            .bind(self.payment_status.as_str())
            .bind(self.fulfilment_status.as_str())
            .bind(order.totals.grand_total.amount())
            .bind(order.reservation_id.as_uuid())
            .bind(order.created_at)
            .bind(order.updated_at)
            .bind(sqlx::types::Json(order))
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
            .bind(payment.idempotency_key.as_str())
            .bind(self.method.as_str())
            .bind(payment.authorized.amount())
            .bind(payment.captured.amount())
            .bind(payment.refunded.amount())
            .bind(payment.provider_reference.as_ref().map(|r| r.0.as_str()))
            .bind(&self.refund_ids)
            .bind(&self.refund_keys)
            .bind(&self.refund_amounts)
            .bind(&self.refund_reasons)
            .bind(&self.refund_references)
            .bind(&self.refund_times)
            .bind(&self.event_ids)
            .bind(&self.event_topics)
            .bind(&self.event_kinds)
            .bind(&self.event_aggregates)
            .bind(&self.event_times)
            .bind(&self.event_payloads)
    }
}

/// The CTEs every order statement ends with: refunds and outbox events of order `o`.
macro_rules! refunds_and_events {
    () => {
        "r AS (
             INSERT INTO commerce.refunds
                 (id, order_id, idempotency_key, amount, reason, gateway_reference, refunded_at)
             SELECT u.id, o.id, u.key, u.amount, u.reason, u.reference, u.at
               FROM o, unnest($31::uuid[], $32::text[], $33::numeric[], $34::text[], $35::text[],
                              $36::timestamptz[]) AS u (id, key, amount, reason, reference, at)
             ON CONFLICT (id) DO NOTHING
         ),
         e AS (
             INSERT INTO commerce.outbox
                 (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
             SELECT u.event_id, u.topic, u.kind, u.aggregate, u.at, u.payload
               FROM o, unnest($37::uuid[], $38::text[], $39::text[], $40::text[],
                              $41::timestamptz[], $42::jsonb[])
                       WITH ORDINALITY AS u (event_id, topic, kind, aggregate, at, payload, n)
              ORDER BY u.n
         )"
    };
}

/// The CTEs of [`CREATE`]: the order row (skipped when the idempotency key is taken),
/// its lines, payment record, refunds and events. `$1..$42` (see
/// [`Projection::bind`]); `o` holds the inserted id, if any.
macro_rules! create_ctes {
    () => {
        concat!(
            "WITH o AS (
                 INSERT INTO commerce.orders
                     (id, idempotency_key, customer_id, number, email, currency, status, payment_status,
                      fulfilment_status, grand_total, reservation_id, created_at, updated_at, version, document)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14)
                 ON CONFLICT (idempotency_key) DO NOTHING
                 RETURNING id
             ),
             l AS (
                 INSERT INTO commerce.order_lines
                     (order_id, position, sku, name, quantity, unit_price, subtotal, discount, tax,
                      tax_rate, total, refunded)
                 SELECT o.id, u.n, u.sku, u.name, u.quantity, u.unit_price, u.subtotal, u.discount, u.tax,
                        u.tax_rate, u.total, u.refunded
                   FROM o, unnest($15::text[], $16::text[], $17::int4[], $18::numeric[], $19::numeric[],
                                  $20::numeric[], $21::numeric[], $22::numeric[], $23::numeric[],
                                  $24::numeric[])
                           WITH ORDINALITY AS u (sku, name, quantity, unit_price, subtotal, discount, tax,
                                                 tax_rate, total, refunded, n)
             ),
             p AS (
                 INSERT INTO commerce.payments
                     (order_id, idempotency_key, status, method, authorized, captured, refunded,
                      provider_reference, updated_at)
                 SELECT o.id, $25, $8, $26, $27, $28, $29, $30, $13 FROM o
             ),
             ",
            refunds_and_events!()
        )
    };
}

/// Inserts an order with its refunds unless its idempotency key is taken.
const CREATE: &str = concat!(
    create_ctes!(),
    "
     SELECT EXISTS (SELECT 1 FROM o) AS created"
);

/// [`CREATE`] and, when the order was inserted, the reservation of its lines
/// (`commerce.reserve_for_order`, migration 0005) in the same statement: `$43` id,
/// `$44` reference, `$45` location, `$46` SKUs, `$47` quantities, `$48` now, `$49`
/// expiry. A shortage raises `CM001`, rolling the order back.
pub(crate) const PLACE: &str = concat!(
    create_ctes!(),
    ",
     s AS (SELECT commerce.reserve_for_order($43, $44, $45, $46, $47, $48, $49) FROM o)
     SELECT EXISTS (SELECT 1 FROM o) AS created, (SELECT count(*) FROM s) AS reserved"
);

/// The CTEs of [`UPDATE`]: the compare-and-set of the order row on `$43` (the
/// expected version), its lines, payment record, refunds and events. `$1..$42` (see
/// [`Projection::bind`]); `o` holds the updated row, if any.
macro_rules! update_ctes {
    () => {
        concat!(
            "WITH o AS (
                 UPDATE commerce.orders
                    SET customer_id = $3, number = $4, email = $5, currency = $6, status = $7,
                        payment_status = $8, fulfilment_status = $9, grand_total = $10,
                        reservation_id = $11, updated_at = $13, version = version + 1,
                        document = $14 || jsonb_build_object(
                            'id', document -> 'id',
                            'idempotency_key', document -> 'idempotency_key',
                            'created_at', document -> 'created_at')
                  WHERE id = $1 AND version = $43
                 RETURNING id, version, (document -> 'id') AS stored_id,
                           (document -> 'idempotency_key') AS stored_key,
                           (document -> 'created_at') AS stored_created_at
             ),
             l AS (
                 UPDATE commerce.order_lines t
                    SET sku = u.sku, name = u.name, quantity = u.quantity, unit_price = u.unit_price,
                        subtotal = u.subtotal, discount = u.discount, tax = u.tax, tax_rate = u.tax_rate,
                        total = u.total, refunded = u.refunded
                   FROM o, unnest($15::text[], $16::text[], $17::int4[], $18::numeric[], $19::numeric[],
                                  $20::numeric[], $21::numeric[], $22::numeric[], $23::numeric[],
                                  $24::numeric[])
                           WITH ORDINALITY AS u (sku, name, quantity, unit_price, subtotal, discount, tax,
                                                 tax_rate, total, refunded, n)
                  WHERE t.order_id = o.id AND t.position = u.n
                    -- Lines are a snapshot: only a refund changes one.
                    AND (t.sku, t.name, t.quantity, t.unit_price, t.subtotal, t.discount, t.tax,
                         t.tax_rate, t.total, t.refunded)
                        IS DISTINCT FROM
                        (u.sku, u.name, u.quantity, u.unit_price, u.subtotal, u.discount, u.tax,
                         u.tax_rate, u.total, u.refunded)
             ),
             p AS (
                 UPDATE commerce.payments t
                    SET status = $8, method = $26, authorized = $27, captured = $28, refunded = $29,
                        provider_reference = $30, updated_at = $13
                   FROM o
                  WHERE t.order_id = o.id
             ),
             ",
            refunds_and_events!()
        )
    };
}

/// Replaces an order (with its refunds) at the expected version.
const UPDATE: &str = concat!(
    update_ctes!(),
    "
     SELECT o.version, o.stored_id, o.stored_key, o.stored_created_at FROM o"
);

/// [`UPDATE`] and, when the order was updated, the commit of its reservation `$11`
/// (`commerce.commit_for_order`, migration 0005) at `$44` in the same statement. A
/// reservation that cannot be committed raises `CM002`, rolling the update back.
pub(crate) const CONFIRM: &str = concat!(
    update_ctes!(),
    ",
     c AS (SELECT commerce.commit_for_order($11, $44) AS outcome FROM o)
     SELECT o.version, o.stored_id, o.stored_key, o.stored_created_at,
            (SELECT count(*) FROM c) AS committed
       FROM o"
);

fn order_from_row(row: &PgRow) -> Result<Order> {
    let version: i64 = row.try_get("version").map_err(Error::backend)?;
    let document: serde_json::Value = row.try_get("document").map_err(Error::backend)?;
    let mut order: Order = from_json(document)?;
    order.version = u64::try_from(version)
        .map_err(|_| Error::backend(format!("negative order version {version} in storage")))?;
    Ok(order)
}

pub(crate) fn map_unique(e: sqlx::Error, order: &Order) -> Failure<Error> {
    match unique_violation(&e) {
        Some("orders_pkey") => Failure::Domain(Error::Conflict(format!(
            "order id {} is taken by another order",
            order.id
        ))),
        Some(constraint) => Failure::Domain(Error::Conflict(format!(
            "order {} duplicates a stored key ({constraint})",
            order.id
        ))),
        None => Failure::Db(e),
    }
}

/// The order as an update statement stored it: the one given, with the fields that
/// never change as they were stored and the new version (no need to read it back).
pub(crate) fn updated_from_row(order: &Order, row: &PgRow) -> Result<Order> {
    let version: i64 = row.try_get("version").map_err(Error::backend)?;
    let mut stored = order.clone();
    stored.id = from_json(row.try_get("stored_id").map_err(Error::backend)?)?;
    stored.idempotency_key = from_json(row.try_get("stored_key").map_err(Error::backend)?)?;
    stored.created_at = from_json(row.try_get("stored_created_at").map_err(Error::backend)?)?;
    stored.version = u64::try_from(version)
        .map_err(|_| Error::backend(format!("negative order version {version}")))?;
    Ok(stored)
}

impl PgOrderStore {
    pub(crate) fn new(shared: Shared) -> Self {
        PgOrderStore { shared }
    }

    /// Why a version-checked update of `order` changed no row: `NotFound` or
    /// `Conflict`.
    pub(crate) async fn update_missed(&self, order: &Order, expected_version: u64) -> Error {
        let exists = sqlx::query("SELECT version FROM commerce.orders WHERE id = $1")
            .bind(order.id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await;
        match exists {
            Err(e) => Error::from_db(e),
            Ok(None) => Error::not_found("order", order.id),
            Ok(Some(row)) => match row.try_get::<i64, _>("version") {
                Ok(version) => Error::Conflict(format!(
                    "order {} is at version {version}, not {expected_version}: reload and retry",
                    order.id
                )),
                Err(e) => Error::backend(e),
            },
        }
    }

    async fn fetch_one_where(&self, sql: &'static str, id: uuid::Uuid) -> Result<Option<Order>> {
        let row = sqlx::query(sql)
            .bind(id)
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(Error::from_db)?;
        row.as_ref().map(order_from_row).transpose()
    }
}

#[async_trait]
impl OrderStore for PgOrderStore {
    async fn create(&self, order: &Order, events: &[EventEnvelope]) -> Result<CreateOutcome> {
        let mut stored = order.clone();
        stored.version = 1;
        let projection = Projection::new(&stored, events)?;
        let (stored, projection) = (&stored, &projection);
        let created: bool = retrying("create order", move || async move {
            let row = projection
                .bind(stored, sqlx::query(CREATE))
                .fetch_one(&self.shared.pool)
                .await
                .map_err(|e| map_unique(e, stored))?;
            Ok(row.try_get::<bool, _>("created")?)
        })
        .await?;
        if created {
            return Ok(CreateOutcome::Created(stored.clone()));
        }
        // The key is taken: the statement waited for the other writer to commit, so
        // a new statement sees its order.
        match self.by_idempotency_key(&order.idempotency_key).await? {
            Some(existing) => Ok(CreateOutcome::Existing(existing)),
            None => Err(Error::Conflict(format!(
                "idempotency key {} was taken and released concurrently; retry",
                order.idempotency_key.as_str()
            ))),
        }
    }

    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[EventEnvelope],
    ) -> Result<Order> {
        let expected = i64::try_from(expected_version)
            .map_err(|_| Error::validation("expected_version", "too large"))?;
        let projection = Projection::new(order, events)?;
        let projection = &projection;
        let row = retrying("update order", move || async move {
            projection
                .bind(order, sqlx::query(UPDATE))
                .bind(expected)
                .fetch_optional(&self.shared.pool)
                .await
                .map_err(|e| map_unique(e, order))
        })
        .await?;
        match row {
            Some(row) => updated_from_row(order, &row),
            None => Err(self.update_missed(order, expected_version).await),
        }
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>> {
        self.fetch_one_where(
            "SELECT version, document FROM commerce.orders WHERE id = $1",
            id.as_uuid(),
        )
        .await
    }

    async fn get_for_customer(&self, id: OrderId, customer_id: CustomerId) -> Result<Order> {
        let row = sqlx::query(
            "SELECT version, document FROM commerce.orders WHERE id = $1 AND customer_id = $2",
        )
        .bind(id.as_uuid())
        .bind(customer_id.as_uuid())
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        match row {
            Some(row) => order_from_row(&row),
            None => Err(Error::not_found("order", id)),
        }
    }

    async fn by_idempotency_key(&self, key: &IdempotencyKey) -> Result<Option<Order>> {
        let row =
            sqlx::query("SELECT version, document FROM commerce.orders WHERE idempotency_key = $1")
                .bind(key.as_str())
                .fetch_optional(&self.shared.pool)
                .await
                .map_err(Error::from_db)?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn list_for_customer(
        &self,
        customer_id: CustomerId,
        page: OrderPage,
    ) -> Result<Vec<Order>> {
        let limit = page.limit.min(OrderPage::MAX_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT version, document FROM commerce.orders
              WHERE customer_id = $1 AND ($2::uuid IS NULL OR id < $2)
              ORDER BY id DESC
              LIMIT $3",
        )
        .bind(customer_id.as_uuid())
        .bind(page.before.map(|b| b.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        rows.iter().map(order_from_row).collect()
    }

    async fn list_for_seller(&self, seller_id: SellerId, page: OrderPage) -> Result<Vec<Order>> {
        let limit = page.limit.min(OrderPage::MAX_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        // A containment test on the lines of the document, served by the GIN index
        // of migration 0012.
        let rows = sqlx::query(
            "SELECT version, document FROM commerce.orders
              WHERE document->'lines' @> jsonb_build_array(jsonb_build_object('seller_id', $1::text))
                AND ($2::uuid IS NULL OR id < $2)
              ORDER BY id DESC
              LIMIT $3",
        )
        .bind(seller_id.to_string())
        .bind(page.before.map(|b| b.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        rows.iter().map(order_from_row).collect()
    }

    async fn list_all(&self, page: OrderPage) -> Result<Vec<Order>> {
        let limit = page.limit.min(OrderPage::MAX_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT version, document FROM commerce.orders
              WHERE ($1::uuid IS NULL OR id < $1)
              ORDER BY id DESC
              LIMIT $2",
        )
        .bind(page.before.map(|b| b.as_uuid()))
        .bind(i64::from(limit))
        .fetch_all(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        rows.iter().map(order_from_row).collect()
    }

    async fn list_recoverable(&self, older_than: DateTime<Utc>, limit: u32) -> Result<Vec<Order>> {
        let rows = sqlx::query(
            "SELECT version, document FROM commerce.orders
              WHERE status = 'pending_payment' AND updated_at <= $1
              ORDER BY created_at, id
              LIMIT $2",
        )
        .bind(older_than)
        .bind(i64::from(limit))
        .fetch_all(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        rows.iter().map(order_from_row).collect()
    }

    /// Uses `payment_action_due_at`, which a trigger derives from the document
    /// (migration `0020_payment_actions.sql`).
    async fn list_payment_actions_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Order>> {
        let rows = sqlx::query(
            "SELECT version, document FROM commerce.orders
              WHERE payment_action_due_at <= $1
              ORDER BY payment_action_due_at, id
              LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        rows.iter().map(order_from_row).collect()
    }
}
