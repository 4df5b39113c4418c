//! The batched checkout steps on PostgreSQL: a batch of orders, whatever its size,
//! is one statement (the whole batch bound as one JSON parameter, read straight into
//! the tables, migration 0120).
//! Statements are counted from sqlx's per-statement `sqlx::query` events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod support;

use support::Statements;

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use rust_decimal::Decimal;
use tracing_subscriber::layer::SubscriberExt;

use commerce_core::testkit::fixtures::{sku, us_address};
use commerce_core::{Currency, DomainEvent, EventEnvelope, Money, Sku};
use commerce_inventory::{
    InventoryStore, LocationCode, ReservationLine, ReserveRequest, StockAdjustment,
};
use commerce_orders::{
    Authorization, CheckoutStore, IdempotencyKey, NewOrder, Order, OrderId, OrderLine, OrderTotals,
    PaymentMethodKind, PaymentMethodSummary, PaymentReference, PlaceOutcome, ShippingSnapshot,
    Transitioned,
};
use commerce_postgres::ReserveBatching;

/// A pending order of one unit of `sku` and its `order.placed` events.
fn pending_order(sku: &Sku, now: DateTime<Utc>) -> (Order, Vec<EventEnvelope>) {
    let id = OrderId::new();
    let usd = Currency::USD;
    let price = Money::from_minor(1000, usd);
    let zero = Money::zero(usd);
    let key = IdempotencyKey::new(format!("batch-{id}")).unwrap();
    let line = OrderLine {
        sku: sku.clone(),
        name: "Batch product".to_owned(),
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
        prices_include_tax: false,
        subtotal: price,
        discount_total: zero,
        shipping_total: zero,
        shipping_tax: zero,
        tax_total: zero,
        grand_total: price,
        shipping_refunded: zero,
    };
    let shipping = ShippingSnapshot {
        code: "standard".to_owned(),
        name: "Standard".to_owned(),
        price: zero,
        carrier_rate: None,
    };
    let card = PaymentMethodSummary {
        kind: PaymentMethodKind::Card,
        label: "card ending 4242".to_owned(),
    };
    let new = NewOrder::new(
        id,
        key,
        "ada@example.com",
        vec![line],
        totals,
        us_address("CA"),
        shipping,
        card,
        now,
    )
    .unwrap()
    .with_billing_address(us_address("NY"));
    let t = Order::place(new).unwrap();
    envelopes(t, now)
}

fn envelopes(t: Transitioned, now: DateTime<Utc>) -> (Order, Vec<EventEnvelope>) {
    let events = t.events.iter().map(|e| e.envelope(now).unwrap()).collect();
    (t.order, events)
}

fn reservation_of(order: &Order, now: DateTime<Utc>) -> ReserveRequest {
    ReserveRequest::new(
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
        now + Duration::minutes(15),
    )
}

/// `order` authorized for its total and confirmed at `now`, with its events.
fn confirmed(order: &Order, now: DateTime<Utc>) -> (Order, Vec<EventEnvelope>) {
    let auth = Authorization::new(
        PaymentReference(format!("pay-{}", order.id)),
        order.totals.grand_total,
        order.payment.method.clone(),
        now,
    );
    let t = Transitioned::unchanged(order.clone())
        .then(|o| o.record_authorization(&auth, now))
        .unwrap()
        .then(|o| o.confirm(now))
        .unwrap();
    envelopes(t, now)
}

/// Places and then confirms `size` orders at once (one batch each: batches of up to
/// `size`, one in flight, and every call queued before the first batch starts on
/// this single-threaded runtime); returns the statements of each step.
async fn place_and_confirm(size: usize, statements: &Statements) -> (usize, usize) {
    let stores = support::fresh_stores_logging_statements()
        .await
        .with_reserve_batching(ReserveBatching {
            max_batch: size.max(2),
            in_flight: 1,
        });
    let checkout = stores.checkout();
    let now = Utc::now();
    let sku = sku(&format!("BATCH-{size}"));
    stores
        .inventory()
        .adjust(
            &StockAdjustment::received(sku.clone(), i64::try_from(size).unwrap()),
            now,
        )
        .await
        .unwrap();
    let orders: Vec<_> = (0..size)
        .map(|_| {
            let (order, events) = pending_order(&sku, now);
            let reservation = reservation_of(&order, now);
            (order, events, reservation)
        })
        .collect();

    statements.take();
    let started = Instant::now();
    let placed = join_all(orders.iter().map(|(order, events, reservation)| {
        checkout.place_and_reserve(order, events, reservation, now)
    }))
    .await;
    let place = statements.take();
    let place_time = started.elapsed();
    let placed: Vec<Order> = placed
        .into_iter()
        .map(|outcome| match outcome.unwrap() {
            PlaceOutcome::Placed(order) => order,
            other => panic!("expected Placed, got {other:?}"),
        })
        .collect();

    let confirmations: Vec<_> = placed.iter().map(|o| confirmed(o, now)).collect();
    statements.take();
    let started = Instant::now();
    let updated = join_all(
        confirmations
            .iter()
            .map(|(order, events)| checkout.commit_and_update(order, 1, events, now)),
    )
    .await;
    let confirm = statements.take();
    let confirm_time = started.elapsed();
    for order in updated {
        assert_eq!(order.unwrap().version, 2);
    }
    let level = stores
        .inventory()
        .stock(&sku, &LocationCode::default_location())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (level.on_hand, level.reserved),
        (0, 0),
        "every unit sold once"
    );
    eprintln!("batch of {size}: place {place_time:?}, confirm {confirm_time:?}");
    (place, confirm)
}

#[tokio::test(flavor = "current_thread")]
async fn order_batch_of_1_and_of_500_orders_is_one_statement_per_step() {
    let statements = Statements::default();
    let subscriber = tracing_subscriber::registry().with(statements.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    for size in [1, 500] {
        assert_eq!(
            place_and_confirm(size, &statements).await,
            (1, 1),
            "statements of placing, then confirming, a batch of {size}"
        );
    }
}
