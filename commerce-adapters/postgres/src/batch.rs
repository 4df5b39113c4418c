//! Gathering concurrent calls into batches: while a batch is in the database, new
//! calls queue; the next batch takes every call queued meanwhile (up to a limit) in
//! one database call, so one transaction and one commit serve many of them.
//!
//! Used by `PgInventory::reserve` and by `PgCheckoutStore`'s place and confirm steps.
//! Each queued item carries its own reply channel; a batch answers every item it
//! took. [`drain`] is the one loop all three run.

use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tokio::sync::oneshot;

/// A queued call: it takes its reply channel when its batch answers.
pub(crate) trait Queued: Send + Sync + 'static {
    /// What the call answers when it succeeds.
    type Output: Send;
    /// What it answers when it fails.
    type Error: Send;
    /// The channel the answer goes to.
    fn reply(self) -> oneshot::Sender<Result<Self::Output, Self::Error>>;
}

/// How a store runs queued calls of type `T`: a batch in one database call, or one
/// call alone.
#[async_trait]
pub(crate) trait RunBatch<T: Queued>: Send + Sync {
    /// One database call for every item of `batch`: one answer per item, in order.
    async fn many(&self, batch: &[T]) -> Result<Vec<Result<T::Output, T::Error>>, T::Error>;
    /// `item` alone.
    async fn one(&self, item: &T) -> Result<T::Output, T::Error>;
}

/// The drain loop: takes batches of at most `max` items from `queue` until it is
/// empty; each batch is one [`RunBatch::many`]. When a batch of several fails as a
/// whole, one bad item must not fail the others: each is run alone
/// ([`RunBatch::one`]). Every answer goes to its caller (one that went away, a
/// cancelled call, is skipped).
pub(crate) async fn drain<T: Queued>(runner: &impl RunBatch<T>, queue: &Batcher<T>, max: usize) {
    while let Some(batch) = queue.next_batch(max) {
        let results = match runner.many(&batch).await {
            Ok(results) => results,
            Err(_) if batch.len() > 1 => {
                let mut results = Vec::with_capacity(batch.len());
                for item in &batch {
                    results.push(runner.one(item).await);
                }
                results
            }
            Err(e) => vec![Err(e)],
        };
        for (item, result) in batch.into_iter().zip(results) {
            let _ = item.reply().send(result);
        }
    }
}

/// Calls waiting for their batch, and how many drain loops are running.
pub(crate) struct Batcher<T> {
    queue: Mutex<Queue<T>>,
}

struct Queue<T> {
    waiting: Vec<T>,
    /// Drain loops running; each takes batches until the queue is empty.
    draining: usize,
}

impl<T> Default for Batcher<T> {
    fn default() -> Self {
        Batcher {
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                draining: 0,
            }),
        }
    }
}

impl<T> Batcher<T> {
    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        // The queue is consistent after every statement: recover from poisoning.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item`. True when the caller must start a drain loop (fewer than
    /// `in_flight` are running); the loop then counts as running.
    pub(crate) fn push(&self, item: T, in_flight: usize) -> bool {
        let mut queue = self.lock();
        queue.waiting.push(item);
        let start = queue.draining < in_flight;
        if start {
            queue.draining += 1;
        }
        start
    }

    /// The next batch of at most `max` queued items, oldest first; `None` when the
    /// queue is empty, and the calling drain loop then counts as stopped.
    pub(crate) fn next_batch(&self, max: usize) -> Option<Vec<T>> {
        let mut queue = self.lock();
        if queue.waiting.is_empty() {
            queue.draining = queue.draining.saturating_sub(1);
            return None;
        }
        let take = queue.waiting.len().min(max.max(1));
        Some(queue.waiting.drain(..take).collect())
    }
}

/// Runs a drain loop as a task of its own when called inside a tokio runtime (a
/// caller that is cancelled then never strands the others queued behind it), else
/// inline.
pub(crate) async fn run_drain(drain: impl Future<Output = ()> + Send + 'static) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(drain);
        }
        Err(_) => drain.await,
    }
}
