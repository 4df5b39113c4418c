//! Benchmark (a) of issue 3: successful reservations per second on ONE SKU with 64
//! concurrent clients, against a baseline measured in the same run on the same
//! server: a raw `UPDATE ... SET available = available - 1 WHERE sku = $1 AND
//! available >= 1` loop at the same concurrency.
//!
//! `cargo bench -p commerce-postgres --bench hot_sku` (env: `DATABASE_URL`,
//! `BENCH_SECONDS` per phase, default 5). Uses its own database `commerce_bench_hot`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic,
    clippy::cast_precision_loss,
    unreachable_pub,
    missing_docs
)]

mod support;
use support as common;

use std::sync::Arc;

use chrono::{Duration as ChronoDuration, Utc};

use commerce_core::Sku;
use commerce_inventory::{
    InventoryStore, LocationCode, ReservationId, ReservationLine, ReserveRequest, StockAdjustment,
};
use commerce_postgres::{PgStores, ReserveBatching};

const CLIENTS: usize = 64;
const STOCK: i64 = 1_000_000_000;

fn per_second(ok: u64, elapsed: std::time::Duration) -> f64 {
    ok as f64 / elapsed.as_secs_f64()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let pool = common::fresh_database("commerce_bench_hot", CLIENTS as u32).await;
    common::stores(pool.clone()).await;
    println!(
        "hot SKU: {CLIENTS} concurrent clients, {} s per phase, server {}",
        common::phase().as_secs(),
        common::database_url()
    );

    // Baseline: the raw conditional decrement.
    sqlx::raw_sql(
        "CREATE TABLE bench_raw (sku text PRIMARY KEY, available bigint NOT NULL);
         INSERT INTO bench_raw VALUES ('HOT', 1000000000);",
    )
    .execute(&pool)
    .await
    .unwrap();
    let raw_pool = pool.clone();
    let (raw_ok, _, raw_lat, raw_elapsed) = common::run_clients(CLIENTS, move |_, _| {
        let pool = raw_pool.clone();
        async move {
            sqlx::query(
                "UPDATE bench_raw SET available = available - 1 WHERE sku = $1 AND available >= 1",
            )
            .bind("HOT")
            .execute(&pool)
            .await
            .map(|r| r.rows_affected() == 1)
            .unwrap_or(false)
        }
    })
    .await;
    let raw_rate = per_second(raw_ok, raw_elapsed);

    // Ours: `InventoryStore::reserve` with full reservation records (a reservation row
    // with its lines, the stock change and its outbox event, in one transaction), in
    // each batching variant.
    let variants = [
        ("reserve, unbatched (1 tx per reservation)", 1, 1),
        ("reserve, batches of <= 16, 1 in flight", 16, 1),
        ("reserve, batches of <= 64, 1 in flight", 64, 1),
        ("reserve, batches of <= 64, 2 in flight", 64, 2),
    ];
    let mut measured = Vec::new();
    for (i, (name, max_batch, in_flight)) in variants.into_iter().enumerate() {
        let code = format!("HOT-{i}");
        let inventory: Arc<dyn InventoryStore> = Arc::new(
            PgStores::from_pool(pool.clone())
                .with_reserve_batching(ReserveBatching {
                    max_batch,
                    in_flight,
                })
                .inventory(),
        );
        let sku = Sku::new(code.clone()).unwrap();
        inventory
            .adjust(&StockAdjustment::received(sku.clone(), STOCK), Utc::now())
            .await
            .unwrap();
        let store = inventory.clone();
        let op_sku = sku.clone();
        let (ok, failed, lat, elapsed) = common::run_clients(CLIENTS, move |_, _| {
            let store = store.clone();
            let sku = op_sku.clone();
            async move {
                let now = Utc::now();
                store
                    .reserve(
                        &ReserveRequest::new(
                            ReservationId::new(),
                            "bench",
                            vec![ReservationLine { sku, quantity: 1 }],
                            now + ChronoDuration::minutes(15),
                        ),
                        now,
                    )
                    .await
                    .is_ok()
            }
        })
        .await;
        let level = inventory
            .stock(&sku, &LocationCode::default())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            level.reserved, ok,
            "every successful reservation is held exactly once"
        );
        assert_eq!(failed, 0, "no reservation may fail with stock left");
        let rows: i64 =
            sqlx::query_scalar("SELECT count(*) FROM commerce.reservations WHERE skus = ARRAY[$1]")
                .bind(&code)
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(rows as u64, ok, "one reservation record per success");
        measured.push((name, per_second(ok, elapsed), lat));
    }

    println!(
        "{:<44} {:>10} {:>9} {:>9}",
        "variant", "ops/s", "p50 ms", "p99 ms"
    );
    let row = |name: &str, rate: f64, lat: &[std::time::Duration]| {
        println!(
            "{:<44} {:>10.0} {:>9.2} {:>9.2}",
            name,
            rate,
            common::percentile(lat, 50).as_secs_f64() * 1e3,
            common::percentile(lat, 99).as_secs_f64() * 1e3
        );
    };
    row("baseline: raw conditional UPDATE", raw_rate, &raw_lat);
    for (name, rate, lat) in &measured {
        row(name, *rate, lat);
    }
    for (name, rate, _) in &measured {
        println!("ratio {name} / baseline: {:.2}", rate / raw_rate);
    }
}
