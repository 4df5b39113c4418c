//! In-memory outbox: an append-only log with one cursor and one lease per consumer
//! group.
//!
//! Other in-memory stores call [`MemoryOutbox::push`] while they hold their own lock,
//! so the events of a change become visible together with the change (the in-memory
//! form of "written in the same transaction"). The lock order is always "store lock,
//! then outbox lock"; the outbox never calls out while it holds its lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::event::EventEnvelope;
use crate::ports::{Claimed, LeaseId, Outbox, OutboxEntry, lease_end};

/// Most events one claim hands out, whatever `limit` asks for.
pub const MAX_CLAIM: u32 = 1_000;

/// The progress of one consumer group.
#[derive(Debug)]
struct Group {
    /// When the group last claimed (the last sign of life [`Outbox::prune`] reads).
    seen_at: DateTime<Utc>,
    /// Highest acknowledged position (0: nothing acknowledged yet).
    acked: u64,
    /// The outstanding claim: last position handed out and when the lease ends.
    lease: Option<Lease>,
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    id: LeaseId,
    last_seq: u64,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct State {
    /// Entries kept, in position order; `entries[i].seq == pruned + i + 1`.
    entries: Vec<OutboxEntry>,
    /// Entries deleted from the front by [`Outbox::prune`].
    pruned: u64,
    groups: HashMap<String, Group>,
}

/// The in-memory [`Outbox`]. Cheap to share as `Arc<MemoryOutbox>`.
#[derive(Debug)]
pub struct MemoryOutbox {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryOutbox {
    fn default() -> Self {
        MemoryOutbox::new()
    }
}

impl MemoryOutbox {
    /// An empty outbox on the system clock.
    pub fn new() -> Self {
        MemoryOutbox::with_clock(Arc::new(SystemClock))
    }

    /// An empty outbox whose leases run on `clock` (a [`crate::ManualClock`] in tests).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        MemoryOutbox {
            state: Mutex::new(State::default()),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement, so a panic elsewhere while
        // the lock was held leaves nothing half-written: recover the guard.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `events` synchronously and returns the position of the last one (the
    /// current last position when `events` is empty).
    ///
    /// In-memory stores call this while holding their own lock so the events appear
    /// atomically with the state change they describe.
    pub fn push(&self, events: Vec<EventEnvelope>) -> u64 {
        let mut state = self.lock();
        for event in events {
            let seq = state.last_seq() + 1;
            state.entries.push(OutboxEntry { seq, event });
        }
        state.last_seq()
    }

    /// A snapshot of every entry kept (appended and not pruned), in order (for tests
    /// and diagnostics).
    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.lock().entries.clone()
    }

    /// The envelopes of every entry whose topic is `topic`, in order.
    pub fn events_with_topic(&self, topic: &str) -> Vec<EventEnvelope> {
        self.lock()
            .entries
            .iter()
            .filter(|e| e.event.topic == topic)
            .map(|e| e.event.clone())
            .collect()
    }

    /// Number of entries kept (appended and not pruned).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when nothing has been appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl State {
    /// The position of the last entry appended (0 before the first).
    fn last_seq(&self) -> u64 {
        self.pruned + self.entries.len() as u64
    }

