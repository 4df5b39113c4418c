//! Checks under concurrent callers: no oversell, and every reservation ends exactly
//! once whoever races for it. Up to 200 operations run at once through `join_all`.

use std::collections::{BTreeMap, HashSet};

use futures::future::join_all;

use crate::error::Error;
use crate::model::{ReservationStatus, Transition};

use super::InventoryFixture;
use super::support::{at, counts, receive, request, request_expiring, t0, unique_skus};

/// Rounds of the racing checks.
const ROUNDS: usize = 30;

/// A release and the expiry sweep racing for one due reservation (two of each at
/// once) give its stock back exactly once.
pub async fn concurrent_release_and_expiry_return_stock_once(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 10).await;
    for round in 0..ROUNDS {
        let req = request_expiring(&[(a, 3)], at(1));
        f.store.reserve(&req, t0()).await.unwrap();
        let store = &*f.store;
        let (releases, sweeps) = futures::join!(
            join_all((0..2).map(|_| store.release(req.id, at(2)))),
            join_all((0..2).map(|_| store.expire_due(at(2), 1000))),
        );
        let released = releases
            .into_iter()
            .filter(|r| match r {
                Ok(t) => *t == Transition::Applied,
                Err(e) => panic!("release failed in round {round}: {e}"),
            })
            .count();
        let expired = sweeps
            .into_iter()
            .filter(|r| match r {
                Ok(ids) => ids.contains(&req.id),
                Err(e) => panic!("expire_due failed in round {round}: {e}"),
            })
            .count();
        assert_eq!(
            released + expired,
            1,
            "round {round}: reservation ended more than once"
        );
        assert_eq!(counts(&*f.store, a).await, (10, 0), "round {round}");
    }
}

/// A commit and a release racing for one reservation: exactly one applies, the other
/// is `IllegalTransition`, and stock matches the winner.
pub async fn concurrent_commit_and_release_end_reservation_once(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, ROUNDS as u64).await;
    let mut sold = 0;
    for round in 0..ROUNDS {
        let req = request(&[(a, 1)]);
        f.store.reserve(&req, t0()).await.unwrap();
        let (commit, release) = futures::join!(
            f.store.commit(req.id, at(1)),
            f.store.release(req.id, at(1)),
        );
        let status = f.store.reservation(req.id).await.unwrap().unwrap().status;
        match (commit, release) {
            (Ok(Transition::Applied), Err(Error::IllegalTransition { .. })) => {
                assert_eq!(status, ReservationStatus::Committed);
                sold += 1;
            }
            (Err(Error::IllegalTransition { .. }), Ok(Transition::Applied)) => {
                assert_eq!(status, ReservationStatus::Released);
            }
            other => panic!("round {round}: expected exactly one winner, got {other:?}"),
        }
        assert_eq!(
            counts(&*f.store, a).await,
            (ROUNDS as u64 - sold, 0),
            "round {round}"
        );
    }
}

/// Concurrent restocks of one committed reservation (a cancel retried while the first
/// is still running) take its units back exactly once.
pub async fn concurrent_restocks_return_stock_once(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 10).await;
    for round in 0..ROUNDS {
        let req = request(&[(a, 2)]);
        f.store.reserve(&req, t0()).await.unwrap();
        f.store.commit(req.id, at(1)).await.unwrap();
        assert_eq!(counts(&*f.store, a).await, (8, 0), "round {round}");
        let results = join_all((0..4).map(|_| f.store.restock(req.id, at(2)))).await;
        let applied = results
            .into_iter()
            .map(|r| r.unwrap())
            .filter(|t| *t == Transition::Applied)
            .count();
        assert_eq!(applied, 1, "round {round}: exactly one restock applies");
        assert_eq!(counts(&*f.store, a).await, (10, 0), "round {round}");
    }
}

/// Several sweepers at once: every due reservation is expired by exactly one of them
/// and its stock comes back once.
pub async fn concurrent_expire_callers_expire_each_reservation_once(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 100).await;
    let mut ours = HashSet::new();
    for _ in 0..60 {
        let req = request_expiring(&[(a, 1)], at(1));
        f.store.reserve(&req, t0()).await.unwrap();
        ours.insert(req.id);
    }
    let store = &*f.store;
    let sweepers = (0..8).map(|_| async move {
        let mut mine = Vec::new();
        loop {
            let batch = store.expire_due(at(2), 7).await.unwrap();
            if batch.is_empty() {
                return mine;
            }
            mine.extend(batch);
        }
    });
    let all: Vec<_> = join_all(sweepers).await.into_iter().flatten().collect();
    let unique: HashSet<_> = all.iter().copied().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "a reservation was expired by two sweepers"
    );
    assert!(
        ours.is_subset(&unique),
        "a due reservation was never expired"
    );
    assert_eq!(counts(&*f.store, a).await, (100, 0));
}

