//! The outbox relay: outbox events to a topic exchange with publisher confirms.
//!
//! One pass claims a batch for the relay's consumer group, publishes every event
//! (persistent, routing key = topic, message id = event id) without waiting between
//! them, then waits for the broker's confirms, and only when every publish of the
//! batch is confirmed acknowledges the outbox up to the batch's last position. A
//! crash or a nack before that leaves the batch claimed: its lease runs out and it
//! is published again, so consumers see each event at least once (and deduplicate:
//! the notification handler's delivery log).
//!
//! A relay made with [`OutboxRelay::on_broker`] outlives the broker: when its
//! channel closed (a broker restart), the next pass opens a new one through the
//! [`Broker`], which connects again; until the broker is back every pass fails
//! and gives its batch back. One made with [`OutboxRelay::new`] on a bare
//! connection fails from then on ([`RabbitError::Closed`]).

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Connection};
use tokio::sync::Mutex;

use commerce_core::EventEnvelope;
use commerce_core::ports::Outbox;
use commerce_core::worker::{Timer, keeping_lease};

use crate::broker::Broker;
use crate::error::{RabbitError, Result};
use crate::topology::Topology;

/// The consumer group the relay claims the outbox with.
pub const RELAY_CONSUMER: &str = "rabbitmq-relay";

/// The relay's claim lease, extended while a batch is published: a killed relay's
/// batch is taken over by another instance's relay within it.
pub const RELAY_LEASE: Duration = Duration::from_secs(6);

/// Publishes outbox events to RabbitMQ (see the module docs).
pub struct OutboxRelay {
    outbox: Arc<dyn Outbox>,
    /// The channel publishes go to; replaced through `broker` once it closed.
    channel: Mutex<Channel>,
    broker: Option<Arc<Broker>>,
    topology: Topology,
    exchange: String,
    consumer: String,
    batch: u32,
    lease: Duration,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field("exchange", &self.exchange)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

/// The AMQP properties of an event: persistent JSON with the event id as message id.
pub fn event_properties(event: &EventEnvelope) -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type(ShortString::from("application/json"))
        .with_message_id(ShortString::from(event.id.to_string()))
        .with_type(ShortString::from(event.topic.as_str()))
}

impl OutboxRelay {
    /// A relay publishing to `topology.exchange` on a new channel of `connection` in
    /// confirm mode; declares the topology. Batches of 500, a [`RELAY_LEASE`] lease
    /// kept alive while a batch is published. It stops relaying for good when the
    /// connection closes: see [`OutboxRelay::on_broker`].
    pub async fn new(
        connection: &Connection,
        outbox: Arc<dyn Outbox>,
        topology: &Topology,
    ) -> Result<Self> {
        let channel = confirm_channel(connection, topology).await?;
        Ok(Self::with_channel(channel, None, outbox, topology))
    }

    /// A relay publishing through `broker`: its first channel is opened now (a
    /// broker that cannot be reached fails here), and a new one, on a new
    /// connection if need be, by the first pass after the channel closed (a broker
    /// restart). Batches of 500, a [`RELAY_LEASE`] lease kept alive while a batch
    /// is published.
    pub async fn on_broker(
        broker: Arc<Broker>,
        outbox: Arc<dyn Outbox>,
        topology: &Topology,
    ) -> Result<Self> {
        let channel = confirm_channel(&*broker.connection().await?, topology).await?;
        Ok(Self::with_channel(channel, Some(broker), outbox, topology))
    }

    fn with_channel(
        channel: Channel,
        broker: Option<Arc<Broker>>,
        outbox: Arc<dyn Outbox>,
        topology: &Topology,
    ) -> Self {
        OutboxRelay {
            outbox,
            channel: Mutex::new(channel),
            broker,
            topology: topology.clone(),
            exchange: topology.exchange.clone(),
            consumer: RELAY_CONSUMER.to_owned(),
            batch: 500,
            lease: RELAY_LEASE,
        }
    }

    /// The open channel: the current one, or (on a broker) a new one after it
    /// closed.
    async fn open_channel(&self) -> Result<Channel> {
        let mut channel = self.channel.lock().await;
        if channel.status().connected() {
            return Ok(channel.clone());
        }
        let Some(broker) = &self.broker else {
            return Err(RabbitError::Closed(
                "the relay's channel closed (a relay made with OutboxRelay::on_broker opens a new one)"
                    .to_owned(),
            ));
        };
        *channel = confirm_channel(&*broker.connection().await?, &self.topology).await?;
        Ok(channel.clone())
    }

    /// Claims with consumer group `consumer` instead of [`RELAY_CONSUMER`] (one
    /// group per exchange when several relays share an outbox).
    #[must_use]
    pub fn with_consumer(mut self, consumer: &str) -> Self {
        self.consumer = consumer.to_owned();
        self
    }

    /// With batches of `batch` events.
    #[must_use]
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// With this claim lease (how long before an unconfirmed batch is sent again).
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Publishes `events` and waits until the broker confirmed every one.
    pub async fn publish_confirmed(&self, events: &[EventEnvelope]) -> Result<()> {
        let channel = self.open_channel().await?;
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            let body = serde_json::to_vec(event)?;
            let confirm = channel
                .basic_publish(
                    ShortString::from(self.exchange.as_str()),
                    ShortString::from(event.topic.as_str()),
                    BasicPublishOptions::default(),
                    &body,
                    event_properties(event),
                )
                .await?;
            pending.push((event.id, confirm));
        }
        for (id, confirm) in pending {
            if !confirm.await?.is_ack() {
                return Err(RabbitError::NotConfirmed(id.to_string()));
            }
        }
        Ok(())
    }

    /// One pass: claim, publish, wait for confirms, acknowledge. Returns the number
    /// of events relayed (0 when nothing was new).
    pub async fn relay_once(&self) -> Result<usize> {
        let claimed = self
            .outbox
            .claim_leased(&self.consumer, self.batch, self.lease)
            .await?;
        let (Some(last), Some(lease)) = (claimed.entries.last().map(|e| e.seq), claimed.lease)
        else {
            return Ok(0);
        };
        let events: Vec<EventEnvelope> = claimed.entries.into_iter().map(|e| e.event).collect();
        // The lease is kept alive while the broker confirms: a slow broker does not
        // hand the batch to another relay, and a killed relay's batch is taken over
        // within one lease.
        let timer: Timer = Arc::new(|wait| Box::pin(tokio::time::sleep(wait)));
        let publishing = self.publish_confirmed(&events);
        let published = keeping_lease(
            publishing,
            self.outbox.as_ref(),
            &self.consumer,
            lease,
            self.lease,
            &timer,
        )
        .await;
        let relayed = match published {
            Ok(()) => self
                .outbox
                .ack(&self.consumer, last)
                .await
                .map_err(Into::into),
            Err(e) => Err(e),
        };
        if let Err(e) = relayed {
            // Give the batch back at once (a broker outage or a failed ack): the next
            // pass, this relay's or another instance's, need not wait out the lease.
            let _released = self.outbox.release(&self.consumer, lease).await;
            return Err(e);
        }
        Ok(events.len())
    }

    /// Relays until `stop` resolves, sleeping `idle` when the outbox had nothing new
    /// (or a pass failed: the lease brings the batch back).
    pub async fn run(&self, idle: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if matches!(self.relay_once().await, Ok(n) if n > 0) {
                continue;
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(idle) => {}
            }
        }
    }
}

/// A new channel of `connection` in confirm mode, with `topology` declared.
async fn confirm_channel(connection: &Connection, topology: &Topology) -> Result<Channel> {
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    topology.declare(&channel).await?;
    Ok(channel)
}