    /// The index in `entries` of the first entry after position `acked`.
    fn index_after(&self, acked: u64) -> Result<usize> {
        usize::try_from(acked.saturating_sub(self.pruned)).map_err(|_| Error::Overflow)
    }
}

fn check_consumer(consumer: &str) -> Result<()> {
    if consumer.trim().is_empty() {
        return Err(Error::validation("consumer", "must not be empty"));
    }
    Ok(())
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn append(&self, events: &[EventEnvelope]) -> Result<()> {
        self.push(events.to_vec());
        Ok(())
    }

    async fn claim_leased(&self, consumer: &str, limit: u32, lease: Duration) -> Result<Claimed> {
        check_consumer(consumer)?;
        if limit == 0 {
            return Err(Error::validation("limit", "must be at least 1"));
        }
        let now = self.clock.now();
        let expires_at = lease_end(now, lease, "lease")?;
        let mut guard = self.lock();
        let state = &mut *guard;
        let group = state
            .groups
            .entry(consumer.to_owned())
            .or_insert_with(|| Group {
                seen_at: now,
                acked: 0,
                lease: None,
            });
        group.seen_at = now;
        if group.lease.is_some_and(|l| now < l.expires_at) {
            return Ok(Claimed::default());
        }
        group.lease = None;
        let acked = group.acked;
        let start = state.index_after(acked)?;
        let take = usize::try_from(limit.min(MAX_CLAIM)).map_err(|_| Error::Overflow)?;
        let claimed: Vec<OutboxEntry> = state
            .entries
            .iter()
            .skip(start)
            .take(take)
            .cloned()
            .collect();
        let mut id = None;
        if let Some(last) = claimed.last()
            && let Some(group) = state.groups.get_mut(consumer)
        {
            let lease = LeaseId::new();
            id = Some(lease);
            group.lease = Some(Lease {
                id: lease,
                last_seq: last.seq,
                expires_at,
            });
        }
        Ok(Claimed::new(claimed, id))
    }

    async fn join(&self, consumer: &str) -> Result<()> {
        check_consumer(consumer)?;
        let now = self.clock.now();
        let mut state = self.lock();
        state
            .groups
            .entry(consumer.to_owned())
            .or_insert_with(|| Group {
                seen_at: now,
                acked: 0,
                lease: None,
            })
            .seen_at = now;
        Ok(())
    }

    async fn release(&self, consumer: &str, lease: LeaseId) -> Result<bool> {
        check_consumer(consumer)?;
        let mut state = self.lock();
        match state.groups.get_mut(consumer) {
            Some(group) if group.lease.is_some_and(|l| l.id == lease) => {
                group.lease = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn extend(&self, consumer: &str, lease: LeaseId, by: Duration) -> Result<bool> {
        check_consumer(consumer)?;
        let now = self.clock.now();
        let until = lease_end(now, by, "by")?;
        let mut state = self.lock();
        match state.groups.get_mut(consumer) {
            Some(group) => match group.lease.as_mut() {
                Some(held) if held.id == lease => {
                    held.expires_at = until;
                    group.seen_at = now;
                    Ok(true)
                }
                _ => Ok(false),
            },
            None => Ok(false),
        }
    }

    async fn lag(&self, consumer: &str) -> Result<crate::ports::OutboxLag> {
        check_consumer(consumer)?;
        let state = self.lock();
        let acked = state.groups.get(consumer).map_or(0, |g| g.acked);
        let start = state.index_after(acked)?;
        let pending = state.entries.len().saturating_sub(start);
        let oldest = state.entries.get(start).map(|e| e.event.occurred_at);
        Ok(crate::ports::OutboxLag::new(pending as u64, oldest))
    }

    async fn prune(
        &self,
        group_retention: Duration,
        limit: u32,
    ) -> Result<crate::ports::OutboxPruned> {
        if limit == 0 {
            return Err(Error::validation("limit", "must be at least 1"));
        }
        let retention = chrono::Duration::from_std(group_retention)
            .map_err(|_| Error::validation("group_retention", "too long"))?;
        let now = self.clock.now();
        let mut state = self.lock();
        let mut dropped: Vec<String> = state
            .groups
            .iter()
            .filter(|(_, g)| now.signed_duration_since(g.seen_at) > retention)
            .map(|(name, _)| name.clone())
            .collect();
        dropped.sort();
        for name in &dropped {
            state.groups.remove(name);
        }
        let Some(floor) = state.groups.values().map(|g| g.acked).min() else {
            return Ok(crate::ports::OutboxPruned::new(dropped, 0));
        };
        // The newest entry stays, as in every backend (PostgreSQL numbers new rows
        // from the largest position it holds).
        let prunable = state
            .index_after(floor)?
            .min(state.entries.len().saturating_sub(1));
        let take = prunable.min(usize::try_from(limit).map_err(|_| Error::Overflow)?);
        state.entries.drain(..take);
        state.pruned += take as u64;
        Ok(crate::ports::OutboxPruned::new(dropped, take as u64))
    }

    async fn ack(&self, consumer: &str, seq: u64) -> Result<()> {
        check_consumer(consumer)?;
        let mut state = self.lock();
        let group = state
            .groups
            .get_mut(consumer)
            .ok_or_else(|| Error::Conflict(format!("{consumer} has claimed nothing")))?;
        if seq <= group.acked {
            // Already acknowledged: a retried ack is a no-op.
            return Ok(());
        }
        match group.lease {
            Some(lease) if seq <= lease.last_seq => {
                group.acked = seq;
                group.lease = None;
                Ok(())
            }
            _ => Err(Error::Conflict(format!(
                "{consumer} has not claimed position {seq}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::testkit::fixtures::{event, fixed_time};

    #[tokio::test]
    async fn lease_runs_on_the_injected_clock() {
        let clock = Arc::new(ManualClock::new(fixed_time()));
        let outbox = MemoryOutbox::with_clock(clock.clone());
        outbox.push(vec![event("t", 1), event("t", 2)]);
        let lease = Duration::from_secs(30);
        assert_eq!(outbox.claim("g", 10, lease).await.unwrap().len(), 2);
        clock.advance(chrono::Duration::seconds(29));
        assert!(outbox.claim("g", 10, lease).await.unwrap().is_empty());
        clock.advance(chrono::Duration::seconds(1));
        let again = outbox.claim("g", 1, lease).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].seq, 1);
        outbox.ack("g", 1).await.unwrap();
        assert_eq!(outbox.claim("g", 10, lease).await.unwrap()[0].seq, 2);
    }

    #[tokio::test]
    async fn push_numbers_positions_from_one() {
        let outbox = MemoryOutbox::new();
        assert_eq!(outbox.push(Vec::new()), 0);
        assert_eq!(outbox.push(vec![event("t", 1), event("t", 2)]), 2);
        assert_eq!(outbox.events_with_topic("t").len(), 2);
        assert!(matches!(
            outbox.claim("g", 0, Duration::from_secs(1)).await,
            Err(Error::Validation { .. })
        ));
        assert!(matches!(
            outbox.claim("", 1, Duration::from_secs(1)).await,
            Err(Error::Validation { .. })
        ));
    }
}
