//! The platform's configuration: command line first, then environment.

use std::net::SocketAddr;
use std::time::Duration;

/// What the platform reads at start.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Address to listen on (`--bind`, else `0.0.0.0:$PORT`, else 127.0.0.1:8080).
    pub(crate) bind: SocketAddr,
    /// PostgreSQL for the system of record (`DATABASE_URL`); in memory when absent.
    pub(crate) database_url: Option<String>,
    /// Redis for carts, sessions and rate limits (`REDIS_URL`); in memory when absent.
    pub(crate) redis_url: Option<String>,
    /// Cadence of the workers (`--worker-every-ms`, `WORKER_EVERY_MS`, default 1000).
    pub(crate) worker_every: Duration,
    /// CDN base URL of images (`CDN_BASE_URL`).
    pub(crate) cdn_base_url: String,
    /// CORS origins, comma separated (`CORS_ORIGINS`).
    pub(crate) cors_origins: Vec<String>,
    /// Skip seeding the demo catalog (`--no-demo`).
    pub(crate) demo: bool,
    /// RabbitMQ for notifications (`AMQP_URL`): the outbox relay and queue workers;
    /// the in-process runner when absent.
    pub(crate) amqp_url: Option<String>,
    /// The secret carriers sign tracking webhooks with (`CARRIER_WEBHOOK_SECRET`);
    /// a random one, printed at start, when absent.
    pub(crate) carrier_webhook_secret: Option<String>,
    /// Sender of notification mail (`MAIL_FROM`, default `shop@example.com`).
    pub(crate) mail_from: String,
    /// Notification workers consuming the queue with `AMQP_URL`
    /// (`NOTIFICATION_WORKERS`, default 1).
    pub(crate) notification_workers: usize,
    /// How old a mail's claim without an outcome (a send cut by a crash) must be
    /// before a worker takes it over and sends the mail again, same Message-ID
    /// (`NOTIFY_RESEND_AFTER_SECS`, default 30: above the SMTP command timeout;
    /// the chaos harness shortens it).
    pub(crate) notify_resend_after: Duration,
    /// Past orders the demo places through the checkout into an empty shop
    /// (`DEMO_ORDERS`, default 60; 0 for none, as the chaos harness wants: its
    /// checker counts every order and unit against its own workload).
    pub(crate) demo_orders: usize,
    /// This instance's name among several serving one shop (`INSTANCE_ID`, default
    /// its listening address): it names the outbox groups of its in-process caches
    /// and search index. Must differ between instances (one shared group would give
    /// each event to one instance only) and stay the same across restarts.
    pub(crate) instance_id: Option<String>,
    /// A payment gateway shared by several instances, over HTTP
    /// (`PAYMENT_GATEWAY_URL`, see `gateway.rs`); the in-process simulated gateway
    /// when absent.
    pub(crate) payment_gateway_url: Option<String>,
    /// How long stock is held for a checkout (`RESERVATION_TTL_SECS`, default 15
    /// minutes).
    pub(crate) reservation_ttl: Option<Duration>,
    /// How long an order sits in `pending_payment` before the recovery pass
    /// resolves it (`RECOVERY_GRACE_SECS`, default 2 minutes).
    pub(crate) recovery_grace: Option<Duration>,
    /// How long a client may take to send a request head, and how long an idle
    /// keep-alive connection is kept (`HEADER_READ_TIMEOUT_SECS`, default 10).
    pub(crate) header_read_timeout: Duration,
    /// How the outbox and finished reservations are pruned (`PRUNE_EVERY_SECS`,
    /// `OUTBOX_GROUP_RETENTION_SECS`, `RESERVATION_RETENTION_SECS`).
    pub(crate) pruning: Pruning,
    /// Login attempts per account and per client address in one window
    /// (`LOGIN_LIMIT_PER_ACCOUNT` default 5, `LOGIN_LIMIT_PER_ADDRESS` default 50,
    /// `LOGIN_WINDOW_SECS` default 900): the chaos harness shortens the window to see
    /// it pass.
    pub(crate) login_limits: (u32, u32, Duration),
    /// For fault tests only (`CLOCK_OFFSET_FILE`): the shop's clock is the system
    /// clock plus the milliseconds this file holds, read every 200 ms (the chaos
    /// harness's clock jumps). Unset: the system clock.
    pub(crate) clock_offset_file: Option<std::path::PathBuf>,
}

/// The pruning policy the pruner worker runs (see `workers::start_pruner`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pruning {
    /// Cadence of the pruner (`PRUNE_EVERY_SECS`, default 60).
    pub(crate) every: Duration,
    /// An outbox consumer group not seen (no claim) for this long is dropped, so a
    /// killed instance's group no longer pins the outbox
    /// (`OUTBOX_GROUP_RETENTION_SECS`, default 1 day).
    pub(crate) group_retention: Duration,
    /// Reservations finished (committed, released, expired) longer ago than this are
    /// deleted (`RESERVATION_RETENTION_SECS`, default 30 days: longer than an order
    /// can be cancelled and restocked).
    pub(crate) reservation_retention: Duration,
}

/// The seconds in environment variable `name`, when set; at least 1.
fn env_secs(name: &str) -> Result<Option<Duration>, String> {
    match env(name) {
        None => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(Duration::from_secs(n))),
            _ => Err(format!(
                "{name} must be a positive number of seconds, not {v:?}"
            )),
        },
    }
}

