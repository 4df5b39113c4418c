//! `cargo run --example platform`: the shop as a server.
//!
//! Reads its configuration (`--bind`, `PORT`, `DATABASE_URL`, `REDIS_URL`,
//! `AMQP_URL`, `SMTP_URL`, `MAIL_FROM`, `CARRIER_WEBHOOK_SECRET`,
//! `NOTIFICATION_WORKERS`, `WORKER_EVERY_MS`, `CDN_BASE_URL`, `CORS_ORIGINS`,
//! `INSTANCE_ID`, `PAYMENT_GATEWAY_URL`, `RESERVATION_TTL_SECS`,
//! `RECOVERY_GRACE_SECS`, `HEADER_READ_TIMEOUT_SECS`, `PRUNE_EVERY_SECS`,
//! `OUTBOX_GROUP_RETENTION_SECS`, `RESERVATION_RETENTION_SECS`,
//! `LOGIN_LIMIT_PER_ACCOUNT`, `LOGIN_LIMIT_PER_ADDRESS`, `LOGIN_WINDOW_SECS`), builds
//! the [`Shop`] on the embedded default (in memory) or on PostgreSQL and Redis, seeds
//! the demo catalog into an empty store, mounts `commerce-http`, starts the workers
//! (notifications through RabbitMQ or in process; mail over SMTP or into the
//! in-memory mailbox shown at `/v1/dev/mailbox`) and serves until Ctrl-C or
//! SIGTERM, finishing the requests in flight.

mod config;
mod demo;
mod gateway;
mod serve;
mod workers;

use std::sync::Arc;

use async_trait::async_trait;
use commerce::Shop;
use commerce::core::{CustomerId, ProductId};
use commerce_http::{AppState, HttpConfig, Probe, WebhookSecret, WorkerBoard};
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

/// The in-memory mailbox as the HTTP layer shows it.
struct DemoMailbox(Arc<commerce::notify::MemoryMailbox>);

