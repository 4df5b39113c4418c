//! Tests for the defects of the original sketch (DESIGN.md) that concern orders.

// Test code: helpers outside `#[test]` functions unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use commerce_core::CustomerId;
use commerce_orders::simulated::test_cards;
use commerce_orders::testkit::checkout::{CheckoutAs, cart_with, request, stocked_sku};
use commerce_orders::testkit::{CheckoutFixture, card};
use commerce_orders::{
    CheckoutStep, Error, FaultTiming, GatewayOperation, OrderStatus, PaymentStatus,
};

/// Defect 7: payment without an idempotency key. A retried checkout must return the
/// same order and charge once, and a crash after the charge and before the status
/// update must be finished by recovery, with no second charge.
#[tokio::test]
async fn defect_7_retried_checkout_charges_once() {
    // Retry after success.
    let f = CheckoutFixture::in_memory();
    let c = f.checkout(commerce_orders::testkit::checkout::test_config());
    let sku = stocked_sku(&f, "30.00", 5).await;
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let req = request(cart, None, card(test_cards::APPROVED));
    let first = c.checkout_as(&req).await.unwrap();
    for _ in 0..5 {
        assert_eq!(c.checkout_as(&req).await.unwrap().id, first.id);
    }
    assert_eq!(f.gateway.stats().authorizations, 1);

    // Crash after the charge, before the status update.
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let req = request(cart, None, card(test_cards::APPROVED));
    let pending = c
        .interrupted_as(&req, CheckoutStep::Authorized)
        .await
        .unwrap();
    assert_eq!(pending.status, OrderStatus::PendingPayment);
    assert_eq!(f.gateway.stats().authorizations, 2);
    f.clock
        .advance(c.config().recovery_grace + chrono::Duration::seconds(1));
    let report = c
        .recover(commerce_core::Clock::now(f.clock.as_ref()))
        .await
        .unwrap();
    assert_eq!(report.confirmed, vec![pending.id]);
    let done = c.checkout_as(&req).await.unwrap();
    assert_eq!(done.id, pending.id);
    assert_eq!(done.status, OrderStatus::Confirmed);
    assert_eq!(done.payment.status, PaymentStatus::Captured);
    assert_eq!(
        f.gateway.stats().authorizations,
        2,
        "recovery must not charge again"
    );

    // The connection drops after the gateway charged: same outcome.
    let cart = cart_with(&f, None, &[(&sku, 1)]).await;
    let req = request(cart, None, card(test_cards::APPROVED));
    f.gateway
        .inject_fault(GatewayOperation::Authorize, FaultTiming::AfterProcessing);
    assert!(matches!(
        c.checkout_as(&req).await,
        Err(Error::GatewayUnavailable(_))
    ));
    f.clock
        .advance(c.config().recovery_grace + chrono::Duration::seconds(1));
    c.recover(commerce_core::Clock::now(f.clock.as_ref()))
        .await
        .unwrap();
    assert_eq!(
        c.checkout_as(&req).await.unwrap().status,
        OrderStatus::Confirmed
    );
    assert_eq!(f.gateway.stats().authorizations, 3);
}

/// Defect 10: order status readable without the owner's id. Another customer's (or
/// a guest's) order must be indistinguishable from a missing one.
#[tokio::test]
async fn defect_10_order_readable_only_by_owner() {
    let f = CheckoutFixture::in_memory();
    let c = f.checkout(commerce_orders::testkit::checkout::test_config());
    let sku = stocked_sku(&f, "30.00", 5).await;
    let owner = CustomerId::new();
    let cart = cart_with(&f, Some(owner), &[(&sku, 1)]).await;
    let order = c
        .checkout_as(&request(cart, Some(owner), card(test_cards::APPROVED)))
        .await
        .unwrap();
    assert_eq!(
        f.orders.get_for_customer(order.id, owner).await.unwrap(),
        order
    );
    let stranger = CustomerId::new();
    let theirs = f
        .orders
        .get_for_customer(order.id, stranger)
        .await
        .unwrap_err();
    let missing = f
        .orders
        .get_for_customer(commerce_orders::OrderId::new(), stranger)
        .await
        .unwrap_err();
    assert!(matches!(
        theirs,
        Error::NotFound {
            entity: "order",
            ..
        }
    ));
    assert!(matches!(
        missing,
        Error::NotFound {
            entity: "order",
            ..
        }
    ));
    let listed = f
        .orders
        .list_for_customer(stranger, commerce_orders::OrderPage::first(10))
        .await
        .unwrap();
    assert!(listed.is_empty());
    assert!(matches!(
        c.cancel(
            &commerce_core::Actor::Customer(stranger),
            order.id,
            commerce_orders::CancelReason::CustomerRequested
        )
        .await,
        Err(Error::NotFound { .. })
    ));
}
