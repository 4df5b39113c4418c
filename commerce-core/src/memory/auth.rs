//! In-memory [`SessionStore`] and [`LoginRateLimiter`]: the reference behaviour, and
//! the embedded default of a single-process server.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::auth::{
    Decision, LoginRateLimiter, NewSession, RateLimit, Session, SessionStore, SessionToken,
    TokenDigest, validate_rate_limit_key, validate_session_ttl,
};
use crate::error::{Error, Result};
use crate::id::CustomerId;
use crate::role::Role;

/// Expired entries are swept after this many writes (bounds memory without a task).
const SWEEP_EVERY: u32 = 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn expiry(now: DateTime<Utc>, ttl: Duration) -> Result<DateTime<Utc>> {
    now.checked_add_signed(ttl).ok_or(Error::Overflow)
}

#[derive(Debug, Default)]
struct Sessions {
    by_digest: HashMap<TokenDigest, Session>,
    by_customer: HashMap<CustomerId, HashSet<TokenDigest>>,
    writes: u32,
}

impl Sessions {
    fn remove(&mut self, digest: &TokenDigest) {
        if let Some(session) = self.by_digest.remove(digest)
            && let Some(set) = self.by_customer.get_mut(&session.customer_id)
        {
            set.remove(digest);
            if set.is_empty() {
                self.by_customer.remove(&session.customer_id);
            }
        }
    }

    fn sweep_now_and_then(&mut self, now: DateTime<Utc>) {
        self.writes = self.writes.wrapping_add(1);
        if !self.writes.is_multiple_of(SWEEP_EVERY) {
            return;
        }
        let dead: Vec<TokenDigest> = self
            .by_digest
            .iter()
            .filter(|(_, s)| !s.is_live_at(now))
            .map(|(d, _)| *d)
            .collect();
        for d in dead {
            self.remove(&d);
        }
    }
}

/// Sessions in a map keyed by token digest (the token itself is never kept).
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    inner: Mutex<Sessions>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create_with_role(
        &self,
        customer_id: CustomerId,
        role: Role,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<NewSession> {
        validate_session_ttl(ttl)?;
        let session = Session {
            customer_id,
            role,
            created_at: now,
            expires_at: expiry(now, ttl)?,
        };
        let token = SessionToken::generate()?;
        let digest = token.digest();
        let mut inner = lock(&self.inner);
        inner.sweep_now_and_then(now);
        inner.by_digest.insert(digest, session.clone());
        inner
            .by_customer
            .entry(customer_id)
            .or_default()
            .insert(digest);
        Ok(NewSession { token, session })
    }

    async fn session(&self, token: &SessionToken, now: DateTime<Utc>) -> Result<Option<Session>> {
        let inner = lock(&self.inner);
        Ok(inner
            .by_digest
            .get(&token.digest())
            .filter(|s| s.is_live_at(now))
            .cloned())
    }

    async fn touch(
        &self,
        token: &SessionToken,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>> {
        validate_session_ttl(ttl)?;
        let until = expiry(now, ttl)?;
        let mut inner = lock(&self.inner);
        let Some(session) = inner
            .by_digest
            .get_mut(&token.digest())
            .filter(|s| s.is_live_at(now))
        else {
            return Ok(None);
        };
        session.expires_at = session.expires_at.max(until);
        Ok(Some(session.clone()))
    }

    async fn revoke(&self, token: &SessionToken) -> Result<()> {
        lock(&self.inner).remove(&token.digest());
        Ok(())
    }

    async fn revoke_all(&self, customer_id: CustomerId) -> Result<()> {
        let mut inner = lock(&self.inner);
        if let Some(digests) = inner.by_customer.remove(&customer_id) {
            for d in digests {
                inner.by_digest.remove(&d);
            }
        }
        Ok(())
    }
}

/// Whether a hit at `t` still counts at `now` under `window`.
fn counts(t: DateTime<Utc>, window: Duration, now: DateTime<Utc>) -> bool {
    now.signed_duration_since(t) < window
}

#[derive(Debug)]
struct HitLog {
    /// Times of counted hits, oldest first.
    hits: VecDeque<DateTime<Utc>>,
    /// Window of the last limit applied (for sweeping).
    window: Duration,
}

#[derive(Debug, Default)]
struct Limits {
    logs: HashMap<String, HitLog>,
    writes: u32,
}

/// A sliding-window log per key, in a map.
#[derive(Debug, Default)]
pub struct MemoryRateLimiter {
    inner: Mutex<Limits>,
}

impl MemoryRateLimiter {
    /// An empty limiter.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl LoginRateLimiter for MemoryRateLimiter {
    async fn hit(&self, key: &str, limit: RateLimit, now: DateTime<Utc>) -> Result<Decision> {
        validate_rate_limit_key(key)?;
        limit.validate()?;
        let mut inner = lock(&self.inner);
        inner.writes = inner.writes.wrapping_add(1);
        if inner.writes.is_multiple_of(SWEEP_EVERY) {
            inner
                .logs
                .retain(|_, log| log.hits.back().is_some_and(|t| counts(*t, log.window, now)));
        }
        let log = inner.logs.entry(key.to_owned()).or_insert_with(|| HitLog {
            hits: VecDeque::new(),
            window: limit.window,
        });
        log.window = limit.window;
        while log
            .hits
            .front()
            .is_some_and(|t| !counts(*t, limit.window, now))
        {
            log.hits.pop_front();
        }
        let counted = u32::try_from(log.hits.len()).unwrap_or(u32::MAX);
        if counted < limit.max_hits {
            log.hits.push_back(now);
            return Ok(Decision {
                allowed: true,
                remaining: limit.max_hits - counted - 1,
                retry_after: None,
            });
        }
        // The hit whose leaving brings the count under the limit (the oldest one unless
        // the limit was lowered since the hits were counted).
        let excess = usize::try_from(counted - limit.max_hits).unwrap_or(0);
        let freeing = log.hits.get(excess).copied().unwrap_or(now);
        Ok(Decision {
            allowed: false,
            remaining: 0,
            retry_after: Some(limit.window - now.signed_duration_since(freeing)),
        })
    }

    async fn reset(&self, key: &str) -> Result<()> {
        validate_rate_limit_key(key)?;
        lock(&self.inner).logs.remove(key);
        Ok(())
    }
}
