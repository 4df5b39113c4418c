//! Checks of a [`CheckoutStore`](crate::CheckoutStore) over a
//! [`CheckoutStoreFixture`]: placing and reserving, committing and confirming, what
//! each leaves behind when it fails, and exactness under concurrent calls.

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;

use commerce_core::{Currency, EventEnvelope, Sku};
use commerce_inventory::{
    LocationCode, ReservationLine, ReservationStatus, ReserveRequest, StockAdjustment,
};

use crate::checkout::envelopes;
use crate::error::Error;
use crate::id::OrderId;
use crate::lifecycle::Transitioned;
use crate::machine::{OrderStatus, PaymentStatus};
use crate::model::{CancelReason, Order};
use crate::payment::{Authorization, PaymentReference};
use crate::ports::PlaceOutcome;

use super::support::{sample_order, unique};
use super::{CheckoutStoreFixture, start_time};

/// A pending order (2 units of its first SKU, 3 of its second, SKUs unique to it)
/// and its `order.placed` events.
fn new_order(key: &str, now: DateTime<Utc>) -> (Order, Vec<EventEnvelope>) {
    let t = sample_order(None, key, Currency::USD, now);
    let events = envelopes(&t.events, now).unwrap();
    (t.order, events)
}

fn skus(order: &Order) -> (Sku, Sku) {
    (order.lines[0].sku.clone(), order.lines[1].sku.clone())
}

/// The reservation of `order`'s lines, expiring in 15 minutes.
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

async fn receive(f: &CheckoutStoreFixture, sku: &Sku, units: i64, now: DateTime<Utc>) {
    f.inventory
        .adjust(&StockAdjustment::received(sku.clone(), units), now)
        .await
        .unwrap();
}

/// `(on_hand, reserved)` of `sku`; `(0, 0)` when never stocked.
async fn level(f: &CheckoutStoreFixture, sku: &Sku) -> (u64, u64) {
    f.inventory
        .stock(sku, &LocationCode::default_location())
        .await
        .unwrap()
        .map_or((0, 0), |l| (l.on_hand, l.reserved))
}

/// Topics of the events of order `id` in the outbox, in order.
async fn order_topics(f: &CheckoutStoreFixture, id: OrderId) -> Vec<String> {
    commerce_core::testkit::support::drain(f.outbox.as_ref(), &unique("group"))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.aggregate_type == "order" && e.aggregate_id == id.to_string())
        .map(|e| e.topic)
        .collect()
}

/// `order` authorized for its total and confirmed at `now`.
fn confirmed(order: &Order, now: DateTime<Utc>) -> (Order, Vec<EventEnvelope>) {
    let auth = Authorization {
        payment_reference: PaymentReference(unique("pay")),
        amount: order.totals.grand_total,
        method: order.payment.method.clone(),
        authorized_at: now,
    };
    let t = Transitioned::unchanged(order.clone())
        .then(|o| o.record_authorization(&auth, now))
        .unwrap()
        .then(|o| o.confirm(now))
        .unwrap();
    let events = envelopes(&t.events, now).unwrap();
    (t.order, events)
}

/// Places `order` with stock for both lines; returns it as stored.
async fn place_stocked(f: &CheckoutStoreFixture, now: DateTime<Utc>) -> Order {
    let (order, events) = new_order(&unique("checkout"), now);
    let (a, b) = skus(&order);
    receive(f, &a, 5, now).await;
    receive(f, &b, 5, now).await;
    match f
        .store
        .place_and_reserve(&order, &events, &reservation_of(&order, now), now)
        .await
        .unwrap()
    {
        PlaceOutcome::Placed(placed) => placed,
        other => panic!("expected Placed, got {other:?}"),
    }
}

fn is_illegal(e: &Error, from: ReservationStatus) -> bool {
    matches!(
        e,
        Error::Inventory(commerce_inventory::Error::IllegalTransition { from: f, to, .. })
            if *f == from && *to == ReservationStatus::Committed
    )
}

