//! Checks that the payment we store converges to the gateway's truth, whatever fails:
//! the simulated gateway failing before or after its work on every call, crashes at
//! every checkout step, and cancels and refunds interrupted anywhere. Each check ends
//! with [`assert_payments_agree`], which states the invariants of
//! `docs/architecture.md` ("Payments agree with the gateway"):
//!
//! 1. no order is left pending payment;
//! 2. every payment the gateway took belongs to exactly one confirmed (or completed)
//!    order whose record says so, with the same captured and refunded amounts;
//! 3. no payment is left authorized at the gateway without a capture due on its
//!    order within the policy's window;
//! 4. every cancelled order holds nothing at the gateway (void or refund);
//! 5. stock is conserved (on hand plus sold equals what was received).

use chrono::Duration;

use commerce_core::{Actor, Money, Sku};
use commerce_inventory::LocationCode;

use crate::checkout::{CapturePolicy, Checkout, CheckoutStep};
use crate::error::Error;
use crate::id::{IdempotencyKey, OrderId};
use crate::machine::{OrderStatus, PaymentStatus};
use crate::model::{CancelReason, Order, PaymentAction};
use crate::payment::{GatewayPaymentStatus, PaymentGateway};
use crate::simulated::{FaultTiming, GatewayOperation, test_cards};

use super::checkout::{CheckoutAs, cart_with, request, stocked_sku, test_config};
use super::support::unique;
use super::{CheckoutFixture, card};

const TIMINGS: [FaultTiming; 2] = [FaultTiming::BeforeProcessing, FaultTiming::AfterProcessing];

fn now(f: &CheckoutFixture) -> chrono::DateTime<chrono::Utc> {
    commerce_core::Clock::now(f.clock.as_ref())
}

async fn reload(f: &CheckoutFixture, id: OrderId) -> Order {
    f.orders.get(id).await.unwrap().unwrap()
}

/// Runs recovery passes (pending orders and payment reconciliation), moving the
/// clock past every retry delay, until a pass has nothing left to do (at most 12).
pub async fn settle(f: &CheckoutFixture, c: &Checkout) {
    for _ in 0..12 {
        f.clock.advance(
            c.config().recovery_grace + c.config().payment_retry.max_delay + Duration::seconds(1),
        );
        let report = c.recover(now(f)).await.unwrap();
        if report.failed.is_empty()
            && report.confirmed.is_empty()
            && report.cancelled.is_empty()
            && report.reconciled.is_empty()
        {
            return;
        }
    }
    panic!("recovery did not settle in 12 passes");
}

/// Asserts the invariants of payments against the gateway (see the module
/// documentation) for `orders`, whose lines are all of `sku`, which received
/// `received` units.
pub async fn assert_payments_agree(
    f: &CheckoutFixture,
    orders: &[OrderId],
    sku: &Sku,
    received: u64,
) {
    let mut sold = 0u64;
    for id in orders {
        let order = reload(f, *id).await;
        order.check_invariants().unwrap();
        assert_ne!(
            order.status,
            OrderStatus::PendingPayment,
            "invariant 1: order {id} left pending"
        );
        let record = f
            .gateway
            .lookup_by_idempotency_key(&order.payment.idempotency_key)
            .await
            .unwrap();
        let status = record.as_ref().map(|r| r.status);
        match order.status {
            OrderStatus::Confirmed | OrderStatus::Completed => {
                let r = record.as_ref().expect("a confirmed order was paid");
                assert_eq!(
                    (order.payment.captured, order.payment.refunded),
                    (r.captured, r.refunded),
                    "invariant 2: order {id} disagrees with the gateway ({status:?})"
                );
                if r.status == GatewayPaymentStatus::Authorized
                    && !order.payment.method.kind.captures_on_delivery()
                {
                    let intent = order.payment.intent.as_ref();
                    assert!(
                        matches!(intent.map(|i| &i.action), Some(PaymentAction::Capture)),
                        "invariant 3: order {id} authorized with no capture due"
                    );
                }
                sold += order
                    .lines
                    .iter()
                    .map(|l| u64::from(l.quantity))
                    .sum::<u64>();
            }
            OrderStatus::Cancelled => {
                assert!(
                    matches!(
                        status,
                        None | Some(
                            GatewayPaymentStatus::Voided
                                | GatewayPaymentStatus::Refunded
                                | GatewayPaymentStatus::Declined
                        )
                    ),
                    "invariant 4: cancelled order {id} still holds money ({status:?})"
                );
                assert!(order.payment.intent.is_none());
            }
            OrderStatus::PendingPayment => unreachable!(),
        }
    }
    let level = f
        .inventory
        .stock(sku, &LocationCode::default_location())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(level.reserved, 0, "invariant 5: stock left reserved");
    assert_eq!(
        level.on_hand + sold,
        received,
        "invariant 5: stock not conserved"
    );
}

