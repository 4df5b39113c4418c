//! A shop of several instances: our own PostgreSQL and Redis, the shared payment
//! gateway, and N processes of the example on them.

use std::sync::Arc;
use std::time::Duration;

use commerce::core::auth::SessionStore;
use commerce::core::ports::CustomerStore;
use commerce::core::{Customer, CustomerId};
use sqlx::PgPool;
use tokio::sync::Mutex;

use crate::Result;
use crate::gateway::SharedGateway;
use crate::platform::{Instance, Launch, build_example};
use crate::services::{CuttableProxy, Postgres, RabbitMq, Redis, TempDir, free_port};
use commerce::notify::smtp_sink::SmtpSink;

/// How to start the shop.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Number of server processes.
    pub instances: usize,
    /// Redis with an append-only file (carts and sessions survive a restart).
    pub redis_persistent: bool,
    /// Cadence of every worker (sweeper, recovery, indexer), milliseconds.
    pub worker_every_ms: u64,
    /// Reservation TTL, seconds.
    pub reservation_ttl_secs: u64,
    /// Recovery grace, seconds.
    pub recovery_grace_secs: u64,
    /// How long a client may take to send a request head, seconds.
    pub header_read_timeout_secs: u64,
    /// Pruning (`PRUNE_EVERY_SECS`, `OUTBOX_GROUP_RETENTION_SECS`,
    /// `RESERVATION_RETENTION_SECS`), seconds; `None`: the example's defaults (a
    /// day's group retention, 30 days' reservations: nothing pruned in a run).
    pub pruning: Option<PruningOptions>,
    /// Login limits (`LOGIN_LIMIT_PER_ACCOUNT`, `LOGIN_LIMIT_PER_ADDRESS`,
    /// `LOGIN_WINDOW_SECS`): a short window, so the brute-force check sees it pass.
    pub login: LoginLimits,
    /// Notifications through a RabbitMQ node of the shop's own (`AMQP_URL`: the
    /// outbox relay publishes, the instances' queue workers consume); else each
    /// instance's in-process notification runner reads the outbox.
    pub rabbitmq: bool,
    /// How old a mail's claim without an outcome (a send cut by a kill) must be
    /// before a worker takes it over and resends it (`NOTIFY_RESEND_AFTER_SECS`),
    /// seconds: short, so that the run's settle sees the resends.
    pub notify_resend_after_secs: u64,
}

/// Login attempts allowed per account and per client address in one window.
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    /// Per account (email).
    pub per_account: u32,
    /// Per client address (every harness client is 127.0.0.1).
    pub per_address: u32,
    /// The window, seconds.
    pub window_secs: u64,
}

/// A pruning policy short enough to act within a run.
#[derive(Clone, Copy, Debug)]
pub struct PruningOptions {
    /// Cadence of the pruner, seconds.
    pub every_secs: u64,
    /// Outbox groups not seen for this long are dropped, seconds.
    pub group_retention_secs: u64,
    /// Finished reservations older than this are deleted, seconds.
    pub reservation_retention_secs: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            instances: 3,
            redis_persistent: false,
            worker_every_ms: 500,
            reservation_ttl_secs: 20,
            recovery_grace_secs: 4,
            header_read_timeout_secs: 3,
            notify_resend_after_secs: 3,
            pruning: None,
            login: LoginLimits {
                per_account: 5,
                per_address: 10,
                window_secs: 5,
            },
            rabbitmq: false,
        }
    }
}

