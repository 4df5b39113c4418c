//! Checks of a whole checkout over a [`CheckoutFixture`]: idempotency, concurrency,
//! failure paths, recovery after a crash at every step, and what follows an order
//! (cancel, ship, deliver, refund).

use chrono::Duration;
use futures::future::join_all;

use commerce_cart::{CartKey, CartLimits, GuestCartToken};
use commerce_core::testkit::fixtures::{product, standard_shipping, us_address, us_tax_table, usd};
use commerce_core::{Actor, Currency, CustomerId, Money, Sku};
use commerce_inventory::{LocationCode, StockAdjustment, StockLevel};

use crate::checkout::{CapturePolicy, Checkout, CheckoutConfig, CheckoutRequest, CheckoutStep};
use crate::error::Error;
use crate::id::{IdempotencyKey, OrderId};
use crate::machine::{FulfilmentStatus, OrderStatus, PaymentStatus};
use crate::model::{CancelReason, Order, ShipmentLine};
use crate::payment::{DeclineReason, PaymentGateway, PaymentMethod};
use crate::simulated::{FaultTiming, GatewayOperation, test_cards};

use super::support::unique;
use super::{CheckoutFixture, card};

/// USD, US sales tax, the `standard` shipping method, capture on confirm.
pub fn test_config() -> CheckoutConfig {
    CheckoutConfig::new(Currency::USD, us_tax_table(), vec![standard_shipping()])
}

/// A new active product with one SKU at `price` and `units` in stock.
pub async fn stocked_sku(f: &CheckoutFixture, price: &str, units: i64) -> Sku {
    let code = unique("SKU");
    let p = product(&code, usd(price));
    f.catalog.upsert_product(&p).await.unwrap();
    let sku = p.variants[0].sku.clone();
    if units > 0 {
        f.inventory
            .adjust(
                &StockAdjustment::received(sku.clone(), units),
                f.clock_now(),
            )
            .await
            .unwrap();
    }
    sku
}

impl CheckoutFixture {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        commerce_core::Clock::now(self.clock.as_ref())
    }
}

/// A cart (the customer's, or a new guest cart) holding `lines`.
pub async fn cart_with(
    f: &CheckoutFixture,
    customer: Option<CustomerId>,
    lines: &[(&Sku, u32)],
) -> CartKey {
    let key = match customer {
        Some(c) => CartKey::Customer(c),
        None => CartKey::guest(&GuestCartToken::generate().expect("random guest token")),
    };
    for (sku, qty) in lines {
        f.carts
            .add(&key, sku, *qty, CartLimits::default(), f.clock_now())
            .await
            .unwrap();
    }
    key
}

/// A checkout attempt: who acts, and what they send.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The buyer.
    pub actor: Actor,
    /// The request body.
    pub request: CheckoutRequest,
}

impl std::ops::Deref for Attempt {
    type Target = CheckoutRequest;
    fn deref(&self) -> &CheckoutRequest {
        &self.request
    }
}

impl std::ops::DerefMut for Attempt {
    fn deref_mut(&mut self) -> &mut CheckoutRequest {
        &mut self.request
    }
}

/// Runs [`Attempt`]s on a [`Checkout`].
#[allow(async_fn_in_trait)]
pub trait CheckoutAs {
    /// [`Checkout::checkout`] of the attempt.
    async fn checkout_as(&self, attempt: &Attempt) -> Result<Order, Error>;
    /// [`Checkout::checkout_interrupted`] of the attempt.
    async fn interrupted_as(&self, attempt: &Attempt, step: CheckoutStep) -> Result<Order, Error>;
}

impl CheckoutAs for Checkout {
    async fn checkout_as(&self, attempt: &Attempt) -> Result<Order, Error> {
        self.checkout(&attempt.actor, &attempt.request).await
    }
    async fn interrupted_as(&self, attempt: &Attempt, step: CheckoutStep) -> Result<Order, Error> {
        self.checkout_interrupted(&attempt.actor, &attempt.request, step)
            .await
    }
}

/// A checkout attempt to California with `method` by the owner of `cart` (a guest
/// holding it, or its customer; `customer` must then be that customer).
pub fn request(cart: CartKey, customer: Option<CustomerId>, method: PaymentMethod) -> Attempt {
    let actor = match (cart, customer) {
        (_, Some(c)) => Actor::Customer(c),
        (CartKey::Guest(g), None) => Actor::Guest(g),
        (CartKey::Customer(c), None) => Actor::Customer(c),
    };
    Attempt {
        actor,
        request: CheckoutRequest::new(
            IdempotencyKey::new(unique("checkout")).unwrap(),
            "Shopper@Example.com",
            us_address("CA"),
            "standard",
            method,
        ),
    }
}

async fn level(f: &CheckoutFixture, sku: &Sku) -> StockLevel {
    f.inventory
        .stock(sku, &LocationCode::default_location())
        .await
        .unwrap()
        .unwrap()
}

async fn assert_stock(f: &CheckoutFixture, sku: &Sku, on_hand: u64, reserved: u64) {
    let l = level(f, sku).await;
    assert_eq!(
        (l.on_hand, l.reserved),
        (on_hand, reserved),
        "stock of {sku}"
    );
}