async fn one_order(f: &CheckoutFixture, c: &Checkout, sku: &Sku) -> Result<Order, Error> {
    let cart = cart_with(f, None, &[(sku, 1)]).await;
    c.checkout_as(&request(cart, None, card(test_cards::APPROVED)))
        .await
}

/// The gateway captures and the answer is lost (or the capture fails before it):
/// the checkout still confirms, records the capture as due, and the
/// reconciliation pass converges to one capture recorded with the gateway's amount.
pub async fn payment_converges_when_the_capture_answer_is_lost_or_the_capture_fails(
    f: CheckoutFixture,
) {
    let c = f.checkout(test_config());
    let sku = stocked_sku(&f, "20.00", 10).await;
    let mut ids = Vec::new();
    for timing in TIMINGS {
        f.gateway.inject_fault(GatewayOperation::Capture, timing);
        let order = one_order(&f, &c, &sku).await.unwrap();
        assert_eq!(order.status, OrderStatus::Confirmed);
        assert_eq!(order.payment.status, PaymentStatus::Authorized);
        let intent = order.payment.intent.clone().unwrap();
        assert_eq!(intent.action, PaymentAction::Capture);
        assert_eq!(intent.attempts, 1);
        ids.push(order.id);
    }
    settle(&f, &c).await;
    for id in &ids {
        let order = reload(&f, *id).await;
        assert_eq!(order.payment.status, PaymentStatus::Captured);
        assert_eq!(order.payment.captured, order.totals.grand_total);
        assert!(order.payment.intent.is_none());
    }
    assert_eq!(f.gateway.stats().captures, 2);
    assert_payments_agree(&f, &ids, &sku, 10).await;
}

/// A capture that keeps failing is retried with growing delays and surfaces as
/// `payment.action_failing` from the configured attempt on; once the gateway
/// answers, one capture is recorded.
pub async fn reconcile_retries_a_failing_capture_with_backoff_and_surfaces_it(f: CheckoutFixture) {
    let c = f.checkout(test_config());
    let sku = stocked_sku(&f, "20.00", 10).await;
    f.gateway
        .inject_fault(GatewayOperation::Capture, FaultTiming::BeforeProcessing);
    let order = one_order(&f, &c, &sku).await.unwrap();
    let retry = c.config().payment_retry.clone();
    // Not due yet: nothing happens.
    let report = c.reconcile(now(&f)).await.unwrap();
    assert!(report.settled.is_empty() && report.failed.is_empty());
    let mut last_due = order.payment.intent.clone().unwrap().due_at;
    for attempt in 2..=retry.alert_after + 1 {
        f.gateway
            .inject_fault(GatewayOperation::Capture, FaultTiming::BeforeProcessing);
        f.clock.advance(last_due - now(&f));
        let report = c.reconcile(now(&f)).await.unwrap();
        assert_eq!(report.failed.len(), 1, "{report:?}");
        let intent = reload(&f, order.id).await.payment.intent.unwrap();
        assert_eq!(intent.attempts, attempt);
        assert!(
            intent.due_at - now(&f) >= retry.delay(attempt - 1).min(retry.max_delay),
            "backoff grows"
        );
        last_due = intent.due_at;
    }
    let failing = commerce_core::testkit::support::drain(f.outbox.as_ref(), &unique("admins"))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.aggregate_id == order.id.to_string())
        .filter(|e| e.topic == "payment.action_failing")
        .count();
    assert_eq!(failing, 2, "alerts from attempt {}", retry.alert_after);
    settle(&f, &c).await;
    let done = reload(&f, order.id).await;
    assert_eq!(done.payment.status, PaymentStatus::Captured);
    assert_eq!(f.gateway.stats().captures, 1);
    assert_payments_agree(&f, &[order.id], &sku, 10).await;
}

