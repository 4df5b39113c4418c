//! Exchange and queue names and their declaration.
//!
//! ```text
//! outbox --relay--> <exchange> (topic, durable)
//!                      | binding keys (default "#")
//!                      v
//!                   <queue> (durable) --worker--> handler
//!                      |  failure k < N: publish to <queue>.retry.k (TTL base*2^(k-1),
//!                      |                 dead-letters back into <queue>), ack
//!                      `- failure N:     publish to <queue>.dlq, ack
//! ```
//!
//! Every queue is durable and every message persistent. Each test uses its own
//! names, so parallel runs do not collide.

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};

use crate::error::Result;

/// The names and retry policy of one consumer queue on one exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// The topic exchange events are published to.
    pub exchange: String,
    /// The work queue.
    pub queue: String,
    /// Binding keys of the work queue (`#`: every topic).
    pub bindings: Vec<String>,
    /// Handling attempts before a message goes to the dead-letter queue (at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled for each further one.
    pub base_backoff: Duration,
}

impl Topology {
    /// `queue` bound to every topic of `exchange`, 5 attempts, 1 s first backoff.
    pub fn new(exchange: impl Into<String>, queue: impl Into<String>) -> Self {
        Topology {
            exchange: exchange.into(),
            queue: queue.into(),
            bindings: vec!["#".to_owned()],
            max_attempts: 5,
            base_backoff: Duration::from_secs(1),
        }
    }

    /// The notification queue: `commerce.events` -> `commerce.notifications`, bound
    /// to the topics that notify, with the notification retry budget
    /// ([`commerce_notify::runner::MAX_ATTEMPTS`] attempts, 1 s doubling: retry
    /// queues up to 64 s, the last attempt 127 s after the first), so an event whose
    /// mail is in flight comes back after the handler's `resend_after` (30 s by
    /// default) and the mail is taken over before the event is dead-lettered.
    pub fn notifications() -> Self {
        let mut t = Topology::new("commerce.events", "commerce.notifications").with_retries(
            commerce_notify::runner::MAX_ATTEMPTS,
            commerce_notify::runner::FIRST_BACKOFF,
        );
        t.bindings = ["order.#", "payment.#", "fulfilment.#", "account.#"]
            .map(str::to_owned)
            .to_vec();
        t
    }

    /// With `max_attempts` and a first backoff of `base_backoff`.
    #[must_use]
    pub fn with_retries(mut self, max_attempts: u32, base_backoff: Duration) -> Self {
        self.max_attempts = max_attempts.max(1);
        self.base_backoff = base_backoff;
        self
    }

    /// The dead-letter queue.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dlq", self.queue)
    }

    /// The retry queue holding messages after their `attempt`-th failure.
    pub fn retry_queue(&self, attempt: u32) -> String {
        format!("{}.retry.{attempt}", self.queue)
    }

    /// The delay after the `attempt`-th failure: `base * 2^(attempt-1)`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.base_backoff
            .saturating_mul(1_u32 << attempt.saturating_sub(1).min(16))
    }

    /// Declares the exchange, the work queue and its bindings, the retry queues and
    /// the dead-letter queue (idempotent).
    pub async fn declare(&self, channel: &Channel) -> Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                ShortString::from(self.exchange.as_str()),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            )
            .await?;
        declare_queue(channel, &self.queue, FieldTable::default()).await?;
        for key in &self.bindings {
            channel
                .queue_bind(
                    ShortString::from(self.queue.as_str()),
                    ShortString::from(self.exchange.as_str()),
                    ShortString::from(key.as_str()),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        for attempt in 1..self.max_attempts {
            let mut args = FieldTable::default();
            let ttl = u32::try_from(self.backoff(attempt).as_millis()).unwrap_or(u32::MAX);
            args.insert("x-message-ttl".into(), AMQPValue::LongUInt(ttl));
            // Expired messages go back to the work queue through the default exchange.
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(LongString::from("")),
            );
            args.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(LongString::from(self.queue.as_str())),
            );
            declare_queue(channel, &self.retry_queue(attempt), args).await?;
        }
        declare_queue(channel, &self.dead_letter_queue(), FieldTable::default()).await?;
        Ok(())
    }
}

async fn declare_queue(channel: &Channel, name: &str, args: FieldTable) -> Result<()> {
    channel
        .queue_declare(
            ShortString::from(name),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            args,
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_retries_outlast_the_resend_of_a_mail_in_flight() {
        let t = Topology::notifications();
        let span: Duration = (1..t.max_attempts).map(|a| t.backoff(a)).sum();
        // The same budget as the in-process runner's.
        assert_eq!(span, commerce_notify::runner::retry_span());
        assert_eq!(span, Duration::from_secs(127));
        // A redelivery right after a crash comes back at least twice after the
        // claim is `resend_after` old.
        let after = commerce_notify::DEFAULT_RESEND_AFTER;
        let mut at = Duration::ZERO;
        let late: Vec<Duration> = (1..t.max_attempts)
            .map(|a| {
                at += t.backoff(a);
                at
            })
            .filter(|at| *at >= after)
            .collect();
        assert!(late.len() >= 2, "{late:?}");
    }
}
