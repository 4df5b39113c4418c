//! Checks of `commit`, `release` and `restock`: each reservation ends once, and only a
//! transition that happens changes stock.

use crate::error::Error;
use crate::model::{ReservationId, ReservationStatus, Transition};

use super::InventoryFixture;
use super::support::{at, counts, receive, request, request_expiring, t0, unique_skus};

/// Committing sells the units: `on_hand` and `reserved` both drop. A second commit
/// is `AlreadyDone` and changes nothing.
pub async fn commit_sells_reserved_stock_once(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 10).await;
    receive(&*f.store, b, 5).await;
    let req = request(&[(a, 3), (b, 5)]);
    f.store.reserve(&req, t0()).await.unwrap();

    assert_eq!(
        f.store.commit(req.id, at(1)).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(counts(&*f.store, a).await, (7, 0));
    assert_eq!(counts(&*f.store, b).await, (0, 0));
    let reservation = f.store.reservation(req.id).await.unwrap().unwrap();
    assert_eq!(reservation.status, ReservationStatus::Committed);
    assert_eq!(reservation.finished_at, Some(at(1)));

    assert_eq!(
        f.store.commit(req.id, at(2)).await.unwrap(),
        Transition::AlreadyDone
    );
    assert_eq!(counts(&*f.store, a).await, (7, 0));
    assert_eq!(counts(&*f.store, b).await, (0, 0));
    let reservation = f.store.reservation(req.id).await.unwrap().unwrap();
    assert_eq!(reservation.finished_at, Some(at(1)));
}

/// Releasing gives the units back. A second release is `AlreadyDone` and gives
/// nothing back again.
pub async fn release_returns_stock_once(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 10).await;
    let req = request(&[(a, 4)]);
    f.store.reserve(&req, t0()).await.unwrap();
    let other = request(&[(a, 1)]);
    f.store.reserve(&other, t0()).await.unwrap();

    assert_eq!(
        f.store.release(req.id, at(1)).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(counts(&*f.store, a).await, (10, 1));
    let reservation = f.store.reservation(req.id).await.unwrap().unwrap();
    assert_eq!(reservation.status, ReservationStatus::Released);
    assert_eq!(reservation.finished_at, Some(at(1)));

    assert_eq!(
        f.store.release(req.id, at(2)).await.unwrap(),
        Transition::AlreadyDone
    );
    assert_eq!(counts(&*f.store, a).await, (10, 1));
}

/// Sold stock never comes back through release: releasing a committed reservation
/// is `IllegalTransition` and stock stays sold.
pub async fn release_after_commit_is_illegal_and_keeps_sold_stock(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 10).await;
    let req = request(&[(a, 3)]);
    f.store.reserve(&req, t0()).await.unwrap();
    f.store.commit(req.id, at(1)).await.unwrap();

    match f.store.release(req.id, at(2)).await {
        Err(Error::IllegalTransition { id, from, to }) => {
            assert_eq!(id, req.id);
            assert_eq!(from, ReservationStatus::Committed);
            assert_eq!(to, ReservationStatus::Released);
        }
        other => panic!("expected IllegalTransition, got {other:?}"),
    }
    assert_eq!(counts(&*f.store, a).await, (7, 0));
    let reservation = f.store.reservation(req.id).await.unwrap().unwrap();
    assert_eq!(reservation.status, ReservationStatus::Committed);
}

