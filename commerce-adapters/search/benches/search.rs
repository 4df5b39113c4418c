//! Product search at scale: tantivy (`TantivySearch`, mmap on disk) against
//! PostgreSQL full-text search on the same generated products and the same rotating
//! queries, in one run.
//!
//! ```text
//! SEARCH_BENCH_PRODUCTS=1000000 SEARCH_BENCH_SECONDS=20 cargo bench -p commerce-search --bench search
//! ```
//!
//! Environment: `SEARCH_BENCH_PRODUCTS` (default 1,000,000), `SEARCH_BENCH_QUERIES`
//! (distinct queries, default 1,200), `SEARCH_BENCH_SECONDS` (per engine, default 20),
//! `SEARCH_BENCH_PG` (`0` skips PostgreSQL), `DATABASE_URL` (default
//! postgres://postgres@127.0.0.1:5432/postgres; a database `search_bench` is
//! created), `SEARCH_BENCH_FRESHNESS_SECONDS` (default 10; `0` skips it),
//! `SEARCH_BENCH_INDEX` (a directory: the index is built there and kept, and reused
//! by the next run with the same size; for iterating, not for recorded figures),
//! `SEARCH_BENCH_EACH=N` (times the first N queries one by one and prints each),
//! `SEARCH_BENCH_CACHE_MB` (the clause cache, default `SearchConfig`'s).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic
)]
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use commerce_core::generator::{CatalogGenerator, Rng};
use commerce_core::memory::{MemoryCatalog, MemoryOutbox};
use commerce_core::search::text::fold;
use commerce_core::search::{
    IndexChange, ProductSearch, SearchFilters, SearchQuery, category_path,
};
use commerce_core::{CatalogEvent, CategoryId, DomainEvent, Money};
use commerce_search::{SearchConfig, SearchIndexer, TantivySearch};
use rust_decimal::Decimal;
use sqlx::{Connection, Executor, PgPool};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
            })
        })
        .unwrap_or(0)
        / 1024
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    let m = e.metadata().unwrap();
                    if m.is_dir() {
                        dir_size(&e.path())
                    } else {
                        m.len()
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// One query of the mix: its text and filters.
#[derive(Clone, Debug)]
struct Q {
    text: String,
    filters: SearchFilters,
}

/// A misspelling of `w`: one letter replaced, dropped or two swapped.
fn typo(rng: &mut Rng, w: &str) -> String {
    let mut c: Vec<char> = w.chars().collect();
    let i = 1 + rng.below(c.len() as u64 - 2) as usize;
    match rng.below(3) {
        0 => c[i] = (b'a' + rng.below(26) as u8) as char,
        1 => {
            c.remove(i);
        }
        _ => c.swap(i, i + 1),
    }
    c.into_iter().collect()
}

fn query_mix(g: &CatalogGenerator, n: usize) -> Vec<Q> {
    let vocab = CatalogGenerator::vocabulary();
    let mut rng = Rng::new(42);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let leaves: Vec<CategoryId> = g.categories().iter().map(|c| c.id).collect();
    while out.len() < n {
        let words = 1 + rng.below(3) as usize;
        let mut ws: Vec<String> = (0..words).map(|_| rng.pick(&vocab).clone()).collect();
        if rng.chance(20)
            && let Some(w) = ws.iter_mut().find(|w| w.chars().count() >= 5)
        {
            *w = typo(&mut rng, w);
        }
        let text = ws.join(" ");
        let mut filters = SearchFilters::default();
        if out.len() % 2 == 1 {
            match rng.below(4) {
                0 => filters.category_id = Some(*rng.pick(&leaves)),
                1 => {
                    let lo = (rng.below(200) * 100) as i64;
                    filters.price_min = Some(lo);
                    filters.price_max = Some(lo + 20_000);
                }
                2 => filters.in_stock = true,
                _ => filters.min_rating = Some(Decimal::from(1 + rng.below(4))),
            }
        }
        if seen.insert(format!("{text}|{filters:?}")) {
            out.push(Q { text, filters });
        }
    }
    out
}

/// Search-box prefixes: part of a word, sometimes after a whole word.
fn suggestion_mix(n: usize) -> Vec<String> {
    let vocab = CatalogGenerator::vocabulary();
    let mut rng = Rng::new(7);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    while out.len() < n && seen.len() < 10 * n {
        let w = rng.pick(&vocab);
        let len = 1 + rng.below(w.len().min(6) as u64) as usize;
        let part: String = w.chars().take(len).collect();
        let p = if rng.chance(30) {
            format!("{} {part}", rng.pick(&vocab))
        } else {
            part
        };
        if seen.insert(p.clone()) {
            out.push(p);
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

struct Run {
    queries: u64,
    qps: f64,
    p50: Duration,
    p99: Duration,
    mean_total: f64,
}

/// Runs `f` over the rotating queries on 2 threads for `secs` seconds, and on until
/// every query ran at least once.
fn run_mix<T: Sync, F>(name: &str, queries: &[T], secs: u64, f: F) -> Run
where
    F: Fn(usize, &T) -> u64 + Send + Sync,
{
    let f = &f;
    let stop = AtomicBool::new(false);
    let next = AtomicU64::new(0);
    let started = Instant::now();
    let results: Vec<(Vec<Duration>, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let stop = &stop;
                let next = &next;
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut totals = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize % queries.len();
                        let t0 = Instant::now();
                        totals += f(t, &queries[i]);
                        lat.push(t0.elapsed());
                    }
                    (lat, totals)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(secs));
        // Every query at least once, so a slow engine's percentiles are over the
        // same queries as a fast one's (not over the first part of the rotation).
        while (next.load(Ordering::Relaxed) as usize) < queries.len() {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut all: Vec<Duration> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let totals: u64 = results.iter().map(|r| r.1).sum();
    all.sort();
    let run = Run {
        queries: all.len() as u64,
        qps: all.len() as f64 / elapsed,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        mean_total: totals as f64 / all.len().max(1) as f64,
    };
    println!(
        "{name}: {} queries in {elapsed:.1} s on 2 threads: {:.0} q/s, p50 {:.2} ms, p99 {:.2} ms, mean results {:.0}",
        run.queries,
        run.qps,
        run.p50.as_secs_f64() * 1e3,
        run.p99.as_secs_f64() * 1e3,
        run.mean_total
    );
    run
}

fn pg_tsquery(text: &str) -> Option<String> {
    let words: Vec<String> = commerce_core::search::text::folded_words(text);
    if words.is_empty() {
        return None;
    }
    let n = words.len();
    Some(
        words
            .into_iter()
            .enumerate()
            .map(|(i, w)| if i + 1 == n { format!("{w}:*") } else { w })
            .collect::<Vec<_>>()
            .join(" & "),
    )
}

/// Total, then hits and facet counts as JSON text.
type PgRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const PG_QUERY: &str = r#"
WITH m AS MATERIALIZED (
  SELECT id, title, price, seller, categories, rating, in_stock, popularity,
         ts_rank(tsv, q) AS rank
  FROM search_products, to_tsquery('simple', $1) q
  WHERE tsv @@ q
    AND ($2::bigint IS NULL OR categories @> ARRAY[$2::bigint])
    AND ($3::bigint IS NULL OR price >= $3)
    AND ($4::bigint IS NULL OR price <= $4)
    AND (NOT $5::bool OR in_stock)
    AND ($6::int IS NULL OR rating >= $6)
)
SELECT
  (SELECT count(*) FROM m) AS total,
  (SELECT json_agg(t) FROM (SELECT id, title FROM m ORDER BY rank DESC, popularity DESC LIMIT 20) t)::text AS hits,
  (SELECT json_agg(c) FROM (SELECT k, count(*) FROM m, unnest(categories) k GROUP BY k) c)::text AS cats,
  (SELECT json_agg(s) FROM (SELECT seller, count(*) FROM m GROUP BY seller) s)::text AS sellers,
  (SELECT json_agg(p) FROM (SELECT width_bucket(price, ARRAY[1000,2500,5000,10000,25000,50000]::bigint[]) b, count(*) FROM m GROUP BY b) p)::text AS prices,
  (SELECT json_build_array(count(*) FILTER (WHERE rating >= 100), count(*) FILTER (WHERE rating >= 200),
     count(*) FILTER (WHERE rating >= 300), count(*) FILTER (WHERE rating >= 400),
     count(*) FILTER (WHERE in_stock)) FROM m)::text AS rest
"#;

fn category_key(id: CategoryId) -> i64 {
    let (hi, lo) = id.as_uuid().as_u64_pair();
    (hi ^ lo.rotate_left(29)) as i64
}

async fn load_postgres(url: &str, g: &CatalogGenerator, n: u64) -> PgPool {
    let admin = format!("{}/postgres", url.rsplit_once('/').map_or(url, |x| x.0));
    let mut c = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL reachable (DATABASE_URL)");
    let _ = c
        .execute("DROP DATABASE IF EXISTS search_bench WITH (FORCE)")
        .await;
    c.execute("CREATE DATABASE search_bench").await.unwrap();
    let db = format!("{}/search_bench", url.rsplit_once('/').map_or(url, |x| x.0));
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&db)
        .await
        .unwrap();
    pool.execute(
        "CREATE UNLOGGED TABLE search_products (id uuid PRIMARY KEY, title text, body text, tsv tsvector,
           categories bigint[], seller uuid, currency text, price bigint, rating int, in_stock bool,
           popularity bigint, created timestamptz)",
    )
    .await
    .unwrap();
    let tree: std::collections::BTreeMap<_, _> =
        g.categories().iter().map(|c| (c.id, c.clone())).collect();
    let t0 = Instant::now();
    let mut conn = pool.acquire().await.unwrap();
    let mut copy = conn
        .copy_in_raw("COPY search_products (id, title, body, categories, seller, currency, price, rating, in_stock, popularity, created) FROM STDIN")
        .await
        .unwrap();
    let esc = |s: &str| s.replace('\\', "\\\\").replace(['\t', '\n'], " ");
    let mut buf = String::new();
    for i in 0..n {
        let p = g.product(i);
        let d = p.search_document().unwrap();
        let mut cats: Vec<i64> = Vec::new();
        let mut body = fold(&d.body_text());
        for c in &d.category_ids {
            for id in category_path(&tree, *c) {
                cats.push(category_key(id));
                body.push(' ');
                body.push_str(&fold(&tree[&id].name));
            }
        }
        let cats = cats
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        buf.push_str(&format!(
            "{}\t{}\t{}\t{{{}}}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            d.product_id,
            esc(&fold(&d.title)),
            esc(&body),
            cats,
            d.seller_id,
            d.currency.code(),
            d.price_minor(),
            (d.signals.rating_average * Decimal::from(100)).trunc(),
            if d.signals.in_stock() { "t" } else { "f" },
            d.signals.popularity(),
            d.created_at.to_rfc3339(),
        ));
        if buf.len() > 1 << 20 {
            copy.send(buf.as_bytes()).await.unwrap();
            buf.clear();
        }
    }
    copy.send(buf.as_bytes()).await.unwrap();
    copy.finish().await.unwrap();
    drop(conn);
    pool.execute("UPDATE search_products SET tsv = setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), 'B')")
        .await
        .unwrap();
    pool.execute("CREATE INDEX ON search_products USING gin (tsv)")
        .await
        .unwrap();
    pool.execute("CREATE INDEX ON search_products USING gin (categories)")
        .await
        .unwrap();
    pool.execute("CREATE INDEX ON search_products (price)")
        .await
        .unwrap();
    pool.execute("VACUUM ANALYZE search_products")
        .await
        .unwrap();
    let size: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('search_products')")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!(
        "postgres: loaded {n} products (COPY, tsvector, GIN, VACUUM ANALYZE) in {:.1} s, {} MB with indexes",
        t0.elapsed().as_secs_f64(),
        size >> 20
    );
    pool
}

fn main() {
    let n = env("SEARCH_BENCH_PRODUCTS", 1_000_000);
    let n_queries = env("SEARCH_BENCH_QUERIES", 1_200) as usize;
    let secs = env("SEARCH_BENCH_SECONDS", 20);
    let fresh_secs = env("SEARCH_BENCH_FRESHNESS_SECONDS", 10);
    let with_pg = env("SEARCH_BENCH_PG", 1) == 1;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let g = CatalogGenerator::new(2026, 500);
    println!(
        "search bench: {n} products, {n_queries} distinct queries, {secs} s per engine; load: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    // Build the tantivy index on disk (or reuse the one SEARCH_BENCH_INDEX names).
    let keep = std::env::var("SEARCH_BENCH_INDEX")
        .ok()
        .map(std::path::PathBuf::from);
    let dir = keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("commerce-search-bench-{}", std::process::id()))
    });
    let reuse = keep.is_some() && dir.join("meta.json").exists();
    if !reuse {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut config = SearchConfig::on_disk(&dir);
    config.writer_memory_bytes = 512 << 20;
    config.writer_threads = 2;
    if let Some(mb) = std::env::var("SEARCH_BENCH_CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        config.clause_cache_bytes = mb << 20;
    }
    let search = Arc::new(TantivySearch::open(config).unwrap());
    if reuse {
        let docs = rt.block_on(search.document_count()).unwrap();
        assert_eq!(docs, n, "SEARCH_BENCH_INDEX holds {docs} products, not {n}");
        println!("tantivy: reusing the index in {}", dir.display());
    }
    let t0 = Instant::now();
    if !reuse {
        rt.block_on(search.apply(vec![IndexChange::Categories(g.categories().to_vec())], None))
            .unwrap();
        let batch = 100_000;
        let mut i = 0;
        while i < n {
            let end = (i + batch).min(n);
            let changes: Vec<IndexChange> = g
                .products(i..end)
                .map(|p| IndexChange::Put(p.search_document().unwrap()))
                .collect();
            rt.block_on(search.apply(changes, None)).unwrap();
            i = end;
        }
    }
    let built = t0.elapsed();
    if !reuse {
        println!(
            "tantivy: indexed {n} products in {:.1} s, merging",
            built.as_secs_f64()
        );
        search.merge_segments().unwrap();
    }
    let merged = t0.elapsed();
    let size = dir_size(&dir);
    println!(
        "tantivy: indexed {n} products in {:.1} s ({:.0} docs/s), merged to one segment at {:.1} s; {} MB on disk; RSS {} MB",
        built.as_secs_f64(),
        n as f64 / built.as_secs_f64(),
        merged.as_secs_f64(),
        size >> 20,
        rss_mb()
    );

    let queries = query_mix(&g, n_queries);
    let typos = queries
        .iter()
        .filter(|q| {
            q.text
                .split(' ')
                .any(|w| !CatalogGenerator::vocabulary().contains(&w.to_owned()))
        })
        .count();
    println!(
        "query mix: {} distinct, {} with a typo, {} filtered, all with facets",
        queries.len(),
        typos,
        queries
            .iter()
            .filter(|q| q.filters != SearchFilters::default())
            .count()
    );

    // Warm up, then measure.
    let to_query = |q: &Q| {
        let mut s = SearchQuery::text(q.text.clone() + " ");
        s.filters = q.filters.clone();
        s.facets = true;
        s
    };
    let rts: Vec<tokio::runtime::Runtime> = (0..2)
        .map(|_| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        })
        .collect();
    for q in queries.iter().take(200) {
        rts[0].block_on(search.search(&to_query(q))).unwrap();
    }
    let tantivy = run_mix("tantivy", &queries, secs, |t, q| {
        rts[t].block_on(search.search(&to_query(q))).unwrap().total
    });
    // SEARCH_BENCH_EACH=N: after the mix, the first N queries one at a time, each printed with its
    // result count and time (for finding what a kind of query costs).
    for q in queries.iter().take(env("SEARCH_BENCH_EACH", 0) as usize) {
        let t0 = Instant::now();
        let r = rts[0].block_on(search.search(&to_query(q))).unwrap();
        println!(
            "each: {:?} {:?} -> {} results in {} us",
            q.text,
            q.filters,
            r.total,
            t0.elapsed().as_micros()
        );
    }
    println!("tantivy: RSS while serving {} MB", rss_mb());

    // Suggestions: prefixes of 1 to 6 letters of a vocabulary word, after zero or
    // one whole word, 10 suggestions each, on 2 threads.
    let prefixes = suggestion_mix(n_queries);
    for p in prefixes.iter().take(200) {
        rts[0].block_on(search.suggest(p, 10)).unwrap();
    }
    let suggest_secs = (secs / 4).max(2);
    let suggest = run_mix("suggest", &prefixes, suggest_secs, |t, p| {
        rts[t].block_on(search.suggest(p, 10)).unwrap().len() as u64
    });

    if with_pg {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let pool = rt.block_on(load_postgres(&url, &g, n));
        let pg_run = |q: &Q, rt: &tokio::runtime::Runtime| -> u64 {
            let Some(tsq) = pg_tsquery(&q.text) else {
                return 0;
            };
            let f = &q.filters;
            let row: PgRow = rt
                .block_on(
                    sqlx::query_as(PG_QUERY)
                        .bind(tsq)
                        .bind(f.category_id.map(category_key))
                        .bind(f.price_min)
                        .bind(f.price_max)
                        .bind(f.in_stock)
                        .bind(f.min_rating.map(|r| {
                            (r * Decimal::from(100))
                                .trunc()
                                .to_string()
                                .parse::<i32>()
                                .unwrap()
                        }))
                        .fetch_one(&pool),
                )
                .unwrap();
            row.0 as u64
        };
        for q in queries.iter().take(50) {
            pg_run(q, &rt);
        }
        let pg = run_mix("postgres", &queries, secs, |_, q| pg_run(q, &rt));
        println!(
            "ratios: throughput tantivy/postgres {:.1}x; p50 postgres/tantivy {:.1}x; p99 postgres/tantivy {:.1}x",
            tantivy.qps / pg.qps,
            pg.p50.as_secs_f64() / tantivy.p50.as_secs_f64(),
            pg.p99.as_secs_f64() / tantivy.p99.as_secs_f64()
        );
        rt.block_on(pool.close());
    }

    if fresh_secs > 0 {
        // Freshness under 100 updates per second through the outbox.
        let outbox = Arc::new(MemoryOutbox::new());
        let catalog = Arc::new(MemoryCatalog::new(outbox.clone()));
        let indexer = SearchIndexer::new(search.clone(), catalog, None);
        let runner = indexer.runner(outbox.clone(), "bench");
        let stop = Arc::new(AtomicBool::new(false));
        let stop_runner = stop.clone();
        let runner_task = rt.spawn(async move {
            runner
                .run(tokio::time::sleep, |_| {}, async move {
                    while !stop_runner.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
                .await;
        });
        // A producer pushes one price change every 10 ms; the probe waits for every
        // 10th to become visible to a search filtering on its new price.
        let pushed: Arc<std::sync::Mutex<Vec<Instant>>> = Arc::default();
        let started = Instant::now();
        let producer = {
            let pushed = pushed.clone();
            let outbox = outbox.clone();
            let g = g.clone();
            std::thread::spawn(move || {
                let mut k = 0u64;
                while started.elapsed() < Duration::from_secs(fresh_secs) {
                    // Distinct products (k * prime mod n), so no update hides another.
                    let p = g.product((k * 1_000_003) % n);
                    // Every variant gets the new price, so the product's (lowest) price is it.
                    let price =
                        Money::from_minor(1_000_000 + k as i64, commerce_core::Currency::USD);
                    let events = p
                        .product
                        .variants
                        .iter()
                        .map(|v| {
                            CatalogEvent::PriceChanged {
                                product_id: p.product.id,
                                sku: v.sku.clone(),
                                price,
                            }
                            .envelope(chrono::Utc::now())
                            .unwrap()
                        })
                        .collect();
                    outbox.push(events);
                    pushed.lock().unwrap().push(Instant::now());
                    k += 1;
                    let next = started + Duration::from_millis(10 * k);
                    if let Some(wait) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
                k
            })
        };
        let mut lags = Vec::new();
        let mut target = 0usize;
        while started.elapsed() < Duration::from_secs(fresh_secs) {
            let at = loop {
                if let Some(t) = pushed.lock().unwrap().get(target).copied() {
                    break Some(t);
                }
                if started.elapsed() >= Duration::from_secs(fresh_secs) {
                    break None;
                }
                std::thread::sleep(Duration::from_millis(1));
            };
            let Some(at) = at else { break };
            let mut q = SearchQuery::text(String::new());
            q.filters.price_min = Some(1_000_000 + target as i64);
            q.filters.price_max = Some(1_000_000 + target as i64);
            q.facets = false;
            q.limit = 1;
            while rts[0].block_on(search.search(&q)).unwrap().total == 0
                && at.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            lags.push(at.elapsed());
            target += 10;
        }
        let k = producer.join().unwrap();
        stop.store(true, Ordering::Relaxed);
        rt.block_on(runner_task).unwrap();
        lags.sort();
        println!(
            "freshness: {} updates in {:.1} s ({:.0}/s); change visible to search after p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            k,
            fresh_secs as f64,
            k as f64 / fresh_secs as f64,
            percentile(&lags, 0.5).as_secs_f64() * 1e3,
            percentile(&lags, 0.99).as_secs_f64() * 1e3,
            lags.last().copied().unwrap_or_default().as_secs_f64() * 1e3
        );
    }
    println!(
        "summary: tantivy p50 {:.2} ms p99 {:.2} ms {:.0} q/s; suggest p50 {:.2} ms p99 {:.2} ms; RSS {} MB; index {} MB",
        tantivy.p50.as_secs_f64() * 1e3,
        tantivy.p99.as_secs_f64() * 1e3,
        tantivy.qps,
        suggest.p50.as_secs_f64() * 1e3,
        suggest.p99.as_secs_f64() * 1e3,
        rss_mb(),
        size >> 20
    );
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