/// Placing stores the pending order (version 1, its events written) and holds every
/// line of its reservation.
pub async fn place_and_reserve_stores_the_order_and_holds_every_line(f: CheckoutStoreFixture) {
    let now = start_time();
    let (order, events) = new_order(&unique("checkout"), now);
    let (a, b) = skus(&order);
    receive(&f, &a, 5, now).await;
    receive(&f, &b, 5, now).await;
    let outcome = f
        .store
        .place_and_reserve(&order, &events, &reservation_of(&order, now), now)
        .await
        .unwrap();
    let PlaceOutcome::Placed(placed) = outcome else {
        panic!("expected Placed, got {outcome:?}");
    };
    assert_eq!(placed.version, 1);
    assert_eq!(placed.status, OrderStatus::PendingPayment);
    assert_eq!(
        Order {
            version: 1,
            ..order.clone()
        },
        placed
    );
    assert_eq!(f.orders.get(order.id).await.unwrap(), Some(placed));
    let reservation = f
        .inventory
        .reservation(order.reservation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reservation.status, ReservationStatus::Active);
    assert_eq!(reservation.lines.len(), 2);
    assert_eq!(level(&f, &a).await, (5, 2));
    assert_eq!(level(&f, &b).await, (5, 3));
    assert_eq!(order_topics(&f, order.id).await, vec!["order.placed"]);
}

/// A second order with a key already used gets the first order back; it is not
/// stored, nothing is reserved for it, and none of its events are written.
pub async fn place_with_a_taken_key_returns_the_existing_order_and_holds_nothing(
    f: CheckoutStoreFixture,
) {
    let now = start_time();
    let first = place_stocked(&f, now).await;
    let (mut second, events) = new_order(first.idempotency_key.as_str(), now);
    second.lines = first.lines.clone();
    let outcome = f
        .store
        .place_and_reserve(&second, &events, &reservation_of(&second, now), now)
        .await
        .unwrap();
    assert_eq!(outcome, PlaceOutcome::Existing(first.clone()));
    assert!(f.orders.get(second.id).await.unwrap().is_none());
    assert!(
        f.inventory
            .reservation(second.reservation_id)
            .await
            .unwrap()
            .is_none()
    );
    let (a, b) = skus(&first);
    assert_eq!(level(&f, &a).await, (5, 2));
    assert_eq!(level(&f, &b).await, (5, 3));
    assert!(order_topics(&f, second.id).await.is_empty());
}

/// Missing stock stores the order cancelled with `OutOfStock` (the first short SKU
/// in SKU order, units asked for and available) and holds nothing; a SKU never
/// stocked has 0 available.
pub async fn place_short_of_stock_stores_the_order_cancelled_and_holds_nothing(
    f: CheckoutStoreFixture,
) {
    let now = start_time();
    let (order, events) = new_order(&unique("checkout"), now);
    let (a, b) = skus(&order);
    receive(&f, &a, 5, now).await;
    receive(&f, &b, 1, now).await;
    let outcome = f
        .store
        .place_and_reserve(&order, &events, &reservation_of(&order, now), now)
        .await
        .unwrap();
    let PlaceOutcome::Rejected(rejected) = outcome else {
        panic!("expected Rejected, got {outcome:?}");
    };
    assert_eq!(rejected.id, order.id);
    assert_eq!(rejected.status, OrderStatus::Cancelled);
    assert_eq!(rejected.payment.status, PaymentStatus::Pending);
    assert_eq!(
        rejected.cancel_reason,
        Some(CancelReason::OutOfStock {
            sku: b.clone(),
            requested: 3,
            available: 1
        })
    );
    rejected.check_invariants().unwrap();
    assert_eq!(
        f.orders.get(order.id).await.unwrap(),
        Some(rejected.clone())
    );
    assert_eq!(
        f.orders
            .by_idempotency_key(&order.idempotency_key)
            .await
            .unwrap(),
        Some(rejected)
    );
    let held = f.inventory.reservation(order.reservation_id).await.unwrap();
    assert!(
        held.as_ref()
            .is_none_or(|r| r.status != ReservationStatus::Active),
        "{held:?}"
    );
    assert_eq!(level(&f, &a).await, (5, 0));
    assert_eq!(level(&f, &b).await, (1, 0));
    assert_eq!(
        order_topics(&f, order.id).await,
        vec!["order.placed", "order.cancelled"]
    );

    // Never stocked: 0 available.
    let (order, events) = new_order(&unique("checkout"), now);
    let (a, b) = skus(&order);
    receive(&f, &b, 10, now).await;
    let outcome = f
        .store
        .place_and_reserve(&order, &events, &reservation_of(&order, now), now)
        .await
        .unwrap();
    let PlaceOutcome::Rejected(rejected) = outcome else {
        panic!("expected Rejected, got {outcome:?}");
    };
    assert_eq!(
        rejected.cancel_reason,
        Some(CancelReason::OutOfStock {
            sku: a,
            requested: 2,
            available: 0
        })
    );
    assert_eq!(level(&f, &b).await, (10, 0));
}

