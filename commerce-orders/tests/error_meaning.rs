//! One meaning per error (issue 7), and a cancel racing a commit (the stock comes
//! back exactly once).

// Test code: helpers outside `#[test]` functions unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use commerce_core::Actor;
use commerce_core::testkit::fixtures::usd;
use commerce_core::{EventEnvelope, Money, Sku};
use commerce_inventory::{
    InventoryStore, LocationCode, Reservation, ReservationId, ReserveRequest, StockAdjustment,
    StockLevel, Transition,
};
use commerce_orders::checkout_store::SeparateStores;
use commerce_orders::simulated::test_cards;
use commerce_orders::testkit::checkout::{
    CheckoutAs, cart_with, request, stocked_sku, test_config,
};
use commerce_orders::testkit::payments::{assert_payments_agree, settle};
use commerce_orders::testkit::{CheckoutFixture, card};
use commerce_orders::{
    CancelReason, CheckoutStep, CheckoutStore, Error, Order, OrderStatus, PaymentStatus,
    PlaceOutcome,
};

/// `SeparateStores` whose commit step fails once as an exhausted retry would.
struct UnavailableOnce {
    inner: SeparateStores,
    failed: AtomicBool,
}

#[async_trait]
impl CheckoutStore for UnavailableOnce {
    async fn place_and_reserve(
        &self,
        order: &Order,
        events: &[EventEnvelope],
        reservation: &ReserveRequest,
        now: DateTime<Utc>,
    ) -> commerce_orders::Result<PlaceOutcome> {
        self.inner
            .place_and_reserve(order, events, reservation, now)
            .await
    }

    async fn commit_and_update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[EventEnvelope],
        now: DateTime<Utc>,
    ) -> commerce_orders::Result<Order> {
        if !self.failed.swap(true, Ordering::SeqCst) {
            return Err(Error::unavailable(
                "gave up after 8 attempts that hit concurrent transactions",
            ));
        }
        self.inner
            .commit_and_update(order, expected_version, events, now)
            .await
    }
}

/// An exhausted retry is `Unavailable` (retryable), never a `Conflict`: the checkout
/// reports it instead of returning a pending order as if another writer had won,
/// and recovery confirms the order with its one authorization.
#[tokio::test]
async fn error_meaning_exhausted_retries_are_unavailable_never_a_conflict() {
    let f = CheckoutFixture::in_memory();
    let steps = Arc::new(UnavailableOnce {
        inner: SeparateStores::new(f.orders.clone(), f.inventory.clone()),
        failed: AtomicBool::new(false),
    });
    let c = f.checkout(test_config()).with_checkout_store(steps);
    let sku = stocked_sku(&f, "20.00", 5).await;
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let req = request(cart, None, card(test_cards::APPROVED));
    let err = c.checkout_as(&req).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert!(err.is_retryable() && !err.is_conflict());
    settle(&f, &c).await;
    let order = c
        .order_by_key(&req.actor, &req.idempotency_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.status, OrderStatus::Confirmed);
    assert_eq!(f.gateway.stats().authorizations, 1);
    assert_payments_agree(&f, &[order.id], &sku, 5).await;
}

/// A conflict of the inventory store stays a conflict (with its source) inside an
/// orders error; an unavailable store stays retryable.
#[test]
fn error_meaning_store_errors_keep_their_category_across_crates() {
    let e = Error::from(commerce_inventory::Error::Conflict("reused id".into()));
    assert!(e.is_conflict() && !e.is_retryable(), "{e:?}");
    assert!(std::error::Error::source(&e).is_some());
    let e = Error::from(commerce_inventory::Error::Unavailable("busy".into()));
    assert!(matches!(e, Error::Unavailable(_)) && e.is_retryable());
    let e = Error::from(commerce_core::Error::unavailable("busy"));
    assert!(matches!(e, Error::Unavailable(_)));
    let e = Error::from(commerce_cart::Error::Unavailable("busy".into()));
    assert!(e.is_retryable());
}

async fn confirmed_order(f: &CheckoutFixture, sku: &Sku, units: u32) -> Order {
    let c = f.checkout(test_config());
    let cart = cart_with(f, None, &[(sku, units)]).await;
    c.checkout_as(&request(cart, None, card(test_cards::APPROVED)))
        .await
        .unwrap()
}

