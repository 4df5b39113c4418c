//! The platform under load: commerce-http on PostgreSQL + Redis, 64 keep-alive
//! connections (each virtual user its own cart, keys and session), measuring
//! requests per second and p50/p99 of product details, search, add-to-cart,
//! checkout and order status, and in the same run `/health` (a static JSON route
//! through the same stack) as the ceiling of the HTTP stack.
//!
//! Product details are measured twice in the same run: through the server without
//! the product cache and through the one with it (as the example serves it, its
//! invalidation consumer running).
//!
//! Every measured route runs twice: closed loop at 64 connections (its throughput,
//! and the latency at saturation, where Little's law sets the p50 at 64 divided by
//! the throughput), then open loop at half that throughput (the latency a shopper
//! sees when the server is busy but not saturated, from each request's scheduled
//! start).
//!
//! `cargo bench --bench http_platform` (needs PostgreSQL and Redis as the adapter
//! tests do). `BENCH_SECONDS` sets the length of each phase (default 3),
//! `BENCH_POOL` the PostgreSQL pool size (default 32).
// Floats here are rates and latencies, never amounts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic,
    missing_docs
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use commerce::Shop;
use commerce::core::generator::CatalogGenerator;
use commerce::core::{Customer, CustomerId, Sku};
use commerce::inventory::StockAdjustment;
use commerce::redis::{
    KeyPrefix, RedisCartStore, RedisConnection, RedisRateLimiter, RedisSessionStore,
};
use commerce_http::{AppState, HttpConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const USERS: usize = 64;
const PRODUCTS: u64 = 300;

/// A keep-alive HTTP/1.1 connection.
struct Conn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    addr: String,
}

impl Conn {
    async fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (r, w) = stream.into_split();
        Conn {
            reader: BufReader::new(r),
            writer: w,
            addr: addr.to_owned(),
        }
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, Value) {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut text = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if !body.is_empty() {
            text.push_str("Content-Type: application/json\r\n");
        }
        for (k, v) in headers {
            text.push_str(k);
            text.push_str(": ");
            text.push_str(v);
            text.push_str("\r\n");
        }
        text.push_str("\r\n");
        text.push_str(&body);
        self.writer.write_all(text.as_bytes()).await.unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).await.unwrap();
        let status: u16 = line[9..12].parse().unwrap();
        let mut length = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap();
            }
        }
        let mut buf = vec![0u8; length];
        self.reader.read_exact(&mut buf).await.unwrap();
        (status, serde_json::from_slice(&buf).unwrap_or(Value::Null))
    }
}

/// One virtual user: a connection (and one to the server without the product
/// cache), a cart token, a session.
struct User {
    conn: Conn,
    uncached: Conn,
    cart: String,
    bearer: String,
    orders: Vec<String>,
    n: u64,
}

struct Figures {
    name: &'static str,
    rps: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
    /// The same route offered at half its closed-loop throughput (open loop).
    half: Option<Paced>,
}

