//! Runtime-agnostic helpers for conformance checks: yielding, sleeping, draining the
//! outbox. They need no async runtime, so the checks run on whatever the caller uses.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::error::Result;
use crate::event::EventEnvelope;
use crate::ports::Outbox;

/// Lease used by [`drain`]: long enough never to run out during a check.
pub const DRAIN_LEASE: Duration = Duration::from_secs(60);

/// Yields once to the executor, so futures polled together (e.g. by
/// `futures::future::join_all`) interleave even when the store never awaits.
pub fn yield_now() -> impl Future<Output = ()> {
    YieldNow { yielded: false }
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Waits `duration` without blocking the executor: a helper thread sleeps and then
/// completes a oneshot channel.
pub async fn sleep(duration: Duration) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(duration);
        let _ = tx.send(());
    });
    // A dropped sender also ends the wait; either way the time has passed or the
    // thread is gone.
    let _ = rx.await;
}

/// Claims and acknowledges everything the consumer group `group` has not yet
/// acknowledged, returning the events in order.
pub async fn drain(outbox: &dyn Outbox, group: &str) -> Result<Vec<EventEnvelope>> {
    let mut events = Vec::new();
    loop {
        let batch = outbox.claim(group, 500, DRAIN_LEASE).await?;
        let Some(last) = batch.last().map(|e| e.seq) else {
            return Ok(events);
        };
        events.extend(batch.into_iter().map(|e| e.event));
        outbox.ack(group, last).await?;
    }
}