/// A reservation whose id is not the order's reservation id is refused before
/// anything is written.
pub async fn place_with_the_reservation_of_another_order_is_refused(f: CheckoutStoreFixture) {
    let now = start_time();
    let (order, events) = new_order(&unique("checkout"), now);
    let (other, _) = new_order(&unique("checkout"), now);
    let (a, b) = skus(&order);
    receive(&f, &a, 5, now).await;
    receive(&f, &b, 5, now).await;
    let mut reservation = reservation_of(&order, now);
    reservation.id = other.reservation_id;
    let err = f
        .store
        .place_and_reserve(&order, &events, &reservation, now)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert!(f.orders.get(order.id).await.unwrap().is_none());
    assert_eq!(level(&f, &a).await, (5, 0));
}

/// An order reusing the id of a stored order under another key is a `Conflict`:
/// the stored order stays as it was and nothing more is reserved.
pub async fn place_with_a_taken_order_id_and_another_key_conflicts(f: CheckoutStoreFixture) {
    let now = start_time();
    let first = place_stocked(&f, now).await;
    let (mut other, events) = new_order(&unique("checkout"), now);
    other.id = first.id;
    other.reservation_id = first.reservation_id;
    other.lines = first.lines.clone();
    let err = f
        .store
        .place_and_reserve(&other, &events, &reservation_of(&other, now), now)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(f.orders.get(first.id).await.unwrap(), Some(first.clone()));
    let (a, b) = skus(&first);
    assert_eq!(level(&f, &a).await, (5, 2));
    assert_eq!(level(&f, &b).await, (5, 3));
}

/// 10 orders placed at once, two of them sharing an order id under different
/// keys: the other eight are placed, of the two exactly one is placed and the other
/// is a `Conflict`, and exactly the placed orders hold stock (one bad order never
/// fails the others, however the store groups concurrent calls).
pub async fn concurrent_places_with_a_shared_order_id_place_all_others(f: CheckoutStoreFixture) {
    let now = start_time();
    let (template, _) = new_order(&unique("checkout"), now);
    let (a, b) = skus(&template);
    receive(&f, &a, 1000, now).await;
    receive(&f, &b, 1000, now).await;
    let mut orders: Vec<(Order, Vec<EventEnvelope>)> = (0..10)
        .map(|_| {
            let (mut order, events) = new_order(&unique("checkout"), now);
            order.lines = template.lines.clone();
            (order, events)
        })
        .collect();
    let (shared_id, shared_reservation) = (orders[0].0.id, orders[0].0.reservation_id);
    orders[1].0.id = shared_id;
    orders[1].0.reservation_id = shared_reservation;
    let reservations: Vec<ReserveRequest> =
        orders.iter().map(|(o, _)| reservation_of(o, now)).collect();
    let outcomes = join_all(
        orders
            .iter()
            .zip(&reservations)
            .map(|((order, events), r)| f.store.place_and_reserve(order, events, r, now)),
    )
    .await;
    let (mut placed, mut conflicts) = (0, 0);
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(PlaceOutcome::Placed(_)) => placed += 1,
            Err(Error::Conflict(_)) if i < 2 => conflicts += 1,
            other => panic!("order {i}: unexpected {other:?}"),
        }
    }
    assert_eq!((placed, conflicts), (9, 1));
    assert_eq!(level(&f, &a).await, (1000, 18));
    assert_eq!(level(&f, &b).await, (1000, 27));
}