async fn order_topics(f: &CheckoutFixture, id: OrderId) -> Vec<String> {
    commerce_core::testkit::support::drain(f.outbox.as_ref(), &unique("group"))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.aggregate_type == "order" && e.aggregate_id == id.to_string())
        .map(|e| e.topic)
        .collect()
}

async fn reload(f: &CheckoutFixture, id: OrderId) -> Order {
    f.orders.get(id).await.unwrap().unwrap()
}

fn checkout(f: &CheckoutFixture) -> Checkout {
    f.checkout(test_config())
}

fn failed_reason(result: Result<Order, Error>) -> (OrderId, CancelReason) {
    match result {
        Err(Error::CheckoutFailed { order_id, reason }) => (order_id, reason),
        other => panic!("expected CheckoutFailed, got {other:?}"),
    }
}

/// Past the recovery grace period.
fn later(f: &CheckoutFixture, c: &Checkout) -> chrono::DateTime<chrono::Utc> {
    f.clock
        .advance(c.config().recovery_grace + Duration::seconds(1));
    f.clock_now()
}

/// A checkout confirms the order, captures once, sells the stock, clears the cart
/// and writes the order's events.
pub async fn checkout_confirms_the_order_sells_the_stock_and_clears_the_cart(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let order = c
        .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::Confirmed);
    assert_eq!(order.payment.status, PaymentStatus::Captured);
    assert_eq!(order.payment.captured, order.totals.grand_total);
    assert_eq!(order.fulfilment.status, FulfilmentStatus::Unfulfilled);
    assert_eq!(order.email, "shopper@example.com");
    order.check_invariants().unwrap();
    assert_eq!(reload(&f, order.id).await, order);
    assert_stock(&f, &sku, 8, 0).await;
    assert!(f.carts.cart(&cart).await.unwrap().is_none());
    let stats = f.gateway.stats();
    assert_eq!((stats.authorizations, stats.captures), (1, 1));
    assert_eq!(
        order_topics(&f, order.id).await,
        vec![
            "order.placed",
            "payment.authorized",
            "order.confirmed",
            "payment.captured"
        ]
    );
}

/// Order lines snapshot name, price, tax and shipping; later price changes leave the
/// order alone.
pub async fn checkout_snapshots_prices_tax_and_shipping(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "10.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 3)]).await;
    let order = c
        .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
        .await
        .unwrap();
    let line = &order.lines[0];
    assert!(line.name.contains(sku.as_str()), "{}", line.name);
    assert_eq!(line.quantity, 3);
    assert_eq!(line.unit_price, usd("10.00"));
    assert_eq!(line.subtotal, usd("30.00"));
    assert_eq!(line.tax, usd("2.18")); // 7.25 % of 30.00 = 2.175, half-up per line
    assert_eq!(order.totals.shipping_total, usd("9.50")); // 1.5 kg tier
    assert_eq!(order.shipping.code, "standard");
    assert_eq!(order.shipping.price, usd("9.50"));
    assert_eq!(order.totals.grand_total, usd("41.68"));
    f.catalog.set_price(&sku, usd("99.00")).await.unwrap();
    let read = reload(&f, order.id).await;
    assert_eq!(read.lines[0].unit_price, usd("10.00"));
    assert_eq!(read.totals.grand_total, usd("41.68"));
}

/// Defect 7: retrying a checkout with its key returns the same order and charges
/// once.
pub async fn retry_with_the_same_key_returns_the_same_order_and_charges_once(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let req = request(cart, None, card(test_cards::APPROVED));
    let first = c.checkout_as(&req).await.unwrap();
    let second = c.checkout_as(&req).await.unwrap();
    let third = c.checkout_as(&req).await.unwrap();
    assert_eq!(second, first);
    assert_eq!(third, first);
    assert_eq!(f.gateway.stats().authorizations, 1);
    assert_eq!(f.gateway.stats().captures, 1);
    assert_stock(&f, &sku, 8, 0).await;
}

/// Idempotency keys are scoped to the buyer: the same key from another guest (even
/// with the same email) or from a customer is an independent checkout, never the
/// first buyer's order.
pub async fn idempotency_scope_same_key_from_another_buyer_is_an_independent_checkout(
    f: CheckoutFixture,
) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let req = request(cart, None, card(test_cards::APPROVED));
    let first = c.checkout_as(&req).await.unwrap();

    let other_cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let mut other = request(other_cart, None, card(test_cards::APPROVED));
    other.idempotency_key = req.idempotency_key.clone();
    let second = c.checkout_as(&other).await.unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(second.guest_cart, other.actor.guest_cart());

    let customer = CustomerId::new();
    let mut as_customer = request(
        cart_with(&f, Some(customer), &[(&sku, 1)]).await,
        Some(customer),
        card(test_cards::APPROVED),
    );
    as_customer.idempotency_key = req.idempotency_key.clone();
    let third = c.checkout_as(&as_customer).await.unwrap();
    assert_ne!(third.id, first.id);
    assert_eq!(third.customer_id, Some(customer));
    // Each buyer's retry gets their own order back; three charges in all.
    assert_eq!(c.checkout_as(&req).await.unwrap().id, first.id);
    assert_eq!(c.checkout_as(&other).await.unwrap().id, second.id);
    assert_eq!(c.checkout_as(&as_customer).await.unwrap().id, third.id);
    assert_eq!(f.gateway.stats().authorizations, 3);
    assert_stock(&f, &sku, 7, 0).await;
}

