//! Conformance checks for [`Outbox`] implementations, and for the one outbox
//! [`Runner`] on each of them (`runner_*`).
//!
//! Run them all for a backend with [`crate::outbox_conformance!`]. The checks panic
//! (they are assertions) and expect a fresh, empty outbox each.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;

use crate::error::Error;
use crate::event::EventEnvelope;
use crate::ports::{Claimed, Outbox, OutboxEntry};
use crate::testkit::fixtures::event;
use crate::testkit::support::{sleep, yield_now};
use crate::worker::{EventConsumer, PARKED_TOPIC, Pass, Runner, RunnerConfig};

/// A lease that never runs out during a check.
const LONG: Duration = Duration::from_secs(60);

/// What every outbox check gets: a fresh, empty outbox.
#[derive(Clone)]
pub struct OutboxFixture {
    /// The outbox under test.
    pub outbox: Arc<dyn Outbox>,
}

fn events(from: u64, to: u64) -> Vec<EventEnvelope> {
    (from..to).map(|n| event("test.happened", n)).collect()
}

fn ids(entries: &[OutboxEntry]) -> Vec<crate::id::EventId> {
    entries.iter().map(|e| e.event.id).collect()
}

/// Events come back in append order with strictly increasing positions, intact.
pub async fn claim_returns_events_in_append_order(fx: OutboxFixture) {
    let first = events(0, 3);
    let second = events(3, 5);
    fx.outbox.append(&first).await.expect("append");
    fx.outbox.append(&second).await.expect("append");
    let claimed = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    let expected: Vec<EventEnvelope> = first.into_iter().chain(second).collect();
    assert_eq!(
        claimed.iter().map(|e| e.event.clone()).collect::<Vec<_>>(),
        expected
    );
    assert!(claimed.windows(2).all(|w| w[0].seq < w[1].seq));
}

/// A claim hands out at most `limit` events; after the ack the next claim continues
/// right after the acknowledged position.
pub async fn claim_respects_limit_and_ack_advances(fx: OutboxFixture) {
    let all = events(0, 5);
    fx.outbox.append(&all).await.expect("append");
    let first = fx.outbox.claim("search", 2, LONG).await.expect("claim");
    assert_eq!(
        ids(&first),
        all[..2].iter().map(|e| e.id).collect::<Vec<_>>()
    );
    fx.outbox.ack("search", first[1].seq).await.expect("ack");
    let rest = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    assert_eq!(
        ids(&rest),
        all[2..].iter().map(|e| e.id).collect::<Vec<_>>()
    );
    fx.outbox.ack("search", rest[2].seq).await.expect("ack");
    let none = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    assert!(none.is_empty(), "everything was acknowledged");
}

/// A group's lag counts the events it has not acknowledged (a claim without an ack
/// still counts) and gives when the oldest of them occurred; caught up, it is zero.
pub async fn lag_counts_unacknowledged_events(fx: OutboxFixture) {
    let before = fx.outbox.lag("lagging").await.expect("lag");
    let all = events(0, 3);
    fx.outbox.append(&all).await.expect("append");
    let lag = fx.outbox.lag("lagging").await.expect("lag");
    assert_eq!(lag.pending, before.pending + 3);
    assert!(lag.oldest_at.is_some());
    let mut first = true;
    loop {
        let batch = fx.outbox.claim("lagging", 100, LONG).await.expect("claim");
        let Some(seq) = batch.last().map(|e| e.seq) else {
            break;
        };
        if first {
            let claimed = fx.outbox.lag("lagging").await.expect("lag");
            assert_eq!(claimed.pending, lag.pending, "claimed, not acknowledged");
            first = false;
        }
        fx.outbox.ack("lagging", seq).await.expect("ack");
    }
    let caught_up = fx.outbox.lag("lagging").await.expect("lag");
    assert_eq!(caught_up.pending, 0);
    assert_eq!(caught_up.oldest_at, None);
    let other = fx.outbox.lag("never-seen").await.expect("lag");
    assert!(other.pending >= 3, "a new group is behind by the whole log");
    assert!(fx.outbox.lag(" ").await.is_err());
}