/// A released or expired reservation cannot be committed: `IllegalTransition`, no
/// stock change.
pub async fn commit_after_release_or_expiry_is_illegal(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 10).await;

    let released = request(&[(a, 2)]);
    f.store.reserve(&released, t0()).await.unwrap();
    f.store.release(released.id, at(1)).await.unwrap();

    let expired = request_expiring(&[(a, 3)], at(1));
    f.store.reserve(&expired, t0()).await.unwrap();
    let swept = f.store.expire_due(at(2), 1000).await.unwrap();
    assert!(swept.contains(&expired.id), "due reservation not expired");
    assert_eq!(counts(&*f.store, a).await, (10, 0));

    for (id, status) in [
        (released.id, ReservationStatus::Released),
        (expired.id, ReservationStatus::Expired),
    ] {
        match f.store.commit(id, at(3)).await {
            Err(Error::IllegalTransition { from, to, .. }) => {
                assert_eq!(from, status);
                assert_eq!(to, ReservationStatus::Committed);
            }
            other => panic!("expected IllegalTransition for {status:?}, got {other:?}"),
        }
    }
    assert_eq!(counts(&*f.store, a).await, (10, 0));
}

/// An active reservation past its expiry that no sweep has reached can still be
/// committed, and a later sweep leaves it alone.
pub async fn overdue_reservation_can_be_committed_before_the_sweep(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 10).await;
    let req = request_expiring(&[(a, 4)], at(1));
    f.store.reserve(&req, t0()).await.unwrap();

    assert_eq!(
        f.store.commit(req.id, at(5)).await.unwrap(),
        Transition::Applied
    );
    let swept = f.store.expire_due(at(10), 1000).await.unwrap();
    assert!(
        !swept.contains(&req.id),
        "committed reservation was expired"
    );
    assert_eq!(counts(&*f.store, a).await, (6, 0));
    let reservation = f.store.reservation(req.id).await.unwrap().unwrap();
    assert_eq!(reservation.status, ReservationStatus::Committed);
}

/// Restocking a committed reservation takes all its units back at once; a second
/// restock is `AlreadyDone` and adds nothing; restocking what was never sold is
/// `IllegalTransition`.
pub async fn restock_returns_sold_units_once(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 10).await;
    receive(&*f.store, b, 5).await;
    let req = request(&[(a, 3), (b, 5)]);
    f.store.reserve(&req, t0()).await.unwrap();
    f.store.commit(req.id, at(1)).await.unwrap();
    assert_eq!(counts(&*f.store, a).await, (7, 0));

    assert_eq!(
        f.store.restock(req.id, at(2)).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(counts(&*f.store, a).await, (10, 0));
    assert_eq!(counts(&*f.store, b).await, (5, 0));
    let reservation = f.store.reservation(req.id).await.unwrap().unwrap();
    assert_eq!(reservation.status, ReservationStatus::Restocked);

    assert_eq!(
        f.store.restock(req.id, at(3)).await.unwrap(),
        Transition::AlreadyDone
    );
    assert_eq!(counts(&*f.store, a).await, (10, 0));
    assert!(matches!(
        f.store.release(req.id, at(3)).await,
        Err(Error::IllegalTransition { .. })
    ));

    let active = request(&[(a, 2)]);
    f.store.reserve(&active, at(3)).await.unwrap();
    match f.store.restock(active.id, at(4)).await {
        Err(Error::IllegalTransition { from, to, .. }) => {
            assert_eq!(
                (from, to),
                (ReservationStatus::Active, ReservationStatus::Restocked)
            );
        }
        other => panic!("restock of an active reservation must be illegal, got {other:?}"),
    }
    f.store.release(active.id, at(4)).await.unwrap();
    assert!(matches!(
        f.store.restock(active.id, at(5)).await,
        Err(Error::IllegalTransition { .. })
    ));
    assert_eq!(counts(&*f.store, a).await, (10, 0));
    assert!(matches!(
        f.store.restock(ReservationId::new(), at(5)).await,
        Err(Error::NotFound { .. })
    ));
}

/// Lifecycle calls on an unknown id are `NotFound`; reading it gives `None`.
pub async fn lifecycle_of_unknown_reservation_is_not_found(f: InventoryFixture) {
    let id = ReservationId::new();
    assert!(matches!(
        f.store.commit(id, t0()).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.store.release(id, t0()).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(f.store.reservation(id).await.unwrap(), None);
}
