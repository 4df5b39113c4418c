//! The in-process path: without `AMQP_URL`, the same [`EventHandler`] reads the
//! outbox directly, driven by core's one outbox runner ([`Runner`]): claim a batch
//! for the consumer group, handle its events, ack.
//!
//! **Several events at once.** A batch's events are handled concurrently, at most
//! [`DEFAULT_CONCURRENCY`] at a time ([`NotificationConsumer::with_concurrency`]):
//! each send waits mostly on the SMTP server (one conversation is ~45 ms on
//! loopback), so one at a time a group falls behind a busy shop. The events of one
//! aggregate (an order) stay in order, one after the other. The runner acknowledges
//! the leading events that succeeded; events after a failure that were handled
//! meanwhile are handled again with the failed one (their delivery records make that
//! a no-op), so delivery stays at least once and each message is sent once.
//!
//! A retryable failure ([`crate::NotifyError::is_retryable`], a message in flight
//! included) is retried with backoff; after [`RunnerConfig::max_attempts`] failures,
//! or at once for a failure that is final (a malformed event, an unknown outcome on
//! a channel whose resends are not deduplicated), the event is parked:
//! acknowledged, kept in [`Runner::parked`] with its error and reported as an
//! `outbox.event_parked` event, the in-process form of the dead-letter queue.
//!
//! **The retry budget** of notifications ([`MAX_ATTEMPTS`], [`FIRST_BACKOFF`]
//! doubling, at most [`MAX_BACKOFF`]; [`runner_config`] in process, the same numbers
//! for the RabbitMQ notification queue) spans [`retry_span`] (127 s) from the first
//! attempt to the last, so an event redelivered while its mail's claim is younger
//! than the handler's `resend_after` (default 30 s) comes back after the claim is
//! old enough and the mail is taken over, before the event is parked or
//! dead-lettered (unless it had already failed six times before the crash).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use commerce_core::EventEnvelope;
use commerce_core::ports::{Outbox, OutboxEntry};
use commerce_core::worker::{BatchOutcome, EventConsumer, Runner, RunnerConfig};
use futures::StreamExt;

use crate::handler::EventHandler;

/// Attempts of one notification event before it is parked (in process) or
/// dead-lettered (RabbitMQ).
pub const MAX_ATTEMPTS: u32 = 8;

/// The wait before the first retry; it doubles with each further one.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait between two attempts: the doubling's last step (64 s).
pub const MAX_BACKOFF: Duration = Duration::from_secs(64);

/// The outbox runner configuration of notifications: [`RunnerConfig::default`]
/// (30 s leases) with batches of [`BATCH`] and the notification retry budget (see
/// the module docs).
pub fn runner_config() -> RunnerConfig {
    RunnerConfig::default()
        .with_batch(BATCH)
        .with_max_attempts(MAX_ATTEMPTS)
        .with_backoff(FIRST_BACKOFF, MAX_BACKOFF)
}

/// Events the in-process notification runner claims at once. The group reads every
/// event of the outbox (about 11 per order) and one in ten or so sends a message; a
/// batch ends when its slowest chain of sends does, so a larger batch spreads that
/// wait over more events. At 100 the group fell behind a soak of 92 checkouts a
/// second (about 1,050 events/s) by 100 events a second.
pub const BATCH: u32 = 500;

/// The time from an event's first attempt to its last under the notification
/// budget (127 s): the sum of the waits between them.
pub fn retry_span() -> Duration {
    (1..MAX_ATTEMPTS)
        .map(|k| {
            FIRST_BACKOFF
                .saturating_mul(1_u32 << (k - 1).min(16))
                .min(MAX_BACKOFF)
        })
        .sum()
}

/// Events a [`NotificationConsumer`] handles at once by default. A send waits on
/// the database (audience, delivery log) and the mail server far more than it
/// works: in a 10-minute soak of the release example (about 185 checkouts a second,
/// one message per order) the group fell behind by up to 120 events a second at 16
/// and kept up at 32 (lag under 400).
pub const DEFAULT_CONCURRENCY: usize = 32;

