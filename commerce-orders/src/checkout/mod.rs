//! The idempotent checkout, its recovery pass, and what happens to an order after it
//! (cancel, ship, deliver, refund).
//!
//! A checkout runs these steps, each one atomic in its port and safe to repeat:
//!
//! 1. price the cart (one catalog read) and build a `PendingPayment` order with the
//!    snapshot;
//! 2. place it and reserve every line in one step
//!    ([`CheckoutStore::place_and_reserve`]; the reservation id is the order id): the
//!    store's unique idempotency key makes a repeated or concurrent duplicate checkout
//!    get the existing order instead (never a second order), and missing stock stores
//!    the order cancelled;
//! 3. authorize the grand total with a payment key derived from the checkout key;
//! 4. capture (per [`CapturePolicy`]), then commit the reservation and confirm the
//!    order with its events in one step ([`CheckoutStore::commit_and_update`]); clear
//!    the cart.
//!
//! On a decline the reservation is released and the order cancelled with the reason
//! ([`Error::CheckoutFailed`]). A crash or an unreachable gateway leaves a
//! `PendingPayment` order that [`Checkout::recover`] finishes (the payment was
//! authorized) or undoes (it was not) once it is older than
//! [`CheckoutConfig::recovery_grace`].
//!
//! The capture comes before the commit only while the reservation is young (it
//! expires more than [`CheckoutConfig::recovery_grace`] from now), so the commit
//! cannot find it expired; the recovery pass, which finishes old checkouts whose
//! reservation may have ended, commits first and captures after, so that stock that
//! is gone costs a void, not a refund. Its confirm step records the capture as due
//! (a [`crate::PaymentIntent`]) so a crash before the capture is recorded leaves a
//! trace; a live checkout's capture that fails or whose answer is lost is recorded
//! the same way. [`Checkout::reconcile`] (run by [`Checkout::recover`]) finishes
//! every recorded capture, cancel and refund: see `payments.rs`.

mod after_sales;
mod config;
mod fingerprint;
mod payments;
pub mod quote;
mod recovery;
mod step;
pub mod tracking;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use commerce_cart::pricing::{PricingContext, price_cart};
use commerce_cart::{CartKey, CartStore};
use commerce_core::ports::CatalogStore;
use commerce_core::{Actor, Clock, CustomerId, DomainEvent, EventEnvelope, GuestCartId, Money};
use commerce_inventory::{
    InventoryStore, ReservationId, ReservationLine, ReservationStatus, ReserveRequest,
};

pub use config::{CapturePolicy, CheckoutConfig, CheckoutLimits, CheckoutRequest, PaymentRetry};
pub use fingerprint::RequestFingerprint;
pub use payments::ReconcileReport;
pub use recovery::{RecoveryOutcome, RecoveryReport};

use config::after;

use crate::error::{Error, Result};
use crate::event::OrderEvent;
use crate::id::{IdempotencyKey, OrderId};
use crate::lifecycle::{NewOrder, Transitioned};
use crate::machine::{OrderStatus, PaymentStatus};
use crate::model::{CancelReason, Order, OrderLine, OrderTotals, PaymentAction, ShippingSnapshot};
use crate::payment::{
    Authorization, AuthorizeOutcome, AuthorizeRequest, Decline, PaymentGateway, PaymentMethod,
};
use crate::ports::{CheckoutStore, PlaceOutcome};
use crate::ports::{CreateOutcome, OrderStore};
use crate::pricing_tables::PricingTablesService;
use crate::redemption::Redemption;
use crate::separate_stores::SeparateStores;

#[cfg(feature = "testkit")]
pub use step::CheckoutStep;
#[cfg(not(feature = "testkit"))]
use step::CheckoutStep;