/// 50 concurrent places of different orders with one key: one order is stored and
/// holds its stock, every call answers with it, the stock is held once.
pub async fn concurrent_places_with_one_key_make_one_order_and_hold_stock_once(
    f: CheckoutStoreFixture,
) {
    let now = start_time();
    let key = unique("checkout");
    let (template, _) = new_order(&key, now);
    let (a, b) = skus(&template);
    receive(&f, &a, 1000, now).await;
    receive(&f, &b, 1000, now).await;
    let orders: Vec<(Order, Vec<EventEnvelope>)> = (0..50)
        .map(|_| {
            let (mut order, events) = new_order(&key, now);
            order.lines = template.lines.clone();
            (order, events)
        })
        .collect();
    let reservations: Vec<ReserveRequest> =
        orders.iter().map(|(o, _)| reservation_of(o, now)).collect();
    let outcomes = join_all(
        orders
            .iter()
            .zip(&reservations)
            .map(|((order, events), r)| f.store.place_and_reserve(order, events, r, now)),
    )
    .await;
    let mut placed = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for outcome in outcomes {
        match outcome.unwrap() {
            PlaceOutcome::Placed(o) => {
                ids.insert(o.id);
                placed.push(o);
            }
            PlaceOutcome::Existing(o) => {
                ids.insert(o.id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(placed.len(), 1);
    assert_eq!(ids.len(), 1);
    assert_eq!(level(&f, &a).await, (1000, 2));
    assert_eq!(level(&f, &b).await, (1000, 3));
}

/// 40 orders of 2 units each racing for 14 units: exactly 7 are placed; the others
/// are stored cancelled out of stock; exactly the stock is held.
pub async fn concurrent_places_sell_exactly_the_stock(f: CheckoutStoreFixture) {
    let now = start_time();
    let (template, _) = new_order(&unique("checkout"), now);
    let (a, b) = skus(&template);
    receive(&f, &a, 14, now).await;
    receive(&f, &b, 1000, now).await;
    let orders: Vec<(Order, Vec<EventEnvelope>)> = (0..40)
        .map(|_| {
            let (mut order, events) = new_order(&unique("checkout"), now);
            order.lines = template.lines.clone();
            (order, events)
        })
        .collect();
    let reservations: Vec<ReserveRequest> =
        orders.iter().map(|(o, _)| reservation_of(o, now)).collect();
    let outcomes = join_all(
        orders
            .iter()
            .zip(&reservations)
            .map(|((order, events), r)| f.store.place_and_reserve(order, events, r, now)),
    )
    .await;
    let (mut placed, mut rejected) = (0, 0);
    for outcome in outcomes {
        match outcome.unwrap() {
            PlaceOutcome::Placed(_) => placed += 1,
            PlaceOutcome::Rejected(o) => {
                assert!(
                    matches!(&o.cancel_reason, Some(CancelReason::OutOfStock { sku, .. }) if *sku == a),
                    "{:?}",
                    o.cancel_reason
                );
                rejected += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((placed, rejected), (7, 33));
    assert_eq!(level(&f, &a).await, (14, 14));
    assert_eq!(level(&f, &b).await, (1000, 21));
}

/// Commit and update: the reservation is committed (stock sold once), the order
/// stored with the next version and its events.
pub async fn commit_and_update_sells_the_stock_and_stores_the_order(f: CheckoutStoreFixture) {
    let now = start_time();
    let placed = place_stocked(&f, now).await;
    let (next, events) = confirmed(&placed, now);
    let stored = f
        .store
        .commit_and_update(&next, placed.version, &events, now)
        .await
        .unwrap();
    assert_eq!(stored, Order { version: 2, ..next });
    assert_eq!(stored.status, OrderStatus::Confirmed);
    assert_eq!(f.orders.get(placed.id).await.unwrap(), Some(stored));
    let reservation = f
        .inventory
        .reservation(placed.reservation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reservation.status, ReservationStatus::Committed);
    let (a, b) = skus(&placed);
    assert_eq!(level(&f, &a).await, (3, 0));
    assert_eq!(level(&f, &b).await, (2, 0));
    assert_eq!(
        order_topics(&f, placed.id).await,
        vec!["order.placed", "payment.authorized", "order.confirmed"]
    );
}

/// A released or expired reservation cannot be committed: the error is the
/// inventory's `IllegalTransition`, and neither the order nor the stock changes.
pub async fn commit_and_update_of_an_ended_reservation_changes_nothing(f: CheckoutStoreFixture) {
    let now = start_time();
    let placed = place_stocked(&f, now).await;
    f.inventory
        .release(placed.reservation_id, now)
        .await
        .unwrap();
    let (next, events) = confirmed(&placed, now);
    let err = f
        .store
        .commit_and_update(&next, placed.version, &events, now)
        .await
        .unwrap_err();
    assert!(is_illegal(&err, ReservationStatus::Released), "{err:?}");
    assert_eq!(f.orders.get(placed.id).await.unwrap(), Some(placed.clone()));
    let (a, b) = skus(&placed);
    assert_eq!(level(&f, &a).await, (5, 0));
    assert_eq!(level(&f, &b).await, (5, 0));
    assert_eq!(order_topics(&f, placed.id).await, vec!["order.placed"]);

    let placed = place_stocked(&f, now).await;
    let later = now + Duration::minutes(16);
    let expired = f.inventory.expire_due(later, 1000).await.unwrap();
    assert!(expired.contains(&placed.reservation_id));
    let (next, events) = confirmed(&placed, later);
    let err = f
        .store
        .commit_and_update(&next, placed.version, &events, later)
        .await
        .unwrap_err();
    assert!(is_illegal(&err, ReservationStatus::Expired), "{err:?}");
    assert_eq!(f.orders.get(placed.id).await.unwrap(), Some(placed.clone()));
    let (a, _) = skus(&placed);
    assert_eq!(level(&f, &a).await, (5, 0));
}

/// An order whose reservation does not exist: the inventory's `NotFound`, nothing
/// changes.
pub async fn commit_and_update_of_an_unknown_reservation_changes_nothing(f: CheckoutStoreFixture) {
    let now = start_time();
    let (order, events) = new_order(&unique("checkout"), now);
    let stored = f.orders.create(&order, &events).await.unwrap().into_order();
    let (next, events) = confirmed(&stored, now);
    let err = f
        .store
        .commit_and_update(&next, stored.version, &events, now)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Inventory(commerce_inventory::Error::NotFound { .. })
        ),
        "{err:?}"
    );
    assert_eq!(f.orders.get(order.id).await.unwrap(), Some(stored));
    assert_eq!(order_topics(&f, order.id).await, vec!["order.placed"]);
}

/// A stale `expected_version` is a `Conflict`: the order keeps what the other
/// writer stored and gets no events; the stock changes at most once (a native store
/// leaves the reservation active, separate stores may have committed it).
pub async fn commit_and_update_with_a_stale_version_conflicts_and_keeps_the_order(
    f: CheckoutStoreFixture,
) {
    let now = start_time();
    let placed = place_stocked(&f, now).await;
    let mut touched = placed.clone();
    touched.email = "other.writer@example.com".to_owned();
    let current = f
        .orders
        .update(&touched, placed.version, &[])
        .await
        .unwrap();
    let (next, events) = confirmed(&placed, now);
    let err = f
        .store
        .commit_and_update(&next, placed.version, &events, now)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(f.orders.get(placed.id).await.unwrap(), Some(current));
    assert_eq!(order_topics(&f, placed.id).await, vec!["order.placed"]);
    let (a, b) = skus(&placed);
    let (a_level, b_level) = (level(&f, &a).await, level(&f, &b).await);
    assert!(
        (a_level, b_level) == ((5, 2), (5, 3)) || (a_level, b_level) == ((3, 0), (2, 0)),
        "{a_level:?} {b_level:?}"
    );
}

/// A reservation committed already (a checkout that crashed after its commit) is
/// fine: the order is stored and the stock is not sold a second time.
pub async fn commit_and_update_of_a_committed_reservation_sells_once(f: CheckoutStoreFixture) {
    let now = start_time();
    let placed = place_stocked(&f, now).await;
    f.inventory
        .commit(placed.reservation_id, now)
        .await
        .unwrap();
    let (next, events) = confirmed(&placed, now);
    let stored = f
        .store
        .commit_and_update(&next, placed.version, &events, now)
        .await
        .unwrap();
    assert_eq!(stored.status, OrderStatus::Confirmed);
    assert_eq!(stored.version, 2);
    let (a, b) = skus(&placed);
    assert_eq!(level(&f, &a).await, (3, 0));
    assert_eq!(level(&f, &b).await, (2, 0));
}

/// 20 concurrent commit-and-updates of one version: exactly one wins, the others
/// are `Conflict`s, the stock is sold once and the order written once.
pub async fn concurrent_commit_and_updates_let_exactly_one_win(f: CheckoutStoreFixture) {
    let now = start_time();
    let placed = place_stocked(&f, now).await;
    let attempts: Vec<(Order, Vec<EventEnvelope>)> =
        (0..20).map(|_| confirmed(&placed, now)).collect();
    let results = join_all(
        attempts
            .iter()
            .map(|(next, events)| f.store.commit_and_update(next, placed.version, events, now)),
    )
    .await;
    let mut won = 0;
    for r in results {
        match r {
            Ok(o) => {
                assert_eq!(o.version, 2);
                won += 1;
            }
            Err(Error::Conflict(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won, 1);
    let (a, b) = skus(&placed);
    assert_eq!(level(&f, &a).await, (3, 0));
    assert_eq!(level(&f, &b).await, (2, 0));
    assert_eq!(f.orders.get(placed.id).await.unwrap().unwrap().version, 2);
    assert_eq!(
        order_topics(&f, placed.id).await,
        vec!["order.placed", "payment.authorized", "order.confirmed"]
    );
}
