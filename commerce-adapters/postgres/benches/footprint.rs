//! Bytes per product on PostgreSQL, for the capacity table of docs/scaling.md:
//! generated products (`commerce_core::generator`, one to three variants, realistic
//! titles and descriptions) upserted through `PgCatalog`, then
//! `pg_total_relation_size` (heap, TOAST and indexes) of the catalog tables and of the
//! outbox their events went to, divided by the row counts. Run the checkout benchmark
//! first to measure orders the same way (its database is kept):
//!
//! ```text
//! FOOTPRINT_PRODUCTS=20000 cargo bench -p commerce-postgres --bench footprint
//! ```
//!
//! Uses its own database `commerce_bench_footprint`; reads `commerce_bench_checkout`
//! if it exists (leaving out its carts, which that benchmark prebuilds in bulk, and
//! its 300 stock rows).
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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sqlx::PgPool;

use commerce_core::generator::CatalogGenerator;
use commerce_core::ports::CatalogStore;

/// Table name, rows, total bytes (heap + TOAST + indexes).
async fn sizes(pool: &PgPool, tables: &[&str]) -> Vec<(String, i64, i64)> {
    let mut out = Vec::new();
    for t in tables {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
            .bind(format!("commerce.{t}"))
            .fetch_one(pool)
            .await
            .unwrap();
        if !exists {
            continue;
        }
        let sql =
            format!("SELECT count(*), pg_total_relation_size('commerce.{t}') FROM commerce.{t}");
        let (rows, bytes): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap();
        out.push(((*t).to_owned(), rows, bytes));
    }
    out
}

fn print(title: &str, per: &str, count: i64, rows: &[(String, i64, i64)]) {
    println!("\n{title}: {count} {per}");
    let mut total = 0;
    for (t, n, b) in rows {
        total += b;
        println!(
            "  {t:<22} {n:>9} rows {:>12} bytes  {:>8.0} bytes per {per}",
            b,
            *b as f64 / count.max(1) as f64
        );
    }
    println!(
        "  {:<22} {:>9}      {:>12} bytes  {:>8.0} bytes per {per}",
        "total",
        "",
        total,
        total as f64 / count.max(1) as f64
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u64 = std::env::var("FOOTPRINT_PRODUCTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    println!(
        "footprint: {n} generated products; load: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let pool = support::fresh_database("commerce_bench_footprint", 16).await;
    let stores = support::stores(pool.clone()).await;
    let g = Arc::new(CatalogGenerator::new(2026, 500));
    let catalog = stores.catalog();
    for c in g.categories() {
        catalog.upsert_category(c).await.unwrap();
    }
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (g, catalog, next) = (g.clone(), catalog.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    catalog.upsert_product(&g.product(i).product).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    println!("loaded in {:.1} s", t0.elapsed().as_secs_f64());
    sqlx::query("VACUUM ANALYZE").execute(&pool).await.unwrap();
    let variants: i64 = sqlx::query_scalar("SELECT count(*) FROM commerce.variants")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!(
        "{variants} variants ({:.2} per product)",
        variants as f64 / n as f64
    );
    print(
        "catalog",
        "product",
        i64::try_from(n).unwrap(),
        &sizes(&pool, &["products", "variants"]).await,
    );
    print(
        "outbox events of the catalog load",
        "product",
        i64::try_from(n).unwrap(),
        &sizes(&pool, &["outbox"]).await,
    );

    // Orders, from the checkout benchmark's database when it is there.
    let url = support::database_url();
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let Ok(orders) = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.database("commerce_bench_checkout"))
        .await
    else {
        println!(
            "\nno commerce_bench_checkout database: run the checkout benchmark first for orders"
        );
        return;
    };
    sqlx::query("VACUUM ANALYZE")
        .execute(&orders)
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM commerce.orders")
        .fetch_one(&orders)
        .await
        .unwrap();
    let lines: i64 = sqlx::query_scalar("SELECT count(*) FROM commerce.order_lines")
        .fetch_one(&orders)
        .await
        .unwrap();
    println!(
        "\n{count} orders, {lines} order lines ({:.2} per order)",
        lines as f64 / count.max(1) as f64
    );
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'commerce' AND c.relkind = 'r'
            AND c.relname NOT IN ('products', 'variants', 'categories', '_sqlx_migrations',
                                  'carts', 'stock_levels')
          ORDER BY 1",
    )
    .fetch_all(&orders)
    .await
    .unwrap();
    let names: Vec<&str> = tables.iter().map(String::as_str).collect();
    let rows: Vec<_> = sizes(&orders, &names)
        .await
        .into_iter()
        .filter(|(_, n, _)| *n > 0)
        .collect();
    print("checkout benchmark tables", "order", count, &rows);
}
