//! The one runner every outbox consumer is driven by: claim a batch for the
//! consumer's group, hand it to the consumer in order, acknowledge what was handled,
//! and apply one failure policy.
//!
//! Consumers are idempotent per event id (a batch whose ack was lost is claimed again
//! when its lease runs out, and handled again), so the runner gives at-least-once
//! delivery and the consumer turns it into exactly-once effects.
//!
//! **Failure policy.** When the consumer fails on an event, the events before it are
//! acknowledged and the pass stops there. A retryable error ([`Error::is_retryable`])
//! is retried: the next pass waits [`Pass::retry_in`] (exponential backoff from
//! [`RunnerConfig::backoff`], at most [`RunnerConfig::max_backoff`]) and claims the
//! event again (at once when something before it was acknowledged, which ends the
//! lease; otherwise when its lease runs out). After [`RunnerConfig::max_attempts`]
//! failures, or at the first non-retryable one (retrying cannot help), the event is
//! **parked**: acknowledged, kept with its error in [`Runner::parked`], and reported
//! in the outbox as a [`PARKED_TOPIC`] event (group, position, event id and topic,
//! error, attempts) for operators and admin tools. The group moves on; nothing is
//! lost silently.
//!
//! **Leases.** A claim is held for [`RunnerConfig::lease`]; when the holder dies its
//! events wait that long before another worker takes them. A runner given the
//! runtime's timer ([`Runner::with_heartbeat`]) extends its lease every third of
//! the lease while it handles the batch ([`Outbox::extend`]), so the lease can be a
//! few seconds however long a batch takes: a dead holder stalls its group for at
//! most one lease.
//!
//! The runner is runtime-agnostic: [`Runner::run`] takes the caller's sleep function
//! (`tokio::time::sleep`) and a stop future, [`Runner::with_heartbeat`] a [`Timer`].

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::event::EventEnvelope;
use crate::id::EventId;
use crate::ports::{LeaseId, Outbox, OutboxEntry};

/// The runtime's timer, for [`Runner::with_heartbeat`]: a future that completes
/// after the given time (with tokio:
/// `Arc::new(|d| Box::pin(tokio::time::sleep(d)))`).
pub type Timer = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Topic of the event the runner appends when it parks an event.
pub const PARKED_TOPIC: &str = "outbox.event_parked";

/// An outbox consumer: a type in the crate that owns its effect (analytics rollups,
/// search indexing, notifications...).
#[async_trait]
pub trait EventConsumer: Send + Sync {
    /// The consumer group name in the outbox (stable: it keys the group's position).
    fn group(&self) -> &str;

    /// Handles one event. Must be idempotent per `event.id`: handling an event a second
    /// time changes nothing. Events of topics the consumer does not use are ignored.
    async fn handle(&self, event: &EventEnvelope) -> Result<()>;

    /// Handles a claimed batch, in order. The default calls [`EventConsumer::handle`]
    /// on each entry and stops at the first failure. Override it to apply a batch at
    /// once (one index commit); on failure say how many leading entries are done.
    async fn handle_batch(&self, entries: &[OutboxEntry]) -> BatchOutcome {
        for (i, entry) in entries.iter().enumerate() {
            if let Err(error) = self.handle(&entry.event).await {
                return BatchOutcome::failed(i, error);
            }
        }
        BatchOutcome::done(entries.len())
    }
}

/// What [`EventConsumer::handle_batch`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// Leading entries handled (to acknowledge).
    pub handled: usize,
    /// The error of the entry right after them, when one failed.
    pub error: Option<Error>,
}

impl BatchOutcome {
    /// All `handled` entries are done.
    pub fn done(handled: usize) -> Self {
        BatchOutcome {
            handled,
            error: None,
        }
    }

    /// The first `handled` entries are done; the next one failed with `error`.
    pub fn failed(handled: usize, error: Error) -> Self {
        BatchOutcome {
            handled,
            error: Some(error),
        }
    }
}

/// How a runner claims, retries and parks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunnerConfig {
    /// Events per claim (at least 1).
    pub batch: u32,
    /// How long a claim is held before another worker may take it again.
    pub lease: Duration,
    /// Failures of one event before it is parked (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles with each further failure.
    pub backoff: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
    /// Wait of [`Runner::run`] after a pass that found nothing to do.
    pub idle: Duration,
}