/// The recovery pass confirms an interrupted checkout and its capture fails or is
/// lost: the confirm step recorded the capture as due, so the next pass captures it
/// (the recovery itself is recoverable).
pub async fn payment_converges_when_recovery_is_interrupted_before_its_capture(f: CheckoutFixture) {
    let c = f.checkout(test_config());
    let sku = stocked_sku(&f, "20.00", 10).await;
    let mut ids = Vec::new();
    for timing in TIMINGS {
        let cart = cart_with(&f, None, &[(&sku, 1)]).await;
        let order = c
            .interrupted_as(
                &request(cart, None, card(test_cards::APPROVED)),
                CheckoutStep::Authorized,
            )
            .await
            .unwrap();
        f.clock
            .advance(c.config().recovery_grace + Duration::seconds(1));
        f.gateway.inject_fault(GatewayOperation::Capture, timing);
        let report = c.recover(now(&f)).await.unwrap();
        assert!(report.confirmed.contains(&order.id), "{report:?}");
        let read = reload(&f, order.id).await;
        assert_eq!(read.status, OrderStatus::Confirmed);
        assert_eq!(
            read.payment.intent.map(|i| i.action),
            Some(PaymentAction::Capture)
        );
        ids.push(order.id);
    }
    settle(&f, &c).await;
    assert_eq!(f.gateway.stats().captures, 2);
    assert_payments_agree(&f, &ids, &sku, 10).await;
}

/// Our record says authorized while the gateway captured (a lost capture answer):
/// a cancel refunds instead of voiding, and ends cancelled with the stock back.
pub async fn cancel_converges_to_a_refund_when_the_gateway_captured_behind_our_back(
    f: CheckoutFixture,
) {
    let c = f.checkout(test_config());
    let sku = stocked_sku(&f, "20.00", 10).await;
    f.gateway
        .inject_fault(GatewayOperation::Capture, FaultTiming::AfterProcessing);
    let order = one_order(&f, &c, &sku).await.unwrap();
    assert_eq!(order.payment.status, PaymentStatus::Authorized);
    let cancelled = c
        .cancel(&Actor::Admin, order.id, CancelReason::CustomerRequested)
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.payment.status, PaymentStatus::Refunded);
    assert_eq!(cancelled.payment.refunded, order.totals.grand_total);
    let stats = f.gateway.stats();
    assert_eq!((stats.captures, stats.refunds, stats.voids), (1, 1, 0));
    settle(&f, &c).await;
    assert_payments_agree(&f, &[order.id], &sku, 10).await;
}

/// Every gateway call of a cancel (lookup, void, refund) failing before or after
/// its work: the cancel reports the failure, keeps its intent, and the
/// reconciliation pass ends it in a void or a refund, exactly once.
pub async fn cancel_converges_when_its_gateway_calls_fail_before_or_after_their_work(
    f: CheckoutFixture,
) {
    let sku = stocked_sku(&f, "20.00", 20).await;
    let mut ids = Vec::new();
    let cases = [
        (CapturePolicy::OnShipment, GatewayOperation::Void),
        (CapturePolicy::OnShipment, GatewayOperation::Lookup),
        (CapturePolicy::OnConfirm, GatewayOperation::Refund),
        (CapturePolicy::OnConfirm, GatewayOperation::Lookup),
    ];
    let mut voids = 0;
    let mut refunds = 0;
    for (policy, op) in cases {
        for timing in TIMINGS {
            let c = f.checkout(test_config().with_capture(policy));
            let order = one_order(&f, &c, &sku).await.unwrap();
            f.gateway.inject_fault(op, timing);
            let err = c
                .cancel(&Actor::Admin, order.id, CancelReason::CustomerRequested)
                .await
                .unwrap_err();
            assert!(err.is_retryable(), "{err:?}");
            let read = reload(&f, order.id).await;
            assert!(
                matches!(
                    read.payment.intent.map(|i| i.action),
                    Some(PaymentAction::Cancel { .. })
                ),
                "the cancel is recorded before the gateway call"
            );
            settle(&f, &c).await;
            let done = reload(&f, order.id).await;
            assert_eq!(
                done.status,
                OrderStatus::Cancelled,
                "{policy:?} {op:?} {timing:?}"
            );
            match policy {
                CapturePolicy::OnShipment => {
                    assert_eq!(done.payment.status, PaymentStatus::Voided);
                    voids += 1;
                }
                CapturePolicy::OnConfirm => {
                    assert_eq!(done.payment.status, PaymentStatus::Refunded);
                    refunds += 1;
                }
            }
            ids.push(order.id);
        }
    }
    let stats = f.gateway.stats();
    assert_eq!((stats.voids, stats.refunds), (voids, refunds));
    let c = f.checkout(test_config());
    settle(&f, &c).await;
    assert_payments_agree(&f, &ids, &sku, 20).await;
}