/// The same key from the same buyer with another request (address, payment method
/// kind, cart content) is `IdempotencyKeyReused`, never the old order; the same
/// request again (its cart cleared by the first success) is the old order.
pub async fn idempotency_scope_same_key_with_another_request_is_an_error(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let req = request(cart, None, card(test_cards::APPROVED));
    let first = c.checkout_as(&req).await.unwrap();
    assert!(first.request_fingerprint.is_some());

    let mut elsewhere = req.clone();
    elsewhere.shipping_address = us_address("NY");
    let err = c.checkout_as(&elsewhere).await.unwrap_err();
    assert!(matches!(err, Error::IdempotencyKeyReused { .. }), "{err:?}");

    let mut cash = req.clone();
    cash.payment_method = PaymentMethod::CashOnDelivery;
    let err = c.checkout_as(&cash).await.unwrap_err();
    assert!(matches!(err, Error::IdempotencyKeyReused { .. }), "{err:?}");

    // The cart refilled with something else under the same key.
    f.carts
        .add(&cart, &sku, 2, CartLimits::default(), f.clock_now())
        .await
        .unwrap();
    let err = c.checkout_as(&req).await.unwrap_err();
    assert!(matches!(err, Error::IdempotencyKeyReused { .. }), "{err:?}");
    f.carts.clear(&cart).await.unwrap();

    assert_eq!(c.checkout_as(&req).await.unwrap().id, first.id);
    assert_eq!(f.gateway.stats().authorizations, 1);
    assert_stock(&f, &sku, 9, 0).await;
}

/// 50 concurrent checkouts with one key make one order and one authorization.
pub async fn concurrent_duplicate_checkouts_make_one_order_and_one_charge(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let req = request(cart, None, card(test_cards::APPROVED));
    let results = join_all((0..50).map(|_| c.checkout_as(&req))).await;
    let mut ids = std::collections::HashSet::new();
    for r in results {
        ids.insert(r.unwrap().id);
    }
    assert_eq!(ids.len(), 1);
    let id = ids.into_iter().next().unwrap();
    assert_eq!(f.gateway.stats().authorizations, 1);
    assert_eq!(reload(&f, id).await.status, OrderStatus::Confirmed);
    assert_stock(&f, &sku, 9, 0).await;
}

/// 100 shoppers racing for the last 7 units: exactly 7 orders are confirmed (and
/// charged), the rest fail out of stock, and the stock ends at zero.
pub async fn last_units_race_sells_exactly_the_stock(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "5.00", 7).await;
    let mut requests = Vec::new();
    for _ in 0..100 {
        let cart = cart_with(&f, None, &[(&sku, 1)]).await;
        requests.push(request(cart, None, card(test_cards::APPROVED)));
    }
    let results = join_all(requests.iter().map(|r| c.checkout_as(r))).await;
    let mut confirmed = 0;
    for r in results {
        match r {
            Ok(o) => {
                assert_eq!(o.status, OrderStatus::Confirmed);
                confirmed += 1;
            }
            Err(Error::CheckoutFailed {
                reason: CancelReason::OutOfStock { .. },
                ..
            }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(confirmed, 7);
    assert_stock(&f, &sku, 0, 0).await;
    assert_eq!(f.gateway.stats().authorizations, 7);
}

/// A declined payment releases the stock and cancels the order with the decline; a
/// retry with the key gives the same failure.
pub async fn decline_releases_the_stock_and_cancels_with_the_reason(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let req = request(cart, None, card(test_cards::DECLINED));
    let (id, reason) = failed_reason(c.checkout_as(&req).await);
    assert!(matches!(
        reason,
        CancelReason::PaymentDeclined {
            reason: DeclineReason::Declined,
            ..
        }
    ));
    let order = reload(&f, id).await;
    assert_eq!(order.status, OrderStatus::Cancelled);
    assert_eq!(order.payment.status, PaymentStatus::Failed);
    assert_eq!(order.cancel_reason, Some(reason.clone()));
    order.check_invariants().unwrap();
    assert_stock(&f, &sku, 10, 0).await;
    assert!(
        f.carts.cart(&cart).await.unwrap().is_some(),
        "the cart stays for another try"
    );
    let (again, again_reason) = failed_reason(c.checkout_as(&req).await);
    assert_eq!((again, again_reason), (id, reason));
    assert_eq!(
        order_topics(&f, id).await,
        vec!["order.placed", "payment.failed", "order.cancelled"]
    );
}

/// Missing stock cancels the order before any payment is attempted.
pub async fn out_of_stock_cancels_without_charging(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 1).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let (id, reason) = failed_reason(
        c.checkout_as(&request(cart, None, card(test_cards::APPROVED)))
            .await,
    );
    assert_eq!(
        reason,
        CancelReason::OutOfStock {
            sku: sku.clone(),
            requested: 2,
            available: 1
        }
    );
    assert_eq!(reload(&f, id).await.status, OrderStatus::Cancelled);
    assert_eq!(f.gateway.stats().authorize_calls, 0);
    assert_stock(&f, &sku, 1, 0).await;
}

/// A crash right after the order was stored: recovery cancels it as abandoned.
pub async fn recovery_after_crash_once_placed_cancels(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let order = c
        .interrupted_as(
            &request(cart, None, card(test_cards::APPROVED)),
            CheckoutStep::Placed,
        )
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::PendingPayment);
    let report = c.recover(later(&f, &c)).await.unwrap();
    assert!(report.cancelled.contains(&order.id), "{report:?}");
    let read = reload(&f, order.id).await;
    assert_eq!(read.status, OrderStatus::Cancelled);
    assert_eq!(read.cancel_reason, Some(CancelReason::Abandoned));
    assert_stock(&f, &sku, 10, 0).await;
}