impl Default for RunnerConfig {
    /// Batches of 100, 30 s leases, 5 attempts, backoff 100 ms doubling up to 30 s,
    /// 100 ms idle wait.
    fn default() -> Self {
        RunnerConfig {
            batch: 100,
            lease: Duration::from_secs(30),
            max_attempts: 5,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            idle: Duration::from_millis(100),
        }
    }
}

impl RunnerConfig {
    /// With `batch` events per claim.
    #[must_use]
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// With claims held for `lease`.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// With `max_attempts` failures of an event before it is parked.
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// With retries waiting `backoff`, doubling, at most `max_backoff`.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Duration, max_backoff: Duration) -> Self {
        self.backoff = backoff;
        self.max_backoff = max_backoff.max(backoff);
        self
    }

    /// With [`Runner::run`] waiting `idle` when there is nothing to do.
    #[must_use]
    pub fn with_idle(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// The wait before retry number `attempts` (1: the first retry).
    fn retry_wait(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        self.backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// An event the runner gave up on (see the module docs).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ParkedEvent {
    /// The consumer group that failed on it.
    pub group: String,
    /// Its position in the outbox.
    pub seq: u64,
    /// The event.
    pub event: EventEnvelope,
    /// The last error, as text.
    pub error: String,
    /// Failures before it was parked.
    pub attempts: u32,
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pass {
    /// Events handled and acknowledged.
    pub handled: usize,
    /// Events parked (acknowledged without their effect, see [`Runner::parked`]).
    pub parked: usize,
    /// Set when an event failed and will be retried: wait this long first.
    pub retry_in: Option<Duration>,
}

impl Pass {
    /// Whether the pass made progress (so another may follow at once).
    pub fn progressed(&self) -> bool {
        self.retry_in.is_none() && self.handled + self.parked > 0
    }
}

/// The failing event and its attempts so far; parked events.
#[derive(Debug, Default)]
struct Failures {
    failing: Option<(u64, u32)>,
    parked: Vec<ParkedEvent>,
}

/// Drives one [`EventConsumer`] from an [`Outbox`] (see the module docs). Keeps the
/// attempts of the failing event across passes, so use one runner per worker.
#[derive(Clone)]
pub struct Runner {
    outbox: Arc<dyn Outbox>,
    consumer: Arc<dyn EventConsumer>,
    config: RunnerConfig,
    clock: Arc<dyn Clock>,
    heartbeat: Option<Timer>,
    failures: Arc<Mutex<Failures>>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("group", &self.consumer.group())
            .field("config", &self.config)
            .field("heartbeat", &self.heartbeat.is_some())
            .finish_non_exhaustive()
    }
}

fn lock(m: &Mutex<Failures>) -> MutexGuard<'_, Failures> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Runner {
    /// A runner for `consumer` reading `outbox` with `config`.
    pub fn new(
        outbox: Arc<dyn Outbox>,
        consumer: Arc<dyn EventConsumer>,
        config: RunnerConfig,
    ) -> Self {
        Runner {
            outbox,
            consumer,
            config,
            clock: Arc::new(SystemClock),
            heartbeat: None,
            failures: Arc::default(),
        }
    }

    /// With `config` in place of the one it was built with (e.g. a shorter lease
    /// for a runner built by an adapter).
    #[must_use]
    pub fn with_config(mut self, config: RunnerConfig) -> Self {
        self.config = config;
        self
    }

    /// With a heartbeat on `timer`: while a claimed batch is handled, its lease is
    /// extended by [`RunnerConfig::lease`] every third of the lease, so a short lease
    /// (a dead worker's events are taken over soon) does not run out under a slow
    /// batch. Without it, the lease must outlast the slowest batch.
    #[must_use]
    pub fn with_heartbeat(mut self, timer: Timer) -> Self {
        self.heartbeat = Some(timer);
        self
    }

    /// With parked-event reports stamped by `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        self.consumer.group()
    }

    /// Registers the group with the outbox ([`Outbox::join`]) before a first claim,
    /// so that a prune meanwhile keeps the events it has not read.
    pub async fn join(&self) -> Result<()> {
        self.outbox.join(self.consumer.group()).await
    }

    /// The configuration.
    pub fn config(&self) -> RunnerConfig {
        self.config
    }

    /// Events this runner parked, oldest first.
    pub fn parked(&self) -> Vec<ParkedEvent> {
        lock(&self.failures).parked.clone()
    }

    /// One pass: claims a batch, handles it, acknowledges, applies the failure
    /// policy. `Err` only when the outbox itself failed (claim, ack, append).
    pub async fn run_once(&self) -> Result<Pass> {
        pass(
            self.outbox.as_ref(),
            self.consumer.as_ref(),
            self.config,
            self.clock.as_ref(),
            self.heartbeat.as_ref(),
            &self.failures,
        )
        .await
    }

    /// Passes until a claim comes back empty; the events handled (parked ones not
    /// counted). Stops at the first retry with the consumer's error. For tests and
    /// catch-up at start-up.
    pub async fn drain(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            let pass = self.run_once().await?;
            total += pass.handled;
            if pass.retry_in.is_some() {
                let last = lock(&self.failures).failing;
                return Err(Error::unavailable(format!(
                    "consumer {} failed on event at {:?}; will retry",
                    self.group(),
                    last.map(|(seq, _)| seq)
                )));
            }
            if pass.handled + pass.parked == 0 {
                return Ok(total);
            }
        }
    }

    /// Runs passes until `stop` resolves: straight on after progress, `retry_in`
    /// after a failure, [`RunnerConfig::idle`] when there was nothing to do or the
    /// outbox failed. `sleep` is the runtime's timer (`tokio::time::sleep`); `report`
    /// sees every pass (for a status board).
    pub async fn run<S, F>(
        &self,
        sleep: impl Fn(Duration) -> S,
        mut report: impl FnMut(&Result<Pass>),
        stop: F,
    ) where
        S: Future<Output = ()>,
        F: Future<Output = ()>,
    {
        let mut stop = pin!(stop);
        loop {
            let outcome = self.run_once().await;
            report(&outcome);
            let wait = match &outcome {
                Ok(p) if p.progressed() => None,
                Ok(p) => Some(p.retry_in.unwrap_or(self.config.idle)),
                Err(_) => Some(self.config.idle),
            };
            let wait = wait.unwrap_or(Duration::ZERO);
            let mut nap = pin!(sleep(wait));
            let stopped = std::future::poll_fn(|cx| {
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(true);
                }
                nap.as_mut().poll(cx).map(|()| false)
            })
            .await;
            if stopped {
                return;
            }
        }
    }
}