/// A phase at a fixed offered rate: the latency a shopper sees when the server is
/// not saturated, measured from each request's scheduled start (a late start counts
/// as waiting, so a stall is not hidden: no coordinated omission).
struct Paced {
    rate: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Waits for every user's task: the users back, every latency sorted, the errors.
async fn gather(
    handles: Vec<tokio::task::JoinHandle<(User, Vec<Duration>, usize)>>,
) -> (Vec<User>, Vec<Duration>, usize) {
    let mut all = Vec::new();
    let mut errors = 0;
    let mut users = Vec::new();
    for h in handles {
        let (u, l, e) = h.await.unwrap();
        users.push(u);
        all.extend(l);
        errors += e;
    }
    all.sort();
    (users, all, errors)
}

/// Runs `step` for every user in a loop for `seconds`; each call returns whether
/// it succeeded and the latency of the measured request.
async fn phase<F, Fut>(
    name: &'static str,
    users: Vec<User>,
    seconds: Duration,
    step: F,
) -> (Figures, Vec<User>)
where
    F: Fn(User, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = (User, bool, Duration)> + Send,
{
    let started = Instant::now();
    let handles: Vec<_> = users
        .into_iter()
        .map(|user| {
            let step = step.clone();
            tokio::spawn(async move {
                let mut user = user;
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut i = 0u64;
                while started.elapsed() < seconds {
                    let (u, ok, latency) = step(user, i).await;
                    user = u;
                    latencies.push(latency);
                    if !ok {
                        errors += 1;
                    }
                    i += 1;
                }
                (user, latencies, errors)
            })
        })
        .collect();
    let (users, all, errors) = gather(handles).await;
    let elapsed = started.elapsed().as_secs_f64();
    let figures = Figures {
        name,
        rps: all.len() as f64 / elapsed,
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        errors,
        half: None,
    };
    (figures, users)
}

/// Runs `step` for every user on a fixed schedule for `seconds`: `rate` requests per
/// second in all, each user every `USERS / rate` seconds (users staggered); a
/// request's latency runs from its scheduled start.
async fn paced<F, Fut>(
    users: Vec<User>,
    seconds: Duration,
    rate: f64,
    step: F,
) -> (Paced, Vec<User>)
where
    F: Fn(User, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = (User, bool, Duration)> + Send,
{
    let period = Duration::from_secs_f64(USERS as f64 / rate.max(1.0));
    let started = tokio::time::Instant::now();
    let handles: Vec<_> = users
        .into_iter()
        .enumerate()
        .map(|(k, user)| {
            let step = step.clone();
            tokio::spawn(async move {
                let mut user = user;
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut i = 0u64;
                let mut next = started + period.mul_f64(k as f64 / USERS as f64);
                while next.duration_since(started) < seconds {
                    tokio::time::sleep_until(next).await;
                    let late = tokio::time::Instant::now().duration_since(next);
                    let (u, ok, latency) = step(user, 1_000_000 + i).await;
                    user = u;
                    latencies.push(late + latency);
                    if !ok {
                        errors += 1;
                    }
                    i += 1;
                    next += period;
                }
                (user, latencies, errors)
            })
        })
        .collect();
    let (users, all, errors) = gather(handles).await;
    let figures = Paced {
        rate: all.len() as f64 / seconds.as_secs_f64(),
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        errors,
    };
    (figures, users)
}

/// [`phase`] at 64 connections, then [`paced`] at half the throughput it reached.
async fn measure<F, Fut>(
    name: &'static str,
    users: Vec<User>,
    seconds: Duration,
    step: F,
) -> (Figures, Vec<User>)
where
    F: Fn(User, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = (User, bool, Duration)> + Send,
{
    let (mut figures, users) = phase(name, users, seconds, step.clone()).await;
    let (half, users) = paced(users, seconds, figures.rps / 2.0, step).await;
    figures.half = Some(half);
    (figures, users)
}

async fn timed(
    user: &mut User,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value, Duration) {
    let t = Instant::now();
    let (status, value) = user.conn.send(method, path, headers, body).await;
    (status, value, t.elapsed())
}

#[tokio::main]
async fn main() {
    let seconds = Duration::from_secs(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3),
    );
    // Fresh database and Redis prefix.
    use sqlx::Connection;
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut admin = sqlx::PgConnection::connect(&url)
        .await
        .expect("PostgreSQL (see README: Testing)");
    let name = format!("commerce_bench_http_{}", std::process::id());
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\""
    )))
    .execute(&mut admin)
    .await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    let db_url = format!("{}/{name}", url.rsplit_once('/').unwrap().0);
    // Pool size: BENCH_POOL (default 32, half the virtual users: PostgreSQL on
    // 2 cores does not go faster with more, the queue only moves into it).
    let pool_size: u32 = std::env::var("BENCH_POOL")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(pool_size);
    let stores = commerce::postgres::PgStores::connect_with(pool, &db_url)
        .await
        .unwrap();
    stores.migrate().await.unwrap();
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let conn = RedisConnection::connect(&redis_url).await.expect("Redis");
    let prefix = KeyPrefix::new(format!("bench{}", std::process::id())).unwrap();
    let shop = Shop::builder(commerce::default_config())
        .postgres(&stores)
        .carts(Arc::new(RedisCartStore::new(conn.clone(), prefix.clone())))
        .sessions(Arc::new(RedisSessionStore::new(
            conn.clone(),
            prefix.clone(),
        )))
        .login_limits(Arc::new(RedisRateLimiter::new(conn, prefix)))
        .with_memory_defaults()
        .build()
        .unwrap();