impl commerce_http::Mailbox for DemoMailbox {
    fn latest(&self, limit: usize) -> Vec<commerce_http::MailMessage> {
        self.0
            .latest(limit)
            .into_iter()
            .map(|m| commerce_http::MailMessage {
                message_id: m.message_id,
                to: m.to,
                from: m.from,
                subject: m.subject,
                text: m.text,
                html: m.html,
            })
            .collect()
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
    if let Some(file) = &config.clock_offset_file {
        builder = builder.clock(offset_clock(file.clone()));
    }
    if let Some(url) = &config.payment_gateway_url {
        builder = builder.payments(Arc::new(gateway::HttpGateway::new(url)?));
    }
    let mut backends = Vec::new();
    if let Some(url) = &config.database_url {
        let stores = commerce::postgres::PgStores::connect(url).await?;
        stores.migrate().await?;
        // Recommendation lists are served from process memory, kept true by this
        // instance's cache consumer (started with the other workers).
        builder = builder
            .postgres(&stores)
            .recommend_cache(commerce::recommend::CacheConfig::default());
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

/// The demo customer's login, printed at start.
const DEMO_EMAIL: &str = "demo@example.com";
/// The demo customer's password (a demo: printed, not secret).
const DEMO_PASSWORD: &str = "demo-password";

/// The demo customer (an account with [`DEMO_PASSWORD`]) and a session for them;
/// returns their id and the session token.
async fn demo_customer(shop: &Shop) -> Result<(CustomerId, String)> {
    let now = shop.clock().now();
    let id = match shop.customers().customer_by_email(DEMO_EMAIL).await? {
        Some(c) => c.id,
        None => {
            shop.accounts()
                .register(DEMO_EMAIL, "Demo Customer", DEMO_PASSWORD, now)
                .await?
                .id
        }
    };
    if shop.credentials().credentials(id).await?.is_none() {
        let hash = commerce::core::accounts::hash_password(DEMO_PASSWORD)?;
        shop.credentials().set_password_hash(id, &hash).await?;
    }
    let session = shop
        .sessions()
        .create(id, chrono::Duration::days(7), now)
        .await?;
    Ok((id, session.token.as_str().to_owned()))
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
    let (shop, mut backends) = build_shop(&config).await?;
    // The configured tax, shipping and promotion tables, unless admins changed them.
    shop.seed_pricing_tables().await?;
    let (demo_id, token) = demo_customer(&shop).await?;
    if config.demo && demo::catalog_is_empty(shop.catalog().as_ref()).await? {
        let (count, sellers) = demo::seed(&shop).await?;
        let names: Vec<&str> = sellers.iter().map(|s| s.slug.as_str()).collect();
        tracing::info!(products = count, sellers = ?names, "demo catalog seeded");
        let reviews = demo::seed_reviews(&shop).await?;
        tracing::info!(reviews, "demo reviews seeded");
        let history = demo::seed_history(&shop, &[demo_id], config.demo_orders).await?;
        tracing::info!(
            orders = history.orders,
            cancelled = history.cancelled,
            refunded = history.refunded,
            "demo order history placed"
        );
    }
    let staff = demo::staff(&shop).await?;
    let board = WorkerBoard::default();
    let (webhook_secret, secret_generated) = match &config.carrier_webhook_secret {
        Some(s) => (s.clone(), false),
        None => (
            commerce::core::auth::SessionToken::generate()?
                .as_str()
                .to_owned(),
            true,
        ),
    };
    let mail = commerce::notify::email_from_env()?;
    let login_window = chrono::Duration::from_std(config.login_limits.2)?;
    let mut state = AppState::new(
        shop.clone(),
        HttpConfig::default()
            .with_cdn_base_url(config.cdn_base_url.clone())
            .with_cors_origins(config.cors_origins.clone())
            .with_carrier_webhook_secret(WebhookSecret::new(webhook_secret.as_bytes()))
            .with_login_limits(
                commerce::core::auth::RateLimit::new(config.login_limits.0, login_window)?,
                commerce::core::auth::RateLimit::new(config.login_limits.1, login_window)?,
            ),
    )
    .with_workers(board.clone());
    if let Some(mailbox) = &mail.mailbox {
        state = state.with_mailbox(Arc::new(DemoMailbox(mailbox.clone())));
    }
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
    // This instance's name: its outbox groups (search index, product cache) are
    // its own, so every instance's in-memory copies see every event.
    let instance = config
        .instance_id
        .clone()
        .unwrap_or_else(|| addr.to_string());
    // Product details are served from memory, evicted by the outbox consumer below
    // (a group per instance: every instance's cache sees every event).
    let product_cache = Arc::new(commerce_http::cache::ProductCache::default());
    state = state.with_product_cache(product_cache.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut handles = vec![workers::start_indexer(
        shop.clone(),
        search,
        board.clone(),
        config.worker_every,
        &instance,
        stop_rx.clone(),
    )];
    handles.extend(workers::start_recommendations(
        shop.clone(),
        &instance,
        board.clone(),
        config.worker_every,
        stop_rx.clone(),
    ));
    let cache_config = commerce::core::RunnerConfig::default().with_batch(workers::CACHE_BATCH);
    handles.push(workers::start_consumer_with(
        shop.clone(),
        commerce_http::cache::ProductCacheInvalidator::new(
            format!("product_cache.{instance}"),
            product_cache,
        ),
        cache_config,
        "cache_invalidation",
        board.clone(),
        config.worker_every,
        stop_rx.clone(),
    ));
    // Drops this instance's cached pricing tables when any instance changes them.
    handles.push(workers::start_consumer_with(
        shop.clone(),
        shop.pricing_cache_consumer(&instance),
        cache_config,
        "pricing_cache",
        board.clone(),
        config.worker_every,
        stop_rx.clone(),
    ));
    handles.extend(
        workers::start_notifications(
            shop.clone(),
            mail.transport.clone(),
            &config,
            board.clone(),
            stop_rx.clone(),
        )
        .await?,
    );
    if config.amqp_url.is_some() {
        backends.push("rabbitmq");
    }
    handles.push(workers::start_pruner(
        shop.clone(),
        config.pruning,
        board.clone(),
        stop_rx.clone(),
    ));
    handles.extend(workers::start(shop, board, config.worker_every, stop_rx));
    let backend = if backends.is_empty() {
        "in memory".to_owned()
    } else {
        backends.join(" + ")
    };
    println!("commerce platform listening on http://{addr} ({backend})");
    println!("  the shop:      http://{addr}/");
    println!("  API docs:      http://{addr}/docs   (OpenAPI: http://{addr}/openapi.json)");
    println!("  demo customer: {DEMO_EMAIL} / {DEMO_PASSWORD}, bearer token {token}");
    for login in &staff {
        println!(
            "  demo {}: {} / {}, bearer token {}",
            login.label, login.email, login.password, login.token
        );
    }
    if mail.mailbox.is_some() {
        println!(
            "  mail:          in memory, at http://{addr}/v1/dev/mailbox (set SMTP_URL to send)"
        );
    }
    if secret_generated {
        println!(
            "  carrier webhooks: POST /v1/carriers/{{carrier}}/webhook signed with {webhook_secret} (set CARRIER_WEBHOOK_SECRET)"
        );
    }
    // The JSON API and, at `/`, the shop's pages over the same state; the peer
    // address reaches handlers (per-address login limits): the serve loop gives
    // every request its connection's ConnectInfo.
    let app = commerce_http::router(state.clone()).merge(commerce_http::pages::router(state));
    serve::serve(listener, app, config.header_read_timeout, shutdown_signal()).await;
    let _ = stop_tx.send(true);
    for h in handles {
        let _ = h.await;
    }
    Ok(())
}

/// The shop's clock for fault tests (`CLOCK_OFFSET_FILE`): the system clock plus the
/// milliseconds `file` holds, read every 200 ms (missing or malformed: unchanged).
fn offset_clock(file: std::path::PathBuf) -> Arc<dyn commerce::core::Clock> {
    let clock = Arc::new(commerce::core::OffsetClock::new());
    let shifted = clock.clone();
    tokio::spawn(async move {
        loop {
            if let Ok(text) = tokio::fs::read_to_string(&file).await
                && let Ok(ms) = text.trim().parse::<i64>()
            {
                shifted.set_offset(chrono::Duration::milliseconds(ms));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    clock
}
