//! Test fixture: a fresh, migrated database per test on the server named by
//! `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//!
//! Each call creates a database `commerce_t_<unix seconds>_<pid>_<n>`. Databases of
//! earlier test processes that are gone (or older than six hours) are dropped by the
//! first fixture of each process, so runs do not pile up databases. When the server
//! cannot be reached the test fails with a message saying how to start it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio::sync::OnceCell;

use commerce_postgres::PgStores;

/// The server under test.
pub(crate) fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

const PREFIX: &str = "commerce_t_";
static COUNTER: AtomicU64 = AtomicU64::new(0);
static CLEANED: OnceCell<()> = OnceCell::const_new();

fn unreachable(url: &str, e: &dyn std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL at {url} is unreachable: {e}\n\
         These tests need a running PostgreSQL (set DATABASE_URL to use another server).\n\
         Start the local one with:\n    \
         pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    )
}

async fn admin() -> PgConnection {
    let url = database_url();
    match PgConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(e) => unreachable(&url, &e),
    }
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Drops test databases of processes that ended (or that are older than six hours).
async fn drop_stale(conn: &mut PgConnection) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'commerce\\_t\\_%'")
            .fetch_all(&mut *conn)
            .await
            .expect("list test databases");
    for name in names {
        let mut parts = name.trim_start_matches(PREFIX).split('_');
        let created: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let pid: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let stale = now.saturating_sub(created) > 6 * 3600
            || (pid != std::process::id() && !process_alive(pid));
        if stale {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            // Another process may be dropping it at the same moment: ignore errors.
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// A fresh, migrated database; stores with a pool of at most `max_connections`.
pub(crate) async fn fresh_stores_with(max_connections: u32) -> PgStores {
    fresh_database(max_connections, false).await
}

/// [`fresh_stores`] whose pool reports every statement (sqlx's `sqlx::query`
/// events), for tests that count statements.
pub(crate) async fn fresh_stores_logging_statements() -> PgStores {
    fresh_database(8, true).await
}

async fn fresh_database(max_connections: u32, log_statements: bool) -> PgStores {
    let mut conn = admin().await;
    CLEANED
        .get_or_init(|| async { drop_stale(&mut admin().await).await })
        .await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let name = format!(
        "{PREFIX}{now}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();

    let options: PgConnectOptions = database_url().parse().expect("DATABASE_URL");
    let mut options = options.database(&name);
    if !log_statements {
        options = options.disable_statement_logging();
    }
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(60))
        .connect_with(options)
        .await
        .unwrap_or_else(|e| unreachable(&database_url(), &e));
    let stores = PgStores::from_pool(pool);
    stores.migrate().await.expect("migrate");
    stores
}

/// A fresh, migrated database with a pool of 8 connections.
pub(crate) async fn fresh_stores() -> PgStores {
    fresh_stores_with(8).await
}

/// Counts the statements sqlx runs (one `sqlx::query` event each): install it as a
/// `tracing_subscriber` layer over a store from [`fresh_stores_logging_statements`].
#[derive(Clone, Default)]
pub(crate) struct Statements(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Statements {
    /// Statements since the last call.
    pub(crate) fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}
