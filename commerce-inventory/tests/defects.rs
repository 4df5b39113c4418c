//! Tests for the defects of the original sketch that concern inventory (DESIGN.md,
//! "Defects"): each fails if the defect comes back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use commerce_core::memory::MemoryOutbox;
use commerce_core::{ManualClock, Sku};
use commerce_inventory::{
    DEFAULT_RESERVATION_TTL, Error, ExpirySweeper, InventoryStore, LocationCode, MemoryInventory,
    ReservationId, ReservationLine, ReservationStatus, ReserveRequest, StockAdjustment, Transition,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

fn store() -> Arc<dyn InventoryStore> {
    Arc::new(MemoryInventory::new(Arc::new(MemoryOutbox::new())))
}

fn sku(code: &str) -> Sku {
    Sku::new(code).unwrap()
}

async fn receive(store: &dyn InventoryStore, sku: &Sku, units: i64) {
    let adjustment = StockAdjustment::received(sku.clone(), units);
    store.adjust(&adjustment, t0()).await.unwrap();
}

fn request(lines: &[(&Sku, u64)], expires_at: DateTime<Utc>) -> ReserveRequest {
    ReserveRequest::new(
        ReservationId::new(),
        "order",
        lines
            .iter()
            .map(|(sku, quantity)| ReservationLine {
                sku: (*sku).clone(),
                quantity: *quantity,
            })
            .collect(),
        expires_at,
    )
}

async fn counts(store: &dyn InventoryStore, sku: &Sku) -> (u64, u64) {
    let level = store
        .stock(sku, &LocationCode::default())
        .await
        .unwrap()
        .unwrap();
    (level.on_hand, level.reserved)
}

/// Defect 2: the failure path and the expiry sweep both released one reservation,
/// creating stock from nothing. Here both (twice each) race on separate threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn defect_2_concurrent_release_returns_stock_once() {
    let store = store();
    let hot = sku("HOT");
    receive(&*store, &hot, 10).await;
    for round in 0..200 {
        let req = request(&[(&hot, 4)], t0() + Duration::minutes(1));
        store.reserve(&req, t0()).await.unwrap();
        let later = t0() + Duration::minutes(2);
        let releases: Vec<_> = (0..2)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.release(req.id, later).await.unwrap() })
            })
            .collect();
        let sweeps: Vec<_> = (0..2)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.expire_due(later, 100).await.unwrap() })
            })
            .collect();
        let mut endings = 0;
        for release in releases {
            if release.await.unwrap() == Transition::Applied {
                endings += 1;
            }
        }
        for sweep in sweeps {
            endings += sweep
                .await
                .unwrap()
                .iter()
                .filter(|id| **id == req.id)
                .count();
        }
        assert_eq!(endings, 1, "round {round}");
        assert_eq!(
            counts(&*store, &hot).await,
            (10, 0),
            "round {round}: stock created"
        );
    }
}

/// Defect 3: releasing a reservation that was already confirmed returned sold stock.
#[tokio::test]
async fn defect_3_release_after_commit_keeps_sold_stock() {
    let store = store();
    let item = sku("ITEM");
    receive(&*store, &item, 5).await;
    let req = request(&[(&item, 2)], t0() + DEFAULT_RESERVATION_TTL);
    store.reserve(&req, t0()).await.unwrap();
    assert_eq!(
        store.commit(req.id, t0()).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(counts(&*store, &item).await, (3, 0));

    assert!(matches!(
        store.release(req.id, t0()).await,
        Err(Error::IllegalTransition {
            from: ReservationStatus::Committed,
            ..
        })
    ));
    // Neither a late expiry sweep gives it back.
    let swept = store
        .expire_due(t0() + Duration::days(1), 100)
        .await
        .unwrap();
    assert!(swept.is_empty());
    assert_eq!(counts(&*store, &item).await, (3, 0));
}

/// Defect 4: with no expiry sweeper, a crash between reserve and confirm leaked the
/// stock forever. The sweeper returns it once the TTL has passed, and not before.
#[tokio::test]
async fn defect_4_abandoned_reservations_expire() {
    let store = store();
    let item = sku("ITEM");
    receive(&*store, &item, 5).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let sweeper = ExpirySweeper::new(store.clone(), clock.clone()).with_batch(2);

    let mut abandoned = Vec::new();
    for _ in 0..5 {
        let req = request(&[(&item, 1)], t0() + DEFAULT_RESERVATION_TTL);
        store.reserve(&req, t0()).await.unwrap();
        abandoned.push(req.id); // ...and the checkout process crashes.
    }
    assert_eq!(counts(&*store, &item).await, (5, 5));

    clock.advance(DEFAULT_RESERVATION_TTL - Duration::seconds(1));
    assert!(sweeper.sweep_once().await.unwrap().is_empty());
    assert_eq!(counts(&*store, &item).await, (5, 5));

    clock.advance(Duration::seconds(1));
    let mut expired = sweeper.sweep_once().await.unwrap();
    expired.sort();
    abandoned.sort();
    assert_eq!(expired, abandoned);
    assert_eq!(counts(&*store, &item).await, (5, 0));
    for id in abandoned {
        let r = store.reservation(id).await.unwrap().unwrap();
        assert_eq!(r.status, ReservationStatus::Expired);
    }
}

/// Defect 5: the lines of one order were reserved in separate transactions, so a
/// failure left some lines reserved. One short line now reserves nothing at all.
#[tokio::test]
async fn defect_5_multi_line_reservation_is_all_or_nothing() {
    let store = store();
    let (shirt, mug, cap) = (sku("SHIRT"), sku("MUG"), sku("CAP"));
    receive(&*store, &shirt, 10).await;
    receive(&*store, &mug, 10).await;
    receive(&*store, &cap, 1).await;

    let req = request(
        &[(&shirt, 2), (&mug, 3), (&cap, 2)],
        t0() + DEFAULT_RESERVATION_TTL,
    );
    match store.reserve(&req, t0()).await {
        Err(Error::InsufficientStock {
            sku,
            requested,
            available,
        }) => {
            assert_eq!((sku, requested, available), (cap.clone(), 2, 1));
        }
        other => panic!("expected InsufficientStock, got {other:?}"),
    }
    for item in [&shirt, &mug, &cap] {
        assert_eq!(counts(&*store, item).await.1, 0, "{item} left reserved");
    }
    assert!(store.reservation(req.id).await.unwrap().is_none());
}
