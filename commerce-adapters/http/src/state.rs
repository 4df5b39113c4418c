//! [`AppState`]: what every handler reaches: the [`Shop`], the HTTP configuration,
//! readiness probes and the workers' board.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use commerce::Shop;
use commerce::core::auth::RateLimit;
use commerce::core::search::ProductSearch;
use serde::Serialize;
use utoipa::ToSchema;

/// Configuration of the HTTP layer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Base URL image paths are served under (`https://cdn.example.com/shop`).
    pub cdn_base_url: String,
    /// Origins allowed by CORS; empty allows none (same origin only), `*` any.
    pub cors_origins: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Whether cookies carry `Secure` (true behind HTTPS).
    pub secure_cookies: bool,
    /// How long a session lasts after login.
    pub session_ttl: Duration,
    /// How long a guest cart cookie lasts.
    pub cart_ttl: Duration,
    /// A stock level at or below this (and above 0) shows as `low`.
    pub low_stock_threshold: u64,
    /// Whether the checkout page lists the simulated gateway's test cards (turn it
    /// off in front of a real gateway).
    pub show_test_cards: bool,
    /// Login attempts allowed per account (email) in a sliding window (default 5
    /// in 15 minutes); reset by a successful login.
    pub login_limit_per_account: RateLimit,
    /// Login (and password reset) attempts allowed per client address in a sliding
    /// window (default 50 in 15 minutes).
    pub login_limit_per_address: RateLimit,
    /// Base URL of the shop's pages, for links in mail (password reset).
    pub public_url: String,
    /// The secret carriers sign tracking webhooks with; without it the webhook
    /// route answers 401 to everything.
    pub carrier_webhook_secret: Option<WebhookSecret>,
}

/// A shared secret (its `Debug` shows no byte of it).
#[derive(Clone)]
pub struct WebhookSecret(Arc<[u8]>);

impl WebhookSecret {
    /// The secret `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        WebhookSecret(Arc::from(bytes.into()))
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            cdn_base_url: "/static".to_owned(),
            cors_origins: Vec::new(),
            body_limit: 64 * 1024,
            secure_cookies: false,
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            cart_ttl: Duration::from_secs(30 * 24 * 3600),
            low_stock_threshold: 5,
            show_test_cards: true,
            carrier_webhook_secret: None,
            login_limit_per_account: RateLimit {
                max_hits: 5,
                window: chrono::Duration::minutes(15),
            },
            login_limit_per_address: RateLimit {
                max_hits: 50,
                window: chrono::Duration::minutes(15),
            },
            public_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

impl HttpConfig {
    /// With the CDN base URL images are served under.
    #[must_use]
    pub fn with_cdn_base_url(mut self, url: impl Into<String>) -> Self {
        self.cdn_base_url = url.into();
        self
    }

    /// With the origins CORS allows.
    #[must_use]
    pub fn with_cors_origins(mut self, origins: Vec<String>) -> Self {
        self.cors_origins = origins;
        self
    }

    /// With the body size limit.
    #[must_use]
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// With the simulated gateway's test cards shown at checkout, or not.
    #[must_use]
    pub fn with_test_cards(mut self, show: bool) -> Self {
        self.show_test_cards = show;
        self
    }

    /// With the secret carriers sign tracking webhooks with.
    #[must_use]
    pub fn with_carrier_webhook_secret(mut self, secret: WebhookSecret) -> Self {
        self.carrier_webhook_secret = Some(secret);
        self
    }

    /// With login limits per account and per client address.
    #[must_use]
    pub fn with_login_limits(mut self, per_account: RateLimit, per_address: RateLimit) -> Self {
        self.login_limit_per_account = per_account;
        self.login_limit_per_address = per_address;
        self
    }

    /// With the base URL of the shop's pages (links in mail).
    #[must_use]
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = url.into();
        self
    }

    /// With `Secure` cookies.
    #[must_use]
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }
}

/// The progress of one background worker, shown at `/v1/admin/workers` and in
/// readiness details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[non_exhaustive]
pub struct WorkerStatus {
    /// Worker name (`expiry_sweeper`, `checkout_recovery`, ...).
    pub name: String,
    /// Cadence, in milliseconds.
    pub every_ms: u64,
    /// When the last pass finished.
    pub last_run: Option<DateTime<Utc>>,
    /// Items handled by the last pass.
    pub last_handled: u64,
    /// What is still to do after the last pass: for an outbox consumer, the events
    /// its group has not acknowledged; for a scheduled pass (sweeper, recovery), the
    /// items it found due and could not finish. `None` only before a first reading.
    pub lag: Option<u64>,
    /// Age of the oldest event not yet handled, in milliseconds (0 when caught
    /// up); `None` for a worker that does not consume the outbox.
    pub oldest_pending_age_ms: Option<u64>,
    /// The last error, until a pass succeeds.
    pub last_error: Option<String>,
    /// Passes that failed since the process started (kept by the board).
    pub failures: u64,
    /// When a pass last succeeded (kept by the board).
    pub last_success: Option<DateTime<Utc>>,
}