/// A crash after reserving: recovery releases the stock and cancels.
pub async fn recovery_after_crash_once_reserved_cancels_and_releases(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let order = c
        .interrupted_as(
            &request(cart, None, card(test_cards::APPROVED)),
            CheckoutStep::Reserved,
        )
        .await
        .unwrap();
    assert_stock(&f, &sku, 10, 2).await;
    let report = c.recover(later(&f, &c)).await.unwrap();
    assert!(report.cancelled.contains(&order.id), "{report:?}");
    assert_eq!(reload(&f, order.id).await.status, OrderStatus::Cancelled);
    assert_stock(&f, &sku, 10, 0).await;
    assert_eq!(f.gateway.stats().authorize_calls, 0);
}

/// Defect 7: a crash after the charge and before the status update: recovery finds
/// the authorization by its key and confirms the order; nothing is charged twice.
pub async fn recovery_after_crash_once_authorized_confirms_without_a_second_charge(
    f: CheckoutFixture,
) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let req = request(cart, None, card(test_cards::APPROVED));
    let order = c
        .interrupted_as(&req, CheckoutStep::Authorized)
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::PendingPayment);
    assert_eq!(f.gateway.stats().authorizations, 1);
    // A retry meanwhile returns the same pending order, charging nothing.
    assert_eq!(c.checkout_as(&req).await.unwrap().id, order.id);
    let report = c.recover(later(&f, &c)).await.unwrap();
    assert_eq!(report.confirmed, vec![order.id]);
    let read = reload(&f, order.id).await;
    assert_eq!(read.status, OrderStatus::Confirmed);
    assert_eq!(read.payment.status, PaymentStatus::Captured);
    read.check_invariants().unwrap();
    assert_stock(&f, &sku, 8, 0).await;
    let stats = f.gateway.stats();
    assert_eq!((stats.authorizations, stats.captures), (1, 1));
    assert_eq!(c.checkout_as(&req).await.unwrap(), read);
    // A second pass finds nothing to do.
    let again = c.recover(later(&f, &c)).await.unwrap();
    assert!(!again.confirmed.contains(&order.id) && !again.cancelled.contains(&order.id));
}

/// A crash after committing the stock: recovery confirms without touching stock.
pub async fn recovery_after_crash_once_committed_confirms(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let order = c
        .interrupted_as(
            &request(cart, None, card(test_cards::APPROVED)),
            CheckoutStep::Committed,
        )
        .await
        .unwrap();
    assert_stock(&f, &sku, 8, 0).await;
    let report = c.recover(later(&f, &c)).await.unwrap();
    assert_eq!(report.confirmed, vec![order.id]);
    assert_eq!(reload(&f, order.id).await.status, OrderStatus::Confirmed);
    assert_stock(&f, &sku, 8, 0).await;
    assert_eq!(f.gateway.stats().authorizations, 1);
}

/// The gateway charges and the connection drops before the answer: the checkout
/// reports `GatewayUnavailable`, and recovery confirms the order with that one
/// charge.
pub async fn recovery_after_gateway_failure_after_the_charge_confirms_once(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let req = request(cart, None, card(test_cards::APPROVED));
    f.gateway
        .inject_fault(GatewayOperation::Authorize, FaultTiming::AfterProcessing);
    let err = c.checkout_as(&req).await.unwrap_err();
    assert!(matches!(err, Error::GatewayUnavailable(_)), "{err:?}");
    let pending = c
        .order_by_key(&req.actor, &req.idempotency_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.status, OrderStatus::PendingPayment);
    let report = c.recover(later(&f, &c)).await.unwrap();
    assert_eq!(report.confirmed, vec![pending.id]);
    assert_eq!(reload(&f, pending.id).await.status, OrderStatus::Confirmed);
    assert_eq!(f.gateway.stats().authorizations, 1);
    assert_stock(&f, &sku, 8, 0).await;
}

