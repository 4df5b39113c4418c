//! The storage ports of orders: [`OrderStore`] and [`CheckoutStore`]; the shop's
//! pricing tables: [`PricingTableStore`].
//!
//! Each method is one atomic step that an adapter does in one transaction: the order
//! row, its lines, payment, refunds and shipments, and the events handed in (into the
//! outbox) are written together or not at all. [`CheckoutStore`] is the two checkout
//! steps that change orders and stock together; [`SeparateStores`] implements it on
//! an [`OrderStore`] and an `InventoryStore` kept apart.
//!
//! The payment and carrier ports live beside their models
//! ([`crate::payment::PaymentGateway`], [`crate::carrier::Carrier`]), the
//! notification ports in [`crate::notification`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use commerce_core::{CustomerId, EventEnvelope, SellerId};
use commerce_inventory::ReserveRequest;

use crate::error::Result;
use crate::id::{IdempotencyKey, OrderId};
use crate::model::Order;
use crate::pricing_tables::PricingTables;
use crate::redemption::Redemption;
#[cfg(doc)]
use crate::{
    error::Error,
    model::CancelReason,
    separate_stores::{SeparateStores, rejected_order},
};

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

    /// The stored orders among `ids`, each once, in no particular order (unknown ids
    /// are left out): what a consumer handling a batch of events reads in one go.
    /// The default calls [`OrderStore::get`] for each; backends read them at once.
    async fn get_many(&self, ids: &[OrderId]) -> Result<Vec<Order>> {
        let mut seen = std::collections::HashSet::new();
        let mut orders = Vec::new();
        for id in ids.iter().filter(|id| seen.insert(**id)) {
            if let Some(order) = self.get(*id).await? {
                orders.push(order);
            }
        }
        Ok(orders)
    }

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

    /// Orders with at least one line of `seller_id` (the line's snapshotted seller),
    /// newest first (descending id), paged as [`OrderStore::list_for_customer`]:
    /// what a seller fulfils.
    async fn list_for_seller(&self, seller_id: SellerId, page: OrderPage) -> Result<Vec<Order>>;

    /// Every order, newest first (descending id), paged as
    /// [`OrderStore::list_for_customer`]: what staff browse.
    async fn list_all(&self, page: OrderPage) -> Result<Vec<Order>>;

    /// Orders stuck in `PendingPayment` whose `updated_at <= older_than`, oldest
    /// first (by `created_at`, then id), at most `limit`: checkouts interrupted
    /// mid-way, for the recovery pass to finish or undo.
    async fn list_recoverable(&self, older_than: DateTime<Utc>, limit: u32) -> Result<Vec<Order>>;

    /// Orders with a payment action (`payment.intent`) due at `now` or before
    /// (`intent.due_at <= now`), earliest due first (then by id), at most `limit`:
    /// captures, cancels and refunds the reconciliation pass finishes.
    async fn list_payment_actions_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Order>>;
}

/// What [`CheckoutStore::place_and_reserve`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaceOutcome {
    /// The order is stored pending payment (version 1, its events written) and every
    /// line of the reservation is held.
    Placed(Order),
    /// An order with the same idempotency key already existed: it is returned as it
    /// is now; nothing was written and nothing reserved.
    Existing(Order),
    /// The stock could not be reserved: the order is stored **cancelled** (with
    /// [`CancelReason::OutOfStock`] naming the first short SKU in SKU order, or
    /// [`CancelReason::ReservationExpired`] when the reservation id was already used
    /// and has ended), its events (the events passed in, then `OrderCancelled`)
    /// written, and nothing is held. A repeated checkout with the key finds this order.
    Rejected(Order),
}

/// The checkout steps that touch orders and stock together.
///
/// Both methods are one atomic step in a native implementation (one transaction,
/// events into the outbox in it). [`SeparateStores`] runs them as two calls on the
/// separate ports; the doc of each method says what a crash between them leaves,
/// which the checkout's recovery pass finishes or undoes. The conformance suite
/// (`testkit::checkout_store`) is the spec.
#[async_trait]
pub trait CheckoutStore: Send + Sync {
    /// Stores the pending `order` with `events` and reserves `reservation` (whose id
    /// must be `order.reservation_id`: `Validation` otherwise), all or nothing.
    ///
    /// The idempotency key is unique as in [`OrderStore::create`]: of concurrent calls
    /// with one key exactly one returns `Placed` (or `Rejected`), the others
    /// `Existing`, and only the first reserves anything. On a shortage (or an ended
    /// reservation with the same id) the order is stored cancelled instead:
    /// [`PlaceOutcome::Rejected`] (build it with [`rejected_order`]). The stored order
    /// gets version 1 when placed; `order.version` is ignored.
    ///
    /// A native store decides the shortage in the transaction that would place the
    /// order, and stores the rejected order after it: a crash leaves nothing, or the
    /// placed and reserved order, or the rejected order.
    /// [`SeparateStores`] creates the order first: a crash before the reservation
    /// leaves a pending order holding no stock, which recovery cancels.
    async fn place_and_reserve(
        &self,
        order: &Order,
        events: &[EventEnvelope],
        reservation: &ReserveRequest,
        now: DateTime<Utc>,
    ) -> Result<PlaceOutcome>;

