//! Checks of [`OrderStore`](crate::OrderStore) implementations.

use std::collections::HashSet;

use chrono::Duration;
use futures::future::join_all;

use commerce_core::testkit::fixtures::fixed_time;
use commerce_core::testkit::support::drain;
use commerce_core::{Currency, CustomerId, EventEnvelope, Money, SellerId};

use crate::checkout::envelopes;
use crate::error::Error;
use crate::id::{IdempotencyKey, OrderId};
use crate::lifecycle::Transitioned;
use crate::machine::{FulfilmentStatus, OrderStatus, PaymentStatus};
use crate::model::{CancelReason, Order, ShipmentLine};
use crate::payment::{Authorization, Capture, PaymentReference, RefundReceipt};
use crate::ports::{CreateOutcome, OrderPage};

use super::OrderStoreFixture;
use super::support::{sample_order, unique};

fn events(t: &Transitioned) -> Vec<EventEnvelope> {
    envelopes(&t.events, t.order.updated_at).unwrap()
}

async fn order_events(f: &OrderStoreFixture, id: OrderId) -> Vec<String> {
    drain(f.outbox.as_ref(), &unique("group"))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.aggregate_type == "order" && e.aggregate_id == id.to_string())
        .map(|e| e.topic)
        .collect()
}

async fn create(f: &OrderStoreFixture, customer: Option<CustomerId>) -> Order {
    let t = sample_order(customer, &unique("key"), Currency::USD, fixed_time());
    match f.store.create(&t.order, &events(&t)).await.unwrap() {
        CreateOutcome::Created(o) => o,
        CreateOutcome::Existing(_) => panic!("a fresh key must create"),
    }
}

fn authorization(order: &Order) -> Authorization {
    Authorization {
        payment_reference: PaymentReference(unique("pay")),
        amount: order.totals.grand_total,
        method: order.payment.method.clone(),
        authorized_at: order.updated_at,
    }
}

/// `create` stores the order as given with version 1 and writes its events.
pub async fn create_stores_the_order_at_version_one_with_its_events(f: OrderStoreFixture) {
    let mut t = sample_order(
        Some(CustomerId::new()),
        &unique("key"),
        Currency::USD,
        fixed_time(),
    );
    t.order.version = 42;
    let created = f.store.create(&t.order, &events(&t)).await.unwrap();
    let CreateOutcome::Created(stored) = created else {
        panic!("expected Created");
    };
    let mut expected = t.order.clone();
    expected.version = 1;
    assert_eq!(stored, expected);
    assert_eq!(f.store.get(t.order.id).await.unwrap(), Some(expected));
    assert_eq!(order_events(&f, t.order.id).await, vec!["order.placed"]);
}

/// A second `create` with the same idempotency key returns the first order and
/// writes nothing.
pub async fn create_with_an_existing_key_returns_the_existing_order_and_writes_no_events(
    f: OrderStoreFixture,
) {
    let key = unique("key");
    let first = sample_order(None, &key, Currency::USD, fixed_time());
    let first = f
        .store
        .create(&first.order, &events(&first))
        .await
        .unwrap()
        .into_order();
    let second = sample_order(None, &key, Currency::USD, fixed_time());
    match f
        .store
        .create(&second.order, &events(&second))
        .await
        .unwrap()
    {
        CreateOutcome::Existing(o) => assert_eq!(o, first),
        CreateOutcome::Created(_) => panic!("the key is taken"),
    }
    assert_eq!(f.store.get(second.order.id).await.unwrap(), None);
    assert!(order_events(&f, second.order.id).await.is_empty());
    assert_eq!(order_events(&f, first.id).await, vec!["order.placed"]);
}