/// The checkout service. Cheap to clone; share it as it is.
#[derive(Clone)]
pub struct Checkout {
    carts: Arc<dyn CartStore>,
    catalog: Arc<dyn CatalogStore>,
    inventory: Arc<dyn InventoryStore>,
    orders: Arc<dyn OrderStore>,
    steps: Arc<dyn CheckoutStore>,
    payments: Arc<dyn PaymentGateway>,
    clock: Arc<dyn Clock>,
    config: Arc<CheckoutConfig>,
    /// Carriers for rate shopping and labels ([`Checkout::with_carriers`]).
    carriers: Option<Arc<crate::carrier::CarrierSet>>,
    /// The tax, shipping and promotion tables priced with
    /// ([`Checkout::with_pricing_tables`]).
    pricing: Arc<PricingTablesService>,
}

impl std::fmt::Debug for Checkout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkout")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Wraps events in envelopes stamped `now`.
pub(crate) fn envelopes(events: &[OrderEvent], now: DateTime<Utc>) -> Result<Vec<EventEnvelope>> {
    events
        .iter()
        .map(|e| e.envelope(now).map_err(Error::from))
        .collect()
}

/// Who is buying, from the actor: their cart, their scope of idempotency keys.
struct Buyer {
    cart: CartKey,
    customer_id: Option<CustomerId>,
    guest_cart: Option<GuestCartId>,
    /// The request's key scoped to this buyer (what the order is stored under).
    key: IdempotencyKey,
}

impl Buyer {
    /// The buyer `actor` is: a guest (their cart) or a customer (their own cart).
    /// Sellers and staff have no cart; a guest cannot pay with store credit.
    fn of(actor: &Actor, request: &CheckoutRequest) -> Result<Self> {
        let cart =
            CartKey::of(actor).ok_or(Error::Forbidden("only guests and customers check out"))?;
        let customer_id = actor.customer_id();
        if customer_id.is_none() && request.payment_method == PaymentMethod::StoreCredit {
            return Err(Error::Forbidden("store credit needs a signed-in customer"));
        }
        Ok(Buyer {
            cart,
            customer_id,
            guest_cart: actor.guest_cart(),
            key: Self::scoped_key(cart, &request.idempotency_key)?,
        })
    }

    /// `key` in the scope of the buyer of `cart`.
    fn scoped_key(cart: CartKey, key: &IdempotencyKey) -> Result<IdempotencyKey> {
        let scope = match cart {
            // 128 bits of the digest: as unguessable as the token it comes from.
            CartKey::Guest(id) => format!("g-{}", id.to_string().get(..32).unwrap_or_default()),
            CartKey::Customer(id) => format!("c-{}", id.as_uuid().simple()),
        };
        key.scoped(&scope)
    }
}

/// A number for people: the last eight hex digits of the (random part of the) id.
fn order_number(id: OrderId) -> String {
    let hex = id.as_uuid().simple().to_string().to_uppercase();
    let tail = &hex[hex.len().saturating_sub(8)..];
    format!("{}-{}", &tail[..4], &tail[4..])
}

impl Checkout {
    /// A checkout over these stores. Placing and paying an order touch `orders` and
    /// `inventory` through [`SeparateStores`] (two calls per step); when both live in
    /// one database, pass its native [`CheckoutStore`] with
    /// [`Checkout::with_checkout_store`] to make each step one transaction.
    pub fn new(
        carts: Arc<dyn CartStore>,
        catalog: Arc<dyn CatalogStore>,
        inventory: Arc<dyn InventoryStore>,
        orders: Arc<dyn OrderStore>,
        payments: Arc<dyn PaymentGateway>,
        clock: Arc<dyn Clock>,
        config: CheckoutConfig,
    ) -> Self {
        let steps = Arc::new(SeparateStores::new(orders.clone(), inventory.clone()));
        let pricing = Arc::new(PricingTablesService::in_memory(clock.clone(), &config));
        Checkout {
            carts,
            catalog,
            inventory,
            orders,
            steps,
            payments,
            clock,
            config: Arc::new(config),
            carriers: None,
            pricing,
        }
    }

    /// Prices with the tables of `pricing` (a shared store that admins change)
    /// instead of the configuration's own tables, which then only seed an empty
    /// store. `pricing` must be in the configuration's currency.
    #[must_use]
    pub fn with_pricing_tables(mut self, pricing: Arc<PricingTablesService>) -> Self {
        self.pricing = pricing;
        self
    }

