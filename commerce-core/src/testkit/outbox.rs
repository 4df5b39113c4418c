//! Conformance checks for [`Outbox`] implementations.
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
use crate::ports::{Outbox, OutboxEntry};
use crate::testkit::fixtures::event;
use crate::testkit::support::{sleep, yield_now};

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
            );
        }
    };
}
