//! [`PgOrderStore`]: orders, their payment records, refunds and idempotency keys on
//! PostgreSQL.
//!
//! `create` and `update` are each one SQL statement (data-modifying CTEs) with one
//! parameter, the order as an [`OrderRecord`] (JSON whose fields are named as the
//! columns, read with `jsonb_populate_record(set)` over the tables' row types, so
//! the statement and its round trip do not grow with the number of lines): the
//! order row, its lines, the payment record, refunds and the outbox events are
//! written together or not at all. The unique idempotency
//! key of the order makes concurrent duplicate checkouts end in one order. `update`
//! rewrites only the lines that changed (a refund); an order's lines are otherwise a
//! snapshot. The same statements, with the reservation (or its commit) added, are
//! `PgCheckoutStore`'s unbatched steps.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use commerce_core::{CustomerId, EventEnvelope, SellerId};
use commerce_orders::{
    CreateOutcome, Error, IdempotencyKey, Order, OrderId, OrderPage, OrderStore, Result,
};

use crate::convert::from_json;
use crate::error::{Failure, PortError, retrying, unique_violation};
use crate::order_record::OrderRecord;
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

/// The CTEs every order statement ends with: refunds and outbox events of order `o`,
/// read from the record `$1` (see [`OrderRecord`]).
macro_rules! refunds_and_events {
    () => {
        "r AS (
             INSERT INTO commerce.refunds
                 (id, order_id, idempotency_key, amount, reason, gateway_reference, refunded_at)
             SELECT u.id, o.id, u.idempotency_key, u.amount, u.reason, u.gateway_reference,
                    u.refunded_at
               FROM o, jsonb_populate_recordset(NULL::commerce.refunds, $1::jsonb -> 'refunds') AS u
             ON CONFLICT (id) DO NOTHING
         ),
         e AS (
             INSERT INTO commerce.outbox
                 (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
             SELECT u.event_id, u.topic, u.aggregate_type, u.aggregate_id, u.occurred_at, u.payload
               FROM o, jsonb_array_elements($1::jsonb -> 'events') WITH ORDINALITY AS a (v, n),
                    jsonb_populate_record(NULL::commerce.outbox, a.v) AS u
              ORDER BY a.n
         )"
    };
}

