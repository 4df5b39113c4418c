//! Recommendations benchmark (issue 10), two parts in one run:
//!
//! 1. Offline evaluation: a seeded synthetic purchase stream with planted affinities
//!    (groups of products bought together, plus Zipf-popular noise), split by time
//!    (first 80 % trains the tables through `record_purchase`, last 20 % tests). For
//!    each test order of two or more products the last one is held out and each
//!    strategy is asked with the rest (the customer, for "for you"); hit rate at 10
//!    of each strategy, and its ratio to the popularity baseline (shop-wide popular
//!    now, excluding the query items) measured on the same orders.
//! 2. Read latency: 64 concurrent clients reading each list from the trained tables,
//!    in memory, on PostgreSQL with a pool of 64 and of 8, and through the in-process
//!    cache in front of PostgreSQL (p50 / p99), beside a baseline on PostgreSQL in the
//!    same run: a primary-key lookup of one `rec_products` row at the same
//!    concurrency.
//!
//! `cargo bench -p commerce-postgres --bench recommend` (env: `DATABASE_URL`,
//! `BENCH_SECONDS` per latency phase, default 5). Uses its own database
//! `commerce_bench_recommend`.
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
use std::time::Duration;

use chrono::{DateTime, Duration as ChronoDuration, Utc};

use commerce_core::{Actor, CategoryId, CustomerId, EventId, ProductId};
use commerce_recommend::{
    ALL_CATEGORIES, CacheConfig, CachedRecommendStore, MemoryRecommendStore, ProductSignals,
    Purchase, PurchaseLine, RecommendStore, Recommendations,
};

const SEED: u64 = 0x5eed_0010;
const PRODUCTS: usize = 600;
const CATEGORIES: usize = 12;
const GROUPS: usize = 80;
const GROUP_SIZE: usize = 3;
const CUSTOMERS: usize = 3000;
const ORDERS: usize = 12_000;
const DAYS: i64 = 60;
const TRAIN_SHARE: f64 = 0.8;
const K: u32 = 10;
const CLIENTS: usize = 64;

/// SplitMix64: a small seeded generator (the bench needs no crypto, only repeatability).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Picks an index with probability proportional to `weights` (cumulative).
fn pick(rng: &mut Rng, cumulative: &[f64]) -> usize {
    let total = *cumulative.last().unwrap();
    let x = rng.unit() * total;
    cumulative
        .partition_point(|c| *c < x)
        .min(cumulative.len() - 1)
}

struct World {
    signals: Vec<ProductSignals>,
    categories: Vec<CategoryId>,
    customers: Vec<CustomerId>,
    /// (customer, products, time), in time order.
    orders: Vec<(CustomerId, Vec<ProductId>, DateTime<Utc>)>,
}

