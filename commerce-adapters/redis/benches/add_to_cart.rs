//! Add-to-cart throughput and latency of `RedisCartStore` at 64 concurrent tasks,
//! against a raw `HINCRBY` loop through the same client in the same run.
//!
//! ```text
//! cargo bench -p commerce-redis --bench add_to_cart
//! ```
//!
//! Needs the Redis named by `REDIS_URL` (default `redis://127.0.0.1:6379`). Env:
//! `BENCH_OPS_PER_TASK` (default 2000), `BENCH_ROUNDS` (default 3), `BENCH_LINES`
//! (distinct SKUs each cart cycles through, default 5). Prints one line per
//! round and the median; targets: one round trip (one command) per add, ratio >= 0.5,
//! p99 < 2 ms.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use commerce_cart::{CartKey, CartLimits, CartStore};
use commerce_core::{CustomerId, Sku};
use commerce_redis::{KeyPrefix, RedisCartStore, RedisConnection};

const TASKS: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Figures {
    ops_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `op(task, i)` `ops` times in each of [`TASKS`] tasks at once.
async fn measure<F, Fut>(ops: usize, op: F) -> Figures
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(ops);
                for i in 0..ops {
                    let t = Instant::now();
                    op(task, i).await;
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::with_capacity(TASKS * ops);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort_unstable();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    Figures {
        ops_per_sec: all.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

/// Calls of `command` the server has counted (`INFO commandstats`).
async fn calls(conn: &RedisConnection, command: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn.clone())
        .await
        .unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn delete_prefix(conn: &RedisConnection, prefix: &KeyPrefix) {
    let mut c = conn.clone();
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut c)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: i64 = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut c)
                .await
                .unwrap();
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let conn = RedisConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "Redis is not reachable at {url} ({e}). Start it with: redis-server --daemonize yes \
             --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no --dir /var/lib/redis \
             --logfile /var/log/redis/ci.log"
        )
    });
    let ops = env_usize("BENCH_OPS_PER_TASK", 2000);
    let rounds = env_usize("BENCH_ROUNDS", 3).max(1);
    let lines = env_usize("BENCH_LINES", 5).clamp(1, 100);
    let prefix = KeyPrefix::new(format!("bench:{}", uuid::Uuid::now_v7().simple())).unwrap();
    let store = Arc::new(
        RedisCartStore::new(conn.clone(), prefix.clone()).with_ttl(chrono::Duration::hours(1)),
    );
    let carts: Arc<Vec<CartKey>> = Arc::new(
        (0..TASKS)
            .map(|_| CartKey::Customer(CustomerId::new()))
            .collect(),
    );
    let skus: Arc<Vec<Sku>> = Arc::new(
        (0..lines)
            .map(|i| Sku::new(format!("BENCH-{i:02}")).unwrap())
            .collect(),
    );
    let limits = CartLimits::new(100, u32::MAX);
    let raw_keys: Arc<Vec<String>> = Arc::new(
        (0..TASKS)
            .map(|t| format!("{prefix}:raw:{{{t}}}"))
            .collect(),
    );

    let add = {
        let (store, carts, skus) = (store.clone(), carts.clone(), skus.clone());
        move |task: usize, i: usize| {
            let (store, carts, skus) = (store.clone(), carts.clone(), skus.clone());
            async move {
                store
                    .add(&carts[task], &skus[i % skus.len()], 1, limits, Utc::now())
                    .await
                    .unwrap();
            }
        }
    };
    let hincrby = {
        let (conn, raw_keys, skus) = (conn.clone(), raw_keys.clone(), skus.clone());
        move |task: usize, i: usize| {
            let mut conn = conn.clone();
            let (raw_keys, skus) = (raw_keys.clone(), skus.clone());
            async move {
                let _: i64 = redis::cmd("HINCRBY")
                    .arg(&raw_keys[task])
                    .arg(skus[i % skus.len()].as_str())
                    .arg(1)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
        }
    };

    // Warm up (loads the script into Redis, fills the connection's buffers).
    measure(200, add.clone()).await;
    measure(200, hincrby.clone()).await;
    // The baseline's hashes get an expiry too, in case the run is interrupted.
    for key in raw_keys.iter() {
        let _: i64 = redis::cmd("PEXPIRE")
            .arg(key)
            .arg(3_600_000)
            .query_async(&mut conn.clone())
            .await
            .unwrap();
    }

    // One round trip per add: the server receives exactly one EVALSHA per add (the
    // commands the script runs inside Redis are no round trips).
    let before = calls(&conn, "evalsha").await;
    measure(100, add.clone()).await;
    let per_op = (calls(&conn, "evalsha").await - before) as f64 / (TASKS * 100) as f64;

    println!(
        "add_to_cart: {TASKS} concurrent tasks x {ops} ops, carts of {lines} lines, redis {url}"
    );
    println!("round trips (EVALSHA requests) per add-to-cart: {per_op:.3} (target 1)");
    let mut ratios = Vec::new();
    let mut p99s = Vec::new();
    for round in 1..=rounds {
        let base = measure(ops, hincrby.clone()).await;
        let ours = measure(ops, add.clone()).await;
        let ratio = ours.ops_per_sec / base.ops_per_sec;
        println!(
            "round {round}: HINCRBY {:>8.0} ops/s p50 {:.3} ms p99 {:.3} ms | \
             RedisCartStore::add {:>8.0} ops/s p50 {:.3} ms p99 {:.3} ms | ratio {ratio:.2}",
            base.ops_per_sec,
            ms(base.p50),
            ms(base.p99),
            ours.ops_per_sec,
            ms(ours.p50),
            ms(ours.p99),
        );
        ratios.push(ratio);
        p99s.push(ours.p99);
    }
    ratios.sort_by(f64::total_cmp);
    p99s.sort_unstable();
    let ratio = ratios[ratios.len() / 2];
    let p99 = p99s[p99s.len() / 2];
    println!(
        "median: ratio {ratio:.2} (target >= 0.5: {}), add p99 {:.3} ms (target < 2 ms: {})",
        if ratio >= 0.5 { "met" } else { "MISSED" },
        ms(p99),
        if p99 < Duration::from_millis(2) {
            "met"
        } else {
            "MISSED"
        },
    );
    delete_prefix(&conn, &prefix).await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}
