//! Concurrency on a multi-thread runtime: hundreds of tokio tasks checking out the
//! last units of one SKU sell exactly the stock, with expiry sweeps racing them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use commerce_core::memory::MemoryOutbox;
use commerce_core::{ManualClock, Sku};
use commerce_inventory::{
    Error, InventoryStore, LocationCode, MemoryInventory, ReservationId, ReservationLine,
    ReservationStatus, ReserveRequest, StockAdjustment, Transition, sweep_once,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

async fn stocked(units: u64) -> (Arc<dyn InventoryStore>, Sku) {
    let store: Arc<dyn InventoryStore> =
        Arc::new(MemoryInventory::new(Arc::new(MemoryOutbox::new())));
    let sku = Sku::new("HOT-SKU").unwrap();
    store
        .adjust(
            &StockAdjustment::received(sku.clone(), i64::try_from(units).unwrap()),
            t0(),
        )
        .await
        .unwrap();
    (store, sku)
}

fn request(sku: &Sku, quantity: u64) -> ReserveRequest {
    ReserveRequest::new(
        ReservationId::new(),
        "checkout",
        vec![ReservationLine {
            sku: sku.clone(),
            quantity,
        }],
        t0() + Duration::minutes(15),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_tasks_checking_out_the_last_units_sell_exactly_the_stock() {
    const STOCK: u64 = 100;
    const BUYERS: usize = 500;
    let (store, sku) = stocked(STOCK).await;

    let tasks: Vec<_> = (0..BUYERS)
        .map(|_| {
            let (store, sku) = (store.clone(), sku.clone());
            tokio::spawn(async move {
                let req = request(&sku, 1);
                match store.reserve(&req, t0()).await {
                    Ok(_) => {
                        tokio::task::yield_now().await; // "payment"
                        store.commit(req.id, t0()).await.unwrap() == Transition::Applied
                    }
                    Err(Error::InsufficientStock { .. }) => false,
                    Err(e) => panic!("unexpected error: {e}"),
                }
            })
        })
        .collect();
    let mut sold = 0;
    for task in tasks {
        if task.await.unwrap() {
            sold += 1;
        }
    }
    assert_eq!(sold, STOCK);
    assert_eq!(counts(&*store, &sku).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkouts_failures_and_racing_sweeps_conserve_stock() {
    const STOCK: u64 = 150;
    let (store, sku) = stocked(STOCK).await;
    // The sweeper's clock is past every expiry, so it races each commit and release.
    let clock = Arc::new(ManualClock::new(t0() + Duration::hours(1)));

    let sweeper = {
        let (store, clock) = (store.clone(), clock.clone());
        tokio::spawn(async move {
            let mut expired = Vec::new();
            for _ in 0..200 {
                expired.extend(sweep_once(&*store, &*clock, 16).await.unwrap());
                tokio::task::yield_now().await;
            }
            expired
        })
    };
    let buyers: Vec<_> = (0..300usize)
        .map(|i| {
            let (store, sku) = (store.clone(), sku.clone());
            tokio::spawn(async move {
                let req = request(&sku, 1 + (i % 3) as u64);
                match store.reserve(&req, t0()).await {
                    Ok(_) => {}
                    Err(Error::InsufficientStock { .. }) => return None,
                    Err(e) => panic!("unexpected error: {e}"),
                }
                tokio::task::yield_now().await;
                let outcome = match i % 3 {
                    0 => store.commit(req.id, t0()).await,
                    1 => store.release(req.id, t0()).await,
                    _ => return Some(req.id), // abandoned: left to the sweeper
                };
                match outcome {
                    Ok(_) | Err(Error::IllegalTransition { .. }) => Some(req.id),
                    Err(e) => panic!("unexpected error: {e}"),
                }
            })
        })
        .collect();
    let mut ids = Vec::new();
    for buyer in buyers {
        ids.extend(buyer.await.unwrap());
    }
    let mut expired = sweeper.await.unwrap();
    expired.extend(sweep_once(&*store, &*clock, 16).await.unwrap());

    let mut sold = 0;
    let mut expired_count = 0;
    for id in &ids {
        let r = store.reservation(*id).await.unwrap().unwrap();
        match r.status {
            ReservationStatus::Committed => sold += r.lines[0].quantity,
            ReservationStatus::Expired => expired_count += 1,
            ReservationStatus::Released => {}
            ReservationStatus::Active => panic!("reservation left active after the sweep"),
            ReservationStatus::Restocked => panic!("nothing restocks in this test"),
        }
    }
    assert_eq!(
        expired.len(),
        expired_count,
        "each expiry reported exactly once"
    );
    assert_eq!(counts(&*store, &sku).await, (STOCK - sold, 0));
}
