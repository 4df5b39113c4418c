//! The queue worker: consumes the work queue and runs an [`EventHandler`] (the
//! notification handler) on each event, several at once (at most
//! [`QueueWorker::concurrency`], [`DEFAULT_CONCURRENCY`] by default, within the
//! channel's prefetch): each send waits mostly on the provider, so one at a time a
//! worker falls behind a busy shop.
//!
//! A delivery is acknowledged only after the handler returned (each on its own: a
//! slow one holds back no other's acknowledgement). A failure the
//! handler calls retryable is published (confirmed) to the retry queue of its
//! attempt, whose TTL brings it back to the work queue after the backoff; after
//! [`Topology::max_attempts`] failures, or for a body that is not an event, it is
//! published to the dead-letter queue instead. Either way the original is acked only
//! after that publish was confirmed, so a crash loses nothing (at worst a retry is
//! duplicated, which the handler's dedupe absorbs). A mail in flight
//! ([`commerce_notify::NotifyError::InFlight`]: claimed by a send with no outcome
//! yet) is such a retryable failure: the notification topology's budget
//! ([`Topology::notifications`]) brings it back until the claim is taken over.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection};

use commerce_core::EventEnvelope;
use commerce_notify::EventHandler;

use crate::broker::Broker;
use crate::error::{RabbitError, Result};
use crate::topology::Topology;

/// Header counting failed attempts of a message.
pub const ATTEMPTS_HEADER: &str = "x-attempts";
/// Header with the last error of a dead-lettered message.
pub const ERROR_HEADER: &str = "x-last-error";

/// Deliveries a worker handles at once by default.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How often a consuming worker looks at its channel's state.
const CHANNEL_CHECK: Duration = Duration::from_millis(500);

/// What the worker did with one delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Handled (or failed for good in a way retrying cannot fix) and acked.
    Done,
    /// Failed; scheduled for another attempt after the backoff.
    Retried {
        /// Failures so far.
        attempt: u32,
    },
    /// Moved to the dead-letter queue.
    DeadLettered,
}

/// Consumes a queue (see the module docs).
pub struct QueueWorker {
    channel: Channel,
    topology: Topology,
    handler: Arc<dyn EventHandler>,
    prefetch: u16,
    concurrency: usize,
}

impl std::fmt::Debug for QueueWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueWorker")
            .field("topology", &self.topology)
            .finish_non_exhaustive()
    }
}

fn attempts_of(delivery: &Delivery) -> u32 {
    delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get(ATTEMPTS_HEADER))
        .and_then(|v| match v {
            AMQPValue::LongUInt(n) => Some(*n),
            AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
            AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
            _ => None,
        })
        .unwrap_or(0)
}

impl QueueWorker {
    /// A worker on a new channel of `connection` (confirm mode, prefetch 32,
    /// [`DEFAULT_CONCURRENCY`] deliveries handled at once); declares the topology.
    pub async fn new(
        connection: &Connection,
        topology: Topology,
        handler: Arc<dyn EventHandler>,
    ) -> Result<Self> {
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        topology.declare(&channel).await?;
        let prefetch = 32;
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await?;
        Ok(QueueWorker {
            channel,
            topology,
            handler,
            prefetch,
            concurrency: DEFAULT_CONCURRENCY,
        })
    }

