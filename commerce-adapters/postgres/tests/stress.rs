//! Concurrency tests against the real database (issue 3): exact stock with many
//! buyers, no deadlock over overlapping SKUs, and reservations that end once when the
//! failure path and the sweeper race.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod support;

use std::sync::Arc;

use chrono::{Duration, Utc};
use futures::future::join_all;

use commerce_core::Sku;
use commerce_core::ports::Outbox;
use commerce_inventory::{
    Error, InventoryStore, LocationCode, ReservationId, ReservationLine, ReserveRequest,
    StockAdjustment, Transition,
};

fn sku(s: &str) -> Sku {
    Sku::new(s).unwrap()
}

async fn receive(store: &dyn InventoryStore, code: &str, units: i64) {
    store
        .adjust(&StockAdjustment::received(sku(code), units), Utc::now())
        .await
        .unwrap();
}

fn request(lines: &[(&str, u64)], expires_in: Duration) -> ReserveRequest {
    ReserveRequest::new(
        ReservationId::new(),
        "stress",
        lines
            .iter()
            .map(|(s, q)| ReservationLine {
                sku: sku(s),
                quantity: *q,
            })
            .collect(),
        Utc::now() + expires_in,
    )
}

/// 200 concurrent buyers of one unit each, 100 in stock: exactly 100 sell, the rest
/// are told `InsufficientStock`, and stock is consistent afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_buyers_one_sku_sell_exactly_the_stock() {
    let stores = support::fresh_stores_with(32).await;
    let store: Arc<dyn InventoryStore> = Arc::new(stores.inventory());
    receive(store.as_ref(), "HOT", 100).await;

    let attempts = (0..200).map(|_| {
        let store = store.clone();
        async move {
            let reservation = store
                .reserve(&request(&[("HOT", 1)], Duration::minutes(15)), Utc::now())
                .await?;
            store.commit(reservation.id, Utc::now()).await?;
            Ok::<_, Error>(())
        }
    });
    let results = join_all(attempts).await;
    let sold = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        if let Err(e) = r {
            assert!(
                matches!(e, Error::InsufficientStock { .. }),
                "only shortages may fail, got {e}"
            );
        }
    }
    assert_eq!(sold, 100);
    let level = store
        .stock(&sku("HOT"), &LocationCode::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((level.on_hand, level.reserved), (0, 0));
}

/// 50 concurrent multi-line reservations over overlapping SKUs, listed in different
/// orders: none fails (no deadlock or serialization error reaches a caller) and the
/// reserved totals are exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_multi_line_orders_over_overlapping_skus_never_deadlock() {
    let stores = support::fresh_stores_with(32).await;
    let store: Arc<dyn InventoryStore> = Arc::new(stores.inventory());
    let skus = ["S-A", "S-B", "S-C", "S-D", "S-E", "S-F"];
    for s in skus {
        receive(store.as_ref(), s, 10_000).await;
    }
    // Order i takes 2..=5 SKUs starting at a rotating offset, in forward or reverse
    // order, with a quantity depending on both.
    let orders: Vec<Vec<(&str, u64)>> = (0..50usize)
        .map(|i| {
            let n = 2 + i % 4;
            let mut lines: Vec<(&str, u64)> = (0..n)
                .map(|k| (skus[(i + k) % skus.len()], 1 + ((i * 7 + k) % 5) as u64))
                .collect();
            if i % 2 == 1 {
                lines.reverse();
            }
            lines
        })
        .collect();
    let mut expected = std::collections::BTreeMap::<&str, u64>::new();
    for lines in &orders {
        for (s, q) in lines {
            *expected.entry(s).or_default() += q;
        }
    }

    let results = join_all(orders.iter().map(|lines| {
        let store = store.clone();
        async move {
            store
                .reserve(&request(lines, Duration::minutes(15)), Utc::now())
                .await
        }
    }))
    .await;
    for r in &results {
        assert!(r.is_ok(), "a reservation failed: {:?}", r.as_ref().err());
    }
    // Commit half and release half, concurrently: stock must land exactly.
    let reservations: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    let ends = join_all(reservations.iter().enumerate().map(|(i, r)| {
        let store = store.clone();
        async move {
            if i % 2 == 0 {
                store.commit(r.id, Utc::now()).await
            } else {
                store.release(r.id, Utc::now()).await
            }
        }
    }))
    .await;
    assert!(ends.iter().all(|e| matches!(e, Ok(Transition::Applied))));
    let mut sold = std::collections::BTreeMap::<&str, u64>::new();
    for (i, lines) in orders.iter().enumerate() {
        if i % 2 == 0 {
            for (s, q) in lines {
                *sold.entry(s).or_default() += q;
            }
        }
    }
    for s in skus {
        let level = store
            .stock(&sku(s), &LocationCode::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(level.reserved, 0, "{s}");
        assert_eq!(
            level.on_hand,
            10_000 - sold.get(s).copied().unwrap_or(0),
            "{s}"
        );
    }
    assert!(expected.values().sum::<u64>() > 0);
}