/// The count in environment variable `name`, when set; 1 to 10 000.
fn env_count(name: &str) -> Result<Option<u32>, String> {
    match env(name) {
        None => Ok(None),
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(Some(n)),
            _ => Err(format!("{name} must be 1 to 10000, not {v:?}")),
        },
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads `args` (without the program name) and the environment.
    pub(crate) fn read(args: impl IntoIterator<Item = String>) -> Result<Config, String> {
        let mut bind = None;
        let mut every = env("WORKER_EVERY_MS");
        let mut demo = true;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bind" => bind = Some(args.next().ok_or("--bind needs an address")?),
                "--worker-every-ms" => {
                    every = Some(args.next().ok_or("--worker-every-ms needs a number")?)
                }
                "--no-demo" => demo = false,
                "--help" | "-h" => {
                    return Err("usage: platform [--bind ADDR:PORT] [--worker-every-ms N] [--no-demo]\n\
                                env: PORT, DATABASE_URL, REDIS_URL, AMQP_URL, SMTP_URL, MAIL_FROM, CARRIER_WEBHOOK_SECRET, NOTIFICATION_WORKERS, WORKER_EVERY_MS, CDN_BASE_URL, CORS_ORIGINS, INSTANCE_ID, DEMO_ORDERS,\n\
                                     PAYMENT_GATEWAY_URL, RESERVATION_TTL_SECS, RECOVERY_GRACE_SECS, HEADER_READ_TIMEOUT_SECS,\n\
                                     NOTIFY_RESEND_AFTER_SECS (default 30), PRUNE_EVERY_SECS (default 60), OUTBOX_GROUP_RETENTION_SECS (default 86400), RESERVATION_RETENTION_SECS (default 2592000),\n\
                                     LOGIN_LIMIT_PER_ACCOUNT (default 5), LOGIN_LIMIT_PER_ADDRESS (default 50), LOGIN_WINDOW_SECS (default 900)"
                        .to_owned());
                }
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        let bind = match (bind, env("PORT")) {
            (Some(b), _) => b,
            (None, Some(port)) => format!("0.0.0.0:{port}"),
            (None, None) => "127.0.0.1:8080".to_owned(),
        };
        let bind = bind
            .parse()
            .map_err(|e| format!("bad bind address {bind:?}: {e}"))?;
        let every_ms: u64 = match every {
            Some(v) => v
                .parse()
                .map_err(|e| format!("bad worker cadence {v:?}: {e}"))?,
            None => 1000,
        };
        if every_ms == 0 {
            return Err("the worker cadence must be at least 1 ms".to_owned());
        }
        let notification_workers: usize = match env("NOTIFICATION_WORKERS") {
            Some(v) => v
                .parse()
                .map_err(|e| format!("bad NOTIFICATION_WORKERS {v:?}: {e}"))?,
            None => 1,
        };
        let demo_orders: usize = match env("DEMO_ORDERS") {
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| *n <= 10_000)
                .ok_or_else(|| format!("DEMO_ORDERS must be 0 to 10000, not {v:?}"))?,
            None => crate::demo::HISTORY_ORDERS,
        };
        if notification_workers == 0 || notification_workers > 64 {
            return Err("NOTIFICATION_WORKERS must be 1 to 64".to_owned());
        }
        Ok(Config {
            bind,
            database_url: env("DATABASE_URL"),
            redis_url: env("REDIS_URL"),
            worker_every: Duration::from_millis(every_ms),
            cdn_base_url: env("CDN_BASE_URL").unwrap_or_else(|| "/static".to_owned()),
            cors_origins: env("CORS_ORIGINS")
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
                .unwrap_or_default(),
            demo,
            amqp_url: env("AMQP_URL"),
            carrier_webhook_secret: env("CARRIER_WEBHOOK_SECRET"),
            mail_from: env("MAIL_FROM").unwrap_or_else(|| "shop@example.com".to_owned()),
            notification_workers,
            notify_resend_after: env_secs("NOTIFY_RESEND_AFTER_SECS")?
                .unwrap_or(commerce::notify::DEFAULT_RESEND_AFTER),
            demo_orders,
            instance_id: env("INSTANCE_ID"),
            payment_gateway_url: env("PAYMENT_GATEWAY_URL"),
            reservation_ttl: env_secs("RESERVATION_TTL_SECS")?,
            recovery_grace: env_secs("RECOVERY_GRACE_SECS")?,
            header_read_timeout: env_secs("HEADER_READ_TIMEOUT_SECS")?
                .unwrap_or(Duration::from_secs(10)),
            clock_offset_file: env("CLOCK_OFFSET_FILE").map(std::path::PathBuf::from),
            login_limits: (
                env_count("LOGIN_LIMIT_PER_ACCOUNT")?.unwrap_or(5),
                env_count("LOGIN_LIMIT_PER_ADDRESS")?.unwrap_or(50),
                env_secs("LOGIN_WINDOW_SECS")?.unwrap_or(Duration::from_secs(900)),
            ),
            pruning: Pruning {
                every: env_secs("PRUNE_EVERY_SECS")?.unwrap_or(Duration::from_secs(60)),
                group_retention: env_secs("OUTBOX_GROUP_RETENTION_SECS")?
                    .unwrap_or(Duration::from_secs(24 * 3600)),
                reservation_retention: env_secs("RESERVATION_RETENTION_SECS")?
                    .unwrap_or(Duration::from_secs(30 * 24 * 3600)),
            },
        })
    }
}
