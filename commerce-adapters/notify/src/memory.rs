//! In-memory channels: the mailbox the embedded default sends mail to (and the
//! example shows at a page), and recorders for SMS and push.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::channel::{Accepted, Email, EmailTransport, Push, PushTransport, Sms, SmsTransport};
use crate::error::Result;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Mail kept in memory, newest last. The default when `SMTP_URL` is unset.
///
/// Like a mailbox provider it collapses a message sent again with the same
/// Message-ID (a resend after an unknown outcome): it keeps the first, and counts
/// every send it received ([`MemoryMailbox::deliveries`]).
#[derive(Debug, Default)]
pub struct MemoryMailbox {
    inbox: Mutex<Inbox>,
}

#[derive(Debug, Default)]
struct Inbox {
    messages: Vec<Email>,
    /// Message-ID -> index in `messages`.
    ids: HashMap<String, usize>,
    deliveries: usize,
}

impl MemoryMailbox {
    /// An empty mailbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message received, oldest first (what a mailbox page lists).
    pub fn messages(&self) -> Vec<Email> {
        lock(&self.inbox).messages.clone()
    }

    /// The messages sent to `to` (case-insensitive), oldest first.
    pub fn messages_to(&self, to: &str) -> Vec<Email> {
        lock(&self.inbox)
            .messages
            .iter()
            .filter(|m| m.to.eq_ignore_ascii_case(to))
            .cloned()
            .collect()
    }

    /// The newest `limit` messages, newest first (for a page).
    pub fn latest(&self, limit: usize) -> Vec<Email> {
        lock(&self.inbox)
            .messages
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect()
    }

    /// The message with this Message-ID.
    pub fn message(&self, message_id: &str) -> Option<Email> {
        let inbox = lock(&self.inbox);
        inbox
            .ids
            .get(message_id)
            .and_then(|i| inbox.messages.get(*i))
            .cloned()
    }

    /// Number of messages (distinct Message-IDs).
    pub fn len(&self) -> usize {
        lock(&self.inbox).messages.len()
    }

    /// Number of sends received, resends of a message it holds included.
    pub fn deliveries(&self) -> usize {
        lock(&self.inbox).deliveries
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl EmailTransport for MemoryMailbox {
    async fn send(&self, email: &Email) -> Result<Accepted> {
        let mut inbox = lock(&self.inbox);
        inbox.deliveries += 1;
        if !inbox.ids.contains_key(&email.message_id) {
            let index = inbox.messages.len();
            inbox.ids.insert(email.message_id.clone(), index);
            inbox.messages.push(email.clone());
        }
        Ok(Accepted {
            provider_id: Some(email.message_id.clone()),
        })
    }

    /// `true`: a message with a Message-ID it holds is kept once.
    fn resends_are_deduplicated(&self) -> bool {
        true
    }
}

/// Text messages kept in memory.
#[derive(Debug, Default)]
pub struct MemorySms {
    messages: Mutex<Vec<Sms>>,
}

impl MemorySms {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message, oldest first.
    pub fn messages(&self) -> Vec<Sms> {
        lock(&self.messages).clone()
    }
}

#[async_trait]
impl SmsTransport for MemorySms {
    async fn send(&self, sms: &Sms) -> Result<Accepted> {
        lock(&self.messages).push(sms.clone());
        Ok(Accepted::default())
    }
}

/// Push notifications kept in memory.
#[derive(Debug, Default)]
pub struct MemoryPush {
    messages: Mutex<Vec<Push>>,
}

impl MemoryPush {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every notification, oldest first.
    pub fn messages(&self) -> Vec<Push> {
        lock(&self.messages).clone()
    }
}

#[async_trait]
impl PushTransport for MemoryPush {
    async fn send(&self, push: &Push) -> Result<Accepted> {
        lock(&self.messages).push(push.clone());
        Ok(Accepted::default())
    }
}