/// Defect 2 of the seed: the failure path and the expiry sweeper release the same
/// reservations at the same moment; each reservation's stock comes back once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn defect_2_release_and_sweeper_at_once_return_stock_once() {
    let stores = support::fresh_stores_with(32).await;
    let store: Arc<dyn InventoryStore> = Arc::new(stores.inventory());
    let outbox = stores.outbox();
    receive(store.as_ref(), "RACE-A", 500).await;
    receive(store.as_ref(), "RACE-B", 500).await;
    let mut ids = Vec::new();
    for i in 0..100u64 {
        let r = store
            .reserve(
                &request(
                    &[("RACE-A", 1 + i % 3), ("RACE-B", 2)],
                    Duration::seconds(-1),
                ),
                Utc::now(),
            )
            .await
            .unwrap();
        ids.push(r.id);
    }
    let now = Utc::now();
    let releases = ids.iter().map(|id| {
        let store = store.clone();
        async move { store.release(*id, now).await.map(|_| ()) }
    });
    let sweeps = (0..4).map(|_| {
        let store = store.clone();
        async move { store.expire_due(now, 30).await.map(|_| ()) }
    });
    let (released, swept) = futures::join!(join_all(releases), join_all(sweeps));
    assert!(released.iter().chain(swept.iter()).all(Result::is_ok));
    // Whatever is left is swept now.
    store.expire_due(now, 1_000).await.unwrap();

    for code in ["RACE-A", "RACE-B"] {
        let level = store
            .stock(&sku(code), &LocationCode::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((level.on_hand, level.reserved), (500, 0), "{code}");
    }
    // Each reservation ended exactly once.
    let finished = outbox
        .entries()
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.topic == "inventory.reservation_finished")
        .count();
    assert_eq!(finished, ids.len());
    assert!(
        outbox
            .claim("audit", 1, std::time::Duration::from_secs(1))
            .await
            .is_ok()
    );
}

/// Defect 7 of the seed: one idempotency key sent 50 times at once through the whole
/// checkout on PostgreSQL (carts, catalog, inventory, orders, outbox; simulated
/// gateway): one order, one authorization, stock sold once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn defect_7_one_idempotency_key_fifty_times_makes_one_order_and_one_authorization() {
    use commerce_core::ManualClock;
    use commerce_orders::simulated::SimulatedGateway;
    use commerce_orders::testkit::{CheckoutFixture, start_time};

    let clock = Arc::new(ManualClock::new(start_time()));
    let stores = support::fresh_stores_with(32)
        .await
        .with_clock(clock.clone());
    let fixture = CheckoutFixture {
        carts: Arc::new(stores.carts()),
        catalog: Arc::new(stores.catalog()),
        inventory: Arc::new(stores.inventory()),
        orders: Arc::new(stores.orders()),
        checkout_store: Some(Arc::new(stores.checkout())),
        outbox: Arc::new(stores.outbox()),
        gateway: Arc::new(SimulatedGateway::with_clock(clock.clone())),
        clock,
    };
    commerce_orders::testkit::checkout::concurrent_duplicate_checkouts_make_one_order_and_one_charge(
        fixture,
    )
    .await;
}