/// The CTEs of [`CREATE`]: the order row (skipped when the idempotency key is taken),
/// its lines, payment record, refunds and events, all read from the record `$1`;
/// `o` holds the inserted id, if any.
macro_rules! create_ctes {
    () => {
        concat!(
            "WITH o AS (
                 INSERT INTO commerce.orders
                     (id, idempotency_key, customer_id, number, email, currency, status, payment_status,
                      fulfilment_status, grand_total, reservation_id, created_at, updated_at, version, document)
                 SELECT u.id, u.idempotency_key, u.customer_id, u.number, u.email, u.currency, u.status,
                        u.payment_status, u.fulfilment_status, u.grand_total, u.reservation_id,
                        u.created_at, u.updated_at, 1, u.document
                   FROM jsonb_populate_record(NULL::commerce.orders, $1::jsonb) AS u
                 ON CONFLICT (idempotency_key) DO NOTHING
                 RETURNING id
             ),
             l AS (
                 INSERT INTO commerce.order_lines
                     (order_id, position, sku, name, quantity, unit_price, subtotal, discount, tax,
                      tax_rate, total, refunded)
                 SELECT o.id, u.position, u.sku, u.name, u.quantity, u.unit_price, u.subtotal, u.discount,
                        u.tax, u.tax_rate, u.total, u.refunded
                   FROM o, jsonb_populate_recordset(NULL::commerce.order_lines, $1::jsonb -> 'lines') AS u
             ),
             p AS (
                 INSERT INTO commerce.payments
                     (order_id, idempotency_key, status, method, authorized, captured, refunded,
                      provider_reference, updated_at)
                 SELECT o.id, u.idempotency_key, u.status, u.method, u.authorized, u.captured,
                        u.refunded, u.provider_reference, u.updated_at
                   FROM o, jsonb_populate_record(NULL::commerce.payments, $1::jsonb -> 'payment') AS u
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
/// (`commerce.reserve_for_order`, migration 0005) in the same statement: `$2` id,
/// `$3` reference, `$4` location, `$5` SKUs, `$6` quantities, `$7` now, `$8`
/// expiry. A shortage raises `CM001`, rolling the order back.
pub(crate) const PLACE: &str = concat!(
    create_ctes!(),
    ",
     s AS (SELECT commerce.reserve_for_order($2, $3, $4, $5, $6, $7, $8) FROM o)
     SELECT EXISTS (SELECT 1 FROM o) AS created, (SELECT count(*) FROM s) AS reserved"
);

/// The CTEs of [`UPDATE`]: the compare-and-set of the order row on `$2` (the
/// expected version), its lines, payment record, refunds and events, read from the
/// record `$1`; `o` holds the updated row, if any.
macro_rules! update_ctes {
    () => {
        concat!(
            "WITH o AS (
                 UPDATE commerce.orders t
                    SET customer_id = u.customer_id, number = u.number, email = u.email,
                        currency = u.currency, status = u.status, payment_status = u.payment_status,
                        fulfilment_status = u.fulfilment_status, grand_total = u.grand_total,
                        reservation_id = u.reservation_id, updated_at = u.updated_at,
                        version = t.version + 1,
                        document = u.document || jsonb_build_object(
                            'id', t.document -> 'id',
                            'idempotency_key', t.document -> 'idempotency_key',
                            'created_at', t.document -> 'created_at')
                   FROM jsonb_populate_record(NULL::commerce.orders, $1::jsonb) AS u
                  WHERE t.id = u.id AND t.version = $2
                 RETURNING t.id, t.version, (t.document -> 'id') AS stored_id,
                           (t.document -> 'idempotency_key') AS stored_key,
                           (t.document -> 'created_at') AS stored_created_at
             ),
             l AS (
                 UPDATE commerce.order_lines t
                    SET sku = u.sku, name = u.name, quantity = u.quantity, unit_price = u.unit_price,
                        subtotal = u.subtotal, discount = u.discount, tax = u.tax, tax_rate = u.tax_rate,
                        total = u.total, refunded = u.refunded
                   FROM o, jsonb_populate_recordset(NULL::commerce.order_lines, $1::jsonb -> 'lines') AS u
                  WHERE t.order_id = o.id AND t.position = u.position
                    -- Lines are a snapshot: only a refund changes one.
                    AND (t.sku, t.name, t.quantity, t.unit_price, t.subtotal, t.discount, t.tax,
                         t.tax_rate, t.total, t.refunded)
                        IS DISTINCT FROM
                        (u.sku, u.name, u.quantity, u.unit_price, u.subtotal, u.discount, u.tax,
                         u.tax_rate, u.total, u.refunded)
             ),
             p AS (
                 UPDATE commerce.payments t
                    SET status = u.status, method = u.method, authorized = u.authorized,
                        captured = u.captured, refunded = u.refunded,
                        provider_reference = u.provider_reference, updated_at = u.updated_at
                   FROM o, jsonb_populate_record(NULL::commerce.payments, $1::jsonb -> 'payment') AS u
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

/// [`UPDATE`] and, when the order was updated, the commit of its reservation
/// (`commerce.commit_for_order`, migration 0005) at `$3` in the same statement. A
/// reservation that cannot be committed raises `CM002`, rolling the update back.
pub(crate) const CONFIRM: &str = concat!(
    update_ctes!(),
    ",
     c AS (SELECT commerce.commit_for_order((($1::jsonb) ->> 'reservation_id')::uuid, $3) AS outcome
             FROM o)
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
        let record = Json(OrderRecord::new(&stored, events)?);
        let (stored, record) = (&stored, &record);
        let created: bool = retrying("create order", move || async move {
            let row = sqlx::query(CREATE)
                .bind(record)
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
        let record = Json(OrderRecord::new(order, events)?);
        let record = &record;
        let row = retrying("update order", move || async move {
            sqlx::query(UPDATE)
                .bind(record)
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

    async fn get_many(&self, ids: &[OrderId]) -> Result<Vec<Order>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
        let rows = sqlx::query("SELECT version, document FROM commerce.orders WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&self.shared.pool)
            .await
            .map_err(Error::from_db)?;
        rows.iter().map(order_from_row).collect()
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
