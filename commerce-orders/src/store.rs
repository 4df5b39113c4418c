//! The `OrderStore` port.
//!
//! Each method is one atomic step that an adapter does in one transaction: the order
//! row, its lines, payment, refunds and shipments, and the events handed in (into the
//! outbox) are written together or not at all.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use commerce_core::{CustomerId, EventEnvelope};

use crate::error::Result;
use crate::id::{IdempotencyKey, OrderId};
use crate::model::Order;

/// What [`OrderStore::create`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateOutcome {
    /// The order was stored (with version 1) and its events written.
    Created(Order),
    /// An order with the same idempotency key already existed: it is returned as it
    /// is now, the order passed in was discarded and no event was written.
    Existing(Order),
}

impl CreateOutcome {
    /// The stored order, whichever it is.
    pub fn into_order(self) -> Order {
        match self {
            CreateOutcome::Created(o) | CreateOutcome::Existing(o) => o,
        }
    }

    /// True when this call created the order.
    pub fn is_created(&self) -> bool {
        matches!(self, CreateOutcome::Created(_))
    }
}

/// A keyset page of a customer's orders, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    /// Only orders with an id smaller (older) than this one: pass the last id of the
    /// previous page.
    pub before: Option<OrderId>,
    /// Page size; implementations cap it at [`OrderPage::MAX_LIMIT`]. 0 gives an empty
    /// page.
    pub limit: u32,
}

impl OrderPage {
    /// Largest page a store returns.
    pub const MAX_LIMIT: u32 = 100;

    /// The first page of `limit` orders.
    pub fn first(limit: u32) -> Self {
        OrderPage {
            before: None,
            limit,
        }
    }
}

/// Orders.
///
/// Every method is atomic on its own and exact under any number of concurrent
/// callers. Events passed in are appended to the outbox in the same transaction as
/// the order change, in the order given (no dual writes).
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Stores a new order, unless one with the same `order.idempotency_key` exists.
    ///
    /// The idempotency key is unique: of any number of concurrent `create`s with one
    /// key, exactly one returns [`CreateOutcome::Created`] and every other returns
    /// [`CreateOutcome::Existing`] with that order (this is what makes concurrent
    /// duplicate checkouts make one order). The stored order gets `version = 1`
    /// whatever `order.version` says; `Created` returns it as stored. `events` are
    /// written to the outbox only when the order is created. A different order
    /// reusing an existing `order.id` is a `Conflict`.
    async fn create(&self, order: &Order, events: &[EventEnvelope]) -> Result<CreateOutcome>;

    /// Replaces the order with `order.id` (status, payment, refunds, shipments,
    /// reservation id, cancel reason, `updated_at`, ... every field but `id`,
    /// `idempotency_key` and `created_at`, which never change) if its stored version
    /// is `expected_version`, sets the version to `expected_version + 1`, appends
    /// `events` to the outbox, all in one transaction, and returns the order as
    /// stored. `order.version` is ignored.
    ///
    /// Errors: `NotFound` for an unknown id; `Conflict` when the stored version is not
    /// `expected_version` (another writer won: nothing is written, reload and retry).
    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[EventEnvelope],
    ) -> Result<Order>;

    /// The order with `id`, as stored; `None` when unknown.
    async fn get(&self, id: OrderId) -> Result<Option<Order>>;

    /// The order with `id` if it belongs to `customer_id`. An unknown id and another
    /// customer's order (or a guest order) both give the same `NotFound`, so a caller
    /// cannot tell whether someone else's order exists.
    async fn get_for_customer(&self, id: OrderId, customer_id: CustomerId) -> Result<Order>;

    /// The order stored with idempotency key `key` (checkout stores the client's key
    /// scoped to the buyer: see [`crate::Checkout::order_by_key`]); `None` when none.
    async fn by_idempotency_key(&self, key: &IdempotencyKey) -> Result<Option<Order>>;

    /// Orders of `customer_id`, newest first (descending id), at most
    /// `min(page.limit, OrderPage::MAX_LIMIT)`, only ids below `page.before` when set.
    async fn list_for_customer(
        &self,
        customer_id: CustomerId,
        page: OrderPage,
    ) -> Result<Vec<Order>>;

    /// Orders stuck in `PendingPayment` whose `updated_at <= older_than`, oldest
    /// first (by `created_at`, then id), at most `limit`: checkouts interrupted
    /// mid-way, for the recovery pass to finish or undo.
    async fn list_recoverable(&self, older_than: DateTime<Utc>, limit: u32) -> Result<Vec<Order>>;

    /// Orders with a payment action (`payment.intent`) due at `now` or before
    /// (`intent.due_at <= now`), earliest due first (then by id), at most `limit`:
    /// captures, cancels and refunds the reconciliation pass finishes.
    async fn list_payment_actions_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Order>>;
}