/// `plan_refund` rejects negative amounts and amounts below the minor unit, and
/// zero, as its documentation says.
#[tokio::test]
async fn error_meaning_plan_refund_rejects_negative_and_sub_minor_unit_amounts() {
    let f = CheckoutFixture::in_memory();
    let sku = stocked_sku(&f, "20.00", 5).await;
    let order = confirmed_order(&f, &sku, 2).await;
    for bad in ["-1.00", "0.001", "0.00", "1.005"] {
        let amount =
            Money::new(bad.parse().unwrap(), order.currency).unwrap_or_else(|_| usd("0.00"));
        let err = order.plan_refund(amount).unwrap_err();
        assert!(matches!(err, Error::Validation { .. }), "{bad}: {err:?}");
    }
}

/// The refund recorded on the payment is exactly the sum of its allocated line and
/// shipping parts, for every amount from one cent up to the whole capture.
#[tokio::test]
async fn error_meaning_refund_recorded_equals_the_sum_of_its_line_parts() {
    let f = CheckoutFixture::in_memory();
    let a = stocked_sku(&f, "19.99", 5).await;
    let order = confirmed_order(&f, &a, 3).await;
    let total = order.payment.captured;
    let mut cents = 1i64;
    loop {
        let amount = Money::new(rust_decimal::Decimal::new(cents, 2), order.currency).unwrap();
        if amount.checked_cmp(&total).unwrap().is_gt() {
            break;
        }
        let (lines, shipping) = order.plan_refund(amount).unwrap();
        let sum = Money::sum(order.currency, lines.iter().copied())
            .unwrap()
            .checked_add(shipping)
            .unwrap();
        assert_eq!(sum, amount, "parts of {amount}");
        let receipt = commerce_orders::RefundReceipt::new(
            "r",
            order.payment.provider_reference.clone().unwrap(),
            amount,
            amount,
            order.updated_at,
        );
        let key = commerce_orders::IdempotencyKey::new(format!("k{cents}")).unwrap();
        let t = order
            .record_refund(&receipt, key, "test", order.updated_at)
            .unwrap();
        let refund = t.order.payment.refunds.last().unwrap();
        let parts = Money::sum(order.currency, refund.line_amounts.iter().copied())
            .unwrap()
            .checked_add(refund.shipping)
            .unwrap();
        assert_eq!(parts, refund.amount);
        assert_eq!(t.order.payment.refunded, parts);
        cents = cents * 3 + 1;
    }
}

/// A configuration duration too large to add to a date is an error, not a panic.
#[tokio::test]
async fn error_meaning_huge_configured_durations_are_errors_not_panics() {
    let f = CheckoutFixture::in_memory();
    let sku = stocked_sku(&f, "20.00", 5).await;
    let mut config = test_config();
    config.reservation_ttl = Duration::MAX;
    let c = f.checkout(config);
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let err = c
        .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let mut config = test_config();
    config.recovery_grace = Duration::MAX;
    let c = f.checkout(config);
    let err = c.recover(Utc::now()).await.unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
}

/// An inventory whose `release` lets a commit land first: what a checkout's commit
/// racing a cancel's stock return looks like to the cancel.
struct CommitLandsBeforeRelease {
    inner: Arc<dyn InventoryStore>,
}