/// One pass of [`Runner`] with a fresh failure record: claims a batch for
/// `consumer`'s group, handles it and acknowledges what was handled (the failure
/// policy applies, with attempts counted within this call only). Returns the events
/// handled; the consumer's error when an event failed and will be retried.
pub async fn run_once(
    outbox: &dyn Outbox,
    consumer: &dyn EventConsumer,
    config: RunnerConfig,
) -> Result<usize> {
    let failures = Mutex::default();
    let p = pass(outbox, consumer, config, &SystemClock, None, &failures).await?;
    match lock(&failures).failing {
        Some((seq, _)) if p.retry_in.is_some() => Err(Error::unavailable(format!(
            "consumer {} failed on event at {seq}; will retry",
            consumer.group()
        ))),
        _ => Ok(p.handled),
    }
}

/// Runs [`run_once`] until a claim comes back empty; returns the events handled.
/// For tests and catch-up at start-up; a long-running worker uses a [`Runner`].
pub async fn drain(
    outbox: &dyn Outbox,
    consumer: &dyn EventConsumer,
    config: RunnerConfig,
) -> Result<usize> {
    let failures = Mutex::default();
    let mut total = 0;
    loop {
        let p = pass(outbox, consumer, config, &SystemClock, None, &failures).await?;
        total += p.handled;
        if p.retry_in.is_some() {
            return Err(Error::unavailable(format!(
                "consumer {} failed; will retry",
                consumer.group()
            )));
        }
        if p.handled + p.parked == 0 {
            return Ok(total);
        }
    }
}

/// The pass every entry point runs.
async fn pass(
    outbox: &dyn Outbox,
    consumer: &dyn EventConsumer,
    config: RunnerConfig,
    clock: &dyn Clock,
    heartbeat: Option<&Timer>,
    failures: &Mutex<Failures>,
) -> Result<Pass> {
    let group = consumer.group();
    let claimed = outbox
        .claim_leased(group, config.batch.max(1), config.lease)
        .await?;
    let Some(lease) = claimed.lease else {
        return Ok(Pass::default());
    };
    let handling = handle_claim(outbox, consumer, config, clock, failures, &claimed.entries);
    let result = match heartbeat {
        Some(timer) => keeping_lease(handling, outbox, group, lease, config.lease, timer).await,
        None => handling.await,
    };
    if result.as_ref().map_or(true, |p| p.retry_in.is_some()) {
        // The pass failed or stopped at a retryable failure: give the lease back so
        // the next attempt (this runner's after its backoff, or another
        // instance's) need not wait it out. After an acknowledgement the lease has
        // already ended and this changes nothing; if the release fails too, the
        // lease runs out as before.
        let _released = outbox.release(group, lease).await;
    }
    result
}

