//! In-memory [`PreferenceStore`] and [`DeliveryLog`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use commerce_core::CustomerId;

use super::delivery::{Claim, DeliveryKey, DeliveryLog, DeliveryRecord, DeliveryState};
use super::preferences::{NotificationPreferences, PreferenceStore, check_contact};
use super::{Channel, NotificationKind};
use crate::error::{Error, Result};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every statement leaves the map consistent: recover from a poisoned lock.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Preferences in a map.
#[derive(Debug, Default)]
pub struct MemoryPreferenceStore {
    prefs: Mutex<HashMap<CustomerId, NotificationPreferences>>,
}

impl MemoryPreferenceStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl PreferenceStore for MemoryPreferenceStore {
    async fn get(&self, customer_id: CustomerId) -> Result<NotificationPreferences> {
        Ok(lock(&self.prefs)
            .get(&customer_id)
            .cloned()
            .unwrap_or_else(|| NotificationPreferences::defaults(customer_id)))
    }

    async fn choose(
        &self,
        customer_id: CustomerId,
        kind: NotificationKind,
        channel: Channel,
        enabled: bool,
    ) -> Result<NotificationPreferences> {
        let mut prefs = lock(&self.prefs);
        let entry = prefs
            .entry(customer_id)
            .or_insert_with(|| NotificationPreferences::defaults(customer_id));
        let mut changed = entry.clone();
        changed.choose(kind, channel, enabled)?;
        *entry = changed.clone();
        Ok(changed)
    }

    async fn set_contact(
        &self,
        customer_id: CustomerId,
        phone: Option<String>,
        push_token: Option<String>,
    ) -> Result<NotificationPreferences> {
        check_contact(phone.as_deref(), push_token.as_deref())?;
        let mut prefs = lock(&self.prefs);
        let entry = prefs
            .entry(customer_id)
            .or_insert_with(|| NotificationPreferences::defaults(customer_id));
        entry.phone = phone;
        entry.push_token = push_token;
        Ok(entry.clone())
    }
}

/// Delivery records in a map.
#[derive(Debug, Default)]
pub struct MemoryDeliveryLog {
    records: Mutex<HashMap<DeliveryKey, DeliveryRecord>>,
}

impl MemoryDeliveryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of records (for tests).
    pub fn len(&self) -> usize {
        lock(&self.records).len()
    }

    /// True when nothing was claimed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl DeliveryLog for MemoryDeliveryLog {
    async fn claim(&self, key: &DeliveryKey, now: DateTime<Utc>) -> Result<Claim> {
        let mut records = lock(&self.records);
        match records.get(key) {
            Some(r) if r.state == DeliveryState::Sent => Ok(Claim::AlreadySent(r.clone())),
            Some(r) => Ok(Claim::InFlight(r.clone())),
            None => {
                records.insert(
                    key.clone(),
                    DeliveryRecord {
                        key: key.clone(),
                        state: DeliveryState::Claimed,
                        claimed_at: now,
                        sent_at: None,
                        provider_id: None,
                        resends: 0,
                    },
                );
                Ok(Claim::Claimed)
            }
        }
    }

    async fn mark_sent(
        &self,
        key: &DeliveryKey,
        provider_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut records = lock(&self.records);
        let r = records
            .get_mut(key)
            .ok_or_else(|| Error::not_found("delivery", key))?;
        if r.state == DeliveryState::Claimed {
            r.state = DeliveryState::Sent;
            r.sent_at = Some(now);
            r.provider_id = provider_id.map(str::to_owned);
        }
        Ok(())
    }

    async fn release(&self, key: &DeliveryKey, claimed_at: DateTime<Utc>) -> Result<()> {
        let mut records = lock(&self.records);
        match records.get(key).map(|r| (r.state, r.claimed_at)) {
            Some((DeliveryState::Sent, _)) => Err(Error::Conflict(format!("{key} was sent"))),
            Some((DeliveryState::Claimed, at)) if at == claimed_at => {
                records.remove(key);
                Ok(())
            }
            Some((DeliveryState::Claimed, _)) | None => Ok(()),
        }
    }

    async fn take_over(
        &self,
        key: &DeliveryKey,
        claimed_at_or_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut records = lock(&self.records);
        match records.get_mut(key) {
            Some(r)
                if r.state == DeliveryState::Claimed
                    && r.claimed_at <= claimed_at_or_before
                    && r.claimed_at < now =>
            {
                r.claimed_at = now;
                r.resends = r.resends.saturating_add(1);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn get(&self, key: &DeliveryKey) -> Result<Option<DeliveryRecord>> {
        Ok(lock(&self.records).get(key).cloned())
    }

    async fn stale_claims(
        &self,
        older_than: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>> {
        let mut stale: Vec<DeliveryRecord> = lock(&self.records)
            .values()
            .filter(|r| r.state == DeliveryState::Claimed && r.claimed_at <= older_than)
            .cloned()
            .collect();
        stale.sort_by(|a, b| a.claimed_at.cmp(&b.claimed_at).then(a.key.cmp(&b.key)));
        stale.truncate(limit as usize);
        Ok(stale)
    }
}