    // Catalog: the generator's products, plenty of stock.
    let generator = CatalogGenerator::new(7, 2);
    for s in generator.sellers() {
        shop.catalog().upsert_seller(s).await.unwrap();
    }
    for c in generator.categories() {
        shop.catalog().upsert_category(c).await.unwrap();
    }
    let mut slugs = Vec::new();
    let mut skus = Vec::new();
    for g in generator.products(0..PRODUCTS) {
        shop.catalog().upsert_product(&g.product).await.unwrap();
        slugs.push(g.product.slug.clone());
        for v in &g.product.variants {
            skus.push(v.sku.as_str().to_owned());
            shop.inventory()
                .adjust(
                    &StockAdjustment::received(Sku::new(v.sku.as_str()).unwrap(), 1_000_000),
                    shop.clock().now(),
                )
                .await
                .unwrap();
        }
    }
    let search: Arc<dyn commerce::core::search::ProductSearch> =
        Arc::new(commerce_search::TantivySearch::in_ram().unwrap());
    let indexer = commerce_search::SearchIndexer::new(search.clone(), shop.catalog().clone(), None);
    let runner = indexer.runner(shop.outbox().clone(), "bench-indexer");
    runner.drain().await.unwrap();

    // As the example serves it: product details through the in-process cache,
    // evicted by its outbox consumer running beside the server.
    let cache = Arc::new(commerce_http::cache::ProductCache::default());
    let uncached = AppState::new(shop.clone(), HttpConfig::default()).with_search(search.clone());
    let state = uncached.clone().with_product_cache(cache.clone());
    {
        let shop = shop.clone();
        let invalidator = commerce_http::cache::ProductCacheInvalidator::new("bench-cache", cache);
        tokio::spawn(async move {
            loop {
                let _ = commerce::core::drain(
                    shop.outbox().as_ref(),
                    &invalidator,
                    commerce::core::RunnerConfig::default(),
                )
                .await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        axum::serve(listener, commerce_http::router(state))
            .await
            .unwrap()
    });
    // The same router without the cache, for the uncached figure in the same run.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uncached_addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        axum::serve(listener, commerce_http::router(uncached))
            .await
            .unwrap()
    });

    let mut users = Vec::new();
    for i in 0..USERS {
        let mut conn = Conn::open(&addr).await;
        let (_, cart) = conn.send("POST", "/v1/cart", &[], None).await;
        let customer = Customer {
            id: CustomerId::new(),
            email: format!("bench{i}@example.com"),
            name: "Bench".into(),
            created_at: shop.clock().now(),
        };
        shop.customers().create_customer(&customer).await.unwrap();
        let session = shop
            .sessions()
            .create(customer.id, chrono::Duration::hours(2), shop.clock().now())
            .await
            .unwrap();
        users.push(User {
            conn,
            uncached: Conn::open(&uncached_addr).await,
            cart: cart["cart_token"].as_str().unwrap().to_owned(),
            bearer: format!("Bearer {}", session.token.as_str()),
            orders: Vec::new(),
            n: i as u64,
        });
    }
    let slugs = Arc::new(slugs);
    let skus = Arc::new(skus);
    let words = Arc::new(vec![
        "shirt", "shoes", "leather", "cotton", "watch", "lamp", "ao thun", "grosse", "bag", "red",
    ]);
    let mut results = Vec::new();