/// An [`EventHandler`] as an outbox consumer of one group.
pub struct NotificationConsumer {
    handler: Arc<dyn EventHandler>,
    group: String,
    concurrency: usize,
}

impl std::fmt::Debug for NotificationConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationConsumer")
            .field("group", &self.group)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl NotificationConsumer {
    /// `handler` consuming group `group` (e.g. `notifications`), handling up to
    /// [`DEFAULT_CONCURRENCY`] events at once.
    pub fn new(handler: Arc<dyn EventHandler>, group: &str) -> Self {
        NotificationConsumer {
            handler,
            group: group.to_owned(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Handling up to `concurrency` events at once (at least 1: one at a time).
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }
}

#[async_trait]
impl EventConsumer for NotificationConsumer {
    fn group(&self) -> &str {
        &self.group
    }

    async fn handle(&self, event: &EventEnvelope) -> commerce_core::Result<()> {
        match self.handler.handle(event).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_retryable() => Err(commerce_core::Error::unavailable(e)),
            Err(e) => Err(commerce_core::Error::backend(e)),
        }
    }

    /// The batch's events, up to `concurrency` at once, each aggregate's in order
    /// (see the module docs): the leading events done, and the error of the first
    /// that failed.
    async fn handle_batch(&self, entries: &[OutboxEntry]) -> BatchOutcome {
        // One chain per aggregate, its events in batch order.
        let mut chains: Vec<Vec<usize>> = Vec::new();
        let mut chain_of: HashMap<(&str, &str), usize> = HashMap::new();
        for (i, entry) in entries.iter().enumerate() {
            let aggregate = (
                entry.event.aggregate_type.as_str(),
                entry.event.aggregate_id.as_str(),
            );
            let chain = *chain_of.entry(aggregate).or_insert_with(|| {
                chains.push(Vec::new());
                chains.len() - 1
            });
            if let Some(c) = chains.get_mut(chain) {
                c.push(i);
            }
        }
        let outcomes: Vec<Vec<(usize, Option<commerce_core::Error>)>> =
            futures::stream::iter(chains)
                .map(|chain| async move {
                    let mut out = Vec::with_capacity(chain.len());
                    for i in chain {
                        let Some(entry) = entries.get(i) else {
                            continue;
                        };
                        match self.handle(&entry.event).await {
                            Ok(()) => out.push((i, None)),
                            Err(e) => {
                                // The aggregate's later events wait for this one.
                                out.push((i, Some(e)));
                                break;
                            }
                        }
                    }
                    out
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        let mut done = vec![false; entries.len()];
        let mut errors: BTreeMap<usize, commerce_core::Error> = BTreeMap::new();
        for (i, error) in outcomes.into_iter().flatten() {
            match error {
                None => {
                    if let Some(d) = done.get_mut(i) {
                        *d = true;
                    }
                }
                Some(e) => {
                    errors.insert(i, e);
                }
            }
        }
        match done.iter().position(|d| !d) {
            None => BatchOutcome::done(entries.len()),
            // The first event not done failed: an event not run waits for an
            // earlier one of its aggregate, which failed.
            Some(first) => BatchOutcome::failed(
                first,
                errors.remove(&first).unwrap_or_else(|| {
                    commerce_core::Error::unavailable("an earlier event of its aggregate failed")
                }),
            ),
        }
    }
}

/// The runner of `handler` on `outbox` as consumer group `group` (e.g.
/// `notifications`), with `config` ([`runner_config`]: batches of [`BATCH`], 30 s leases,
/// the notification retry budget). A long-running worker gives it a heartbeat and a
/// shorter lease (`Runner::with_heartbeat`, as the platform example does), so that a
/// killed holder's batch is taken over sooner than 30 s.
pub fn outbox_runner(
    outbox: Arc<dyn Outbox>,
    handler: Arc<dyn EventHandler>,
    group: &str,
    config: RunnerConfig,
) -> Runner {
    Runner::new(
        outbox,
        Arc::new(NotificationConsumer::new(handler, group)),
        config,
    )
}
