//! The in-process runner: without `AMQP_URL`, the same [`EventHandler`] reads the
//! outbox directly (claim a batch for the consumer group, handle each event, ack).
//!
//! An event whose handling fails with a retryable error stops the batch there: the
//! events before it are acknowledged, it is claimed again once the lease ends. After
//! `max_attempts` failures it is set aside (acknowledged and kept in
//! [`OutboxRunner::dead_letters`]), the in-process form of the dead-letter queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use commerce_core::EventEnvelope;
use commerce_core::ports::Outbox;

use crate::error::Result;
use crate::handler::EventHandler;

/// Drives an [`EventHandler`] from the outbox (see the module docs).
pub struct OutboxRunner {
    outbox: Arc<dyn Outbox>,
    handler: Arc<dyn EventHandler>,
    consumer: String,
    batch: u32,
    lease: Duration,
    max_attempts: u32,
    attempts: Mutex<HashMap<u64, u32>>,
    dead: Mutex<Vec<EventEnvelope>>,
}

impl std::fmt::Debug for OutboxRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRunner")
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Events handled and acknowledged.
    pub handled: usize,
    /// Events set aside after too many failures.
    pub dead_lettered: usize,
    /// True when an event failed and the pass stopped before the end of its batch.
    pub stopped_on_failure: bool,
}

impl OutboxRunner {
    /// A runner for consumer group `consumer` (e.g. `notifications`): batches of
    /// 100, a 30 s lease, 5 attempts per event.
    pub fn new(outbox: Arc<dyn Outbox>, handler: Arc<dyn EventHandler>, consumer: &str) -> Self {
        OutboxRunner {
            outbox,
            handler,
            consumer: consumer.to_owned(),
            batch: 100,
            lease: Duration::from_secs(30),
            max_attempts: 5,
            attempts: Mutex::new(HashMap::new()),
            dead: Mutex::new(Vec::new()),
        }
    }

    /// With `max_attempts` per event before it is set aside.
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// With this lease (how long a failed batch waits before it is claimed again).
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Events set aside after `max_attempts` failures.
    pub fn dead_letters(&self) -> Vec<EventEnvelope> {
        lock(&self.dead).clone()
    }

    /// Claims one batch and handles it.
    pub async fn run_once(&self) -> Result<Pass> {
        let entries = self
            .outbox
            .claim(&self.consumer, self.batch, self.lease)
            .await?;
        let mut pass = Pass::default();
        let mut last_done = None;
        for entry in &entries {
            match self.handler.handle(&entry.event).await {
                Ok(_) => {
                    pass.handled += 1;
                    lock(&self.attempts).remove(&entry.seq);
                }
                Err(e) if e.is_retryable() => {
                    let attempts = {
                        let mut a = lock(&self.attempts);
                        let n = a.entry(entry.seq).or_insert(0);
                        *n += 1;
                        *n
                    };
                    if attempts < self.max_attempts {
                        pass.stopped_on_failure = true;
                        break;
                    }
                    lock(&self.attempts).remove(&entry.seq);
                    lock(&self.dead).push(entry.event.clone());
                    pass.dead_lettered += 1;
                }
                // Final for this event (malformed, outcome unknown): move on.
                Err(_) => pass.handled += 1,
            }
            last_done = Some(entry.seq);
        }
        if let Some(seq) = last_done {
            self.outbox.ack(&self.consumer, seq).await?;
        }
        Ok(pass)
    }

    /// Runs passes until `stop` resolves, sleeping `idle` when there was nothing to
    /// do (or a failure).
    pub async fn run(&self, idle: Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let busy = matches!(self.run_once().await, Ok(p) if p.handled + p.dead_lettered > 0 && !p.stopped_on_failure);
            if busy {
                continue;
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(idle) => {}
            }
        }
    }
}
