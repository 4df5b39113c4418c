//! The in-process path: without `AMQP_URL`, the same [`EventHandler`] reads the
//! outbox directly, driven by core's one outbox runner ([`Runner`]): claim a batch
//! for the consumer group, handle each event, ack.
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

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use commerce_core::EventEnvelope;
use commerce_core::ports::Outbox;
use commerce_core::worker::{EventConsumer, Runner, RunnerConfig};

use crate::handler::EventHandler;

/// Attempts of one notification event before it is parked (in process) or
/// dead-lettered (RabbitMQ).
pub const MAX_ATTEMPTS: u32 = 8;

/// The wait before the first retry; it doubles with each further one.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait between two attempts: the doubling's last step (64 s).
pub const MAX_BACKOFF: Duration = Duration::from_secs(64);

/// The outbox runner configuration of notifications: [`RunnerConfig::default`]
/// (batches of 100, 30 s leases) with the notification retry budget (see the module
/// docs).
pub fn runner_config() -> RunnerConfig {
    RunnerConfig::default()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_backoff(FIRST_BACKOFF, MAX_BACKOFF)
}

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

/// An [`EventHandler`] as an outbox consumer of one group.
pub struct NotificationConsumer {
    handler: Arc<dyn EventHandler>,
    group: String,
}

impl std::fmt::Debug for NotificationConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationConsumer")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl NotificationConsumer {
    /// `handler` consuming group `group` (e.g. `notifications`).
    pub fn new(handler: Arc<dyn EventHandler>, group: &str) -> Self {
        NotificationConsumer {
            handler,
            group: group.to_owned(),
        }
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
}

/// The runner of `handler` on `outbox` as consumer group `group` (e.g.
/// `notifications`), with `config` ([`runner_config`]: batches of 100, 30 s leases,
/// the notification retry budget).
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