/// Of 200 concurrent creates with one key, exactly one creates; all see its order.
pub async fn concurrent_creates_with_one_key_make_one_order(f: OrderStoreFixture) {
    let key = unique("key");
    let attempts: Vec<Transitioned> = (0..200)
        .map(|_| sample_order(None, &key, Currency::USD, fixed_time()))
        .collect();
    let envs: Vec<Vec<EventEnvelope>> = attempts.iter().map(events).collect();
    let results = join_all(
        attempts
            .iter()
            .zip(&envs)
            .map(|(t, env)| f.store.create(&t.order, env)),
    )
    .await;
    let mut created = 0;
    let mut ids = HashSet::new();
    for r in results {
        let r = r.unwrap();
        if r.is_created() {
            created += 1;
        }
        ids.insert(r.into_order().id);
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
    let id = ids.into_iter().next().unwrap();
    assert_eq!(order_events(&f, id).await, vec!["order.placed"]);
}

/// Reusing an order id under another key is a `Conflict`.
pub async fn create_with_a_taken_id_and_another_key_conflicts(f: OrderStoreFixture) {
    let first = create(&f, None).await;
    let mut other = sample_order(None, &unique("key"), Currency::USD, fixed_time());
    other.order.id = first.id;
    let err = f.store.create(&other.order, &[]).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(f.store.get(first.id).await.unwrap(), Some(first));
}

/// `update` at the current version stores the order with version + 1 and appends
/// the events.
pub async fn update_bumps_the_version_and_appends_the_events(f: OrderStoreFixture) {
    let order = create(&f, None).await;
    let now = fixed_time() + Duration::seconds(5);
    let t = order
        .record_authorization(&authorization(&order), now)
        .unwrap()
        .then(|o| o.confirm(now))
        .unwrap();
    let stored = f.store.update(&t.order, 1, &events(&t)).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.status, OrderStatus::Confirmed);
    assert_eq!(stored.payment.status, PaymentStatus::Authorized);
    assert_eq!(stored.updated_at, now);
    assert_eq!(f.store.get(order.id).await.unwrap(), Some(stored));
    assert_eq!(
        order_events(&f, order.id).await,
        vec!["order.placed", "payment.authorized", "order.confirmed"]
    );
}

/// A stale `expected_version` is a `Conflict` and changes nothing.
pub async fn update_with_a_stale_version_conflicts_and_writes_nothing(f: OrderStoreFixture) {
    let order = create(&f, None).await;
    let now = fixed_time();
    let cancel = order.cancel(CancelReason::CustomerRequested, now).unwrap();
    let stored = f
        .store
        .update(&cancel.order, 1, &events(&cancel))
        .await
        .unwrap();
    let err = f
        .store
        .update(&cancel.order, 1, &events(&cancel))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(f.store.get(order.id).await.unwrap(), Some(stored));
    assert_eq!(
        order_events(&f, order.id).await,
        vec!["order.placed", "order.cancelled"]
    );
}

/// Of 200 concurrent updates from one version, exactly one wins.
pub async fn concurrent_updates_of_one_version_let_exactly_one_win(f: OrderStoreFixture) {
    let order = create(&f, None).await;
    let t = order
        .cancel(CancelReason::CustomerRequested, fixed_time())
        .unwrap();
    let env = events(&t);
    let results = join_all((0..200).map(|_| f.store.update(&t.order, 1, &env))).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1);
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(matches!(r, Error::Conflict(_)), "{r:?}");
    }
    assert_eq!(f.store.get(order.id).await.unwrap().unwrap().version, 2);
    assert_eq!(
        order_events(&f, order.id).await,
        vec!["order.placed", "order.cancelled"]
    );
}