/// The reservation expired after the charge and another shopper bought the stock:
/// recovery voids the authorization and cancels the order.
pub async fn recovery_voids_when_the_reservation_expired_and_the_stock_is_gone(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 2).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let stuck = c
        .interrupted_as(
            &request(cart, None, card(test_cards::APPROVED)),
            CheckoutStep::Authorized,
        )
        .await
        .unwrap();
    f.clock
        .advance(c.config().reservation_ttl + Duration::minutes(1));
    f.inventory.expire_due(f.clock_now(), 1000).await.unwrap();
    let other_cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let other = c
        .checkout_as(&request(other_cart, None, card(test_cards::APPROVED)))
        .await
        .unwrap();
    assert_eq!(other.status, OrderStatus::Confirmed);
    let report = c.recover(later(&f, &c)).await.unwrap();
    assert!(report.cancelled.contains(&stuck.id), "{report:?}");
    let read = reload(&f, stuck.id).await;
    assert_eq!(read.status, OrderStatus::Cancelled);
    assert_eq!(read.cancel_reason, Some(CancelReason::ReservationExpired));
    assert_eq!(read.payment.status, PaymentStatus::Voided);
    read.check_invariants().unwrap();
    assert_eq!(f.gateway.stats().voids, 1);
    assert_stock(&f, &sku, 0, 0).await;
}

/// The reservation expired after the charge but stock remains: recovery reserves
/// again and confirms.
pub async fn recovery_rereserves_an_expired_reservation_when_stock_remains(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 5).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let stuck = c
        .interrupted_as(
            &request(cart, None, card(test_cards::APPROVED)),
            CheckoutStep::Authorized,
        )
        .await
        .unwrap();
    f.clock
        .advance(c.config().reservation_ttl + Duration::minutes(1));
    f.inventory.expire_due(f.clock_now(), 1000).await.unwrap();
    assert_stock(&f, &sku, 5, 0).await;
    let report = c.recover(later(&f, &c)).await.unwrap();
    assert_eq!(report.confirmed, vec![stuck.id]);
    let read = reload(&f, stuck.id).await;
    assert_eq!(read.status, OrderStatus::Confirmed);
    assert_ne!(read.reservation_id, stuck.reservation_id);
    assert_stock(&f, &sku, 3, 0).await;
    assert_eq!(f.gateway.stats().authorizations, 1);
}

/// Recovery leaves orders younger than the grace period alone (a live checkout).
pub async fn recovery_leaves_young_orders_alone(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let order = c
        .interrupted_as(
            &request(cart, None, card(test_cards::APPROVED)),
            CheckoutStep::Reserved,
        )
        .await
        .unwrap();
    let report = c.recover(f.clock_now()).await.unwrap();
    assert!(!report.cancelled.contains(&order.id) && !report.confirmed.contains(&order.id));
    assert_eq!(
        reload(&f, order.id).await.status,
        OrderStatus::PendingPayment
    );
    assert_stock(&f, &sku, 10, 2).await;
}

/// Cancelling before shipment refunds a captured payment (or voids an authorized
/// one) and puts the sold stock back; a second cancel changes nothing.
pub async fn cancel_before_shipment_refunds_and_restocks(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let order = c
        .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
        .await
        .unwrap();
    assert_stock(&f, &sku, 8, 0).await;
    let reason = CancelReason::Merchant {
        note: "fraud check".to_owned(),
    };
    let cancelled = c
        .cancel(&Actor::Admin, order.id, reason.clone())
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.payment.status, PaymentStatus::Refunded);
    assert_eq!(cancelled.payment.refunded, order.totals.grand_total);
    assert_eq!(cancelled.cancel_reason, Some(reason.clone()));
    cancelled.check_invariants().unwrap();
    assert_stock(&f, &sku, 10, 0).await;
    assert_eq!(
        c.cancel(&Actor::Admin, order.id, reason).await.unwrap(),
        cancelled
    );
    assert_eq!(f.gateway.stats().refunds, 1);
    assert_stock(&f, &sku, 10, 0).await;

    // Authorized only (capture on shipment): the hold is voided.
    let c = f.checkout(test_config().with_capture(CapturePolicy::OnShipment));
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let order = c
        .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
        .await
        .unwrap();
    assert_eq!(order.payment.status, PaymentStatus::Authorized);
    let cancelled = c
        .cancel(&Actor::Admin, order.id, CancelReason::CustomerRequested)
        .await
        .unwrap();
    assert_eq!(cancelled.payment.status, PaymentStatus::Voided);
    assert_eq!(f.gateway.stats().voids, 1);
    assert_stock(&f, &sku, 10, 0).await;
}

/// A crash between a cancel's order update and its stock return: cancelling the
/// cancelled order again puts the stock back, exactly once.
pub async fn retried_cancel_finishes_an_interrupted_restock(f: CheckoutFixture) {
    let c = f.checkout(test_config().with_capture(CapturePolicy::OnShipment));
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 3)]).await;
    let order = c
        .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
        .await
        .unwrap();
    assert_stock(&f, &sku, 7, 0).await;

    // The order update of a cancel lands; the process dies before the stock returns.
    if let Some(reference) = &order.payment.provider_reference {
        f.gateway.void(reference).await.unwrap();
    }
    let t = order
        .cancel_voiding(CancelReason::CustomerRequested, f.clock_now())
        .unwrap();
    let events = crate::checkout::envelopes(&t.events, f.clock_now()).unwrap();
    f.orders
        .update(&t.order, order.version, &events)
        .await
        .unwrap();
    assert_stock(&f, &sku, 7, 0).await;

    let again = c
        .cancel(&Actor::Admin, order.id, CancelReason::CustomerRequested)
        .await
        .unwrap();
    assert_eq!(again.status, OrderStatus::Cancelled);
    assert_stock(&f, &sku, 10, 0).await;
    let _ = c
        .cancel(&Actor::Admin, order.id, CancelReason::CustomerRequested)
        .await
        .unwrap();
    assert_stock(&f, &sku, 10, 0).await;
}