    /// The pricing tables service checkout prices with.
    pub fn pricing_tables(&self) -> &Arc<PricingTablesService> {
        &self.pricing
    }

    /// Places and pays orders through `store` instead of [`SeparateStores`]. `store`
    /// must work on the same orders and stock as the order and inventory stores given
    /// to [`Checkout::new`] (the recovery pass, cancels and refunds use those).
    #[must_use]
    pub fn with_checkout_store(mut self, store: Arc<dyn CheckoutStore>) -> Self {
        self.steps = store;
        self
    }

    /// How many orders hold a redemption of each promotion code (case-insensitive),
    /// in the order given, as the checkout store counts them against the limits.
    pub async fn redemption_counts(&self, codes: &[String]) -> Result<Vec<u64>> {
        let codes: Vec<String> = codes
            .iter()
            .map(|c| c.trim().to_ascii_uppercase())
            .collect();
        self.steps.redemption_counts(&codes).await
    }

    /// The configuration.
    pub fn config(&self) -> &CheckoutConfig {
        &self.config
    }

    /// The order store.
    pub fn orders(&self) -> &Arc<dyn OrderStore> {
        &self.orders
    }

    /// Turns the cart of `actor` (a guest's cart, or a customer's own) into a
    /// confirmed order, idempotently.
    ///
    /// The idempotency key is scoped to the buyer: the same key from another buyer is
    /// an independent checkout, never their order. From the same buyer, the same key
    /// with the same request (cart content, amount, addresses, shipping method,
    /// payment method kind, email, promotion codes) always gives the same order and at
    /// most one charge: a retry after success returns the order; a retry while the
    /// first attempt is still running (or crashed mid-way) returns the order as it is
    /// (`PendingPayment` until the attempt or the recovery pass finishes it); a retry
    /// after a failed attempt returns the same [`Error::CheckoutFailed`]. The same key
    /// with another request is [`Error::IdempotencyKeyReused`].
    ///
    /// Errors before an order exists: `Forbidden` (a seller or staff member has no
    /// cart; a guest cannot pay with store credit), `Validation`, `EmptyCart`,
    /// `UnknownShippingMethod`, `UnknownPromotion`, `NotPurchasable`,
    /// `LimitExceeded`, `PromotionExhausted` (a usage limit is reached: nothing
    /// written or reserved, the cart untouched), `Core` (pricing: destination not served, currency...).
    /// After: `CheckoutFailed` (cancelled: out of stock, declined), or
    /// `GatewayUnavailable` / `Backend` (the order stays pending for recovery).
    pub async fn checkout(&self, actor: &Actor, request: &CheckoutRequest) -> Result<Order> {
        self.run(actor, request, None).await
    }

    /// The order `actor` placed with checkout key `key` (as the client sent it), as
    /// it is now; `None` when none. For a client that lost the answer of a checkout.
    pub async fn order_by_key(&self, actor: &Actor, key: &IdempotencyKey) -> Result<Option<Order>> {
        let Some(cart) = CartKey::of(actor) else {
            return Ok(None);
        };
        self.orders
            .by_idempotency_key(&Buyer::scoped_key(cart, key)?)
            .await
    }

    /// Runs a checkout that "crashes" right after `step`: returns the order as it is
    /// then, leaving the rest to [`Checkout::recover`]. For recovery tests (feature
    /// `testkit`).
    #[cfg(feature = "testkit")]
    pub async fn checkout_interrupted(
        &self,
        actor: &Actor,
        request: &CheckoutRequest,
        step: CheckoutStep,
    ) -> Result<Order> {
        self.run(actor, request, Some(step)).await
    }

