//! Issue 15 on PostgreSQL: concurrent checkouts, cancels and recovery passes while
//! connections are terminated at random (`pg_terminate_backend`) and the simulated
//! gateway fails before or after its work on every kind of call. After recovery and
//! reconciliation the invariants of `docs/architecture.md` ("Payments agree with the
//! gateway") hold: no order pending, every captured payment on exactly one confirmed
//! order with the same amounts, no authorization without a capture due, every cancel
//! ended in a void or a refund, stock conserved.
//!
//! The CI form runs 24 checkouts (a few seconds); set `COMMERCE_FAULT_ROUNDS` for a
//! longer run, e.g. `COMMERCE_FAULT_ROUNDS=400 cargo test -p commerce-postgres
//! --test payment_faults`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::Duration;
use futures::future::join_all;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use commerce_core::{Actor, Clock, ManualClock};
use commerce_orders::simulated::{FaultTiming, GatewayOperation, SimulatedGateway, test_cards};
use commerce_orders::testkit::checkout::{
    Attempt, CheckoutAs, cart_with, request, stocked_sku, test_config,
};
use commerce_orders::testkit::payments::{assert_payments_agree, settle};
use commerce_orders::testkit::{CheckoutFixture, card, start_time};
use commerce_orders::{CancelReason, Checkout, OrderId};

const OPS: [GatewayOperation; 5] = [
    GatewayOperation::Authorize,
    GatewayOperation::Capture,
    GatewayOperation::Lookup,
    GatewayOperation::Void,
    GatewayOperation::Refund,
];

fn rounds() -> usize {
    std::env::var("COMMERCE_FAULT_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24)
}

/// Terminates one busy backend of `database` (chosen at random) every 10 to 40 ms
/// until `stop`; returns how many it terminated.
async fn terminate_backends(database: String, stop: Arc<AtomicBool>) -> u64 {
    let options: PgConnectOptions = support::database_url().parse().unwrap();
    let mut conn = PgConnection::connect_with(&options.database(&database))
        .await
        .unwrap();
    let killed = AtomicU64::new(0);
    let mut tick = 0u64;
    while !stop.load(Ordering::SeqCst) {
        tick += 1;
        tokio::time::sleep(std::time::Duration::from_millis(10 + (tick * 7) % 31)).await;
        let n: i64 = sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM (
                 SELECT pid FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid()
                    AND state <> 'idle'
                  ORDER BY random() LIMIT 1) busy",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        killed.fetch_add(u64::try_from(n).unwrap_or(0), Ordering::Relaxed);
    }
    killed.load(Ordering::Relaxed)
}

async fn order_of(c: &Checkout, attempt: &Attempt) -> Option<OrderId> {
    for _ in 0..50 {
        match c
            .order_by_key(&attempt.actor, &attempt.idempotency_key)
            .await
        {
            Ok(found) => return found.map(|o| o.id),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
        }
    }
    panic!("the order store stayed unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payment_converges_on_postgres_while_backends_are_terminated_and_the_gateway_fails() {
    let clock = Arc::new(ManualClock::new(start_time()));
    let stores = support::fresh_stores_with(16)
        .await
        .with_clock(clock.clone());
    let f = CheckoutFixture {
        carts: Arc::new(stores.carts()),
        catalog: Arc::new(stores.catalog()),
        inventory: Arc::new(stores.inventory()),
        orders: Arc::new(stores.orders()),
        checkout_store: Some(Arc::new(stores.checkout())),
        outbox: Arc::new(stores.outbox()),
        gateway: Arc::new(SimulatedGateway::with_clock(clock.clone())),
        clock,
    };
    let c = f.checkout(test_config());
    let n = rounds();
    let units = u64::try_from(n).unwrap() + 6;
    let sku = stocked_sku(&f, "20.00", i64::try_from(units).unwrap()).await;
    let mut carts = Vec::with_capacity(n);
    for _ in 0..n {
        carts.push(cart_with(&f, None, &[(&sku, 1)]).await);
    }
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(stores.pool())
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let killer = tokio::spawn(terminate_backends(database, stop.clone()));

    // Checkouts with gateway faults, a third of them cancelled, under termination.
    let tasks = carts.into_iter().enumerate().map(|(i, cart)| {
        let (f, c) = (f.clone(), c.clone());
        async move {
            let timing = if (i / OPS.len()).is_multiple_of(2) {
                FaultTiming::BeforeProcessing
            } else {
                FaultTiming::AfterProcessing
            };
            f.gateway.inject_fault(OPS[i % OPS.len()], timing);
            let req = request(cart, None, card(test_cards::APPROVED));
            // A client retries with the same key when the answer is an error.
            for _ in 0..3 {
                if c.checkout_as(&req).await.is_ok() {
                    break;
                }
            }
            let id = order_of(&c, &req).await?;
            if i.is_multiple_of(3) {
                let _ = c
                    .cancel(&Actor::Admin, id, CancelReason::CustomerRequested)
                    .await;
            }
            Some(id)
        }
    });
    let started = std::time::Instant::now();
    let ids: Vec<OrderId> = join_all(tasks).await.into_iter().flatten().collect();
    eprintln!("checkouts: {:?}", started.elapsed());

    // Recovery passes, still under termination.
    for _ in 0..4 {
        f.clock.advance(
            c.config().recovery_grace + c.config().payment_retry.max_delay + Duration::seconds(1),
        );
        let _ = c.recover(f.clock.now()).await;
    }
    stop.store(true, Ordering::SeqCst);
    let killed = killer.await.unwrap();
    f.gateway.clear_faults();
    eprintln!("recovery under termination: {:?}", started.elapsed());

    settle(&f, &c).await;
    // A checkout that cancels its order (a decline, or stock gone after the
    // authorization) returns the stock after the cancel is stored; a connection
    // terminated between the two leaves the reservation active, and returning it is
    // the expiry sweep's job (docs/architecture.md). Run the sweep once every
    // reservation is past its expiry, as the server's sweeper would.
    f.clock
        .advance(c.config().reservation_ttl + Duration::minutes(1));
    let swept = f.inventory.expire_due(f.clock.now(), 1000).await.unwrap();
    eprintln!("reservations returned by the expiry sweep: {}", swept.len());
    assert!(!ids.is_empty());
    assert_payments_agree(&f, &ids, &sku, units).await;
    eprintln!(
        "{} orders, {killed} backends terminated, gateway {:?}",
        ids.len(),
        f.gateway.stats()
    );
}
