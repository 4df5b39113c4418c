//! Benchmark (b) of issue 3: checkout end to end on PostgreSQL (3-line cart,
//! simulated payment) with 32 concurrent clients: checkouts per second, p50 and p99,
//! against pgbench's built-in TPC-B-like script on the same server in the same run.
//! Also times a lone checkout of a 1-line and a 10-line cart (the number of round
//! trips does not grow with the number of lines). The checkout runs its place and
//! pay steps on `PgCheckoutStore` (`Checkout::with_checkout_store`), each one
//! transaction, batched across concurrent checkouts.
//!
//! `cargo bench -p commerce-postgres --bench checkout` (env: `DATABASE_URL`,
//! `BENCH_SECONDS` per phase, default 5). Uses its own databases
//! `commerce_bench_checkout` and `commerce_bench_pgbench`; needs `pgbench` on PATH.
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

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;

use commerce_cart::{CartKey, CartLine, GuestCartToken};
use commerce_core::Actor;
use commerce_core::ports::CatalogStore;
use commerce_core::testkit::fixtures::{product, standard_shipping, us_address, us_tax_table, usd};
use commerce_core::{Currency, Sku, SystemClock};
use commerce_inventory::{InventoryStore, StockAdjustment};
use commerce_orders::checkout::{Checkout, CheckoutConfig, CheckoutRequest};
use commerce_orders::simulated::{SimulatedGateway, test_cards};
use commerce_orders::testkit::card;
use commerce_orders::{IdempotencyKey, OrderStatus};
use commerce_postgres::PgStores;

const CLIENTS: usize = 32;
const PRODUCTS: usize = 300;

/// Inserts `count` guest carts of `lines` distinct SKUs each in one statement.
async fn prebuilt_carts(
    stores: &PgStores,
    skus: &[Sku],
    count: usize,
    lines: usize,
) -> Vec<CartKey> {
    let mut keys = Vec::with_capacity(count);
    let mut names = Vec::with_capacity(count);
    let mut docs = Vec::with_capacity(count);
    for i in 0..count {
        let key = CartKey::guest(&GuestCartToken::generate().expect("random guest token"));
        let mut cart_lines: Vec<CartLine> = (0..lines)
            .map(|k| CartLine {
                sku: skus[(i * 7 + k * 13) % skus.len()].clone(),
                quantity: 1 + (k as u32 % 2),
            })
            .collect();
        cart_lines.sort_by(|a, b| a.sku.cmp(&b.sku));
        cart_lines.dedup_by(|a, b| a.sku == b.sku);
        names.push(key.to_string());
        docs.push(serde_json::to_value(&cart_lines).unwrap());
        keys.push(key);
    }
    sqlx::query(
        "INSERT INTO commerce.carts (cart_key, lines, updated_at, expires_at)
         SELECT k, l, now(), now() + interval '1 day' FROM unnest($1::text[], $2::jsonb[]) AS c (k, l)",
    )
    .bind(&names)
    .bind(&docs)
    .execute(stores.pool())
    .await
    .unwrap();
    keys
}

fn request() -> CheckoutRequest {
    CheckoutRequest::new(
        IdempotencyKey::new(uuid::Uuid::now_v7().to_string()).unwrap(),
        "bench@example.com",
        us_address("CA"),
        standard_shipping().code,
        card(test_cards::APPROVED),
    )
}

/// The guest holding `cart`.
fn buyer(cart: &CartKey) -> Actor {
    match cart {
        CartKey::Guest(id) => Actor::Guest(*id),
        CartKey::Customer(id) => Actor::Customer(*id),
    }
}