/// A refund whose gateway call fails before or after its work is recorded as
/// intended; the reconciliation pass (or the same call again) records it once.
pub async fn refund_converges_when_the_gateway_fails_before_or_after_its_work(f: CheckoutFixture) {
    let c = f.checkout(test_config());
    let sku = stocked_sku(&f, "20.00", 10).await;
    let order = one_order(&f, &c, &sku).await.unwrap();
    let ten: Money = commerce_core::testkit::fixtures::usd("10.00");
    for timing in TIMINGS {
        let key = IdempotencyKey::new(unique("refund")).unwrap();
        f.gateway.inject_fault(GatewayOperation::Refund, timing);
        let err = c
            .refund(&Actor::Admin, order.id, ten, key.clone(), "goodwill")
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
        let read = reload(&f, order.id).await;
        assert!(matches!(
            read.payment.intent.map(|i| i.action),
            Some(PaymentAction::Refund { .. })
        ));
        if timing == FaultTiming::BeforeProcessing {
            settle(&f, &c).await;
        } else {
            // The caller retries with the same key.
            c.refund(&Actor::Admin, order.id, ten, key.clone(), "goodwill")
                .await
                .unwrap();
        }
        let again = c
            .refund(&Actor::Admin, order.id, ten, key, "goodwill")
            .await
            .unwrap();
        assert!(again.payment.intent.is_none());
    }
    let done = reload(&f, order.id).await;
    assert_eq!(done.payment.refunds.len(), 2);
    assert_eq!(f.gateway.stats().refunds, 2);
    assert_payments_agree(&f, &[order.id], &sku, 10).await;
}

/// Checkouts with the gateway failing before or after its work on each call, crashes
/// at each checkout step, and cancels of half of the orders with faults of their
/// own: after recovery and reconciliation every invariant holds.
pub async fn payment_converges_after_faults_at_every_gateway_call_and_checkout_step(
    f: CheckoutFixture,
) {
    let c = f.checkout(test_config());
    let units = 40;
    let sku = stocked_sku(&f, "20.00", units).await;
    let ops = [
        GatewayOperation::Authorize,
        GatewayOperation::Capture,
        GatewayOperation::Lookup,
        GatewayOperation::Void,
        GatewayOperation::Refund,
    ];
    let steps = [
        CheckoutStep::Placed,
        CheckoutStep::Reserved,
        CheckoutStep::Authorized,
        CheckoutStep::Committed,
    ];
    let mut ids = Vec::new();
    let mut n = 0usize;
    for op in ops {
        for timing in TIMINGS {
            f.gateway.inject_fault(op, timing);
            let cart = cart_with(&f, None, &[(&sku, 1)]).await;
            let req = request(cart, None, card(test_cards::APPROVED));
            let order = match c.checkout_as(&req).await {
                Ok(order) => order,
                Err(_) => c
                    .order_by_key(&req.actor, &req.idempotency_key)
                    .await
                    .unwrap()
                    .unwrap(),
            };
            f.gateway.clear_faults();
            if n.is_multiple_of(2) {
                f.gateway.inject_fault(op, timing);
                let _ = c
                    .cancel(&Actor::Admin, order.id, CancelReason::CustomerRequested)
                    .await;
                f.gateway.clear_faults();
            }
            ids.push(order.id);
            n += 1;
        }
    }
    for step in steps {
        let cart = cart_with(&f, None, &[(&sku, 1)]).await;
        let order = c
            .interrupted_as(&request(cart, None, card(test_cards::APPROVED)), step)
            .await
            .unwrap();
        ids.push(order.id);
    }
    settle(&f, &c).await;
    assert_payments_agree(&f, &ids, &sku, u64::try_from(units).unwrap()).await;
}