/// Partial shipments by line quantity, capture on the first shipment, delivery
/// completes the order; over-shipping and cancelling after shipment are refused.
pub async fn partial_shipments_then_delivery_complete_the_order(f: CheckoutFixture) {
    let c = f.checkout(test_config().with_capture(CapturePolicy::OnShipment));
    let a = stocked_sku(&f, "10.00", 10).await;
    let b = stocked_sku(&f, "15.00", 10).await;
    let cart = cart_with(&f, None, &[(&a, 3), (&b, 1)]).await;
    let order = c
        .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
        .await
        .unwrap();
    let ship = |sku: &Sku, quantity| ShipmentLine {
        sku: sku.clone(),
        quantity,
    };
    let first = c
        .ship(
            &Actor::Admin,
            order.id,
            &[ship(&a, 1)],
            Some("UPS".into()),
            Some("1Z1".into()),
        )
        .await
        .unwrap();
    assert_eq!(first.fulfilment.status, FulfilmentStatus::PartiallyShipped);
    assert_eq!(first.payment.status, PaymentStatus::Captured);
    let err = c
        .ship(&Actor::Admin, order.id, &[ship(&a, 3)], None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::ShipmentExceedsOrder { remaining: 2, .. }),
        "{err:?}"
    );
    let err = c
        .cancel(&Actor::Admin, order.id, CancelReason::CustomerRequested)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let second = c
        .ship(
            &Actor::Admin,
            order.id,
            &[ship(&a, 2), ship(&b, 1)],
            None,
            Some("1Z2".into()),
        )
        .await
        .unwrap();
    assert_eq!(second.fulfilment.status, FulfilmentStatus::Shipped);
    assert_eq!(second.fulfilment.shipments.len(), 2);
    let done = c.deliver(&Actor::Admin, order.id).await.unwrap();
    assert_eq!(done.fulfilment.status, FulfilmentStatus::Delivered);
    assert_eq!(done.status, OrderStatus::Completed);
    done.check_invariants().unwrap();
    assert_eq!(f.gateway.stats().captures, 1);
    assert_eq!(
        order_topics(&f, order.id).await,
        vec![
            "order.placed",
            "payment.authorized",
            "order.confirmed",
            // Capture on shipment: due by the end of the authorization window.
            "payment.action_requested",
            "payment.captured",
            "fulfilment.partially_shipped",
            "fulfilment.shipped",
            "fulfilment.delivered",
            "order.completed"
        ]
    );
}

