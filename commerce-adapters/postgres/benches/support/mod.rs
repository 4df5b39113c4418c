//! Shared by the benchmarks: a dedicated, freshly migrated database and timing helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use commerce_postgres::PgStores;

pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Seconds each measured phase runs (`BENCH_SECONDS`, default 5).
pub fn phase() -> Duration {
    let secs = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    Duration::from_secs(secs)
}

/// Drops and recreates database `name` on the server, returns a pool of `size` to it.
pub async fn fresh_database(name: &str, size: u32) -> PgPool {
    let url = database_url();
    let mut admin = PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {url} is unreachable: {e}\nStart it with:\n    \
             pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    });
    for sql in [
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{name}\""),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    let options: PgConnectOptions = url.parse().unwrap();
    PgPoolOptions::new()
        .max_connections(size)
        .min_connections(size)
        .acquire_timeout(Duration::from_secs(60))
        .connect_with(options.database(name))
        .await
        .unwrap()
}

pub async fn stores(pool: PgPool) -> PgStores {
    let stores = PgStores::from_pool(pool);
    stores.migrate().await.unwrap();
    stores
}

/// Latency percentile (`p` in 0..=100) of sorted samples.
pub fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = (sorted.len() * p / 100).min(sorted.len() - 1);
    sorted[i]
}

/// Runs `clients` loops of `op` for `phase()`; returns (successes, failures, sorted
/// latencies of successes, elapsed).
pub async fn run_clients<F, Fut>(clients: usize, op: F) -> (u64, u64, Vec<Duration>, Duration)
where
    F: Fn(usize, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let deadline = Instant::now() + phase();
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let op = op.clone();
            tokio::spawn(async move {
                let (mut ok, mut failed, mut lat) = (0u64, 0u64, Vec::new());
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if op(client, n).await {
                        ok += 1;
                        lat.push(t.elapsed());
                    } else {
                        failed += 1;
                    }
                    n += 1;
                }
                (ok, failed, lat)
            })
        })
        .collect();
    let (mut ok, mut failed, mut lat) = (0, 0, Vec::new());
    for t in tasks {
        let (o, f, l) = t.await.unwrap();
        ok += o;
        failed += f;
        lat.extend(l);
    }
    let elapsed = start.elapsed();
    lat.sort();
    (ok, failed, lat, elapsed)
}
