//! Property tests of the three state machines and the order aggregate: random
//! transition sequences never reach an illegal state, and rejected transitions leave
//! the state unchanged.

// Test code: helpers outside `#[test]` functions unwrap and panic too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Duration;
use proptest::prelude::*;

use commerce_core::testkit::fixtures::fixed_time;
use commerce_core::{Currency, CustomerId, Money};
use commerce_orders::testkit::sample_order;
use commerce_orders::{
    Authorization, CancelReason, Capture, Decline, DeclineReason, Error, FulfilmentStatus,
    IdempotencyKey, MachineState, Order, OrderEvent, OrderStatus, PaymentReference, PaymentStatus,
    RefundReceipt, ShipmentLine, StateMachine, Transitioned,
};

fn machine_walk<S: StateMachine>(targets: &[usize]) {
    let mut state = S::INITIAL;
    for &i in targets {
        let to = S::ALL[i % S::ALL.len()];
        match state.transition(to) {
            Ok(next) => {
                assert!(state.can_become(to));
                assert!(!state.is_final(), "left a final state");
                assert_eq!(next, to);
                state = next;
            }
            Err(Error::IllegalTransition { from, to: asked }) => {
                assert!(!state.can_become(to));
                assert_eq!(from, state.state());
                assert_eq!(asked, to.state());
                assert_eq!(from.machine(), asked.machine());
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
}

proptest! {
    #[test]
    fn machines_only_take_listed_transitions(targets in proptest::collection::vec(0usize..16, 0..40)) {
        machine_walk::<OrderStatus>(&targets);
        machine_walk::<PaymentStatus>(&targets);
        machine_walk::<FulfilmentStatus>(&targets);
    }
}

/// One operation on the aggregate.
#[derive(Clone, Debug)]
enum Op {
    Authorize,
    Decline,
    Confirm,
    Capture,
    Void,
    CancelVoiding,
    Refund(i64),
    Cancel,
    Ship(usize, u32),
    Deliver,
    Return,
    Complete,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Authorize),
        Just(Op::Decline),
        Just(Op::Confirm),
        Just(Op::Capture),
        Just(Op::Void),
        Just(Op::CancelVoiding),
        (1i64..4000).prop_map(Op::Refund),
        Just(Op::Cancel),
        (0usize..3, 1u32..4).prop_map(|(l, q)| Op::Ship(l, q)),
        Just(Op::Deliver),
        Just(Op::Return),
        Just(Op::Complete),
    ]
}

fn apply(order: &Order, op: &Op, n: i64) -> Result<Transitioned, Error> {
    let now = fixed_time() + Duration::seconds(n);
    let reference = PaymentReference("pay-1".to_owned());
    match op {
        Op::Authorize => order.record_authorization(
            &Authorization::new(
                reference,
                order.totals.grand_total,
                order.payment.method.clone(),
                now,
            ),
            now,
        ),
        Op::Decline => order.record_decline(&Decline::new(DeclineReason::Declined, "no"), now),
        Op::Confirm => order.confirm(now),
        Op::Capture => {
            order.record_capture(&Capture::new(reference, order.payment.authorized, now), now)
        }
        Op::Void => order.record_void(now),
        Op::CancelVoiding => order.cancel_voiding(CancelReason::CustomerRequested, now),
        Op::Refund(minor) => {
            let amount = Money::from_minor(*minor, order.currency);
            order.record_refund(
                &RefundReceipt::new(
                    format!("r{n}"),
                    reference,
                    amount,
                    order.payment.refunded.checked_add(amount)?,
                    now,
                ),
                IdempotencyKey::new(format!("refund-{n}"))?,
                "test",
                now,
            )
        }
        Op::Cancel => order.cancel(CancelReason::CustomerRequested, now),
        Op::Ship(line, quantity) => {
            let sku = order.lines[line % order.lines.len()].sku.clone();
            order.ship(
                &[ShipmentLine {
                    sku,
                    quantity: *quantity,
                }],
                None,
                None,
                now,
            )
        }
        Op::Deliver => order.deliver(now),
        Op::Return => order.mark_returned(now),
        Op::Complete => order.complete(now),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_operations_never_reach_an_illegal_order(ops in proptest::collection::vec(op(), 0..30)) {
        let placed = sample_order(Some(CustomerId::new()), "prop-key", Currency::USD, fixed_time());
        let mut order = placed.order;
        order.check_invariants().unwrap();
        for (n, op) in ops.iter().enumerate() {
            let before = order.clone();
            match apply(&order, op, n as i64) {
                Ok(t) => {
                    t.order.check_invariants().unwrap();
                    prop_assert!(!t.events.is_empty(), "{op:?} emitted no event");
                    prop_assert!(t.events.iter().all(|e| e.order_id() == order.id));
                    // A final order status never changes again.
                    if matches!(before.status, OrderStatus::Cancelled | OrderStatus::Completed) {
                        prop_assert_eq!(t.order.status, before.status);
                    }
                    check_events(&before, &t);
                    order = t.order;
                }
                Err(e) => {
                    prop_assert_eq!(&order, &before);
                    prop_assert!(matches!(
                        e,
                        Error::IllegalTransition { .. }
                            | Error::Conflict(_)
                            | Error::ShipmentExceedsOrder { .. }
                            | Error::RefundExceedsCaptured { .. }
                    ), "{:?}", e);
                }
            }
        }
        // Money never leaks: captured <= authorized, refunded <= captured, and line
        // refunds plus shipping refunds add up to what was refunded.
        let refunded_parts = Money::sum(
            order.currency,
            order.lines.iter().map(|l| l.refunded).chain([order.totals.shipping_refunded]),
        ).unwrap();
        prop_assert_eq!(refunded_parts, order.payment.refunded);
    }
}

/// The events match the change: status changes announce themselves.
fn check_events(before: &Order, t: &Transitioned) {
    let after = &t.order;
    let has = |f: &dyn Fn(&OrderEvent) -> bool| t.events.iter().any(f);
    if before.status != after.status {
        match after.status {
            OrderStatus::Confirmed => {
                assert!(has(&|e| matches!(e, OrderEvent::OrderConfirmed { .. })))
            }
            OrderStatus::Cancelled => {
                assert!(has(&|e| matches!(e, OrderEvent::OrderCancelled { .. })))
            }
            OrderStatus::Completed => {
                assert!(has(&|e| matches!(e, OrderEvent::OrderCompleted { .. })))
            }
            other => panic!("went to {other:?} without its event"),
        }
    }
    if before.fulfilment.shipments.len() != after.fulfilment.shipments.len() {
        assert!(has(&|e| matches!(e, OrderEvent::Shipped { .. })));
    }
}

#[test]
fn illegal_transition_errors_name_the_machine() {
    let placed = sample_order(None, "k", Currency::USD, fixed_time());
    let err = placed.order.complete(fixed_time()).unwrap_err();
    match err {
        Error::IllegalTransition { from, to } => {
            assert_eq!(from, MachineState::Order(OrderStatus::PendingPayment));
            assert_eq!(to, MachineState::Order(OrderStatus::Completed));
        }
        other => panic!("{other:?}"),
    }
    let err = placed.order.deliver(fixed_time()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "illegal fulfilment status transition from unfulfilled to delivered"
    );
}

#[test]
fn new_order_constructor_derives_what_checkout_derives_and_places() {
    use commerce_core::testkit::fixtures::{sku, us_address};
    use commerce_inventory::ReservationId;
    use commerce_orders::{
        NewOrder, OrderId, OrderLine, OrderTotals, PaymentMethodKind, PaymentMethodSummary,
        ShippingSnapshot,
    };
    use rust_decimal::Decimal;

    let eur = Currency::EUR;
    let price = Money::from_minor(1250, eur);
    let zero = Money::zero(eur);
    let line = OrderLine {
        sku: sku("NEW-ORDER-1"),
        name: "Mug".to_owned(),
        quantity: 1,
        unit_price: price,
        subtotal: price,
        discount: zero,
        tax: zero,
        tax_rate: Decimal::ZERO,
        total: price,
        refunded: zero,
        seller_id: None,
    };
    let totals = OrderTotals {
        prices_include_tax: true,
        subtotal: price,
        discount_total: zero,
        shipping_total: zero,
        shipping_tax: zero,
        tax_total: zero,
        grand_total: price,
        shipping_refunded: zero,
    };
    let shipping = ShippingSnapshot {
        code: "pickup".to_owned(),
        name: "Pickup".to_owned(),
        price: zero,
        carrier_rate: None,
    };
    let card = PaymentMethodSummary {
        kind: PaymentMethodKind::Card,
        label: "card ending 4242".to_owned(),
    };
    let id = OrderId::new();
    let key = IdempotencyKey::new("new-order-key").unwrap();
    let new = NewOrder::new(
        id,
        key.clone(),
        "ada@example.com",
        vec![line],
        totals,
        us_address("CA"),
        shipping,
        card,
        fixed_time(),
    )
    .unwrap();
    // Derived: currency from the totals, billing from shipping, the reservation
    // from the id, the payment key from the checkout key; a guest order.
    assert_eq!(new.currency, eur);
    assert_eq!(new.billing_address, us_address("CA"));
    assert_eq!(new.reservation_id, ReservationId::from_uuid(id.as_uuid()));
    assert_eq!(
        new.payment_idempotency_key,
        key.derive("authorize").unwrap()
    );
    assert_eq!(
        (new.number.as_ref(), new.customer_id, new.guest_cart),
        (None, None, None)
    );
    assert!(new.promotions.is_empty() && new.request_fingerprint.is_none());

    let customer = CustomerId::new();
    let new = new
        .with_number("A1B2-C3D4")
        .with_customer(customer)
        .with_billing_address(us_address("NY"))
        .with_promotions(["WELCOME"]);
    assert_eq!(new.billing_address, us_address("NY"));
    // `None` puts the shipping address back.
    assert_eq!(
        new.clone().with_billing_address(None).billing_address,
        us_address("CA")
    );
    let placed = Order::place(new).unwrap().order;
    assert_eq!(placed.status, OrderStatus::PendingPayment);
    assert_eq!(placed.customer_id, Some(customer));
    assert_eq!(placed.number.as_deref(), Some("A1B2-C3D4"));
    assert_eq!(placed.promotions, vec!["WELCOME".to_owned()]);
    assert_eq!(
        placed.payment.idempotency_key,
        key.derive("authorize").unwrap()
    );

    // A key too long to derive the payment key from is a typed error, not a panic.
    let long = IdempotencyKey::new("k".repeat(IdempotencyKey::MAX_LEN))
        .unwrap()
        .derive(&"p".repeat(54))
        .unwrap();
    let err = NewOrder::new(
        OrderId::new(),
        long,
        "ada@example.com",
        Vec::new(),
        placed.totals.clone(),
        us_address("CA"),
        placed.shipping.clone(),
        placed.payment.method.clone(),
        fixed_time(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
}
