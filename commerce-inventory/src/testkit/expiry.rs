//! Checks of `expire_due`.

use std::collections::HashSet;

use crate::error::Error;
use crate::model::{ReservationStatus, Transition};

use super::InventoryFixture;
use super::support::{at, counts, receive, request_expiring, t0, unique_skus};

/// Only active reservations with `expires_at <= now` expire (the boundary counts),
/// their stock comes back once, and a later sweep does not touch them again. A
/// release after expiry is `AlreadyDone`.
pub async fn expire_due_takes_only_due_active_reservations(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 20).await;

    let due = request_expiring(&[(a, 1)], at(1));
    let boundary = request_expiring(&[(a, 1)], at(5));
    let later = request_expiring(&[(a, 2)], at(30));
    let committed = request_expiring(&[(a, 3)], at(1));
    let released = request_expiring(&[(a, 4)], at(1));
    for req in [&due, &boundary, &later, &committed, &released] {
        f.store.reserve(req, t0()).await.unwrap();
    }
    f.store.commit(committed.id, at(2)).await.unwrap();
    f.store.release(released.id, at(2)).await.unwrap();
    assert_eq!(counts(&*f.store, a).await, (17, 4));

    let swept: HashSet<_> = f
        .store
        .expire_due(at(5), 1000)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert!(
        swept.contains(&due.id) && swept.contains(&boundary.id),
        "due reservations not expired"
    );
    for not_due in [&later, &committed, &released] {
        assert!(
            !swept.contains(&not_due.id),
            "expired a reservation that was not due"
        );
    }
    assert_eq!(counts(&*f.store, a).await, (17, 2));
    let reservation = f.store.reservation(due.id).await.unwrap().unwrap();
    assert_eq!(reservation.status, ReservationStatus::Expired);
    assert_eq!(reservation.finished_at, Some(at(5)));

    let again = f.store.expire_due(at(6), 1000).await.unwrap();
    assert!(
        !again.contains(&due.id) && !again.contains(&boundary.id),
        "expired twice"
    );
    assert_eq!(counts(&*f.store, a).await, (17, 2));

    assert_eq!(
        f.store.release(due.id, at(7)).await.unwrap(),
        Transition::AlreadyDone
    );
    assert!(matches!(
        f.store.commit(due.id, at(7)).await,
        Err(Error::IllegalTransition {
            from: ReservationStatus::Expired,
            ..
        })
    ));
    assert_eq!(counts(&*f.store, a).await, (17, 2));
}

/// `expire_due` expires at most `limit` reservations per call (none for 0); calling
/// it again continues until all due ones are expired, each once.
pub async fn expire_due_respects_limit(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 10).await;
    let mut ours = HashSet::new();
    for _ in 0..5 {
        let req = request_expiring(&[(a, 1)], at(1));
        f.store.reserve(&req, t0()).await.unwrap();
        ours.insert(req.id);
    }

    assert!(f.store.expire_due(at(2), 0).await.unwrap().is_empty());
    assert_eq!(counts(&*f.store, a).await, (10, 5));

    let first = f.store.expire_due(at(2), 2).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(counts(&*f.store, a).await, (10, 3));

    let mut seen: Vec<_> = first;
    loop {
        let batch = f.store.expire_due(at(2), 2).await.unwrap();
        assert!(batch.len() <= 2);
        if batch.is_empty() {
            break;
        }
        seen.extend(batch);
    }
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a reservation was expired twice");
    assert!(
        ours.is_subset(&unique),
        "a due reservation was never expired"
    );
    assert_eq!(counts(&*f.store, a).await, (10, 0));
}

/// `prune_finished` deletes finished reservations (committed, released, expired,
/// restocked) that finished (left `Active`) before the cutoff, oldest first, at most `limit` per
/// call; active ones and stock stay as they are.
pub async fn prune_finished_deletes_only_old_finished_reservations(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 20).await;
    let active = request_expiring(&[(a, 1)], at(100));
    let committed = request_expiring(&[(a, 1)], at(50));
    let released = request_expiring(&[(a, 1)], at(50));
    let expired = request_expiring(&[(a, 1)], at(4));
    let restocked = request_expiring(&[(a, 1)], at(50));
    for req in [&active, &committed, &released, &expired, &restocked] {
        f.store.reserve(req, t0()).await.unwrap();
    }
    f.store.commit(committed.id, at(2)).await.unwrap();
    f.store.release(released.id, at(3)).await.unwrap();
    assert_eq!(
        f.store.expire_due(at(4), 10).await.unwrap(),
        vec![expired.id]
    );
    // Finished when it left `Active` (the commit), whenever it was restocked.
    f.store.commit(restocked.id, at(5)).await.unwrap();
    f.store.restock(restocked.id, at(6)).await.unwrap();
    let stock = counts(&*f.store, a).await;

    assert_eq!(f.store.prune_finished(at(4), 0).await.unwrap(), 0);
    assert_eq!(
        f.store.prune_finished(at(4), 100).await.unwrap(),
        2,
        "committed (2) and released (3) finished before the cutoff (4)"
    );
    assert!(f.store.reservation(committed.id).await.unwrap().is_none());
    assert!(f.store.reservation(released.id).await.unwrap().is_none());
    assert!(f.store.reservation(expired.id).await.unwrap().is_some());
    assert_eq!(f.store.prune_finished(at(60), 1).await.unwrap(), 1);
    assert!(
        f.store.reservation(expired.id).await.unwrap().is_none(),
        "oldest first"
    );
    assert!(f.store.reservation(restocked.id).await.unwrap().is_some());
    assert_eq!(f.store.prune_finished(at(60), 10).await.unwrap(), 1);
    assert_eq!(f.store.prune_finished(at(60), 10).await.unwrap(), 0);
    let still = f.store.reservation(active.id).await.unwrap().unwrap();
    assert_eq!(still.status, ReservationStatus::Active);
    assert_eq!(counts(&*f.store, a).await, stock, "stock untouched");
}