    async fn run(
        &self,
        actor: &Actor,
        request: &CheckoutRequest,
        stop: Option<CheckoutStep>,
    ) -> Result<Order> {
        let buyer = Buyer::of(actor, request)?;
        let email = request.validate()?;
        let request_digest = fingerprint::request_digest(request, &email)?;
        // No lookup by key first: the place step answers a repeated key with the
        // existing order (and reserves nothing for it).
        let (placed, redemptions) = match self.place(&buyer, request, email, &request_digest).await
        {
            Ok(placed) => placed,
            Err(e) => {
                // A retry after the cart was cleared (or changed) cannot be priced:
                // the order of the key, if any, is the answer.
                return match self.orders.by_idempotency_key(&buyer.key).await? {
                    Some(existing) => Self::existing_for(request, &request_digest, None, existing),
                    None => Err(e),
                };
            }
        };
        let cart_digest = placed
            .order
            .request_fingerprint
            .as_ref()
            .map(|f| f.cart.clone());
        let repeat = |existing: Order| {
            Self::existing_for(request, &request_digest, cart_digest.as_deref(), existing)
        };
        let events = envelopes(&placed.events, placed.order.created_at)?;
        if stop == Some(CheckoutStep::Placed) {
            return match self.orders.create(&placed.order, &events).await? {
                CreateOutcome::Created(order) => Ok(order),
                CreateOutcome::Existing(existing) => repeat(existing),
            };
        }
        let now = self.clock.now();
        let reservation = self.reserve_request(&placed.order, now)?;
        let order = match self
            .steps
            .place_redeeming(&placed.order, &events, &reservation, &redemptions, now)
            .await?
        {
            PlaceOutcome::Placed(order) => order,
            PlaceOutcome::Existing(existing) => return repeat(existing),
            PlaceOutcome::Rejected(cancelled) => return Err(Self::rejection(cancelled)),
        };
        if stop == Some(CheckoutStep::Reserved) {
            return Ok(order);
        }
        let auth = match self.authorize(&order, &request.payment_method).await? {
            AuthorizeOutcome::Authorized(auth) => auth,
            AuthorizeOutcome::Declined(decline) => {
                return Err(self.fail_declined(order, &decline).await);
            }
        };
        if stop == Some(CheckoutStep::Authorized) {
            return Ok(order);
        }
        let young = after(
            self.clock.now(),
            self.config.recovery_grace,
            "recovery_grace",
        )? < reservation.expires_at;
        let order = self.finish(order, &auth, stop, young).await?;
        if order.status == OrderStatus::Confirmed {
            // Best effort: the order is confirmed whatever happens to the cart.
            let _ = self.carts.clear(&buyer.cart).await;
        }
        Ok(order)
    }

    /// The error for an order the place step stored cancelled.
    fn rejection(cancelled: Order) -> Error {
        let reason = cancelled
            .cancel_reason
            .clone()
            .unwrap_or(CancelReason::ReservationExpired);
        Error::CheckoutFailed {
            order_id: cancelled.id,
            reason,
        }
    }

    /// The answer to a repeated key from the same buyer (keys are scoped to the
    /// buyer, so `order` is theirs): the order, or the failure it ended in, when the
    /// request matches the one stored beside the key; `IdempotencyKeyReused` when it
    /// does not. `cart_digest` is `None` when the repeat could not price its cart.
    fn existing_for(
        request: &CheckoutRequest,
        request_digest: &str,
        cart_digest: Option<&str>,
        order: Order,
    ) -> Result<Order> {
        if let Some(stored) = &order.request_fingerprint
            && !stored.matches(request_digest, cart_digest)
        {
            return Err(Error::IdempotencyKeyReused {
                key: request.idempotency_key.to_string(),
            });
        }
        Self::existing(order)
    }

    /// The answer to a repeated key: the order, or the failure it ended in.
    fn existing(order: Order) -> Result<Order> {
        match (&order.status, &order.cancel_reason) {
            (
                OrderStatus::Cancelled,
                Some(
                    reason @ (CancelReason::OutOfStock { .. }
                    | CancelReason::PaymentDeclined { .. }
                    | CancelReason::ReservationExpired
                    | CancelReason::Abandoned),
                ),
            ) => Err(Error::CheckoutFailed {
                order_id: order.id,
                reason: reason.clone(),
            }),
            _ => Ok(order),
        }
    }