/// Updating an order never created is `NotFound`.
pub async fn update_of_an_unknown_order_is_not_found(f: OrderStoreFixture) {
    let t = sample_order(None, &unique("key"), Currency::USD, fixed_time());
    let err = f.store.update(&t.order, 1, &[]).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// Every part of an order survives a round trip: payment with refunds and their
/// allocation, shipments with tracking, fulfilment status.
pub async fn update_round_trips_payment_refunds_and_shipments(f: OrderStoreFixture) {
    let order = create(&f, Some(CustomerId::new())).await;
    let now = fixed_time() + Duration::minutes(1);
    let auth = authorization(&order);
    let capture = Capture {
        payment_reference: auth.payment_reference.clone(),
        amount: auth.amount,
        captured_at: now,
    };
    let first_sku = order.lines[0].sku.clone();
    let t = order
        .record_authorization(&auth, now)
        .unwrap()
        .then(|o| o.confirm(now))
        .unwrap()
        .then(|o| o.record_capture(&capture, now))
        .unwrap()
        .then(|o| {
            o.ship(
                &[ShipmentLine {
                    sku: first_sku.clone(),
                    quantity: 1,
                }],
                Some("UPS".to_owned()),
                Some("1Z999".to_owned()),
                now,
            )
        })
        .unwrap();
    let refund_amount = Money::from_minor(333, order.currency);
    let receipt = RefundReceipt {
        refund_reference: unique("ref"),
        payment_reference: auth.payment_reference.clone(),
        amount: refund_amount,
        total_refunded: refund_amount,
        refunded_at: now,
    };
    let t = t
        .then(|o| {
            o.record_refund(
                &receipt,
                IdempotencyKey::new(unique("refund")).unwrap(),
                "damaged",
                now,
            )
        })
        .unwrap();
    let stored = f.store.update(&t.order, 1, &events(&t)).await.unwrap();
    let mut expected = t.order.clone();
    expected.version = 2;
    assert_eq!(stored, expected);
    let read = f.store.get(order.id).await.unwrap().unwrap();
    assert_eq!(read, expected);
    assert_eq!(read.fulfilment.status, FulfilmentStatus::PartiallyShipped);
    assert_eq!(read.payment.status, PaymentStatus::PartiallyRefunded);
    assert_eq!(read.payment.refunds[0].line_amounts.len(), 2);
    read.check_invariants().unwrap();
    assert_eq!(
        order_events(&f, order.id).await,
        vec![
            "order.placed",
            "payment.authorized",
            "order.confirmed",
            "payment.captured",
            "fulfilment.partially_shipped",
            "payment.refunded"
        ]
    );
}

/// `get` of an unknown id is `None`.
pub async fn get_of_an_unknown_order_is_none(f: OrderStoreFixture) {
    assert_eq!(f.store.get(OrderId::new()).await.unwrap(), None);
}

/// `get_many` returns each stored order among the ids once, as `get` reads it, and
/// leaves unknown ids out.
pub async fn get_many_reads_the_known_orders_once(f: OrderStoreFixture) {
    let a = create(&f, Some(CustomerId::new())).await;
    let b = create(&f, None).await;
    let c = create(&f, None).await;
    let mut got = f
        .store
        .get_many(&[b.id, OrderId::new(), a.id, b.id])
        .await
        .unwrap();
    got.sort_by_key(|o| o.id);
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort_by_key(|o| o.id);
    assert_eq!(got, expected);
    assert_eq!(f.store.get(c.id).await.unwrap(), Some(c));
    assert!(f.store.get_many(&[]).await.unwrap().is_empty());
    assert!(
        f.store
            .get_many(&[OrderId::new()])
            .await
            .unwrap()
            .is_empty()
    );
}

/// Defect 10: an order is readable by its owner only; another customer, a guest
/// order and an unknown id all give the same `NotFound`.
pub async fn get_for_customer_hides_other_customers_orders(f: OrderStoreFixture) {
    let owner = CustomerId::new();
    let order = create(&f, Some(owner)).await;
    let guest_order = create(&f, None).await;
    assert_eq!(
        f.store.get_for_customer(order.id, owner).await.unwrap(),
        order
    );
    let stranger = CustomerId::new();
    for (id, who) in [
        (order.id, stranger),
        (guest_order.id, owner),
        (OrderId::new(), owner),
    ] {
        let err = f.store.get_for_customer(id, who).await.unwrap_err();
        match err {
            Error::NotFound { entity, id: shown } => {
                assert_eq!(entity, "order");
                assert_eq!(shown, id.to_string());
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
}

/// `by_idempotency_key` finds the order placed with the key, `None` for another.
pub async fn by_idempotency_key_finds_the_order(f: OrderStoreFixture) {
    let order = create(&f, None).await;
    assert_eq!(
        f.store
            .by_idempotency_key(&order.idempotency_key)
            .await
            .unwrap(),
        Some(order)
    );
    let other = IdempotencyKey::new(unique("key")).unwrap();
    assert_eq!(f.store.by_idempotency_key(&other).await.unwrap(), None);
}

/// A customer's orders come newest first in keyset pages; others' orders never.
pub async fn list_for_customer_pages_newest_first(f: OrderStoreFixture) {
    let customer = CustomerId::new();
    let mut mine = Vec::new();
    for i in 0..5 {
        mine.push(create(&f, Some(customer)).await);
        if i == 2 {
            create(&f, Some(CustomerId::new())).await;
            create(&f, None).await;
        }
    }
    mine.sort_by_key(|o| std::cmp::Reverse(o.id));
    let first = f
        .store
        .list_for_customer(customer, OrderPage::first(2))
        .await
        .unwrap();
    assert_eq!(first, mine[..2].to_vec());
    let second = f
        .store
        .list_for_customer(
            customer,
            OrderPage {
                before: Some(first[1].id),
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(second, mine[2..].to_vec());
    assert!(
        f.store
            .list_for_customer(customer, OrderPage::first(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        f.store
            .list_for_customer(CustomerId::new(), OrderPage::first(10))
            .await
            .unwrap()
            .is_empty()
    );
}

/// A seller's orders are those with a line of theirs, newest first in keyset pages;
/// `list_all` pages every order newest first.
pub async fn list_for_seller_and_list_all_page_newest_first(f: OrderStoreFixture) {
    let seller = SellerId::new();
    let mut theirs = Vec::new();
    for i in 0..4 {
        let mut t = sample_order(
            Some(CustomerId::new()),
            &unique("key"),
            Currency::USD,
            fixed_time(),
        );
        // One line of the seller (the second line in odd orders), the other of nobody.
        t.order.lines[i % 2].seller_id = Some(seller);
        let CreateOutcome::Created(o) = f.store.create(&t.order, &events(&t)).await.unwrap() else {
            panic!("a fresh key must create");
        };
        theirs.push(o);
        create(&f, Some(CustomerId::new())).await;
    }
    theirs.sort_by_key(|o| std::cmp::Reverse(o.id));
    let first = f
        .store
        .list_for_seller(seller, OrderPage::first(3))
        .await
        .unwrap();
    assert_eq!(first, theirs[..3].to_vec());
    let rest = f
        .store
        .list_for_seller(
            seller,
            OrderPage {
                before: Some(first[2].id),
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest, theirs[3..].to_vec());
    assert!(
        f.store
            .list_for_seller(SellerId::new(), OrderPage::first(10))
            .await
            .unwrap()
            .is_empty()
    );
    let newest = create(&f, None).await;
    let all = f.store.list_all(OrderPage::first(2)).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], newest, "newest first");
    assert!(all[0].id > all[1].id);
    let next = f
        .store
        .list_all(OrderPage {
            before: Some(theirs[0].id),
            limit: 1,
        })
        .await
        .unwrap();
    assert!(next.iter().all(|o| o.id < theirs[0].id));
    assert!(
        f.store
            .list_all(OrderPage::first(0))
            .await
            .unwrap()
            .is_empty()
    );
}

/// `list_recoverable` returns `PendingPayment` orders not updated since the cutoff,
/// oldest first, up to the limit; never confirmed or cancelled ones.
pub async fn list_recoverable_returns_stale_pending_orders_oldest_first(f: OrderStoreFixture) {
    // Far in the past, so orders of other checks on a shared store are not older.
    let base = fixed_time() - Duration::days(3650);
    let mut pending = Vec::new();
    for i in 0..3 {
        let t = sample_order(
            None,
            &unique("key"),
            Currency::USD,
            base + Duration::seconds(i),
        );
        pending.push(
            f.store
                .create(&t.order, &events(&t))
                .await
                .unwrap()
                .into_order(),
        );
    }
    let t = sample_order(None, &unique("key"), Currency::USD, base);
    let cancelled = f
        .store
        .create(&t.order, &events(&t))
        .await
        .unwrap()
        .into_order();
    let c = cancelled.cancel(CancelReason::Abandoned, base).unwrap();
    f.store.update(&c.order, 1, &events(&c)).await.unwrap();
    let young = sample_order(
        None,
        &unique("key"),
        Currency::USD,
        base + Duration::hours(1),
    );
    f.store.create(&young.order, &events(&young)).await.unwrap();

    let cutoff = base + Duration::minutes(1);
    let found = f.store.list_recoverable(cutoff, 10).await.unwrap();
    let ids: Vec<OrderId> = found.iter().map(|o| o.id).collect();
    assert_eq!(ids, pending.iter().map(|o| o.id).collect::<Vec<_>>());
    let limited = f.store.list_recoverable(cutoff, 2).await.unwrap();
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[0].id, pending[0].id);
}

/// Amounts come back in their currency with their minor units (JPY 0, BHD 3).
pub async fn amounts_keep_their_currency_and_minor_units(f: OrderStoreFixture) {
    for currency in [Currency::JPY, Currency::BHD, Currency::EUR] {
        let t = sample_order(None, &unique("key"), currency, fixed_time());
        f.store.create(&t.order, &events(&t)).await.unwrap();
        let read = f.store.get(t.order.id).await.unwrap().unwrap();
        assert_eq!(read.currency, currency);
        assert_eq!(read.totals.grand_total, t.order.totals.grand_total);
        assert_eq!(read.totals.grand_total.currency(), currency);
        assert_eq!(read.lines, t.order.lines);
    }
}

/// `list_payment_actions_due` returns the orders whose recorded payment action is
/// due, earliest first; an action recorded and then finished (or not due) is not
/// listed, and the intent round-trips.
pub async fn list_payment_actions_due_returns_due_intents_earliest_first(f: OrderStoreFixture) {
    use crate::model::PaymentAction;
    // Far in the past, so actions of other checks on a shared store are not earlier.
    let base = fixed_time() - Duration::days(7300);
    let mut due = Vec::new();
    for i in [2, 0, 1] {
        let order = create(&f, None).await;
        let at = base + Duration::seconds(i);
        let t = order
            .request_payment_action(
                PaymentAction::Cancel {
                    reason: CancelReason::CustomerRequested,
                },
                at,
                order.updated_at,
            )
            .unwrap();
        let stored = f.store.update(&t.order, 1, &events(&t)).await.unwrap();
        assert_eq!(stored.payment.intent, t.order.payment.intent);
        due.push((i, stored));
    }
    let later = create(&f, None).await;
    let t = later
        .request_payment_action(
            PaymentAction::Capture,
            base + Duration::hours(1),
            later.updated_at,
        )
        .unwrap();
    f.store.update(&t.order, 1, &events(&t)).await.unwrap();
    // Recorded then finished: no longer listed.
    let done = create(&f, None).await;
    let t = done
        .request_payment_action(PaymentAction::Capture, base, done.updated_at)
        .unwrap();
    let stored = f.store.update(&t.order, 1, &events(&t)).await.unwrap();
    let mut cleared = stored.clone();
    cleared.payment.intent = None;
    f.store.update(&cleared, stored.version, &[]).await.unwrap();

    due.sort_by_key(|(i, _)| *i);
    let expected: Vec<OrderId> = due.iter().map(|(_, o)| o.id).collect();
    let found = f
        .store
        .list_payment_actions_due(base + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(found.iter().map(|o| o.id).collect::<Vec<_>>(), expected);
    let limited = f
        .store
        .list_payment_actions_due(base + Duration::minutes(1), 2)
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[0].id, expected[0]);
    assert!(
        order_events(&f, expected[0])
            .await
            .contains(&"payment.action_requested".to_owned())
    );
}