/// Acknowledging part of a claim ends the lease; the unacknowledged rest is handed
/// out again by the next claim.
pub async fn partial_ack_releases_the_rest(fx: OutboxFixture) {
    let all = events(0, 4);
    fx.outbox.append(&all).await.expect("append");
    let claimed = fx.outbox.claim("mail", 10, LONG).await.expect("claim");
    assert_eq!(claimed.len(), 4);
    fx.outbox.ack("mail", claimed[1].seq).await.expect("ack");
    let again = fx.outbox.claim("mail", 10, LONG).await.expect("claim");
    assert_eq!(
        ids(&again),
        all[2..].iter().map(|e| e.id).collect::<Vec<_>>()
    );
}

/// While one worker of a group holds a live lease, another worker of the same group
/// claims nothing (even when new events arrive).
pub async fn second_claim_during_live_lease_is_empty(fx: OutboxFixture) {
    fx.outbox.append(&events(0, 3)).await.expect("append");
    let first = fx.outbox.claim("search", 2, LONG).await.expect("claim");
    assert_eq!(first.len(), 2);
    let second = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    assert!(second.is_empty(), "lease is live, got {second:?}");
    fx.outbox.append(&events(3, 4)).await.expect("append");
    let third = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    assert!(third.is_empty(), "lease is live, got {third:?}");
}

/// An unacknowledged claim becomes claimable again when its lease runs out, from the
/// first unacknowledged event.
pub async fn expired_lease_makes_events_claimable_again(fx: OutboxFixture) {
    let all = events(0, 3);
    fx.outbox.append(&all).await.expect("append");
    let lease = Duration::from_millis(200);
    let first = fx.outbox.claim("search", 10, lease).await.expect("claim");
    assert_eq!(first.len(), 3);
    sleep(Duration::from_millis(600)).await;
    let again = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    assert_eq!(
        ids(&again),
        ids(&first),
        "expired claim is handed out again"
    );
    assert_eq!(
        again.iter().map(|e| e.seq).collect::<Vec<_>>(),
        first.iter().map(|e| e.seq).collect::<Vec<_>>()
    );
}