fn pgbench_tps() -> (f64, String) {
    let url = common::database_url();
    let db = "commerce_bench_pgbench";
    let base = url
        .rsplit_once('/')
        .map_or(url.as_str(), |(b, _)| b)
        .to_owned();
    let target = format!("{base}/{db}");
    let psql = |sql: &str| {
        let status = Command::new("psql")
            .args([url.as_str(), "-q", "-c", sql])
            .status()
            .expect("psql on PATH");
        assert!(status.success(), "psql {sql}");
    };
    psql(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
    psql(&format!("CREATE DATABASE {db}"));
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", target.as_str()])
        .output()
        .expect("pgbench on PATH");
    assert!(
        init.status.success(),
        "pgbench -i: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let secs = common::phase().as_secs().to_string();
    let args = [
        "-c",
        "32",
        "-j",
        "2",
        "-T",
        secs.as_str(),
        "-n",
        target.as_str(),
    ];
    let run = Command::new("pgbench")
        .args(args)
        .output()
        .expect("pgbench");
    let out = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "pgbench: {out}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let tps = out
        .lines()
        .find(|l| l.starts_with("tps ="))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    (
        tps,
        format!("pgbench {}", args.join(" ").replace(target.as_str(), db)),
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let pool = common::fresh_database("commerce_bench_checkout", CLIENTS as u32).await;
    let stores = common::stores(pool).await;
    println!(
        "checkout: {CLIENTS} concurrent clients, 3-line carts, simulated card payment, {} s per phase",
        common::phase().as_secs()
    );
    let catalog = stores.catalog();
    let inventory = stores.inventory();
    let mut skus = Vec::with_capacity(PRODUCTS);
    for i in 0..PRODUCTS {
        let p = product(&format!("BENCH-{i:04}"), usd("19.99"));
        catalog.upsert_product(&p).await.unwrap();
        let sku = p.variants[0].sku.clone();
        inventory
            .adjust(
                &StockAdjustment::received(sku.clone(), 1_000_000_000),
                Utc::now(),
            )
            .await
            .unwrap();
        skus.push(sku);
    }
    let checkout = Arc::new(
        Checkout::new(
            Arc::new(stores.carts()),
            Arc::new(catalog),
            Arc::new(inventory),
            Arc::new(stores.orders()),
            Arc::new(SimulatedGateway::new()),
            Arc::new(SystemClock),
            CheckoutConfig::new(Currency::USD, us_tax_table(), vec![standard_shipping()]),
        )
        .with_checkout_store(Arc::new(stores.checkout())),
    );

    // Latency of one checkout alone, 1-line vs 10-line carts (round trips do not
    // grow with the number of lines, so neither should this, beyond pricing work).
    let mut alone = Vec::new();
    for lines in [1usize, 10] {
        let carts = prebuilt_carts(&stores, &skus, 100, lines).await;
        let mut lat = Vec::new();
        for cart in &carts {
            let t = std::time::Instant::now();
            let order = checkout.checkout(&buyer(cart), &request()).await.unwrap();
            lat.push(t.elapsed());
            assert_eq!(order.status, OrderStatus::Confirmed);
            assert_eq!(order.lines.len(), lines);
        }
        lat.sort();
        alone.push((lines, common::percentile(&lat, 50)));
    }

    // Throughput and latency at 32 concurrent clients.
    let carts = Arc::new(prebuilt_carts(&stores, &skus, 60_000, 3).await);
    let next = Arc::new(AtomicUsize::new(0));
    let op_checkout = checkout.clone();
    let (ok, failed, lat, elapsed) = common::run_clients(CLIENTS, move |_, _| {
        let checkout = op_checkout.clone();
        let carts = carts.clone();
        let next = next.clone();
        async move {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(cart) = carts.get(i) else {
                return false;
            };
            matches!(checkout.checkout(&buyer(cart), &request()).await, Ok(o) if o.status == OrderStatus::Confirmed)
        }
    })
    .await;
    let rate = ok as f64 / elapsed.as_secs_f64();
    let p50 = common::percentile(&lat, 50);
    let p99 = common::percentile(&lat, 99);

    let (tps, command) = pgbench_tps();
    println!(
        "{:<46} {:>10} {:>9} {:>9}",
        "variant", "per s", "p50 ms", "p99 ms"
    );
    println!(
        "{:<46} {:>10.0} {:>9.2} {:>9.2}",
        "checkout (3 lines, PgStores, simulated card)",
        rate,
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    println!("{:<46} {:>10.0}", "baseline: pgbench TPC-B-like (tps)", tps);
    println!("baseline command: {command} (scale 10)");
    println!("failed checkouts: {failed}");
    for (lines, p50) in alone {
        println!(
            "one client alone, {lines:>2}-line cart: p50 {:.2} ms",
            p50.as_secs_f64() * 1e3
        );
    }
    println!("ratio checkouts / pgbench tps: {:.2}", rate / tps);
}
