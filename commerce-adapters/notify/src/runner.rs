//! The in-process path: without `AMQP_URL`, the same [`EventHandler`] reads the
//! outbox directly, driven by core's one outbox runner ([`Runner`]): claim a batch
//! for the consumer group, handle each event, ack.
//!
//! A retryable failure ([`crate::NotifyError::is_retryable`]) is retried with
//! backoff; after [`RunnerConfig::max_attempts`] failures, or at once for a failure
//! that is final (a malformed event, a send whose outcome is unknown), the event is
//! parked: acknowledged, kept in [`Runner::parked`] with its error and reported as an
//! `outbox.event_parked` event, the in-process form of the dead-letter queue.

use std::sync::Arc;

use async_trait::async_trait;
use commerce_core::EventEnvelope;
use commerce_core::ports::Outbox;
use commerce_core::worker::{EventConsumer, Runner, RunnerConfig};

use crate::handler::EventHandler;

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
/// `notifications`), with `config` (`RunnerConfig::default()`: batches of 100, 30 s
/// leases, 5 attempts).
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