/// Acknowledging a position the group has not claimed is a `Conflict`: before any
/// claim, and beyond the claimed range.
pub async fn ack_of_unclaimed_position_is_a_conflict(fx: OutboxFixture) {
    fx.outbox.append(&events(0, 5)).await.expect("append");
    let err = fx
        .outbox
        .ack("search", 1)
        .await
        .expect_err("nothing claimed");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let claimed = fx.outbox.claim("search", 2, LONG).await.expect("claim");
    let beyond = claimed[1].seq + 1;
    let err = fx
        .outbox
        .ack("search", beyond)
        .await
        .expect_err("beyond the claim");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    // Another group has claimed nothing.
    let err = fx
        .outbox
        .ack("mail", claimed[0].seq)
        .await
        .expect_err("other group");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

/// Acknowledging an already acknowledged position again (a retried ack) succeeds
/// and changes nothing.
pub async fn repeated_ack_is_a_no_op(fx: OutboxFixture) {
    fx.outbox.append(&events(0, 3)).await.expect("append");
    let claimed = fx.outbox.claim("search", 2, LONG).await.expect("claim");
    fx.outbox.ack("search", claimed[1].seq).await.expect("ack");
    fx.outbox
        .ack("search", claimed[1].seq)
        .await
        .expect("repeated ack");
    fx.outbox
        .ack("search", claimed[0].seq)
        .await
        .expect("ack of an earlier position");
    let rest = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    assert_eq!(rest.len(), 1, "only the third event is left");
}

/// Every consumer group sees every event, independently of the others.
pub async fn every_group_sees_every_event(fx: OutboxFixture) {
    let all = events(0, 5);
    fx.outbox.append(&all).await.expect("append");
    let want: Vec<_> = all.iter().map(|e| e.id).collect();
    let search = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    let mail = fx.outbox.claim("mail", 10, LONG).await.expect("claim");
    assert_eq!(ids(&search), want);
    assert_eq!(ids(&mail), want);
    fx.outbox.ack("search", search[4].seq).await.expect("ack");
    let analytics = fx.outbox.claim("analytics", 10, LONG).await.expect("claim");
    assert_eq!(ids(&analytics), want, "a new group starts at the beginning");
}

/// A claim with nothing new returns nothing and holds no lease: an event appended
/// afterwards is claimable at once.
pub async fn empty_claim_holds_no_lease(fx: OutboxFixture) {
    let none = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    assert!(none.is_empty());
    fx.outbox.append(&events(0, 1)).await.expect("append");
    let one = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    assert_eq!(one.len(), 1);
}

/// 200 workers of one group claiming and acknowledging at once never both get the
/// same event, and together they process every event.
pub async fn concurrent_claimers_never_get_the_same_event(fx: OutboxFixture) {
    const EVENTS: u64 = 120;
    const WORKERS: usize = 200;
    fx.outbox.append(&events(0, EVENTS)).await.expect("append");
    let seen: Arc<Mutex<HashSet<crate::id::EventId>>> = Arc::default();
    let workers = (0..WORKERS).map(|_| {
        let outbox = Arc::clone(&fx.outbox);
        let seen = Arc::clone(&seen);
        async move {
            loop {
                let batch = outbox.claim("workers", 7, LONG).await.expect("claim");
                if let Some(last) = batch.last().map(|e| e.seq) {
                    {
                        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                        for e in &batch {
                            assert!(seen.insert(e.event.id), "event {} handed out twice", e.seq);
                        }
                    }
                    outbox.ack("workers", last).await.expect("ack");
                } else if seen.lock().unwrap_or_else(|p| p.into_inner()).len() as u64 >= EVENTS {
                    return;
                }
                yield_now().await;
            }
        }
    });
    join_all(workers).await;
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    assert_eq!(seen.len() as u64, EVENTS);
}

/// A released lease makes its events claimable at once, from the first
/// unacknowledged one, under a new lease; releasing it again changes nothing.
pub async fn release_makes_a_claim_claimable_at_once(fx: OutboxFixture) {
    fx.outbox.append(&events(0, 3)).await.expect("append");
    let first = fx
        .outbox
        .claim_leased("search", 10, LONG)
        .await
        .expect("claim");
    let lease = first.lease.expect("a claim of events holds a lease");
    assert_eq!(first.entries.len(), 3);
    assert!(
        fx.outbox
            .claim("search", 10, LONG)
            .await
            .expect("claim")
            .is_empty(),
        "the lease is live"
    );
    assert!(fx.outbox.release("search", lease).await.expect("release"));
    let again = fx
        .outbox
        .claim_leased("search", 10, LONG)
        .await
        .expect("claim");
    assert_eq!(ids(&again.entries), ids(&first.entries));
    assert_ne!(again.lease, Some(lease), "a new claim, a new lease");
    assert!(
        !fx.outbox.release("search", lease).await.expect("release"),
        "the old lease is gone"
    );
    assert!(
        fx.outbox
            .claim("search", 10, LONG)
            .await
            .expect("claim")
            .is_empty(),
        "the second claim still holds its lease"
    );
    let empty = fx
        .outbox
        .claim_leased("search", 10, LONG)
        .await
        .expect("claim");
    assert_eq!(empty, Claimed::default(), "an empty claim holds no lease");
    assert!(matches!(
        fx.outbox.release("", lease).await,
        Err(Error::Validation { .. })
    ));
}

/// Only the holder's lease is given back: a worker whose lease ran out and was
/// claimed again by another, or that acknowledged, releases nothing.
pub async fn release_leaves_another_holders_lease_alone(fx: OutboxFixture) {
    fx.outbox.append(&events(0, 3)).await.expect("append");
    let stale = fx
        .outbox
        .claim_leased("search", 10, Duration::from_millis(200))
        .await
        .expect("claim");
    sleep(Duration::from_millis(600)).await;
    let current = fx
        .outbox
        .claim_leased("search", 2, LONG)
        .await
        .expect("claim");
    assert_eq!(current.entries.len(), 2);
    let stale = stale.lease.expect("lease");
    assert!(!fx.outbox.release("search", stale).await.expect("release"));
    assert!(
        fx.outbox
            .claim("search", 10, LONG)
            .await
            .expect("claim")
            .is_empty(),
        "the other holder's lease is still live"
    );
    assert!(
        !fx.outbox.release("mail", stale).await.expect("release"),
        "a lease of another group"
    );
    let last = current.entries.last().expect("entries").seq;
    fx.outbox.ack("search", last).await.expect("ack");
    let current = current.lease.expect("lease");
    assert!(
        !fx.outbox.release("search", current).await.expect("release"),
        "an acknowledged claim holds no lease"
    );
    let rest = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    assert_eq!(rest.len(), 1, "the acknowledged events stay acknowledged");
}

/// A consumer for the runner checks: records what it handled, fails scripted events.
struct Scripted {
    group: String,
    handled: Mutex<Vec<crate::id::EventId>>,
    /// Event id -> (failures left, retryable).
    failing: Mutex<std::collections::HashMap<crate::id::EventId, (u32, bool)>>,
}

impl Scripted {
    fn new(group: &str) -> Arc<Self> {
        Arc::new(Scripted {
            group: group.to_owned(),
            handled: Mutex::default(),
            failing: Mutex::default(),
        })
    }

    fn fail(&self, id: crate::id::EventId, times: u32, retryable: bool) {
        self.failing
            .lock()
            .expect("lock")
            .insert(id, (times, retryable));
    }

    /// What it handled of `of` (it also sees the runner's parked-event reports).
    fn handled(&self, of: &[EventEnvelope]) -> Vec<crate::id::EventId> {
        let handled = self.handled.lock().expect("lock");
        handled
            .iter()
            .copied()
            .filter(|id| of.iter().any(|e| e.id == *id))
            .collect()
    }
}

#[async_trait::async_trait]
impl EventConsumer for Scripted {
    fn group(&self) -> &str {
        &self.group
    }

    async fn handle(&self, event: &EventEnvelope) -> crate::error::Result<()> {
        if let Some((left, retryable)) = self.failing.lock().expect("lock").get_mut(&event.id)
            && *left > 0
        {
            *left -= 1;
            return Err(if *retryable {
                Error::unavailable("scripted outage")
            } else {
                Error::validation("payload", "scripted bad payload")
            });
        }
        self.handled.lock().expect("lock").push(event.id);
        Ok(())
    }
}

/// An extended lease outlives its first end: another worker of the group claims
/// nothing after it, and the holder still acknowledges. An acknowledged lease is not
/// extended.
pub async fn extend_keeps_a_lease_alive_past_its_first_end(fx: OutboxFixture) {
    fx.outbox.append(&events(0, 3)).await.expect("append");
    let held = fx
        .outbox
        .claim_leased("search", 10, Duration::from_millis(300))
        .await
        .expect("claim");
    let lease = held.lease.expect("lease");
    sleep(Duration::from_millis(100)).await;
    assert!(
        fx.outbox
            .extend("search", lease, Duration::from_secs(2))
            .await
            .expect("extend"),
        "a live lease is extended"
    );
    sleep(Duration::from_millis(500)).await;
    assert!(
        fx.outbox
            .claim("search", 10, LONG)
            .await
            .expect("claim")
            .is_empty(),
        "past the first end the extended lease is still live"
    );
    let last = held.entries.last().expect("entries").seq;
    fx.outbox
        .ack("search", last)
        .await
        .expect("the holder acks");
    assert!(
        !fx.outbox
            .extend("search", lease, LONG)
            .await
            .expect("extend"),
        "an acknowledged claim holds no lease"
    );
    fx.outbox.append(&events(3, 4)).await.expect("append");
    let next = fx.outbox.claim("search", 10, LONG).await.expect("claim");
    assert_eq!(next.len(), 1, "the extension ended with the ack");
}

/// Only the holder's lease is extended: a lease that ran out and was claimed again
/// by another worker, a released one and one of another group stay as they are.
pub async fn extend_leaves_another_holders_lease_alone(fx: OutboxFixture) {
    fx.outbox.append(&events(0, 3)).await.expect("append");
    let stale = fx
        .outbox
        .claim_leased("search", 10, Duration::from_millis(200))
        .await
        .expect("claim")
        .lease
        .expect("lease");
    sleep(Duration::from_millis(600)).await;
    let current = fx
        .outbox
        .claim_leased("search", 10, Duration::from_millis(300))
        .await
        .expect("claim");
    assert_eq!(current.entries.len(), 3, "the ended lease was taken over");
    assert!(
        !fx.outbox
            .extend("search", stale, LONG)
            .await
            .expect("extend"),
        "a lease taken over is not the stale holder's to extend"
    );
    assert!(
        !fx.outbox.extend("mail", stale, LONG).await.expect("extend"),
        "a lease of another group"
    );
    sleep(Duration::from_millis(600)).await;
    assert_eq!(
        fx.outbox
            .claim("search", 10, LONG)
            .await
            .expect("claim")
            .len(),
        3,
        "the current holder's lease ran out as claimed: the stale one did not extend it"
    );
    let current = current.lease.expect("lease");
    assert!(
        !fx.outbox
            .extend("search", current, LONG)
            .await
            .expect("extend"),
        "a lease claimed again after it ran out"
    );
    assert!(matches!(
        fx.outbox.extend("", current, LONG).await,
        Err(Error::Validation { .. })
    ));
}

/// A consumer that takes `each` per event.
struct Slow {
    each: Duration,
    handled: Mutex<Vec<crate::id::EventId>>,
}

#[async_trait::async_trait]
impl EventConsumer for Slow {
    fn group(&self) -> &str {
        "slow"
    }

    async fn handle(&self, event: &EventEnvelope) -> crate::error::Result<()> {
        sleep(self.each).await;
        self.handled.lock().expect("lock").push(event.id);
        Ok(())
    }
}

/// A runner with a heartbeat keeps a lease of 1 s for a batch that takes about
/// 1.8 s: another worker of the group claims nothing meanwhile, and every event is
/// handled once. (The heartbeat extends every 333 ms, so a loaded machine has
/// 667 ms of slack for each extension.)
pub async fn runner_heartbeat_keeps_a_slow_batch_leased(fx: OutboxFixture) {
    let all = events(0, 3);
    fx.outbox.append(&all).await.expect("append");
    let consumer = Arc::new(Slow {
        each: Duration::from_millis(600),
        handled: Mutex::default(),
    });
    let timer: crate::worker::Timer = Arc::new(|d| Box::pin(sleep(d)));
    let runner = Runner::new(
        fx.outbox.clone(),
        consumer.clone(),
        RunnerConfig::default()
            .with_batch(10)
            .with_lease(Duration::from_secs(1)),
    )
    .with_heartbeat(timer);
    let done = std::sync::atomic::AtomicBool::new(false);
    let other = async {
        let mut taken = Vec::new();
        sleep(Duration::from_millis(100)).await;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            taken.extend(fx.outbox.claim("slow", 10, LONG).await.expect("claim"));
            sleep(Duration::from_millis(100)).await;
        }
        taken
    };
    let work = async {
        let pass = runner.run_once().await.expect("pass");
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        pass
    };
    let (pass, taken) = futures::join!(work, other);
    assert_eq!(pass.handled, 3);
    assert!(
        taken.is_empty(),
        "another worker took events of a batch still being handled: {taken:?}"
    );
    assert_eq!(
        *consumer.handled.lock().expect("lock"),
        all.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert!(
        fx.outbox
            .claim("slow", 10, LONG)
            .await
            .expect("claim")
            .is_empty(),
        "the batch was acknowledged"
    );
}

/// Short leases so that a failed first entry of a claim comes back quickly.
fn quick() -> RunnerConfig {
    RunnerConfig::default()
        .with_batch(2)
        .with_lease(Duration::from_millis(200))
        .with_backoff(Duration::from_millis(10), Duration::from_millis(25))
}

/// Passes until one parks or handles something, waiting out leases; at most ~5 s.
async fn pass_until_progress(runner: &Runner) -> Pass {
    for _ in 0..20 {
        let pass = runner.run_once().await.expect("pass");
        if pass.progressed() {
            return pass;
        }
        sleep(Duration::from_millis(250)).await;
    }
    panic!("no progress");
}

/// The runner hands every event to its consumer once, in order, in batches, and
/// acknowledges them: a second drain finds nothing.
pub async fn runner_handles_every_event_in_order_in_batches(fx: OutboxFixture) {
    let all = events(0, 5);
    fx.outbox.append(&all).await.expect("append");
    let consumer = Scripted::new("runner");
    let runner = Runner::new(fx.outbox.clone(), consumer.clone(), quick());
    assert_eq!(runner.drain().await.expect("drain"), 5);
    assert_eq!(
        consumer.handled(&all),
        all.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert_eq!(runner.drain().await.expect("drain again"), 0);
    assert!(runner.parked().is_empty());
}

/// A retryable failure acknowledges the events before it, asks for a growing
/// backoff, and is retried until it succeeds; nothing is parked or skipped.
pub async fn runner_retries_a_retryable_failure_with_backoff(fx: OutboxFixture) {
    let all = events(0, 4);
    fx.outbox.append(&all).await.expect("append");
    let consumer = Scripted::new("runner");
    consumer.fail(all[1].id, 2, true);
    let runner = Runner::new(fx.outbox.clone(), consumer.clone(), quick());
    let first = runner.run_once().await.expect("pass");
    assert_eq!(first.handled, 1, "the event before the failure is done");
    assert_eq!(first.retry_in, Some(Duration::from_millis(10)));
    let second = runner.run_once().await.expect("pass");
    assert_eq!(
        (second.handled, second.retry_in),
        (0, Some(Duration::from_millis(20)))
    );
    pass_until_progress(&runner).await;
    runner.drain().await.expect("drain");
    assert_eq!(
        consumer.handled(&all),
        all.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert!(runner.parked().is_empty());
}

/// After `max_attempts` retryable failures the event is parked with its error and
/// attempts, reported as an `outbox.event_parked` event, and the group moves on.
pub async fn runner_parks_an_event_after_max_attempts(fx: OutboxFixture) {
    let all = events(0, 3);
    fx.outbox.append(&all).await.expect("append");
    let consumer = Scripted::new("runner");
    consumer.fail(all[0].id, u32::MAX, true);
    let runner = Runner::new(
        fx.outbox.clone(),
        consumer.clone(),
        quick().with_max_attempts(3),
    );
    let mut parked = 0;
    for _ in 0..20 {
        parked += runner.run_once().await.expect("pass").parked;
        if parked > 0 {
            break;
        }
        sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(parked, 1);
    runner.drain().await.expect("drain");
    assert_eq!(consumer.handled(&all), vec![all[1].id, all[2].id]);
    let parked = runner.parked();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].event.id, all[0].id);
    assert_eq!(parked[0].attempts, 3);
    assert!(
        parked[0].error.contains("scripted outage"),
        "{}",
        parked[0].error
    );
    let reports = fx
        .outbox
        .claim("operators", 100, LONG)
        .await
        .expect("claim");
    let report = reports
        .iter()
        .find(|e| e.event.topic == PARKED_TOPIC)
        .expect("a parked-event report in the outbox");
    assert_eq!(report.event.payload["group"], "runner");
    assert_eq!(report.event.payload["event_id"], all[0].id.to_string());
    assert_eq!(report.event.payload["attempts"], 3);
}

/// A pass that fails on the first event of its claim gives the lease back: with a
/// lease of a minute, the retry after the backoff handles the event at once.
pub async fn runner_retries_a_failed_pass_at_once_not_after_the_lease(fx: OutboxFixture) {
    let all = events(0, 3);
    fx.outbox.append(&all).await.expect("append");
    let consumer = Scripted::new("runner");
    consumer.fail(all[0].id, 1, true);
    let runner = Runner::new(
        fx.outbox.clone(),
        consumer.clone(),
        quick().with_lease(LONG).with_batch(10),
    );
    let first = runner.run_once().await.expect("pass");
    assert_eq!((first.handled, first.parked), (0, 0));
    let wait = first
        .retry_in
        .expect("a retryable failure asks for a retry");
    sleep(wait).await;
    let second = runner.run_once().await.expect("pass");
    assert_eq!(second.handled, 3, "retried at once, not after the lease");
    assert_eq!(
        consumer.handled(&all),
        all.iter().map(|e| e.id).collect::<Vec<_>>()
    );
}

/// A failure that is not retryable parks the event at once (retrying cannot help).
pub async fn runner_parks_a_non_retryable_failure_at_once(fx: OutboxFixture) {
    let all = events(0, 3);
    fx.outbox.append(&all).await.expect("append");
    let consumer = Scripted::new("runner");
    consumer.fail(all[1].id, 1, false);
    let runner = Runner::new(fx.outbox.clone(), consumer.clone(), quick());
    runner.drain().await.expect("drain");
    assert_eq!(consumer.handled(&all), vec![all[0].id, all[2].id]);
    let parked = runner.parked();
    assert_eq!(parked.len(), 1);
    assert_eq!((parked[0].event.id, parked[0].attempts), (all[1].id, 1));
}

/// A prune deletes the oldest events every group has acknowledged (up to the
/// smallest acknowledged position), never one a group still needs; a group seen for
/// the first time afterwards starts at the oldest event kept.
pub async fn prune_deletes_what_every_group_acknowledged(fx: OutboxFixture) {
    let all = events(0, 5);
    fx.outbox.append(&all).await.expect("append");
    let ahead = fx.outbox.claim("ahead", 10, LONG).await.expect("claim");
    fx.outbox.ack("ahead", ahead[4].seq).await.expect("ack");
    let behind = fx.outbox.claim("behind", 2, LONG).await.expect("claim");
    fx.outbox.ack("behind", behind[1].seq).await.expect("ack");
    let pruned = fx.outbox.prune(LONG, 100).await.expect("prune");
    assert_eq!(pruned.deleted, 2, "only what both groups acknowledged");
    assert!(pruned.dropped_groups.is_empty(), "{pruned:?}");
    let rest = fx.outbox.claim("behind", 10, LONG).await.expect("claim");
    assert_eq!(
        ids(&rest),
        all[2..].iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert_eq!(fx.outbox.lag("ahead").await.expect("lag").pending, 0);
    let newcomer = fx.outbox.claim("newcomer", 10, LONG).await.expect("claim");
    assert_eq!(
        ids(&newcomer),
        all[2..].iter().map(|e| e.id).collect::<Vec<_>>(),
        "a new group starts at the oldest event kept"
    );
    let again = fx.outbox.prune(LONG, 100).await.expect("prune");
    assert_eq!(again.deleted, 0, "the newcomer acknowledged nothing yet");
    assert!(matches!(
        fx.outbox.prune(LONG, 0).await,
        Err(Error::Validation { .. })
    ));
}

/// One prune deletes at most `limit` events (batches, so it never holds a long
/// lock); the newest event is always kept.
pub async fn prune_deletes_in_batches_and_keeps_the_newest(fx: OutboxFixture) {
    fx.outbox.append(&events(0, 5)).await.expect("append");
    let all = fx.outbox.claim("g", 10, LONG).await.expect("claim");
    fx.outbox.ack("g", all[4].seq).await.expect("ack");
    let batches: Vec<u64> = [
        fx.outbox.prune(LONG, 2).await.expect("prune").deleted,
        fx.outbox.prune(LONG, 2).await.expect("prune").deleted,
        fx.outbox.prune(LONG, 2).await.expect("prune").deleted,
    ]
    .to_vec();
    assert_eq!(batches, vec![2, 2, 0]);
    assert_eq!(
        fx.outbox.lag("newcomer").await.expect("lag").pending,
        1,
        "the newest event is kept"
    );
}

/// Positions go on increasing after a prune: a group that acknowledged everything
/// gets the events appended afterwards, none skipped or seen twice.
pub async fn positions_go_on_after_a_prune(fx: OutboxFixture) {
    fx.outbox.append(&events(0, 3)).await.expect("append");
    let first = fx.outbox.claim("g", 10, LONG).await.expect("claim");
    fx.outbox.ack("g", first[2].seq).await.expect("ack");
    assert_eq!(fx.outbox.prune(LONG, 100).await.expect("prune").deleted, 2);
    let later = events(3, 5);
    fx.outbox.append(&later).await.expect("append");
    let next = fx.outbox.claim("g", 10, LONG).await.expect("claim");
    assert_eq!(ids(&next), later.iter().map(|e| e.id).collect::<Vec<_>>());
    assert!(next.iter().all(|e| e.seq > first[2].seq), "{next:?}");
    fx.outbox.ack("g", next[1].seq).await.expect("ack");
    assert_eq!(fx.outbox.prune(LONG, 100).await.expect("prune").deleted, 2);
    assert!(
        fx.outbox
            .claim("g", 10, LONG)
            .await
            .expect("claim")
            .is_empty()
    );
}

/// A group not seen (no claim) for the retention, such as a killed instance's, is
/// dropped first, so it no longer pins the log; a live group (it claims, even
/// nothing) is kept.
pub async fn prune_drops_groups_not_seen_within_the_retention(fx: OutboxFixture) {
    let all = events(0, 4);
    fx.outbox.append(&all).await.expect("append");
    let dead = fx.outbox.claim("dead", 1, LONG).await.expect("claim");
    fx.outbox.ack("dead", dead[0].seq).await.expect("ack");
    let live = fx.outbox.claim("live", 10, LONG).await.expect("claim");
    fx.outbox.ack("live", live[3].seq).await.expect("ack");
    let retention = Duration::from_secs(2);
    sleep(Duration::from_millis(3_000)).await;
    // Caught up: its claim hands out nothing, but it is a sign of life.
    assert!(
        fx.outbox
            .claim("live", 10, LONG)
            .await
            .expect("claim")
            .is_empty()
    );
    let pruned = fx.outbox.prune(retention, 100).await.expect("prune");
    assert_eq!(pruned.dropped_groups, vec!["dead".to_owned()]);
    assert_eq!(
        pruned.deleted, 3,
        "all but the newest: live acknowledged all"
    );
    let back = fx.outbox.claim("dead", 10, LONG).await.expect("claim");
    assert_eq!(
        ids(&back),
        vec![all[3].id],
        "a dropped group that comes back starts at the oldest event kept"
    );
}

/// A group that joined before its first claim pins the log: a prune deletes nothing
/// it has not acknowledged, and its first claim gets every event. Joining again, or
/// joining a group that has a position, moves nothing; an empty name is refused.
pub async fn a_joined_group_keeps_its_events_until_its_first_claim(fx: OutboxFixture) {
    let all = events(0, 4);
    fx.outbox.append(&all).await.expect("append");
    fx.outbox.join("late").await.expect("join");
    fx.outbox.join("late").await.expect("join again");
    let early = fx.outbox.claim("early", 10, LONG).await.expect("claim");
    fx.outbox.ack("early", early[3].seq).await.expect("ack");
    let pruned = fx.outbox.prune(LONG, 100).await.expect("prune");
    assert_eq!(pruned.deleted, 0, "late has acknowledged nothing");
    assert_eq!(fx.outbox.lag("late").await.expect("lag").pending, 4);
    fx.outbox.join("early").await.expect("join a known group");
    assert_eq!(fx.outbox.lag("early").await.expect("lag").pending, 0);
    let first = fx.outbox.claim("late", 10, LONG).await.expect("claim");
    assert_eq!(ids(&first), all.iter().map(|e| e.id).collect::<Vec<_>>());
    assert!(matches!(
        fx.outbox.join(" ").await,
        Err(Error::Validation { .. })
    ));
}

/// Joining during another worker's live lease leaves that lease alone: the group's
/// next claim is still empty until it ends.
pub async fn join_leaves_a_live_lease_alone(fx: OutboxFixture) {
    fx.outbox.append(&events(0, 2)).await.expect("append");
    let held = fx.outbox.claim("g", 10, LONG).await.expect("claim");
    assert_eq!(held.len(), 2);
    fx.outbox.join("g").await.expect("join");
    assert!(
        fx.outbox
            .claim("g", 10, LONG)
            .await
            .expect("claim")
            .is_empty(),
        "the lease is still held"
    );
    fx.outbox
        .ack("g", held[1].seq)
        .await
        .expect("the holder still acks");
}

/// Runs every outbox check against a backend: one tokio test per check.
///
/// `make` is the path of an `async fn() -> OutboxFixture` returning a fresh, empty
/// outbox each call.
///
/// ```no_run
/// use std::sync::Arc;
/// use commerce_core::memory::MemoryOutbox;
/// use commerce_core::testkit::outbox::OutboxFixture;
///
/// async fn make() -> OutboxFixture {
///     OutboxFixture { outbox: Arc::new(MemoryOutbox::new()) }
/// }
/// commerce_core::outbox_conformance!(make);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! outbox_conformance {
    ($make:path) => {
        #[allow(unused_imports)]
        mod outbox_conformance {
            use super::*;
            $crate::__core_conformance_tests!($make, outbox:
                claim_returns_events_in_append_order,
                claim_respects_limit_and_ack_advances,
                partial_ack_releases_the_rest,
                second_claim_during_live_lease_is_empty,
                expired_lease_makes_events_claimable_again,
                ack_of_unclaimed_position_is_a_conflict,
                repeated_ack_is_a_no_op,
                every_group_sees_every_event,
                empty_claim_holds_no_lease,
                concurrent_claimers_never_get_the_same_event,
                lag_counts_unacknowledged_events,
                runner_handles_every_event_in_order_in_batches,
                runner_retries_a_retryable_failure_with_backoff,
                runner_parks_an_event_after_max_attempts,
                runner_parks_a_non_retryable_failure_at_once,
                release_makes_a_claim_claimable_at_once,
                release_leaves_another_holders_lease_alone,
                runner_retries_a_failed_pass_at_once_not_after_the_lease,
                prune_deletes_what_every_group_acknowledged,
                prune_deletes_in_batches_and_keeps_the_newest,
                positions_go_on_after_a_prune,
                prune_drops_groups_not_seen_within_the_retention,
                a_joined_group_keeps_its_events_until_its_first_claim,
                join_leaves_a_live_lease_alone,
                extend_keeps_a_lease_alive_past_its_first_end,
                extend_leaves_another_holders_lease_alone,
                runner_heartbeat_keeps_a_slow_batch_leased,
            );
        }
    };
}