fn world() -> World {
    let mut rng = Rng(SEED);
    let categories: Vec<CategoryId> = (0..CATEGORIES).map(|_| CategoryId::new()).collect();
    let vocabulary: Vec<String> = (0..CATEGORIES * 20).map(|i| format!("word{i}")).collect();
    let signals: Vec<ProductSignals> = (0..PRODUCTS)
        .map(|i| {
            let c = i % CATEGORIES;
            let mut terms = vec![format!("kind{c}")];
            for _ in 0..3 {
                terms.push(vocabulary[c * 20 + rng.below(20)].clone());
            }
            terms.dedup();
            ProductSignals {
                product_id: ProductId::new(),
                category_ids: vec![categories[c]],
                terms,
                active: true,
                in_stock: true,
            }
        })
        .collect();
    let ids: Vec<ProductId> = signals.iter().map(|s| s.product_id).collect();
    // Zipf-popular noise: the product at rank r weighs 1 / (r + 1).
    let mut order: Vec<usize> = (0..PRODUCTS).collect();
    for i in (1..PRODUCTS).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut cumulative = Vec::with_capacity(PRODUCTS);
    let mut sum = 0.0;
    for r in 0..PRODUCTS {
        sum += 1.0 / (r as f64 + 1.0);
        cumulative.push(sum);
    }
    // Planted affinities: groups of products from anywhere in the catalog.
    let groups: Vec<Vec<ProductId>> = (0..GROUPS)
        .map(|_| (0..GROUP_SIZE).map(|_| ids[rng.below(PRODUCTS)]).collect())
        .collect();
    let customers: Vec<CustomerId> = (0..CUSTOMERS).map(|_| CustomerId::new()).collect();
    let start = DateTime::parse_from_rfc3339("2026-09-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let mut orders: Vec<(CustomerId, Vec<ProductId>, DateTime<Utc>)> = (0..ORDERS)
        .map(|_| {
            let customer = customers[rng.below(CUSTOMERS)];
            let mut products: Vec<ProductId> = Vec::new();
            if rng.unit() < 0.5 {
                let group = &groups[rng.below(GROUPS)];
                let take = 2 + rng.below(GROUP_SIZE - 1);
                let from = rng.below(GROUP_SIZE);
                for k in 0..take {
                    products.push(group[(from + k) % GROUP_SIZE]);
                }
                if rng.unit() < 0.3 {
                    products.insert(0, ids[order[pick(&mut rng, &cumulative)]]);
                }
            } else {
                for _ in 0..1 + rng.below(3) {
                    products.push(ids[order[pick(&mut rng, &cumulative)]]);
                }
            }
            products.dedup();
            let at = start + ChronoDuration::seconds(rng.below((DAYS * 86_400) as usize) as i64);
            (customer, products, at)
        })
        .collect();
    orders.sort_by_key(|o| o.2);
    World {
        signals,
        categories,
        customers,
        orders,
    }
}

fn purchase(customer: CustomerId, products: &[ProductId], at: DateTime<Utc>) -> Purchase {
    Purchase {
        event_id: EventId::new(),
        customer_id: Some(customer),
        lines: products
            .iter()
            .map(|p| PurchaseLine {
                product_id: *p,
                units: 1,
            })
            .collect(),
        at,
    }
}

async fn train(store: &Arc<dyn RecommendStore>, world: &World, split: usize, writers: usize) {
    for s in &world.signals {
        store.upsert_signals(s).await.unwrap();
    }
    let chunks: Vec<Vec<Purchase>> = (0..writers)
        .map(|w| {
            world.orders[..split]
                .iter()
                .skip(w)
                .step_by(writers)
                .map(|(c, p, at)| purchase(*c, p, *at))
                .collect()
        })
        .collect();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let store = store.clone();
            tokio::spawn(async move {
                for p in chunk {
                    assert!(store.record_purchase(&p).await.unwrap());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // What the purchase consumer does after each order: each customer's "for you"
    // list, precomputed.
    let lists = Recommendations::new(store.clone());
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let lists = lists.clone();
            let customers: Vec<CustomerId> = world
                .customers
                .iter()
                .skip(w)
                .step_by(writers)
                .copied()
                .collect();
            tokio::spawn(async move {
                for c in customers {
                    lists.refresh_for_you(c).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

async fn evaluate(store: Arc<dyn RecommendStore>, world: &World, split: usize) {
    let lists = Recommendations::new(store.clone());
    let names = [
        "popular (baseline)",
        "bought together (cart)",
        "similar",
        "for product",
        "for you",
    ];
    let mut hits = [0u64; 5];
    let mut cases = 0u64;
    for (customer, products, _) in &world.orders[split..] {
        if products.len() < 2 {
            continue;
        }
        cases += 1;
        let (query, held) = products.split_at(products.len() - 1);
        let held = held[0];
        let results = [
            store.popular(ALL_CATEGORIES, query, K).await.unwrap(),
            lists.for_cart(query, K).await.unwrap(),
            store
                .similar(query[query.len() - 1], query, K)
                .await
                .unwrap(),
            lists.for_product(query[query.len() - 1], K).await.unwrap(),
            lists.for_you(&Actor::customer(*customer), K).await.unwrap(),
        ];
        for (i, list) in results.iter().enumerate() {
            if list.iter().any(|s| s.product_id == held) {
                hits[i] += 1;
            }
        }
    }
    let baseline = hits[0] as f64 / cases as f64;
    println!("offline evaluation: {cases} held-out test orders, hit rate at {K}");
    for (name, h) in names.iter().zip(hits) {
        let rate = h as f64 / cases as f64;
        println!(
            "  {name:<24} {rate:.3}  ratio to popularity {:.2}",
            if baseline > 0.0 {
                rate / baseline
            } else {
                f64::NAN
            }
        );
    }
}

async fn latency(label: &str, store: Arc<dyn RecommendStore>, world: &Arc<World>) {
    let lists = Arc::new(Recommendations::new(store));
    let kinds = [
        "bought together",
        "cart (3 items)",
        "similar",
        "popular in category",
        "for you",
    ];
    for (kind, name) in kinds.iter().enumerate() {
        let lists = lists.clone();
        let world = world.clone();
        let (ok, failed, lat, elapsed) = common::run_clients(CLIENTS, move |client, n| {
            let lists = lists.clone();
            let world = world.clone();
            async move {
                let i = (client * 7919 + n as usize * 104_729) % PRODUCTS;
                let p = world.signals[i].product_id;
                let r = match kind {
                    0 => lists.bought_together(p, K).await,
                    1 => {
                        let cart: Vec<ProductId> = (0..3)
                            .map(|k| world.signals[(i + k * 37) % PRODUCTS].product_id)
                            .collect();
                        lists.for_cart(&cart, K).await
                    }
                    2 => lists.similar(p, K).await,
                    3 => {
                        lists
                            .popular(Some(world.categories[i % CATEGORIES]), K)
                            .await
                    }
                    _ => {
                        lists
                            .for_you(&Actor::customer(world.customers[i * 5 % CUSTOMERS]), K)
                            .await
                    }
                };
                r.is_ok()
            }
        })
        .await;
        println!(
            "  {label:<11} {name:<20} {:>8.0} reads/s  p50 {:>7.3} ms  p99 {:>7.3} ms{}",
            ok as f64 / elapsed.as_secs_f64(),
            ms(common::percentile(&lat, 50)),
            ms(common::percentile(&lat, 99)),
            if failed > 0 {
                format!("  ({failed} failed)")
            } else {
                String::new()
            }
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average (1, 5, 15 min) at start: {}", load().trim());
    let world = Arc::new(world());
    let split = (ORDERS as f64 * TRAIN_SHARE) as usize;
    println!(
        "synthetic stream: seed {SEED:#x}, {PRODUCTS} products in {CATEGORIES} categories, \
         {GROUPS} planted groups of {GROUP_SIZE}, {CUSTOMERS} customers, {ORDERS} orders over \
         {DAYS} days; train on the first {split}, test on the rest"
    );

    let memory: Arc<dyn RecommendStore> = Arc::new(MemoryRecommendStore::new());
    train(&memory, &world, split, 1).await;
    evaluate(memory.clone(), &world, split).await;

    let pool = common::fresh_database("commerce_bench_recommend", CLIENTS as u32).await;
    let stores = common::stores(pool.clone()).await;
    let pg: Arc<dyn RecommendStore> = Arc::new(stores.recommendations());
    let t = std::time::Instant::now();
    train(&pg, &world, split, 16).await;
    println!(
        "PostgreSQL: recorded {split} purchases in {:.1} s with 16 writers ({:.0}/s)",
        t.elapsed().as_secs_f64(),
        split as f64 / t.elapsed().as_secs_f64()
    );
    sqlx::raw_sql("ANALYZE").execute(&pool).await.unwrap();

    println!(
        "read latency: {CLIENTS} concurrent clients, {} s per phase, lists of {K}",
        common::phase().as_secs()
    );
    let ids: Arc<Vec<uuid::Uuid>> = Arc::new(
        world
            .signals
            .iter()
            .map(|s| s.product_id.as_uuid())
            .collect(),
    );
    let (ok, _, lat, elapsed) = {
        let pool = pool.clone();
        common::run_clients(CLIENTS, move |client, n| {
            let pool = pool.clone();
            let ids = ids.clone();
            async move {
                let id = ids[(client * 7919 + n as usize * 104_729) % PRODUCTS];
                sqlx::query("SELECT in_stock FROM commerce.rec_products WHERE product_id = $1")
                    .bind(id)
                    .fetch_optional(&pool)
                    .await
                    .is_ok()
            }
        })
        .await
    };
    let baseline_p99 = common::percentile(&lat, 99);
    println!(
        "  baseline   primary-key row read   {:>8.0} reads/s  p50 {:>7.3} ms  p99 {:>7.3} ms",
        ok as f64 / elapsed.as_secs_f64(),
        ms(common::percentile(&lat, 50)),
        ms(baseline_p99)
    );
    latency("memory", memory, &world).await;
    latency("pg pool 64", pg.clone(), &world).await;
    let small = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .min_connections(8)
        .connect_with(
            common::database_url()
                .parse::<sqlx::postgres::PgConnectOptions>()
                .unwrap()
                .database("commerce_bench_recommend"),
        )
        .await
        .unwrap();
    let pg8: Arc<dyn RecommendStore> =
        Arc::new(commerce_postgres::PgStores::from_pool(small).recommendations());
    latency("pg pool 8", pg8, &world).await;
    let cached = Arc::new(CachedRecommendStore::new(
        pg.clone(),
        CacheConfig::default(),
    ));
    latency("pg+cache", cached.clone(), &world).await;
    let stats = cached.stats();
    println!(
        "  cache: {} hits, {} misses ({:.2} % hits)",
        stats.hits,
        stats.misses,
        100.0 * stats.hits as f64 / (stats.hits + stats.misses).max(1) as f64
    );
    println!(
        "(compare each p99 with the baseline's {:.3} ms)",
        ms(baseline_p99)
    );
    println!("load average at the end: {}", load().trim());
}
