//! `cargo run --example platform`: the shop as a server.
//!
//! Reads its configuration (`--bind`, `PORT`, `DATABASE_URL`, `REDIS_URL`,
//! `WORKER_EVERY_MS`, `CDN_BASE_URL`, `CORS_ORIGINS`, `PAYMENT_GATEWAY_URL`,
//! `RESERVATION_TTL_SECS`, `RECOVERY_GRACE_SECS`, `HEADER_READ_TIMEOUT_SECS`), builds the [`Shop`] on the
//! embedded default (in memory) or on PostgreSQL and Redis, seeds the demo catalog
//! into an empty store, mounts `commerce-http`, starts the workers and serves until
//! Ctrl-C or SIGTERM, finishing the requests in flight.

mod config;
mod demo;
mod gateway;
mod serve;
mod workers;

use std::sync::Arc;

use async_trait::async_trait;
use commerce::Shop;
use commerce::core::{Customer, CustomerId, ProductId};
use commerce_http::{AppState, HttpConfig, Probe, WorkerBoard};
use tokio::sync::watch;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Readiness of the catalog store (PostgreSQL when configured): one cheap read.
struct CatalogProbe(Shop, &'static str);

#[async_trait]
impl Probe for CatalogProbe {
    fn name(&self) -> &str {
        self.1
    }
    async fn check(&self) -> std::result::Result<(), String> {
        self.0
            .catalog()
            .product(ProductId::new())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Readiness of the session store (Redis when configured): one cheap read.
struct SessionProbe(Shop);

#[async_trait]
impl Probe for SessionProbe {
    fn name(&self) -> &str {
        "redis"
    }
    async fn check(&self) -> std::result::Result<(), String> {
        let token = commerce::core::auth::SessionToken::generate().map_err(|e| e.to_string())?;
        self.0
            .sessions()
            .session(&token, self.0.clock().now())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

async fn build_shop(config: &config::Config) -> Result<(Shop, Vec<&'static str>)> {
    let mut checkout_config = commerce::default_config();
    if let Some(ttl) = config.reservation_ttl {
        checkout_config.reservation_ttl = chrono::Duration::from_std(ttl)?;
    }
    if let Some(grace) = config.recovery_grace {
        checkout_config.recovery_grace = chrono::Duration::from_std(grace)?;
    }
    let mut builder = Shop::builder(checkout_config).with_memory_defaults();
    if let Some(url) = &config.payment_gateway_url {
        builder = builder.payments(Arc::new(gateway::HttpGateway::new(url)?));
    }
    let mut backends = Vec::new();
    if let Some(url) = &config.database_url {
        let stores = commerce::postgres::PgStores::connect(url).await?;
        stores.migrate().await?;
        builder = builder.postgres(&stores);
        backends.push("postgres");
    }
    if let Some(url) = &config.redis_url {
        use commerce::redis::{
            KeyPrefix, RedisCartStore, RedisConnection, RedisRateLimiter, RedisSessionStore,
        };
        let conn = RedisConnection::connect(url).await?;
        let prefix = KeyPrefix::new(KeyPrefix::DEFAULT)?;
        builder = builder
            .carts(Arc::new(RedisCartStore::new(conn.clone(), prefix.clone())))
            .sessions(Arc::new(RedisSessionStore::new(
                conn.clone(),
                prefix.clone(),
            )))
            .login_limits(Arc::new(RedisRateLimiter::new(conn, prefix)));
        backends.push("redis");
    }
    Ok((builder.build()?, backends))
}

/// A demo customer and a session for them (until accounts with passwords land,
/// this is how the printed token is made).
async fn demo_customer(shop: &Shop) -> Result<String> {
    let email = "demo@example.com";
    let customer = match shop.customers().customer_by_email(email).await? {
        Some(c) => c,
        None => {
            let c = Customer {
                id: CustomerId::new(),
                email: email.to_owned(),
                name: "Demo Customer".to_owned(),
                created_at: shop.clock().now(),
            };
            shop.customers().create_customer(&c).await?;
            c
        }
    };
    let session = shop
        .sessions()
        .create(customer.id, chrono::Duration::days(7), shop.clock().now())
        .await?;
    Ok(session.token.as_str().to_owned())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .init();
    let config = match config::Config::read(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let (shop, backends) = build_shop(&config).await?;
    if config.demo && demo::catalog_is_empty(shop.catalog().as_ref()).await? {
        let (count, sellers) = demo::seed(&shop).await?;
        let names: Vec<&str> = sellers.iter().map(|s| s.slug.as_str()).collect();
        tracing::info!(products = count, sellers = ?names, "demo catalog seeded");
    }
    let token = demo_customer(&shop).await?;
    let board = WorkerBoard::default();
    let mut state = AppState::new(
        shop.clone(),
        HttpConfig::default()
            .with_cdn_base_url(config.cdn_base_url.clone())
            .with_cors_origins(config.cors_origins.clone()),
    )
    .with_workers(board.clone());
    let catalog_name = if backends.contains(&"postgres") {
        "postgres"
    } else {
        "catalog"
    };
    state = state.with_probe(Arc::new(CatalogProbe(shop.clone(), catalog_name)));
    if backends.contains(&"redis") {
        state = state.with_probe(Arc::new(SessionProbe(shop.clone())));
    }
    let search: Arc<dyn commerce::core::search::ProductSearch> =
        Arc::new(commerce_search::TantivySearch::in_ram()?);
    state = state.with_search(search.clone());
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut handles = vec![workers::start_indexer(
        shop.clone(),
        search,
        board.clone(),
        config.worker_every,
        &addr.to_string(),
        stop_rx.clone(),
    )];
    handles.extend(workers::start(shop, board, config.worker_every, stop_rx));
    let backend = if backends.is_empty() {
        "in memory".to_owned()
    } else {
        backends.join(" + ")
    };
    println!("commerce platform listening on http://{addr} ({backend})");
    println!("  API docs:      http://{addr}/docs   (OpenAPI: http://{addr}/openapi.json)");
    println!("  demo customer: demo@example.com, bearer token {token}");
    serve::serve(
        listener,
        commerce_http::router(state),
        config.header_read_timeout,
        shutdown_signal(),
    )
    .await;
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    Ok(())
}