    /// [`CheckoutStore::place_and_reserve`] that also counts the limited promotion
    /// codes the order redeems ([`crate::redemption`]), in the same step: the order
    /// is placed only if every limit leaves room, counting the orders that hold
    /// their redemptions ([`crate::redemption::holds_redemptions`]); otherwise
    /// `PromotionExhausted` with nothing written and nothing reserved. A key already
    /// used answers `Existing` whatever the limits; an order stored `Rejected` counts
    /// nothing. Of N concurrent calls against a limit of k, at most k are placed.
    ///
    /// The default serves orders without redemptions (it calls
    /// `place_and_reserve`) and refuses the others (`Validation`): a store that
    /// cannot count them must not let a limit be passed.
    async fn place_redeeming(
        &self,
        order: &Order,
        events: &[EventEnvelope],
        reservation: &ReserveRequest,
        redemptions: &[Redemption],
        now: DateTime<Utc>,
    ) -> Result<PlaceOutcome> {
        if redemptions.is_empty() {
            return self
                .place_and_reserve(order, events, reservation, now)
                .await;
        }
        Err(crate::error::Error::validation(
            "promo_codes",
            "this checkout store cannot count promotion usage limits",
        ))
    }

    /// How many orders hold a redemption of each of `codes` (upper-cased), in the
    /// order given: what the limits are checked against. The default counts none.
    async fn redemption_counts(&self, codes: &[String]) -> Result<Vec<u64>> {
        Ok(vec![0; codes.len()])
    }

    /// Commits the reservation `order.reservation_id` (active -> committed; already
    /// committed is fine and changes no stock) and replaces the order as
    /// [`OrderStore::update`] does (compare-and-set on `expected_version`, `events`
    /// into the outbox), together. Returns the order as stored.
    ///
    /// Errors, with nothing changed:
    /// - the reservation cannot be committed: the inventory store's error as
    ///   [`Error::from`] maps it: [`Error::Inventory`] holding
    ///   `commerce_inventory::Error::IllegalTransition` (released or expired) or
    ///   `NotFound` (unknown id), exactly what `InventoryStore::commit` returns;
    /// - `Conflict` when the stored version is not `expected_version`; `NotFound` for
    ///   an unknown order.
    ///
    /// A native store checks the version before it commits, so a `Conflict` leaves
    /// the reservation as it was. [`SeparateStores`] commits first and then updates
    /// (the order a checkout always used): after a `Conflict` the reservation may be
    /// committed, and a crash between the two leaves a committed reservation on a
    /// pending order, which recovery confirms.
    async fn commit_and_update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> Result<Order>;
}

/// The shop's pricing tables (tax, shipping methods, promotions): one versioned
/// document ([`PricingTables`]).
///
/// The store keeps what it is given; the rules of a write are checked before, by
/// [`PricingTablesService`](crate::pricing_tables::PricingTablesService). The conformance suite
/// (`testkit::pricing_tables`) is the spec.
#[async_trait]
pub trait PricingTableStore: Send + Sync {
    /// The stored tables; `None` before the first save.
    async fn load(&self) -> Result<Option<PricingTables>>;

    /// Stores `tables` if the stored version is `expected_version` (0: nothing is
    /// stored yet), with version `expected_version + 1`, and appends `events` to the
    /// outbox, in one transaction; returns the tables as stored. `tables.version` is
    /// ignored.
    ///
    /// Errors: `Conflict` when the stored version is another (a concurrent writer
    /// won, or the tables were seeded already): nothing is written.
    async fn save(
        &self,
        tables: &PricingTables,
        expected_version: u64,
        events: &[EventEnvelope],
    ) -> Result<PricingTables>;
}