/// 200 single-unit reservations at once against 100 units: exactly 100 succeed, the
/// rest fail with `InsufficientStock`, and committing the winners sells out exactly.
pub async fn concurrent_single_unit_reservations_never_oversell(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 100).await;
    let requests: Vec<_> = (0..200).map(|_| request(&[(a, 1)])).collect();
    let results = join_all(requests.iter().map(|r| f.store.reserve(r, t0()))).await;
    let mut won = Vec::new();
    for result in results {
        match result {
            Ok(reservation) => won.push(reservation.id),
            Err(Error::InsufficientStock { requested: 1, .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(won.len(), 100, "exactly the stock must be reserved");
    assert_eq!(counts(&*f.store, a).await, (100, 100));

    let commits = join_all(won.iter().map(|id| f.store.commit(*id, at(1)))).await;
    assert!(commits.iter().all(|c| matches!(c, Ok(Transition::Applied))));
    assert_eq!(counts(&*f.store, a).await, (0, 0));
}

/// 50 multi-line reservations at once over overlapping SKUs listed in different
/// orders: the only failures are `InsufficientStock` (no deadlock or conflict
/// surfaces), `reserved` equals the sum of the winners, and committing half while
/// releasing the other half leaves exact totals.
pub async fn concurrent_multi_line_reservations_are_exact(f: InventoryFixture) {
    const STOCK: u64 = 20;
    let skus = unique_skus(4);
    for sku in &skus {
        receive(&*f.store, sku, STOCK).await;
    }
    let requests: Vec<_> = (0..50usize)
        .map(|i| {
            let width = 2 + i % 3;
            let mut lines: Vec<_> = (0..width)
                .map(|k| (&skus[(i + k) % skus.len()], 1 + ((i + k) % 3) as u64))
                .collect();
            if i % 2 == 1 {
                lines.reverse();
            }
            request(&lines)
        })
        .collect();
    let results = join_all(requests.iter().map(|r| f.store.reserve(r, t0()))).await;
    let mut won = Vec::new();
    for result in results {
        match result {
            Ok(reservation) => won.push(reservation),
            Err(Error::InsufficientStock { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert!(!won.is_empty(), "no reservation succeeded");
    let held = |set: &[&crate::model::Reservation]| {
        let mut per_sku: BTreeMap<_, u64> = BTreeMap::new();
        for r in set {
            for line in &r.lines {
                *per_sku.entry(line.sku.clone()).or_default() += line.quantity;
            }
        }
        per_sku
    };
    let all: Vec<_> = won.iter().collect();
    let reserved = held(&all);
    for sku in &skus {
        let expected = reserved.get(sku).copied().unwrap_or(0);
        assert!(expected <= STOCK, "oversold {sku}");
        assert_eq!(counts(&*f.store, sku).await, (STOCK, expected), "{sku}");
    }

    let (to_commit, to_release): (Vec<_>, Vec<_>) =
        won.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let to_commit: Vec<_> = to_commit.into_iter().map(|(_, r)| r).collect();
    let to_release: Vec<_> = to_release.into_iter().map(|(_, r)| r).collect();
    let (commits, releases) = futures::join!(
        join_all(to_commit.iter().map(|r| f.store.commit(r.id, at(1)))),
        join_all(to_release.iter().map(|r| f.store.release(r.id, at(1)))),
    );
    assert!(
        commits
            .iter()
            .chain(&releases)
            .all(|t| matches!(t, Ok(Transition::Applied)))
    );
    let sold = held(&to_commit);
    for sku in &skus {
        let expected = STOCK - sold.get(sku).copied().unwrap_or(0);
        assert_eq!(counts(&*f.store, sku).await, (expected, 0), "{sku}");
    }
}

/// The same request sent 20 times at once reserves once; every caller gets the
/// same reservation.
pub async fn concurrent_duplicate_reserves_reserve_once(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 10).await;
    receive(&*f.store, b, 10).await;
    let req = request(&[(a, 3), (b, 2)]);
    let results = join_all((0..20).map(|_| f.store.reserve(&req, t0()))).await;
    for result in results {
        let reservation = result.unwrap();
        assert_eq!(reservation.id, req.id);
        assert_eq!(reservation.status, ReservationStatus::Active);
    }
    assert_eq!(counts(&*f.store, a).await, (10, 3));
    assert_eq!(counts(&*f.store, b).await, (10, 2));
}