/// Cash on delivery is authorized without funds and captured on delivery.
pub async fn cash_on_delivery_is_captured_on_delivery(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let order = c
        .checkout_as(&request(cart, None, PaymentMethod::CashOnDelivery))
        .await
        .unwrap();
    assert_eq!(order.status, OrderStatus::Confirmed);
    assert_eq!(order.payment.status, PaymentStatus::Authorized);
    let shipped = c
        .ship(
            &Actor::Admin,
            order.id,
            &[ShipmentLine {
                sku: sku.clone(),
                quantity: 1,
            }],
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(shipped.payment.status, PaymentStatus::Authorized);
    let done = c.deliver(&Actor::Admin, order.id).await.unwrap();
    assert_eq!(done.payment.status, PaymentStatus::Captured);
    assert_eq!(done.payment.captured, order.totals.grand_total);
    assert_eq!(done.status, OrderStatus::Completed);
    assert_eq!(f.gateway.stats().captures, 1);
}

/// A gift card pays while its balance lasts, is charged once, declines when short,
/// and gets refunds back.
pub async fn gift_card_balance_is_charged_once_and_restored_by_refund(f: CheckoutFixture) {
    let c = checkout(&f);
    let code = unique("GC");
    f.gateway.add_gift_card(&code, usd("50.00"));
    let sku = stocked_sku(&f, "20.00", 10).await;
    let gift = PaymentMethod::GiftCard { code: code.clone() };
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let req = request(cart, None, gift.clone());
    let order = c.checkout_as(&req).await.unwrap();
    assert_eq!(order.totals.grand_total, usd("26.45")); // 20.00 + 1.45 tax + 5.00
    c.checkout_as(&req).await.unwrap();
    assert_eq!(f.gateway.gift_card_balance(&code), Some(usd("23.55")));
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let (_, reason) = failed_reason(c.checkout_as(&request(cart, None, gift)).await);
    assert!(matches!(
        reason,
        CancelReason::PaymentDeclined {
            reason: DeclineReason::InsufficientFunds,
            ..
        }
    ));
    let key = IdempotencyKey::new(unique("refund")).unwrap();
    c.refund(&Actor::Admin, order.id, usd("10.00"), key, "goodwill")
        .await
        .unwrap();
    assert_eq!(f.gateway.gift_card_balance(&code), Some(usd("33.55")));
    assert_stock(&f, &sku, 9, 0).await;
}

/// Partial refunds are split across lines and shipping so the parts sum exactly; a
/// repeated key refunds nothing more; the rest refunds everything exactly.
pub async fn partial_refunds_are_allocated_exactly_across_lines(f: CheckoutFixture) {
    let c = checkout(&f);
    let a = stocked_sku(&f, "10.00", 10).await;
    let b = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&a, 1), (&b, 2)]).await;
    let order = c
        .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
        .await
        .unwrap();
    let total = order.totals.grand_total;
    let key = IdempotencyKey::new(unique("refund")).unwrap();
    let part = usd("10.00");
    let refunded = c
        .refund(&Actor::Admin, order.id, part, key.clone(), "late delivery")
        .await
        .unwrap();
    assert_eq!(refunded.payment.status, PaymentStatus::PartiallyRefunded);
    let r = &refunded.payment.refunds[0];
    let sum = Money::sum(
        Currency::USD,
        r.line_amounts.iter().copied().chain([r.shipping]),
    )
    .unwrap();
    assert_eq!(sum, part);
    for (line, share) in refunded.lines.iter().zip(&r.line_amounts) {
        assert_eq!(&line.refunded, share);
        assert!(line.refunded.checked_cmp(&line.total).unwrap().is_le());
    }
    assert_eq!(
        c.refund(&Actor::Admin, order.id, part, key, "late delivery")
            .await
            .unwrap(),
        refunded
    );
    assert_eq!(f.gateway.stats().refunds, 1);
    let rest = total.checked_sub(part).unwrap();
    let too_much = rest.checked_add(usd("0.01")).unwrap();
    let err = c
        .refund(
            &Actor::Admin,
            order.id,
            too_much,
            IdempotencyKey::new(unique("refund")).unwrap(),
            "x",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RefundExceedsCaptured { .. }),
        "{err:?}"
    );
    let all = c
        .refund(
            &Actor::Admin,
            order.id,
            rest,
            IdempotencyKey::new(unique("refund")).unwrap(),
            "returned",
        )
        .await
        .unwrap();
    assert_eq!(all.payment.status, PaymentStatus::Refunded);
    assert_eq!(all.payment.refunded, total);
    for line in &all.lines {
        assert_eq!(line.refunded, line.total);
    }
    assert_eq!(all.totals.shipping_refunded, all.totals.shipping_total);
    all.check_invariants().unwrap();
}

