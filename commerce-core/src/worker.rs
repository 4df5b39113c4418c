//! The one small runner every outbox consumer is driven by: claim a batch for the
//! consumer's group, hand each event to the consumer in order, acknowledge.
//!
//! Consumers are idempotent per event id (a batch whose ack was lost is claimed again
//! when its lease runs out, and handled again), so the runner gives at-least-once
//! delivery and the consumer turns it into exactly-once effects.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;
use crate::event::EventEnvelope;
use crate::ports::Outbox;

/// An outbox consumer: a type in the crate that owns its effect (analytics rollups,
/// search indexing, notifications...).
#[async_trait]
pub trait EventConsumer: Send + Sync {
    /// The consumer group name in the outbox (stable: it keys the group's position).
    fn group(&self) -> &str;
    /// Handles one event. Must be idempotent per `event.id`: handling an event a second
    /// time changes nothing. Events of topics the consumer does not use are ignored.
    async fn handle(&self, event: &EventEnvelope) -> Result<()>;
}

/// How a runner claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunnerConfig {
    /// Events per claim (at least 1).
    pub batch: u32,
    /// How long a claim is held before another worker may take it again.
    pub lease: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            batch: 100,
            lease: Duration::from_secs(30),
        }
    }
}

/// Claims one batch for `consumer`'s group, handles it in order and acknowledges what
/// was handled. Returns the number of events handled (0: nothing new, or another
/// worker of the group holds the lease). When an event fails, the events before it
/// are acknowledged and the error is returned: the failed one is claimed again later.
pub async fn run_once(
    outbox: &dyn Outbox,
    consumer: &dyn EventConsumer,
    config: RunnerConfig,
) -> Result<usize> {
    let claimed = outbox
        .claim(consumer.group(), config.batch, config.lease)
        .await?;
    let mut last_done = None;
    let mut handled = 0;
    for entry in &claimed {
        if let Err(e) = consumer.handle(&entry.event).await {
            if let Some(seq) = last_done {
                outbox.ack(consumer.group(), seq).await?;
            }
            return Err(e);
        }
        last_done = Some(entry.seq);
        handled += 1;
    }
    if let Some(seq) = last_done {
        outbox.ack(consumer.group(), seq).await?;
    }
    Ok(handled)
}

/// Runs [`run_once`] until a claim comes back empty; returns the events handled.
/// For tests and catch-up at start-up; a long-running worker calls [`run_once`] on
/// its own cadence.
pub async fn drain(
    outbox: &dyn Outbox,
    consumer: &dyn EventConsumer,
    config: RunnerConfig,
) -> Result<usize> {
    let mut total = 0;
    loop {
        let n = run_once(outbox, consumer, config).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n;
    }
}