/// The running shop.
pub struct Cluster {
    /// The options it was started with.
    pub options: ClusterOptions,
    /// Our PostgreSQL.
    pub postgres: Postgres,
    /// Our Redis.
    pub redis: Mutex<Redis>,
    /// Our RabbitMQ node, with [`ClusterOptions::rabbitmq`].
    pub rabbitmq: Option<Mutex<RabbitMq>>,
    /// The proxy the instances reach the RabbitMQ node through (their
    /// `AMQP_URL`): it cuts their connections with the broker up.
    pub amqp_proxy: Option<CuttableProxy>,
    /// The SMTP server every instance sends its mail to (`SMTP_URL`): what the
    /// notification check counts, whichever instance (killed since or not) sent.
    pub mail: SmtpSink,
    /// The payment gateway every instance shares.
    pub gateway: SharedGateway,
    /// The server processes.
    pub instances: Vec<Arc<Mutex<Instance>>>,
    /// Their addresses (stable across restarts).
    pub addrs: Vec<String>,
    /// A pool on our PostgreSQL for the checker and the faults.
    pub pool: PgPool,
    /// Logs of the instances.
    pub logs: TempDir,
    /// The instances' clock offset (`CLOCK_OFFSET_FILE`), milliseconds: the clock
    /// jumps of [`Cluster::set_clock_offset`].
    pub clock_offset_ms: std::sync::atomic::AtomicI64,
    /// Reservations seen active past their expiry plus the sweep interval right
    /// after a clock jump (the checker reports them).
    pub expiry_violations: std::sync::Mutex<Vec<String>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Builds the example, starts the services and the instances (the first alone,
    /// so it migrates and seeds the demo catalog; then the others together).
    pub async fn start(options: ClusterOptions) -> Result<Cluster> {
        let exe = build_example().await?;
        // The broker boots in seconds: meanwhile the other services start.
        let rabbitmq = options.rabbitmq.then(|| tokio::spawn(RabbitMq::start()));
        let postgres = Postgres::start().await?;
        let redis = Redis::start(options.redis_persistent).await?;
        let gateway = SharedGateway::start().await?;
        let mail = SmtpSink::start().await?;
        let rabbitmq = match rabbitmq {
            Some(starting) => Some(starting.await.map_err(|e| e.to_string())??),
            None => None,
        };
        let logs = TempDir::new("logs")?;
        let offset_file = logs.path().join("clock-offset-ms");
        let mut env: Vec<(String, String)> = vec![
            (
                "CLOCK_OFFSET_FILE".into(),
                offset_file.display().to_string(),
            ),
            (
                "LOGIN_LIMIT_PER_ACCOUNT".into(),
                options.login.per_account.to_string(),
            ),
            (
                "LOGIN_LIMIT_PER_ADDRESS".into(),
                options.login.per_address.to_string(),
            ),
            (
                "LOGIN_WINDOW_SECS".into(),
                options.login.window_secs.to_string(),
            ),
        ];
        let amqp_proxy = match &rabbitmq {
            Some(node) => Some(CuttableProxy::to(node.addr()).await?),
            None => None,
        };
        if let Some(proxy) = &amqp_proxy {
            env.push((
                "AMQP_URL".into(),
                format!("amqp://guest:guest@{}/%2f", proxy.addr()),
            ));
            // Two consumers per instance: the queue is shared by every instance.
            env.push(("NOTIFICATION_WORKERS".into(), "2".into()));
        }
        if let Some(p) = options.pruning {
            env.push(("PRUNE_EVERY_SECS".into(), p.every_secs.to_string()));
            env.push((
                "OUTBOX_GROUP_RETENTION_SECS".into(),
                p.group_retention_secs.to_string(),
            ));
            env.push((
                "RESERVATION_RETENTION_SECS".into(),
                p.reservation_retention_secs.to_string(),
            ));
        }
        let launch = Launch {
            exe,
            env: vec![
                ("DATABASE_URL".into(), postgres.url()),
                ("REDIS_URL".into(), redis.url()),
                ("PAYMENT_GATEWAY_URL".into(), gateway.url().to_owned()),
                ("SMTP_URL".into(), mail.url()),
                (
                    "WORKER_EVERY_MS".into(),
                    options.worker_every_ms.to_string(),
                ),
                (
                    "RESERVATION_TTL_SECS".into(),
                    options.reservation_ttl_secs.to_string(),
                ),
                (
                    "RECOVERY_GRACE_SECS".into(),
                    options.recovery_grace_secs.to_string(),
                ),
                (
                    "HEADER_READ_TIMEOUT_SECS".into(),
                    options.header_read_timeout_secs.to_string(),
                ),
                (
                    "NOTIFY_RESEND_AFTER_SECS".into(),
                    options.notify_resend_after_secs.to_string(),
                ),
                // The checker counts every order, payment and unit against the
                // workload's own; the demo's past orders would be strangers to it.
                ("DEMO_ORDERS".into(), "0".into()),
                ("RUST_LOG".into(), "warn".into()),
            ]
            .into_iter()
            .chain(env)
            .collect(),
            log_dir: logs.path().to_path_buf(),
        };
        let mut ports = Vec::new();
        for _ in 0..options.instances.max(1) {
            ports.push(free_port()?);
        }
        let first = Instance::start(&launch, 0, ports[0]).await?;
        let mut starting = Vec::new();
        for (i, port) in ports.iter().enumerate().skip(1) {
            let launch = launch.clone();
            let port = *port;
            starting.push(tokio::spawn(async move {
                Instance::start(&launch, i, port).await
            }));
        }
        let mut instances = vec![first];
        for s in starting {
            instances.push(s.await.map_err(|e| e.to_string())??);
        }
        let addrs = instances.iter().map(|i| i.addr.clone()).collect();
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect_with(
                postgres
                    .url()
                    .parse::<sqlx::postgres::PgConnectOptions>()?
                    .application_name("chaos"),
            )
            .await?;
        Ok(Cluster {
            options,
            postgres,
            redis: Mutex::new(redis),
            rabbitmq: rabbitmq.map(Mutex::new),
            amqp_proxy,
            mail,
            gateway,
            instances: instances
                .into_iter()
                .map(|i| Arc::new(Mutex::new(i)))
                .collect(),
            addrs,
            pool,
            logs,
            clock_offset_ms: std::sync::atomic::AtomicI64::new(0),
            expiry_violations: std::sync::Mutex::default(),
        })
    }

    /// Shifts every instance's clock to the system time plus `offset_ms` (a jump
    /// forward or back from the current offset); they read it within 200 ms.
    pub async fn set_clock_offset(&self, offset_ms: i64) -> Result<()> {
        let path = self.logs.path().join("clock-offset-ms");
        let tmp = self.logs.path().join("clock-offset-ms.tmp");
        std::fs::write(&tmp, offset_ms.to_string())?;
        std::fs::rename(&tmp, &path)?;
        self.clock_offset_ms
            .store(offset_ms, std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok(())
    }

    /// The instances' current clock offset, milliseconds.
    pub fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A fresh pool (after a PostgreSQL restart the old one may hold dead
    /// connections for a moment; sqlx replaces them, this just waits for it).
    pub async fn wait_for_postgres(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if sqlx::query("SELECT 1").execute(&self.pool).await.is_ok() {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err("PostgreSQL did not come back".into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `n` customers, each with a session valid for a day (made through the same
    /// stores the platform uses: the API has no sign-up route yet).
    pub async fn customers(&self, n: usize) -> Result<Vec<(CustomerId, String)>> {
        use commerce::redis::{KeyPrefix, RedisConnection, RedisSessionStore};
        let stores = commerce::postgres::PgStores::connect(&self.postgres.url()).await?;
        let customers = stores.customers();
        let conn = RedisConnection::connect(&self.redis.lock().await.url()).await?;
        let sessions = RedisSessionStore::new(conn, KeyPrefix::new(KeyPrefix::DEFAULT)?);
        let now = chrono::Utc::now();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let id = CustomerId::new();
            customers
                .create_customer(&Customer {
                    id,
                    email: format!("shopper-{i}-{id}@chaos.example"),
                    name: format!("Shopper {i}"),
                    created_at: now,
                })
                .await?;
            let session = sessions.create(id, chrono::Duration::days(1), now).await?;
            out.push((id, session.token.as_str().to_owned()));
        }
        Ok(out)
    }

    /// SKUs of active products with stock: the first is made the hot SKU with
    /// `hot_stock` units on hand, the rest keep their stock. Returns the SKUs.
    pub async fn pick_skus(&self, count: i64, hot_stock: i64) -> Result<Vec<String>> {
        let skus: Vec<String> = sqlx::query_scalar(
            "SELECT s.sku FROM commerce.stock_levels s
               JOIN commerce.variants v ON v.sku = s.sku
               JOIN commerce.products p ON p.id = v.product_id
              WHERE p.status = 'active' AND s.on_hand - s.reserved >= 50
              ORDER BY s.sku LIMIT $1",
        )
        .bind(count)
        .fetch_all(&self.pool)
        .await?;
        let hot = skus
            .first()
            .ok_or("no SKU with stock in the demo catalog")?;
        sqlx::query(
            "UPDATE commerce.stock_levels SET on_hand = $2 WHERE sku = $1 AND reserved = 0",
        )
        .bind(hot)
        .bind(hot_stock)
        .execute(&self.pool)
        .await?;
        Ok(skus)
    }

    /// Kills instance `i` with SIGKILL.
    pub async fn kill(&self, i: usize) {
        if let Some(instance) = self.instances.get(i) {
            instance.lock().await.kill().await;
        }
    }

    /// Starts instance `i` again.
    pub async fn restart(&self, i: usize) -> Result<()> {
        match self.instances.get(i) {
            Some(instance) => instance.lock().await.spawn().await,
            None => Err(format!("no instance {i}").into()),
        }
    }

    /// Process ids of the running instances.
    pub async fn pids(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for i in &self.instances {
            if let Some(pid) = i.lock().await.pid() {
                out.push(pid);
            }
        }
        out
    }

    /// Terminates a random share of the platform's PostgreSQL connections
    /// (`pg_terminate_backend`); returns how many.
    pub async fn terminate_backends(&self, share_percent: u32) -> Result<u64> {
        let killed: i64 = sqlx::query_scalar(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
               FROM pg_stat_activity
              WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
                AND application_name <> 'chaos'
                AND random() * 100 < $1",
        )
        .bind(f64::from(share_percent))
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(killed).unwrap_or(0))
    }
}