/// Defect 10 end to end: a customer reads and cancels only their own orders, a guest
/// only the orders of the cart they hold; anyone else's order reads as not found;
/// staff reach every order.
pub async fn actor_customers_and_guests_see_and_cancel_only_their_own_orders(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let owner = Actor::Customer(CustomerId::new());
    let stranger = Actor::Customer(CustomerId::new());
    let cart = cart_with(&f, owner.customer_id(), &[(&sku, 1)]).await;
    let order = c
        .checkout_as(&request(
            cart,
            owner.customer_id(),
            card(test_cards::APPROVED),
        ))
        .await
        .unwrap();
    assert_eq!(c.order(&owner, order.id).await.unwrap().id, order.id);
    assert_eq!(c.order(&Actor::Admin, order.id).await.unwrap().id, order.id);
    let stranger_guest = Actor::guest(&GuestCartToken::generate().unwrap());
    let seller = Actor::Seller(commerce_core::SellerId::new());
    for intruder in [stranger, stranger_guest, seller] {
        let err = c.order(&intruder, order.id).await.unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{intruder}: {err:?}");
        let err = c
            .cancel(&intruder, order.id, CancelReason::CustomerRequested)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{intruder}: {err:?}");
    }
    let mine = c
        .orders_of(&owner, crate::ports::OrderPage::first(10))
        .await
        .unwrap();
    assert_eq!(
        mine.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![order.id]
    );
    assert!(
        c.orders_of(&stranger, crate::ports::OrderPage::first(10))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(reload(&f, order.id).await.status, OrderStatus::Confirmed);
    // The owner cancels only "at their request".
    let err = c
        .cancel(
            &owner,
            order.id,
            CancelReason::Merchant {
                note: "x".to_owned(),
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    let cancelled = c
        .cancel(&owner, order.id, CancelReason::CustomerRequested)
        .await
        .unwrap();
    assert_eq!(
        cancelled.cancel_reason,
        Some(CancelReason::CustomerRequested)
    );

    // A guest reads their own order by the cart token they hold.
    let guest_cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let guest = request(guest_cart, None, card(test_cards::APPROVED));
    let guest_order = c.checkout_as(&guest).await.unwrap();
    assert_eq!(
        c.order(&guest.actor, guest_order.id).await.unwrap().id,
        guest_order.id
    );
    let err = c.order(&stranger_guest, guest_order.id).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = c.order(&owner, guest_order.id).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// A seller reads an order holding their products and ships only those lines;
/// customers cannot ship; refunds and returns are staff only.
pub async fn actor_seller_ships_only_lines_of_their_own_products(f: CheckoutFixture) {
    let c = checkout(&f);
    let mine = stocked_sku(&f, "20.00", 10).await;
    let theirs = stocked_sku(&f, "10.00", 10).await;
    let seller_of = |sku: &Sku| {
        let f = &f;
        let sku = sku.clone();
        async move { f.catalog.listings(&[sku]).await.unwrap()[0].seller_id }
    };
    let seller = Actor::Seller(seller_of(&mine).await);
    let other_seller = Actor::Seller(seller_of(&theirs).await);
    let buyer = CustomerId::new();
    let cart = cart_with(&f, Some(buyer), &[(&mine, 1), (&theirs, 1)]).await;
    let order = c
        .checkout_as(&request(cart, Some(buyer), card(test_cards::APPROVED)))
        .await
        .unwrap();
    assert!(order.lines.iter().all(|l| l.seller_id.is_some()));
    assert_eq!(c.order(&seller, order.id).await.unwrap().id, order.id);
    let line = |sku: &Sku| ShipmentLine {
        sku: sku.clone(),
        quantity: 1,
    };
    let err = c
        .ship(&seller, order.id, &[line(&theirs)], None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    let err = c
        .ship(
            &Actor::Customer(buyer),
            order.id,
            &[line(&mine)],
            None,
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    let err = c
        .ship(
            &Actor::Seller(commerce_core::SellerId::new()),
            order.id,
            &[line(&mine)],
            None,
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    c.ship(&seller, order.id, &[line(&mine)], None, None)
        .await
        .unwrap();
    let shipped = c
        .ship(&other_seller, order.id, &[line(&theirs)], None, None)
        .await
        .unwrap();
    assert_eq!(shipped.fulfilment.status, FulfilmentStatus::Shipped);
    // Neither seller delivers an order holding the other's lines; staff does.
    let err = c.deliver(&seller, order.id).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    let key = IdempotencyKey::new(unique("refund")).unwrap();
    let err = c
        .refund(&seller, order.id, usd("1.00"), key, "x")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    c.deliver(&Actor::Admin, order.id).await.unwrap();
}

/// Sellers and staff have no cart to check out; a guest cannot pay with store
/// credit, and a customer's store credit is their own (the request names no account).
pub async fn actor_checkout_takes_the_cart_and_credit_of_the_actor_only(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let mut attempt = request(cart, None, PaymentMethod::StoreCredit);
    let err = c.checkout_as(&attempt).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    for actor in [Actor::Admin, Actor::Seller(commerce_core::SellerId::new())] {
        attempt.actor = actor;
        let err = c.checkout_as(&attempt).await.unwrap_err();
        assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    }

    let rich = CustomerId::new();
    let poor = CustomerId::new();
    f.gateway.set_store_credit(rich, usd("100.00"));
    let poor_cart = cart_with(&f, Some(poor), &[(&sku, 1)]).await;
    let (_, reason) = failed_reason(
        c.checkout_as(&request(poor_cart, Some(poor), PaymentMethod::StoreCredit))
            .await,
    );
    assert!(matches!(
        reason,
        CancelReason::PaymentDeclined {
            reason: DeclineReason::InsufficientFunds,
            ..
        }
    ));
    assert_eq!(f.gateway.store_credit(rich), Some(usd("100.00")));
    let rich_cart = cart_with(&f, Some(rich), &[(&sku, 1)]).await;
    let order = c
        .checkout_as(&request(rich_cart, Some(rich), PaymentMethod::StoreCredit))
        .await
        .unwrap();
    assert_eq!(
        f.gateway.store_credit(rich),
        Some(usd("100.00").checked_sub(order.totals.grand_total).unwrap())
    );
}

/// Cancelling an order whose checkout crashed after the charge voids that
/// authorization (found by its key) and releases the stock; recovery then has
/// nothing to do.
pub async fn cancel_of_an_interrupted_checkout_voids_its_authorization(f: CheckoutFixture) {
    let c = checkout(&f);
    let sku = stocked_sku(&f, "20.00", 10).await;
    let cart = cart_with(&f, None, &[(&sku, 2)]).await;
    let order = c
        .interrupted_as(
            &request(cart, None, card(test_cards::APPROVED)),
            CheckoutStep::Authorized,
        )
        .await
        .unwrap();
    assert_stock(&f, &sku, 10, 2).await;
    let cancelled = c
        .cancel(&Actor::Admin, order.id, CancelReason::CustomerRequested)
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.payment.status, PaymentStatus::Voided);
    cancelled.check_invariants().unwrap();
    assert_eq!(f.gateway.stats().voids, 1);
    assert_stock(&f, &sku, 10, 0).await;
    let report = c.recover(later(&f, &c)).await.unwrap();
    assert!(!report.cancelled.contains(&order.id) && !report.confirmed.contains(&order.id));
    assert_eq!(
        order_topics(&f, order.id).await,
        vec![
            "order.placed",
            // The cancel is recorded before any gateway call.
            "payment.action_requested",
            "payment.authorized",
            "payment.voided",
            "order.cancelled"
        ]
    );
}
