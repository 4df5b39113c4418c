//! # commerce-rabbitmq
//!
//! RabbitMQ for the commerce crates (`lapin`):
//!
//! - [`OutboxRelay`]: outbox events to a durable topic exchange with publisher
//!   confirms; the outbox is acknowledged only after the broker confirmed the batch.
//! - [`QueueWorker`]: consumes a durable queue and runs an
//!   [`commerce_notify::EventHandler`] (the notification handler) on each event,
//!   several at once (`worker::DEFAULT_CONCURRENCY`);
//!   failures are retried with exponential backoff through TTL retry queues and end
//!   in a dead-letter queue after [`Topology::max_attempts`].
//! - [`Topology`]: the names, declared idempotently.
//! - [`Broker`]: a connection opened again after a broker restart; the relay
//!   ([`OutboxRelay::on_broker`]) and the workers
//!   ([`QueueWorker::run_reconnecting`]) that use it go on once the broker is back.
//!
//! Without `AMQP_URL`, run the same handler in process with
//! [`commerce_notify::outbox_runner`] instead.

pub mod broker;
pub mod connect;
pub mod error;
pub mod relay;
pub mod topology;
pub mod worker;

pub use broker::Broker;
pub use connect::{DEFAULT_AMQP_URL, amqp_url, connect};
pub use error::{RabbitError, Result};
pub use relay::{OutboxRelay, RELAY_CONSUMER, RELAY_LEASE, event_properties};
pub use topology::Topology;
pub use worker::{Disposition, QueueWorker};