    let (f, u) = phase(
        "static JSON route (/health)",
        users,
        seconds,
        |mut u, _| async move {
            let (s, _, t) = timed(&mut u, "GET", "/health", &[], None).await;
            (u, s == 200, t)
        },
    )
    .await;
    results.push(f);
    let s1 = slugs.clone();
    let (f, u) = phase("product details (no cache)", u, seconds, move |mut u, i| {
        let slugs = s1.clone();
        async move {
            let slug = &slugs[((u.n * 7919 + i) % slugs.len() as u64) as usize];
            let t = Instant::now();
            let (s, _) = u
                .uncached
                .send("GET", &format!("/v1/catalog/products/{slug}"), &[], None)
                .await;
            (u, s == 200, t.elapsed())
        }
    })
    .await;
    results.push(f);
    // Steady state: every product read once through the cached server first (a
    // cold cache is the uncached figure above).
    let mut u = u;
    for slug in slugs.iter() {
        u[0].conn
            .send("GET", &format!("/v1/catalog/products/{slug}"), &[], None)
            .await;
    }
    let s2 = slugs.clone();
    let (f, u) = measure("product details (cached)", u, seconds, move |mut u, i| {
        let slugs = s2.clone();
        async move {
            let slug = &slugs[((u.n * 7919 + i) % slugs.len() as u64) as usize];
            let (s, _, t) = timed(
                &mut u,
                "GET",
                &format!("/v1/catalog/products/{slug}"),
                &[],
                None,
            )
            .await;
            (u, s == 200, t)
        }
    })
    .await;
    results.push(f);
    let w2 = words.clone();
    let (f, u) = measure("search (text, facets)", u, seconds, move |mut u, i| {
        let words = w2.clone();
        async move {
            let q = words[((u.n + i) % words.len() as u64) as usize].replace(' ', "%20");
            let (s, _, t) = timed(
                &mut u,
                "GET",
                &format!("/v1/catalog/search?q={q}&limit=20"),
                &[],
                None,
            )
            .await;
            (u, s == 200, t)
        }
    })
    .await;
    results.push(f);
    let k2 = skus.clone();
    let (f, u) = measure("add to cart (guest)", u, seconds, move |mut u, i| {
        let skus = k2.clone();
        async move {
            let sku = &skus[((u.n * 31 + i) % skus.len() as u64) as usize];
            let cart = u.cart.clone();
            if i % 50 == 49 {
                u.conn
                    .send("DELETE", "/v1/cart", &[("X-Cart-Token", &cart)], None)
                    .await;
            }
            let (s, _, t) = timed(
                &mut u,
                "POST",
                "/v1/cart/items",
                &[("X-Cart-Token", &cart)],
                Some(&json!({"sku": sku, "quantity": 1})),
            )
            .await;
            (u, s == 200, t)
        }
    })
    .await;
    results.push(f);
    let k3 = skus.clone();
    let (f, u) = measure("checkout (customer, card)", u, seconds, move |mut u, i| {
        let skus = k3.clone();
        async move {
            let bearer = u.bearer.clone();
            let sku = &skus[((u.n * 17 + i) % skus.len() as u64) as usize];
            u.conn.send("POST", "/v1/cart/items", &[("Authorization", &bearer)], Some(&json!({"sku": sku, "quantity": 1}))).await;
            let key = format!("bench-{}-{i}", u.n);
            let body = json!({"email": "b@example.com", "shipping_address": {"name": "B", "line1": "1 Main St", "city": "Austin", "region": "TX", "postal_code": "73301", "country": "US"},
                              "shipping_method": "standard", "payment_method": {"type": "card", "number": "4242424242424242", "expiry_month": 12, "expiry_year": 2030, "cvc": "123"}});
            let (s, order, t) = timed(&mut u, "POST", "/v1/checkout", &[("Authorization", &bearer), ("Idempotency-Key", &key)], Some(&body)).await;
            if let Some(id) = order["id"].as_str() {
                u.orders.push(id.to_owned());
            }
            (u, s == 201, t)
        }
    }).await;
    results.push(f);
    let (f, _) = measure("order status", u, seconds, |mut u, i| async move {
        let bearer = u.bearer.clone();
        let id =
            u.orders[(i % u.orders.len().max(1) as u64) as usize % u.orders.len().max(1)].clone();
        let (s, _, t) = timed(
            &mut u,
            "GET",
            &format!("/v1/orders/{id}"),
            &[("Authorization", &bearer)],
            None,
        )
        .await;
        (u, s == 200, t)
    })
    .await;
    results.push(f);

    let ceiling = results[0].rps;
    println!(
        "HTTP platform on PostgreSQL + Redis, {USERS} connections, {}s per phase",
        seconds.as_secs()
    );
    println!(
        "{:<30} {:>8} {:>8} {:>8} {:>6} {:>8} | {:>12} {:>8} {:>8} {:>6}",
        "route",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "x static",
        "half: req/s",
        "p50 ms",
        "p99 ms",
        "errors"
    );
    for f in &results {
        let half = f.half.as_ref().map_or_else(String::new, |h| {
            format!(
                "{:>12.0} {:>8.2} {:>8.2} {:>6}",
                h.rate,
                h.p50.as_secs_f64() * 1e3,
                h.p99.as_secs_f64() * 1e3,
                h.errors
            )
        });
        println!(
            "{:<30} {:>8.0} {:>8.2} {:>8.2} {:>6} {:>8.2} | {half}",
            f.name,
            f.rps,
            f.p50.as_secs_f64() * 1e3,
            f.p99.as_secs_f64() * 1e3,
            f.errors,
            f.rps / ceiling
        );
    }
    drop(stores);
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
}