/// Runs `work` to its end while keeping `lease` of `group` alive: every third of
/// `lease_for` it is extended by `lease_for` ([`Outbox::extend`]), until `work`
/// ends or the outbox says the lease has ended. A failed extension is tried again
/// at the next beat (the lease may run out meanwhile; the batch is then handled
/// again by its next holder, as after any lost lease). The runner's heartbeat
/// ([`Runner::with_heartbeat`]); also for a worker of its own that claims from the
/// outbox (the RabbitMQ relay).
pub async fn keeping_lease<T>(
    work: impl Future<Output = T>,
    outbox: &dyn Outbox,
    group: &str,
    lease: LeaseId,
    lease_for: Duration,
    timer: &Timer,
) -> T {
    let every = (lease_for / 3).max(Duration::from_millis(1));
    let beat = async {
        loop {
            timer(every).await;
            if let Ok(false) = outbox.extend(group, lease, lease_for).await {
                return;
            }
        }
    };
    let mut work = pin!(work);
    let mut beat = pin!(beat);
    let mut beating = true;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(done) = work.as_mut().poll(cx) {
            return Poll::Ready(done);
        }
        if beating && beat.as_mut().poll(cx).is_ready() {
            beating = false;
        }
        Poll::Pending
    })
    .await
}

/// Hands the claimed `entries` to `consumer`, parks what must be parked and
/// acknowledges what is done.
async fn handle_claim(
    outbox: &dyn Outbox,
    consumer: &dyn EventConsumer,
    config: RunnerConfig,
    clock: &dyn Clock,
    failures: &Mutex<Failures>,
    claimed: &[OutboxEntry],
) -> Result<Pass> {
    let group = consumer.group();
    let mut pass = Pass::default();
    let mut rest: &[OutboxEntry] = claimed;
    let mut last_done = None;
    while !rest.is_empty() {
        let outcome = consumer.handle_batch(rest).await;
        let handled = outcome.handled.min(rest.len());
        if handled > 0 {
            pass.handled += handled;
            last_done = Some(rest[handled - 1].seq);
            let mut f = lock(failures);
            if f.failing
                .is_some_and(|(seq, _)| seq <= rest[handled - 1].seq)
            {
                f.failing = None;
            }
        }
        let Some(error) = outcome.error else {
            break;
        };
        let Some(failed) = rest.get(handled) else {
            break;
        };
        let attempts = {
            let mut f = lock(failures);
            let attempts = match f.failing {
                Some((seq, n)) if seq == failed.seq => n + 1,
                _ => 1,
            };
            f.failing = Some((failed.seq, attempts));
            attempts
        };
        if error.is_retryable() && attempts < config.max_attempts.max(1) {
            pass.retry_in = Some(config.retry_wait(attempts));
            break;
        }
        park(outbox, group, failed, &error, attempts, clock, failures).await?;
        pass.parked += 1;
        last_done = Some(failed.seq);
        rest = &rest[handled + 1..];
    }
    if let Some(seq) = last_done {
        outbox.ack(group, seq).await?;
    }
    Ok(pass)
}

/// Records `entry` as parked: in the runner's list and, unless it is itself a
/// parked-event report, as a [`PARKED_TOPIC`] event in the outbox.
async fn park(
    outbox: &dyn Outbox,
    group: &str,
    entry: &OutboxEntry,
    error: &Error,
    attempts: u32,
    clock: &dyn Clock,
    failures: &Mutex<Failures>,
) -> Result<()> {
    let parked = ParkedEvent {
        group: group.to_owned(),
        seq: entry.seq,
        event: entry.event.clone(),
        error: error.to_string(),
        attempts,
    };
    if entry.event.topic != PARKED_TOPIC {
        let report = EventEnvelope {
            id: EventId::new(),
            topic: PARKED_TOPIC.to_owned(),
            aggregate_type: "outbox".to_owned(),
            aggregate_id: group.to_owned(),
            occurred_at: clock.now(),
            payload: json!({
                "group": group,
                "seq": entry.seq,
                "event_id": entry.event.id,
                "topic": entry.event.topic,
                "error": parked.error,
                "attempts": attempts,
            }),
        };
        outbox.append(&[report]).await?;
    }
    let mut f = lock(failures);
    f.failing = None;
    f.parked.push(parked);
    Ok(())
}