    /// Prices the buyer's cart and builds the pending order (not stored yet), with
    /// the limited promotion codes it redeems.
    async fn place(
        &self,
        buyer: &Buyer,
        request: &CheckoutRequest,
        email: String,
        request_digest: &str,
    ) -> Result<(Transitioned, Vec<Redemption>)> {
        let cart = self
            .carts
            .cart(&buyer.cart)
            .await?
            .filter(|c| !c.is_empty())
            .ok_or(Error::EmptyCart)?;
        let tables = self.pricing.current().await?;
        let carrier_method;
        let (method, carrier_rate) = match tables.shipping_method(&request.shipping_method) {
            Some(m) => (m, None),
            None => {
                // A carrier option chosen by rate shopping (`ups:ground`).
                let (m, quote) = self.carrier_method(&cart, request).await?;
                carrier_method = m;
                (&carrier_method, Some(quote))
            }
        };
        let promotions = PricingTablesService::chosen_promotions(
            &tables,
            &request.promo_codes,
            self.clock.now(),
        )?;
        let context = PricingContext::new(self.config.currency, &tables.tax)
            .with_promotions(&promotions)
            .with_destination(&request.shipping_address)
            .with_shipping(method);
        let priced = price_cart(&cart, self.catalog.as_ref(), &context).await?;
        let b = priced.breakdown;
        let limits = &self.config.limits;
        if b.lines.len() > limits.max_lines as usize {
            return Err(Error::LimitExceeded(format!(
                "at most {} lines per order",
                limits.max_lines
            )));
        }
        let units: u64 = b.lines.iter().map(|l| u64::from(l.quantity)).sum();
        if units > limits.max_units {
            return Err(Error::LimitExceeded(format!(
                "at most {} units per order",
                limits.max_units
            )));
        }
        if let Some(max) = limits.max_grand_total
            && b.grand_total.checked_cmp(&max)?.is_gt()
        {
            return Err(Error::LimitExceeded(format!(
                "order totals above {max} are not accepted"
            )));
        }
        let currency = b.currency;
        let zero = Money::zero(currency);
        let id = OrderId::new();
        let lines = b
            .lines
            .iter()
            .map(|l| OrderLine {
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                subtotal: l.subtotal,
                discount: l.discount,
                tax: l.tax,
                tax_rate: l.tax_rate,
                total: l.total,
                refunded: zero,
                seller_id: priced.sellers.get(&l.sku).copied(),
            })
            .collect();
        let redemptions = Redemption::of_codes(
            &tables,
            &b.applied_promotions,
            &Redemption::buyer_key(buyer.customer_id, &email),
        );
        let fingerprint = RequestFingerprint::new(
            request_digest.to_owned(),
            fingerprint::cart_digest(&cart, b.grand_total)?,
        );
        let totals = OrderTotals {
            prices_include_tax: b.prices_include_tax,
            subtotal: b.subtotal,
            discount_total: b.discount_total,
            shipping_total: b.shipping_total,
            shipping_tax: b.shipping_tax,
            tax_total: b.tax_total,
            grand_total: b.grand_total,
            shipping_refunded: zero,
        };
        let shipping = ShippingSnapshot {
            code: method.code.clone(),
            name: method.name.clone(),
            price: b.shipping_total,
            carrier_rate,
        };
        let new = NewOrder::new(
            id,
            buyer.key.clone(),
            email,
            lines,
            totals,
            request.shipping_address.clone(),
            shipping,
            request.payment_method.summary(),
            self.clock.now(),
        )?
        .with_number(order_number(id))
        .with_customer(buyer.customer_id)
        .with_promotions(b.applied_promotions)
        .with_request_fingerprint(fingerprint)
        .with_billing_address(request.billing_address.clone())
        .with_guest_cart(buyer.guest_cart);
        Order::place(new).map(|placed| (placed, redemptions))
    }

    fn reserve_request(&self, order: &Order, now: DateTime<Utc>) -> Result<ReserveRequest> {
        Ok(ReserveRequest::new(
            order.reservation_id,
            order.id.to_string(),
            order
                .lines
                .iter()
                .map(|l| ReservationLine {
                    sku: l.sku.clone(),
                    quantity: u64::from(l.quantity),
                })
                .collect(),
            after(now, self.config.reservation_ttl, "reservation_ttl")?,
        )
        .at(self.config.location.clone()))
    }