#[async_trait]
impl InventoryStore for CommitLandsBeforeRelease {
    async fn reserve(
        &self,
        request: &ReserveRequest,
        now: DateTime<Utc>,
    ) -> commerce_inventory::Result<Reservation> {
        self.inner.reserve(request, now).await
    }
    async fn commit(
        &self,
        id: ReservationId,
        now: DateTime<Utc>,
    ) -> commerce_inventory::Result<Transition> {
        self.inner.commit(id, now).await
    }
    async fn release(
        &self,
        id: ReservationId,
        now: DateTime<Utc>,
    ) -> commerce_inventory::Result<Transition> {
        self.inner.commit(id, now).await?;
        self.inner.release(id, now).await
    }
    async fn restock(
        &self,
        id: ReservationId,
        now: DateTime<Utc>,
    ) -> commerce_inventory::Result<Transition> {
        self.inner.restock(id, now).await
    }
    async fn expire_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> commerce_inventory::Result<Vec<ReservationId>> {
        self.inner.expire_due(now, limit).await
    }
    async fn prune_finished(
        &self,
        finished_before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> commerce_inventory::Result<u64> {
        self.inner.prune_finished(finished_before, limit).await
    }
    async fn reservation(
        &self,
        id: ReservationId,
    ) -> commerce_inventory::Result<Option<Reservation>> {
        self.inner.reservation(id).await
    }
    async fn stock(
        &self,
        sku: &Sku,
        location: &LocationCode,
    ) -> commerce_inventory::Result<Option<StockLevel>> {
        self.inner.stock(sku, location).await
    }
    async fn stock_levels(
        &self,
        skus: &[Sku],
        location: &LocationCode,
    ) -> commerce_inventory::Result<Vec<StockLevel>> {
        self.inner.stock_levels(skus, location).await
    }
    async fn adjust(
        &self,
        adjustment: &StockAdjustment,
        now: DateTime<Utc>,
    ) -> commerce_inventory::Result<StockLevel> {
        self.inner.adjust(adjustment, now).await
    }
    async fn set_backorder_policy(
        &self,
        sku: &Sku,
        location: &LocationCode,
        policy: commerce_inventory::BackorderPolicy,
        now: DateTime<Utc>,
    ) -> commerce_inventory::Result<StockLevel> {
        self.inner
            .set_backorder_policy(sku, location, policy, now)
            .await
    }
}

/// The cancel reads the reservation `Active`, the checkout's commit lands, the
/// release fails: the cancel restocks instead, and the stock comes back exactly
/// once (a second cancel changes nothing).
#[tokio::test]
async fn cancel_races_commit_returns_the_stock_exactly_once() {
    let mut f = CheckoutFixture::in_memory();
    let sku = stocked_sku(&f, "20.00", 10).await;
    let c = f.checkout(test_config());
    let cart = cart_with(&f, None, &[(&sku, 3)]).await;
    let pending = c
        .interrupted_as(
            &request(cart, None, card(test_cards::APPROVED)),
            CheckoutStep::Authorized,
        )
        .await
        .unwrap();
    f.inventory = Arc::new(CommitLandsBeforeRelease {
        inner: f.inventory.clone(),
    });
    let c = f.checkout(test_config());
    let cancelled = c
        .cancel(&Actor::Admin, pending.id, CancelReason::CustomerRequested)
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.payment.status, PaymentStatus::Voided);
    let level = f
        .inventory
        .stock(&sku, &LocationCode::default_location())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((level.on_hand, level.reserved), (10, 0));
    c.cancel(&Actor::Admin, pending.id, CancelReason::CustomerRequested)
        .await
        .unwrap();
    assert_payments_agree(&f, &[pending.id], &sku, 10).await;
}

/// A cancel and the recovery pass's commit of the same interrupted checkout, run at
/// once many times: whoever wins, after the cancel is retried to its end every order
/// is cancelled with its money given back and the stock is all back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_races_commit_concurrently_and_the_stock_comes_back_once() {
    let f = CheckoutFixture::in_memory();
    let sku = stocked_sku(&f, "20.00", 40).await;
    let c = f.checkout(test_config());
    let mut ids = Vec::new();
    for _ in 0..20 {
        let cart = cart_with(&f, None, &[(&sku, 2)]).await;
        let pending = c
            .interrupted_as(
                &request(cart, None, card(test_cards::APPROVED)),
                CheckoutStep::Authorized,
            )
            .await
            .unwrap();
        let (recover, cancel) = {
            let (c1, c2) = (c.clone(), c.clone());
            let order = pending.clone();
            let id = pending.id;
            (
                tokio::spawn(async move { c1.recover_order(order).await }),
                tokio::spawn(async move {
                    c2.cancel(&Actor::Admin, id, CancelReason::CustomerRequested)
                        .await
                }),
            )
        };
        let _ = recover.await.unwrap();
        let _ = cancel.await.unwrap();
        // The caller retries a cancel that lost the race until it ends.
        for _ in 0..3 {
            if c.cancel(&Actor::Admin, pending.id, CancelReason::CustomerRequested)
                .await
                .is_ok()
            {
                break;
            }
        }
        ids.push(pending.id);
    }
    settle(&f, &c).await;
    for id in &ids {
        assert_eq!(
            f.orders.get(*id).await.unwrap().unwrap().status,
            OrderStatus::Cancelled
        );
    }
    assert_payments_agree(&f, &ids, &sku, 40).await;
}
