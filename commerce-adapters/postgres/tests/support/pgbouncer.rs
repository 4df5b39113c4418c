//! Test fixture for `pgbouncer.rs`: a fresh database created and migrated directly on
//! the server (the migrator holds a session-level advisory lock, which transaction
//! pooling cannot keep), then stores whose pool connects through pgbouncer.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "mod.rs"]
mod direct;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use commerce_postgres::PgStores;

/// pgbouncer, in front of `DATABASE_URL`'s server.
pub(crate) fn pgbouncer_url() -> String {
    std::env::var("PGBOUNCER_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:6432".to_owned())
}

/// A fresh, migrated database; stores reaching it through pgbouncer with a pool of
/// at most `max_connections`.
pub(crate) async fn fresh_stores_with(max_connections: u32) -> PgStores {
    let direct = direct::fresh_stores_with(1).await;
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(direct.pool())
        .await
        .unwrap();
    direct.pool().close().await;
    let url = pgbouncer_url();
    let options: PgConnectOptions = url.parse().expect("PGBOUNCER_URL");
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(60))
        .connect_with(options.database(&name).disable_statement_logging())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "pgbouncer does not answer at PGBOUNCER_URL={url} (database {name}): {e}\n\
                 Start it (transaction mode, port 6432, pgbouncer >= 1.21) with:\n    \
                 .ci/pg-replica.sh bouncer"
            )
        });
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!version.is_empty());
    PgStores::from_pool(pool)
}

/// A fresh, migrated database through pgbouncer with a pool of 8 connections.
pub(crate) async fn fresh_stores() -> PgStores {
    fresh_stores_with(8).await
}
