//! Checks of the events written to the outbox with each change.

use crate::error::Error;
use crate::model::{AdjustmentReason, InventoryEvent, ReservationStatus};

use super::InventoryFixture;
use super::support::{
    adjustment, at, events_about, here, receive, request, request_expiring, t0, unique_skus,
};

fn stock_changed(sku: &commerce_core::Sku, on_hand: u64, reserved: u64) -> InventoryEvent {
    InventoryEvent::StockChanged {
        sku: sku.clone(),
        location: here(),
        on_hand,
        reserved,
        backordered: 0,
    }
}

/// Every stock change (adjust, reserve, commit, release) writes a `StockChanged`
/// event per SKU with the new levels, stamped with the call's `now`.
pub async fn stock_changes_write_stock_changed_events(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 10).await;
    receive(&*f.store, b, 5).await;
    let sold = request(&[(a, 3), (b, 1)]);
    f.store.reserve(&sold, at(1)).await.unwrap();
    f.store.commit(sold.id, at(2)).await.unwrap();
    let given_back = request(&[(a, 2)]);
    f.store.reserve(&given_back, at(3)).await.unwrap();
    f.store.release(given_back.id, at(4)).await.unwrap();
    f.store
        .adjust(&adjustment(b, -2, AdjustmentReason::Damaged), at(5))
        .await
        .unwrap();

    let events = events_about(&*f.outbox, &skus, &[]).await;
    for (envelope, _) in &events {
        assert_eq!(envelope.topic, "inventory.stock_changed");
        assert_eq!(envelope.aggregate_type, "sku");
    }
    let of = |sku: &commerce_core::Sku| -> Vec<_> {
        events
            .iter()
            .filter(|(e, _)| e.aggregate_id == sku.as_str())
            .map(|(e, event)| (e.occurred_at, event.clone()))
            .collect()
    };
    assert_eq!(
        of(a),
        vec![
            (t0(), stock_changed(a, 10, 0)),
            (at(1), stock_changed(a, 10, 3)),
            (at(2), stock_changed(a, 7, 0)),
            (at(3), stock_changed(a, 7, 2)),
            (at(4), stock_changed(a, 7, 0)),
        ]
    );
    assert_eq!(
        of(b),
        vec![
            (t0(), stock_changed(b, 5, 0)),
            (at(1), stock_changed(b, 5, 1)),
            (at(2), stock_changed(b, 4, 0)),
            (at(5), stock_changed(b, 2, 0)),
        ]
    );
}

/// Each end of a reservation (commit, release, expiry) writes one
/// `ReservationFinished` with the final status; repeated calls write nothing more.
pub async fn reservation_end_writes_reservation_finished_event(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 10).await;
    let committed = request(&[(a, 1)]);
    let released = request(&[(a, 1)]);
    let expired = request_expiring(&[(a, 1)], at(1));
    for req in [&committed, &released, &expired] {
        f.store.reserve(req, t0()).await.unwrap();
    }
    f.store.commit(committed.id, at(2)).await.unwrap();
    f.store.commit(committed.id, at(2)).await.unwrap();
    f.store.release(released.id, at(2)).await.unwrap();
    f.store.release(released.id, at(2)).await.unwrap();
    f.store.expire_due(at(2), 1000).await.unwrap();
    f.store.release(expired.id, at(3)).await.unwrap();

    let ids = [committed.id, released.id, expired.id];
    let events = events_about(&*f.outbox, &[], &ids).await;
    let finished: Vec<_> = events
        .iter()
        .map(|(envelope, event)| {
            assert_eq!(envelope.topic, "inventory.reservation_finished");
            assert_eq!(envelope.aggregate_type, "reservation");
            assert_eq!(envelope.occurred_at, at(2));
            event.clone()
        })
        .collect();
    let expected = [
        (committed.id, ReservationStatus::Committed),
        (released.id, ReservationStatus::Released),
        (expired.id, ReservationStatus::Expired),
    ];
    assert_eq!(finished.len(), expected.len(), "{finished:?}");
    for (id, status) in expected {
        assert!(
            finished.contains(&InventoryEvent::ReservationFinished { id, status }),
            "missing ReservationFinished for {status:?}: {finished:?}"
        );
    }
}

/// A call that fails (short stock, bad input, illegal transition, conflict) writes
/// no event.
pub async fn failed_operations_write_no_events(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 2).await;
    let sold = request(&[(a, 1)]);
    f.store.reserve(&sold, t0()).await.unwrap();
    f.store.commit(sold.id, t0()).await.unwrap();
    let before = events_about(&*f.outbox, &skus, &[sold.id]).await.len();

    let short = f.store.reserve(&request(&[(a, 1), (b, 1)]), at(1)).await;
    assert!(matches!(short, Err(Error::InsufficientStock { .. })));
    let too_much = adjustment(a, -5, AdjustmentReason::Correction);
    assert!(f.store.adjust(&too_much, at(1)).await.is_err());
    let invalid = adjustment(b, -1, AdjustmentReason::Received);
    assert!(f.store.adjust(&invalid, at(1)).await.is_err());
    assert!(f.store.release(sold.id, at(1)).await.is_err());
    let mut conflicting = sold.clone();
    conflicting.lines = request(&[(a, 1), (b, 1)]).lines;
    assert!(matches!(
        f.store.reserve(&conflicting, at(1)).await,
        Err(Error::Conflict(_))
    ));

    let after = events_about(&*f.outbox, &skus, &[sold.id]).await.len();
    assert_eq!(after, before, "a failed call wrote events");
}

/// Setting a backorder policy writes a `StockChanged` event with the level, stamped
/// with the call's `now`, so caches of displayed availability drop the level.
pub async fn set_backorder_policy_writes_a_stock_changed_event(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 4).await;
    f.store
        .set_backorder_policy(
            a,
            &here(),
            crate::model::BackorderPolicy::Allow { limit: 2 },
            at(7),
        )
        .await
        .unwrap();
    let events = events_about(&*f.outbox, &skus, &[]).await;
    let last = events.last().unwrap();
    assert_eq!(last.0.topic, "inventory.stock_changed");
    assert_eq!(
        (last.0.occurred_at, last.1.clone()),
        (at(7), stock_changed(a, 4, 0))
    );
}