    async fn authorize(&self, order: &Order, method: &PaymentMethod) -> Result<AuthorizeOutcome> {
        self.payments
            .authorize(
                &AuthorizeRequest::new(
                    order.payment.idempotency_key.clone(),
                    order.totals.grand_total,
                    method.clone(),
                    order.id.to_string(),
                )
                .for_customer(order.customer_id),
            )
            .await
    }

    /// Stores a transition made on `base`, with its events. On a version conflict the
    /// transition is not applied: the caller reloads.
    pub(crate) async fn store(&self, base: &Order, t: Transitioned) -> Result<Order> {
        let events = envelopes(&t.events, t.order.updated_at)?;
        self.orders.update(&t.order, base.version, &events).await
    }

    /// Records the authorization, captures (per [`CapturePolicy`]), commits the stock
    /// and confirms. With `young` (the reservation is far from its expiry: a live
    /// checkout) the capture comes first and everything is stored in one step; else
    /// (recovery) the stock is committed and the order confirmed first, then the
    /// capture is recorded with a second update, so a reservation that ended costs a
    /// void rather than a refund.
    async fn finish(
        &self,
        order: Order,
        auth: &Authorization,
        stop: Option<CheckoutStep>,
        young: bool,
    ) -> Result<Order> {
        let id = order.id;
        match self.try_finish(order, auth, stop, young).await {
            Err(Error::Conflict(_)) => self.after_conflict(id, auth).await,
            other => other,
        }
    }

    async fn try_finish(
        &self,
        order: Order,
        auth: &Authorization,
        stop: Option<CheckoutStep>,
        young: bool,
    ) -> Result<Order> {
        let now = self.clock.now();
        let mut t = Transitioned::unchanged(order.clone());
        if t.order.payment.status == PaymentStatus::Pending {
            t = t.then(|o| o.record_authorization(auth, now))?;
        }
        t = t.then(|o| o.confirm(now))?;
        let capture_first = young && stop.is_none();
        if capture_first && self.captures_on_confirm(&t.order) {
            // A capture that failed or whose answer was lost is recorded as due with
            // the confirm step; the reconciliation pass finishes it.
            match self
                .payments
                .capture(&auth.payment_reference, auth.amount)
                .await
            {
                Ok(capture) => t = t.then(|o| o.record_capture(&capture, now))?,
                Err(e) => {
                    let retry = &self.config.payment_retry;
                    let due = after(now, retry.delay(0), "payment_retry")?;
                    t = t
                        .then(|o| o.request_payment_action(PaymentAction::Capture, due, now))?
                        .then(|o| {
                            o.record_payment_action_failure(
                                &e.to_string(),
                                due,
                                retry.alert_after,
                                now,
                            )
                        })?;
                }
            }
        } else if let Some(due) = self.capture_due(&t.order, now)? {
            // Recorded with the confirm step, before any capture call: a crash after
            // it leaves the capture to the reconciliation pass.
            t = t.then(|o| o.request_payment_action(PaymentAction::Capture, due, now))?;
        }
        let stored = if stop == Some(CheckoutStep::Committed) {
            self.inventory
                .commit(order.reservation_id, now)
                .await
                .map(|_| order.clone())
                .map_err(Error::from)
        } else {
            let events = envelopes(&t.events, t.order.updated_at)?;
            self.steps
                .commit_and_update(&t.order, order.version, &events, now)
                .await
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(Error::Inventory(
                commerce_inventory::Error::IllegalTransition { .. }
                | commerce_inventory::Error::NotFound { .. },
            )) => {
                // Released or expired while the payment was on its way: try holding
                // the stock again, else give the money back and cancel.
                return match self.rereserve(order).await? {
                    Ok(order) => Box::pin(self.try_finish(order, auth, stop, false)).await,
                    Err(order) => Err(self.fail_after_authorization(order, auth).await),
                };
            }
            Err(e) => return Err(e),
        };
        if stop == Some(CheckoutStep::Committed) || capture_first {
            return Ok(stored);
        }
        if self.captures_on_confirm(&stored) {
            let id = stored.id;
            return match self.settle_capture(stored.clone()).await {
                Ok(captured) => Ok(captured),
                // Recorded as failing; the reconciliation pass retries it.
                Err(_) => Ok(self.load_order(id).await.unwrap_or(stored)),
            };
        }
        Ok(stored)
    }