    /// Handling up to `concurrency` deliveries at once (1 to the prefetch: one at
    /// a time with 1).
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.clamp(1, usize::from(self.prefetch).max(1));
        self
    }

    /// How many unacknowledged deliveries the worker holds at most.
    pub fn prefetch(&self) -> u16 {
        self.prefetch
    }

    /// How many deliveries the worker handles at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    async fn republish(
        &self,
        queue: &str,
        delivery: &Delivery,
        attempt: u32,
        error: Option<&str>,
    ) -> Result<()> {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        headers.insert(ATTEMPTS_HEADER.into(), AMQPValue::LongUInt(attempt));
        if let Some(e) = error {
            headers.insert(
                ERROR_HEADER.into(),
                AMQPValue::LongString(LongString::from(e)),
            );
        }
        let properties: BasicProperties = delivery
            .properties
            .clone()
            .with_delivery_mode(2)
            .with_headers(headers);
        let confirm = self
            .channel
            .basic_publish(
                ShortString::from(""),
                ShortString::from(queue),
                BasicPublishOptions::default(),
                &delivery.data,
                properties,
            )
            .await?
            .await?;
        if !confirm.is_ack() {
            return Err(RabbitError::NotConfirmed(queue.to_owned()));
        }
        Ok(())
    }

    /// Handles one delivery and acknowledges it (see the module docs).
    pub async fn process(&self, delivery: &Delivery) -> Result<Disposition> {
        let disposition = match serde_json::from_slice::<EventEnvelope>(&delivery.data) {
            Err(e) => {
                let error = format!("not an event: {e}");
                self.republish(
                    &self.topology.dead_letter_queue(),
                    delivery,
                    attempts_of(delivery),
                    Some(&error),
                )
                .await?;
                Disposition::DeadLettered
            }
            Ok(event) => match self.handler.handle(&event).await {
                Ok(_) => Disposition::Done,
                Err(e) if e.is_retryable() => {
                    let attempt = attempts_of(delivery).saturating_add(1);
                    if attempt >= self.topology.max_attempts {
                        self.republish(
                            &self.topology.dead_letter_queue(),
                            delivery,
                            attempt,
                            Some(&e.to_string()),
                        )
                        .await?;
                        Disposition::DeadLettered
                    } else {
                        self.republish(
                            &self.topology.retry_queue(attempt),
                            delivery,
                            attempt,
                            None,
                        )
                        .await?;
                        Disposition::Retried { attempt }
                    }
                }
                // Final for this event (outcome unknown, malformed): retrying cannot help.
                Err(_) => Disposition::Done,
            },
        };
        delivery.acker.ack(BasicAckOptions::default()).await?;
        Ok(disposition)
    }

    /// Consumes the work queue until `stop` resolves (or the channel closes: see
    /// [`QueueWorker::run_reconnecting`] for a worker that outlives the broker).
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) -> Result<()> {
        self.consume(stop).await.map(|_| ())
    }

    /// Consumes until `stop` resolves ([`Ended::Stopped`]) or the broker ends the
    /// consumer ([`Ended::Closed`]); an error of the channel, of a delivery or of
    /// its acknowledgement ends it too. Up to [`QueueWorker::concurrency`]
    /// deliveries are handled at once; the ones under way finish before it returns.
    async fn consume(&self, stop: impl std::future::Future<Output = ()>) -> Result<Ended> {
        let mut consumer = self
            .channel
            .basic_consume(
                ShortString::from(self.topology.queue.as_str()),
                ShortString::from(""),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tokio::pin!(stop);
        // lapin does not always end a consumer's stream when its connection dies
        // (seen when the TCP connection is cut while the consumer is idle): the
        // channel's state is looked at too.
        let mut look = tokio::time::interval(CHANNEL_CHECK);
        let mut under_way = FuturesUnordered::new();
        let mut open = true;
        // Whatever ends the loop, the deliveries under way are let finish first: a
        // handling dropped half way would leave its mail claimed without an outcome
        // (resent after `resend_after`, or never for SMS). Their acknowledgements
        // may fail on a closed channel; the broker then delivers them again and
        // the delivery log finds them sent.
        let ended = loop {
            tokio::select! {
                () = &mut stop => break Ok(Ended::Stopped),
                Some(done) = under_way.next(), if !under_way.is_empty() => {
                    if let Err(e) = done {
                        break Err(e);
                    }
                }
                next = consumer.next(), if open && under_way.len() < self.concurrency => {
                    match next {
                        Some(Ok(delivery)) => {
                            under_way.push(async move { self.process(&delivery).await });
                        }
                        Some(Err(e)) => break Err(e.into()),
                        None => open = false,
                    }
                }
                _ = look.tick() => {
                    if !self.channel.status().connected() {
                        break Ok(Ended::Closed);
                    }
                }
            }
            if !open && under_way.is_empty() {
                break Ok(Ended::Closed);
            }
        };
        while under_way.next().await.is_some() {}
        ended
    }

    /// Consumes the work queue of `topology` through `broker` with `handler` until
    /// `stop` resolves, and outlives the broker: when the channel or the connection
    /// closes (a broker restart, a network cut), it waits `retry_every`, opens a new
    /// channel (on a new connection when the old one closed) and consumes again,
    /// until it succeeds. What the broker had delivered but not seen acknowledged is
    /// delivered again; the handler's delivery log keeps it from being sent twice.
    /// `report` hears `Ok(())` each time the worker is (again) consuming and every
    /// failure.
    pub async fn run_reconnecting(
        broker: &Broker,
        topology: Topology,
        handler: Arc<dyn EventHandler>,
        retry_every: Duration,
        stop: impl std::future::Future<Output = ()>,
        mut report: impl FnMut(std::result::Result<(), &RabbitError>),
    ) {
        tokio::pin!(stop);
        loop {
            // Connecting may take long (a broker that accepts and stalls): `stop`
            // ends it too.
            let connecting = async {
                let connection = broker.connection().await?;
                QueueWorker::new(&connection, topology.clone(), handler.clone()).await
            };
            let worker = tokio::select! {
                () = &mut stop => return,
                worker = connecting => worker,
            };
            match worker {
                Ok(worker) => {
                    report(Ok(()));
                    match worker.consume(stop.as_mut()).await {
                        Ok(Ended::Stopped) => return,
                        Ok(Ended::Closed) => report(Err(&RabbitError::Closed(
                            "the broker ended the consumer".to_owned(),
                        ))),
                        Err(e) => report(Err(&e)),
                    }
                }
                Err(e) => report(Err(&e)),
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(retry_every) => {}
            }
        }
    }
}

/// How [`QueueWorker::consume`] ended.
enum Ended {
    /// The stop future resolved.
    Stopped,
    /// The consumer stream ended (the channel closed).
    Closed,
}