impl WorkerStatus {
    /// The status of a pass of worker `name` (cadence `every_ms`) that finished at
    /// `now`: `Ok(handled)` or the error. Lag fields start empty.
    pub fn pass(
        name: impl Into<String>,
        every_ms: u64,
        now: DateTime<Utc>,
        outcome: Result<u64, String>,
    ) -> Self {
        let (last_handled, last_error) = match outcome {
            Ok(n) => (n, None),
            Err(e) => (0, Some(e)),
        };
        WorkerStatus {
            name: name.into(),
            every_ms,
            last_run: Some(now),
            last_handled,
            lag: None,
            oldest_pending_age_ms: None,
            last_error,
            failures: 0,
            last_success: None,
        }
    }

    /// With the lag: `pending` items and the age of the oldest, when known.
    #[must_use]
    pub fn with_lag(mut self, pending: u64, oldest_age_ms: Option<u64>) -> Self {
        self.lag = Some(pending);
        self.oldest_pending_age_ms = oldest_age_ms;
        self
    }
}

/// Where workers report their progress; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct WorkerBoard {
    workers: Arc<RwLock<BTreeMap<String, WorkerStatus>>>,
}

impl WorkerBoard {
    /// Records the status of a worker (replacing its previous one). The board keeps
    /// the count of failed passes and when a pass last succeeded; a lag not measured
    /// this time (a failed pass) keeps the previous reading.
    pub fn report(&self, mut status: WorkerStatus) {
        let mut map = self.workers.write().unwrap_or_else(|p| p.into_inner());
        if let Some(previous) = map.get(&status.name) {
            status.failures = status.failures.max(previous.failures);
            status.last_success = status.last_success.or(previous.last_success);
            if status.lag.is_none() {
                status.lag = previous.lag;
                status.oldest_pending_age_ms = previous.oldest_pending_age_ms;
            }
        }
        if status.last_error.is_some() {
            status.failures += 1;
        } else {
            status.last_success = status.last_run.or(status.last_success);
        }
        map.insert(status.name.clone(), status);
    }

    /// Every worker's status, by name.
    pub fn snapshot(&self) -> Vec<WorkerStatus> {
        let map = self.workers.read().unwrap_or_else(|p| p.into_inner());
        map.values().cloned().collect()
    }
}

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// The shop.
    pub shop: Shop,
    /// HTTP configuration.
    pub config: Arc<HttpConfig>,
    /// Checks readiness runs (a database ping, a Redis ping...).
    pub probes: Arc<Vec<Arc<dyn Probe>>>,
    /// Background workers' progress.
    pub workers: WorkerBoard,
    /// Product search, when the shop has an index (search routes answer 503
    /// `search_unavailable` without one).
    pub search: Option<Arc<dyn ProductSearch>>,
    /// The in-memory mailbox mail goes to without SMTP, shown at `/v1/dev/mailbox`
    /// (404 without one).
    pub mailbox: Option<Arc<dyn Mailbox>>,
    /// The product details cache, when enabled (keep a
    /// [`crate::cache::ProductCacheInvalidator`] running over the outbox with it).
    pub product_cache: Option<Arc<crate::cache::ProductCache>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `shop` with `config`, no probes, an empty worker board. The shop's
    /// accounts hash passwords with [`crate::BlockingHasher`] (off the reactor).
    pub fn new(shop: Shop, config: HttpConfig) -> Self {
        AppState {
            shop: shop.with_password_hasher(Arc::new(crate::BlockingHasher)),
            config: Arc::new(config),
            probes: Arc::new(Vec::new()),
            workers: WorkerBoard::default(),
            search: None,
            mailbox: None,
            product_cache: None,
        }
    }

    /// Serves search from `search`.
    #[must_use]
    pub fn with_search(mut self, search: Arc<dyn ProductSearch>) -> Self {
        self.search = Some(search);
        self
    }

    /// Serves product details through `cache` (evicted by a
    /// [`crate::cache::ProductCacheInvalidator`] the caller runs).
    #[must_use]
    pub fn with_product_cache(mut self, cache: Arc<crate::cache::ProductCache>) -> Self {
        self.product_cache = Some(cache);
        self
    }

    /// Adds a readiness probe.
    #[must_use]
    pub fn with_probe(mut self, probe: Arc<dyn Probe>) -> Self {
        Arc::make_mut(&mut self.probes).push(probe);
        self
    }

    /// Shows `mailbox` at `/v1/dev/mailbox` (the demo's in-memory mail).
    #[must_use]
    pub fn with_mailbox(mut self, mailbox: Arc<dyn Mailbox>) -> Self {
        self.mailbox = Some(mailbox);
        self
    }

    /// Uses `board` for worker progress (shared with the workers).
    #[must_use]
    pub fn with_workers(mut self, board: WorkerBoard) -> Self {
        self.workers = board;
        self
    }
}

/// A readiness check of one required service: `Err` with a short reason while the
/// service is down.
#[async_trait]
pub trait Probe: Send + Sync {
    /// The service's name (`postgres`, `redis`).
    fn name(&self) -> &str;
    /// Checks the service.
    async fn check(&self) -> Result<(), String>;
}

/// One mail as the demo mailbox shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct MailMessage {
    /// Message-ID.
    pub message_id: String,
    /// Recipient.
    pub to: String,
    /// Sender.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// Mail kept in memory by the shop (the demo's mail transport without SMTP), read by
/// the dev mailbox route and page.
pub trait Mailbox: Send + Sync {
    /// The newest `limit` messages, newest first.
    fn latest(&self, limit: usize) -> Vec<MailMessage>;
}