    /// When the capture of `order` (confirmed now, authorized) falls due, if it is
    /// ever captured before delivery: now ([`CapturePolicy::OnConfirm`]), or at the
    /// end of [`CheckoutConfig::authorization_window`] when no shipment captured it
    /// first ([`CapturePolicy::OnShipment`]). `None` for cash on delivery.
    fn capture_due(&self, order: &Order, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        if order.payment.status != PaymentStatus::Authorized
            || order.payment.method.kind.captures_on_delivery()
        {
            return Ok(None);
        }
        let wait = match self.config.capture {
            CapturePolicy::OnConfirm => self.config.payment_retry.first_delay,
            CapturePolicy::OnShipment => self.config.authorization_window,
        };
        after(now, wait, "authorization_window").map(Some)
    }

    /// True when `order` (confirmed, authorized) is captured at confirmation.
    fn captures_on_confirm(&self, order: &Order) -> bool {
        self.config.capture == CapturePolicy::OnConfirm
            && !order.payment.method.kind.captures_on_delivery()
            && order.payment.status == PaymentStatus::Authorized
    }

    /// Someone else changed the order while we finished it: accept their outcome, and
    /// give our authorization back if they cancelled it. The stock is theirs to
    /// return: only the writer whose update won touches it.
    async fn after_conflict(&self, id: OrderId, auth: &Authorization) -> Result<Order> {
        let current = self
            .orders
            .get(id)
            .await?
            .ok_or_else(|| Error::not_found("order", id))?;
        if current.status != OrderStatus::Cancelled {
            return Ok(current);
        }
        self.undo_payment(&current, auth).await?;
        Self::existing(current)
    }

    /// Moves the order to a fresh reservation id (stored first, so a crash leaves a
    /// traceable state) and reserves again. `Ok(Err(order))` when the stock is gone.
    async fn rereserve(&self, order: Order) -> Result<Result<Order, Order>> {
        let now = self.clock.now();
        let mut moved = order.clone();
        moved.reservation_id = ReservationId::new();
        moved.updated_at = now.max(order.updated_at);
        let moved = self.orders.update(&moved, order.version, &[]).await?;
        match self
            .inventory
            .reserve(&self.reserve_request(&moved, now)?, now)
            .await
        {
            Ok(r) if r.status == ReservationStatus::Active => Ok(Ok(moved)),
            Ok(_) | Err(commerce_inventory::Error::InsufficientStock { .. }) => Ok(Err(moved)),
            Err(e) => Err(e.into()),
        }
    }

    /// Voids (or refunds, when captured) a payment the order no longer wants.
    async fn undo_payment(&self, order: &Order, auth: &Authorization) -> Result<()> {
        match self.payments.void(&auth.payment_reference).await {
            Ok(()) => Ok(()),
            Err(Error::Conflict(_)) => {
                let refund_key = order.idempotency_key.derive("undo-refund")?;
                let record = self
                    .payments
                    .lookup_by_idempotency_key(&order.payment.idempotency_key)
                    .await?;
                let left = match record {
                    Some(r) => r.captured.checked_sub(r.refunded)?,
                    None => Money::zero(order.currency),
                };
                if left.is_zero() || left.is_negative() {
                    return Ok(());
                }
                self.payments
                    .refund(&crate::payment::RefundRequest::new(
                        auth.payment_reference.clone(),
                        refund_key,
                        left,
                    ))
                    .await
                    .map(|_| ())
            }
            Err(e) => Err(e),
        }
    }

