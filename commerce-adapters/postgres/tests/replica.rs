//! Reads that tolerate lag on a streaming read replica (`.ci/pg-replica.sh start`:
//! a hot standby of the local server on port 5433, named by `PG_REPLICA_URL`):
//! `PgStores::browse_catalog` reads there, writes and `PgStores::catalog` (what
//! checkout prices from) stay on the primary. The tests pause and resume WAL replay
//! on the replica, so they run one at a time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod support;

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::FutureExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use commerce_core::ports::{CatalogStore, ProductQuery};
use commerce_core::testkit::fixtures::{product, product_with_variants, sku, usd};
use commerce_core::{Category, CategoryId};
use commerce_postgres::PgStores;

fn replica_url() -> String {
    std::env::var("PG_REPLICA_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5433".to_owned())
}

fn exclusive() -> &'static tokio::sync::Mutex<()> {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// A pool on the replica, on database `name`.
async fn replica_pool(name: &str) -> PgPool {
    let url = replica_url();
    let options: PgConnectOptions = url.parse().expect("PG_REPLICA_URL");
    PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.database(name).disable_statement_logging())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "No read replica answers at PG_REPLICA_URL={url} (database {name}): {e}\n\
                 The replica_* tests need a streaming replica of DATABASE_URL's server.\n\
                 Start the local one (port 5433, pg_basebackup of 127.0.0.1:5432) with:\n    \
                 .ci/pg-replica.sh start"
            )
        })
}

/// The replica's admin pool (database `postgres`): replay control.
async fn replica_admin() -> PgPool {
    replica_pool("postgres").await
}

/// Waits until the replica has replayed everything the primary has written so far.
async fn wait_for_replay(primary: &PgPool, admin: &PgPool) {
    let target: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(primary)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let caught_up: bool =
            sqlx::query_scalar("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn")
                .bind(&target)
                .fetch_one(admin)
                .await
                .unwrap();
        if caught_up {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the replica did not replay up to {target} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fresh database on the primary, the same database on the replica once it has
/// arrived there, and the stores with the replica configured.
async fn stores_with_replica() -> (PgStores, PgPool) {
    let stores = support::fresh_stores().await;
    let admin = replica_admin().await;
    // A test that failed while replay was paused must not hold the next one up.
    let _ = sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&admin)
        .await;
    wait_for_replay(stores.pool(), &admin).await;
    let name: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(stores.pool())
        .await
        .unwrap();
    let replica = replica_pool(&name).await;
    (stores.with_read_replica(replica), admin)
}

/// Browsing reads come from the replica: with replay paused, a price change is on
/// the primary (and in what checkout reads, `catalog()`) at once, and reaches
/// `browse_catalog()` only when replay resumes. Writes through `browse_catalog()`
/// go to the primary (the replica is read-only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_browse_catalog_lags_checkout_catalog_reads_the_primary() {
    let _guard = exclusive().lock().await;
    let (stores, admin) = stores_with_replica().await;
    let in_recovery: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(stores.lagging_reads())
        .await
        .unwrap();
    assert!(in_recovery, "lagging reads run on a standby");

    let browse = stores.browse_catalog();
    let checkout_catalog = stores.catalog();
    let p = product("MUG-1", usd("10.00"));
    browse
        .upsert_product(&p)
        .await
        .expect("writes go to the primary");
    wait_for_replay(stores.pool(), &admin).await;
    assert_eq!(browse.product(p.id).await.unwrap().unwrap().id, p.id);

    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&admin)
        .await
        .unwrap();
    let outcome = AssertUnwindSafe(async {
        browse.set_price(&sku("MUG-1"), usd("12.00")).await.unwrap();
        let on_primary = checkout_catalog.listings(&[sku("MUG-1")]).await.unwrap();
        assert_eq!(
            on_primary[0].variant.price,
            usd("12.00"),
            "checkout reads the primary"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let browsed = browse.listings(&[sku("MUG-1")]).await.unwrap();
        assert_eq!(
            browsed[0].variant.price,
            usd("10.00"),
            "browsing reads the paused replica"
        );
    })
    .catch_unwind()
    .await;
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&admin)
        .await
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    wait_for_replay(stores.pool(), &admin).await;
    let browsed = browse.product(p.id).await.unwrap().unwrap();
    assert_eq!(
        browsed.variants[0].price,
        usd("12.00"),
        "caught up after replay"
    );
}

/// Every read path of the browsing catalog returns, once the replica has caught up,
/// exactly what the primary returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_catalog_read_paths_match_the_primary_after_replay() {
    let _guard = exclusive().lock().await;
    let (stores, admin) = stores_with_replica().await;
    let primary = stores.catalog();
    let browse = stores.browse_catalog();
    let category = Category {
        id: CategoryId::new(),
        parent_id: None,
        name: "Kitchen".into(),
        slug: "kitchen".into(),
    };
    primary.upsert_category(&category).await.unwrap();
    let mut products = Vec::new();
    for i in 0..5 {
        let (a, b) = (format!("ITEM-{i}-A"), format!("ITEM-{i}-B"));
        let mut p = product_with_variants(
            &format!("item-{i}"),
            &[(a.as_str(), usd("3.00")), (b.as_str(), usd("4.50"))],
        );
        p.category_ids = vec![category.id];
        primary.upsert_product(&p).await.unwrap();
        products.push(p);
    }
    wait_for_replay(stores.pool(), &admin).await;

    let query = ProductQuery::page(100).with_category(category.id);
    assert_eq!(
        browse.list_products(&query).await.unwrap(),
        primary.list_products(&query).await.unwrap()
    );
    assert_eq!(browse.list_products(&query).await.unwrap().len(), 5);
    assert_eq!(
        browse.categories().await.unwrap(),
        primary.categories().await.unwrap()
    );
    for p in &products {
        assert_eq!(
            browse.product_by_slug(&p.slug).await.unwrap(),
            primary.product_by_slug(&p.slug).await.unwrap()
        );
        let skus: Vec<_> = p.variants.iter().map(|v| v.sku.clone()).collect();
        assert_eq!(
            browse.listings(&skus).await.unwrap(),
            primary.listings(&skus).await.unwrap()
        );
    }
}

/// Recommendations for browsing read the replica too: with replay paused, signals
/// written on the primary are there at once and on the browsing store only after
/// replay resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_browse_recommendations_lag_until_replay() {
    use commerce_recommend::{ProductSignals, RecommendStore};
    let _guard = exclusive().lock().await;
    let (stores, admin) = stores_with_replica().await;
    let signals = ProductSignals {
        product_id: commerce_core::ProductId::new(),
        category_ids: vec![],
        terms: vec!["mug".into()],
        active: true,
        in_stock: true,
    };
    sqlx::query("SELECT pg_wal_replay_pause()")
        .execute(&admin)
        .await
        .unwrap();
    let outcome = AssertUnwindSafe(async {
        stores
            .browse_recommendations()
            .upsert_signals(&signals)
            .await
            .expect("writes go to the primary");
        let id = signals.product_id;
        assert_eq!(
            stores.recommendations().signals(id).await.unwrap().as_ref(),
            Some(&signals)
        );
        assert_eq!(
            stores.browse_recommendations().signals(id).await.unwrap(),
            None
        );
    })
    .catch_unwind()
    .await;
    sqlx::query("SELECT pg_wal_replay_resume()")
        .execute(&admin)
        .await
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    wait_for_replay(stores.pool(), &admin).await;
    assert_eq!(
        stores
            .browse_recommendations()
            .signals(signals.product_id)
            .await
            .unwrap(),
        Some(signals)
    );
}
