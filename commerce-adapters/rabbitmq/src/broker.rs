//! A connection that outlives the broker: opened again after a restart.
//!
//! A lapin [`Connection`] and its channels die with the TCP connection (a broker
//! restart, a network cut) and are not reopened by themselves. [`Broker`] keeps
//! the current connection and opens a new one when it is asked for a connection
//! and the last one is no longer open; the [`OutboxRelay`](crate::OutboxRelay)
//! made with [`OutboxRelay::on_broker`](crate::OutboxRelay::on_broker) and
//! [`QueueWorker::run_reconnecting`](crate::QueueWorker::run_reconnecting) open
//! their channels through it, so relaying and consuming go on once the broker is
//! back. Nothing is lost meanwhile: the outbox keeps what was not confirmed, the
//! durable queue what was not acknowledged (delivered again, deduplicated by the
//! notification handler's delivery log).

use std::sync::Arc;

use lapin::Connection;
use tokio::sync::Mutex;

use crate::error::Result;

/// A RabbitMQ connection opened again after it closed (see the module docs).
pub struct Broker {
    url: String,
    current: Mutex<Option<Arc<Connection>>>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker").finish_non_exhaustive()
    }
}

impl Broker {
    /// A broker at `url`, connected on first use.
    pub fn new(url: impl Into<String>) -> Self {
        Broker {
            url: url.into(),
            current: Mutex::new(None),
        }
    }

    /// A broker at `url`, connected now: a wrong URL or a broker that is not running
    /// fails here ([`RabbitError::Unreachable`](crate::RabbitError::Unreachable)),
    /// at start-up, rather than in the first relay pass.
    pub async fn connect(url: impl Into<String>) -> Result<Self> {
        let broker = Broker::new(url);
        broker.connection().await?;
        Ok(broker)
    }

    /// The open connection: the current one while it is connected, else a new one
    /// (one at a time: callers waiting meanwhile get the same new connection).
    pub async fn connection(&self) -> Result<Arc<Connection>> {
        let mut current = self.current.lock().await;
        if let Some(c) = current.as_ref()
            && c.status().connected()
        {
            return Ok(c.clone());
        }
        // The old one (if any) is closed or failed: dropped with its channels.
        *current = None;
        let fresh = Arc::new(crate::connect(&self.url).await?);
        *current = Some(fresh.clone());
        Ok(fresh)
    }

    /// Whether the current connection is open (false before the first use).
    pub async fn is_connected(&self) -> bool {
        self.current
            .lock()
            .await
            .as_ref()
            .is_some_and(|c| c.status().connected())
    }
}