    /// Returns the stock of a cancelled order: releases an active reservation,
    /// restocks a committed one (all lines at once, exactly once). Safe to repeat: a
    /// reservation already given back is left alone.
    async fn return_stock(&self, order: &Order) -> Result<()> {
        let now = self.clock.now();
        // A commit (or an expiry) may land between reading the status and acting on
        // it: the transition then fails and the status is read again. Each status
        // moves forward only, so this ends within a few rounds.
        for _ in 0..4 {
            let Some(reservation) = self.inventory.reservation(order.reservation_id).await? else {
                return Ok(());
            };
            let done = match reservation.status {
                ReservationStatus::Active => {
                    self.inventory.release(order.reservation_id, now).await
                }
                ReservationStatus::Committed => {
                    self.inventory.restock(order.reservation_id, now).await
                }
                ReservationStatus::Released
                | ReservationStatus::Expired
                | ReservationStatus::Restocked => return Ok(()),
            };
            match done {
                Ok(_) => return Ok(()),
                Err(commerce_inventory::Error::IllegalTransition { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::unavailable(format!(
            "the reservation of order {} kept changing while its stock was returned",
            order.id
        )))
    }

    /// The authorization was granted but the stock is gone: void it, cancel.
    async fn fail_after_authorization(&self, order: Order, auth: &Authorization) -> Error {
        match self.try_fail_after_authorization(order, auth).await {
            Ok(e) | Err(e) => e,
        }
    }

    async fn try_fail_after_authorization(
        &self,
        order: Order,
        auth: &Authorization,
    ) -> Result<Error> {
        self.undo_payment(&order, auth).await?;
        let now = self.clock.now();
        let mut t = Transitioned::unchanged(order.clone());
        if t.order.payment.status == PaymentStatus::Pending {
            t = t.then(|o| o.record_authorization(auth, now))?;
        }
        if t.order.payment.status == PaymentStatus::Authorized {
            t = t.then(|o| o.record_void(now))?;
        }
        t = t.then(|o| o.cancel(CancelReason::ReservationExpired, now))?;
        let cancelled = self.store(&order, t).await?;
        self.return_stock(&cancelled).await?;
        Ok(Error::CheckoutFailed {
            order_id: order.id,
            reason: CancelReason::ReservationExpired,
        })
    }

    /// The payment was declined: release the stock and cancel with the decline.
    async fn fail_declined(&self, order: Order, decline: &Decline) -> Error {
        let reason = CancelReason::PaymentDeclined {
            reason: decline.reason,
            message: decline.message.clone(),
        };
        self.fail(order, reason, Some(decline)).await
    }

    /// Cancels the order (no money held) and returns its stock. Returns the error to
    /// give the caller: `CheckoutFailed`, or what went wrong on the way.
    pub(crate) async fn fail(
        &self,
        order: Order,
        reason: CancelReason,
        decline: Option<&Decline>,
    ) -> Error {
        match self.try_fail(order, reason, decline).await {
            Ok(e) | Err(e) => e,
        }
    }

    async fn try_fail(
        &self,
        order: Order,
        reason: CancelReason,
        decline: Option<&Decline>,
    ) -> Result<Error> {
        let now = self.clock.now();
        let t = match decline {
            Some(d) if order.payment.status == PaymentStatus::Pending => order
                .record_decline(d, now)?
                .then(|o| o.cancel(reason.clone(), now))?,
            _ => order.cancel(reason.clone(), now)?,
        };
        match self.store(&order, t).await {
            Ok(cancelled) => {
                // Only the writer whose cancel won returns the stock, so it goes
                // back once. A crash right here leaves an active reservation, which
                // the expiry sweep returns.
                self.return_stock(&cancelled).await?;
                Ok(Error::CheckoutFailed {
                    order_id: order.id,
                    reason,
                })
            }
            Err(Error::Conflict(_)) => {
                let current = self
                    .orders
                    .get(order.id)
                    .await?
                    .ok_or_else(|| Error::not_found("order", order.id))?;
                Ok(Self::existing(current).err().unwrap_or_else(|| {
                    Error::Conflict(format!(
                        "order {} changed while its checkout failed",
                        order.id
                    ))
                }))
            }
            Err(e) => Err(e),
        }
    }
}
