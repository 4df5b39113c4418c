//! The delivery log: one record per (event, channel, recipient), so that a message
//! reaches its recipient once.
//!
//! A worker [`claims`](DeliveryLog::claim) a message's key before sending it; only
//! the worker whose claim wrote the record sends. After the provider accepted the
//! message, the worker [`marks it sent`](DeliveryLog::mark_sent), then acknowledges
//! the queue message. Redeliveries, a second worker and a worker restarted after a
//! crash all find the record; a `Sent` record sends nothing more. A failure known to
//! have sent nothing (the connection was refused, the provider rejected the message)
//! [`releases`](DeliveryLog::release) the claim so the retry can send.
//!
//! **A claim whose send never answered.** A crash after the claim and before
//! `mark_sent` (or a reply lost on the way) leaves a `Claimed` record: whether the
//! provider accepted the message is unknown. What happens next depends on the
//! channel:
//!
//! - **The provider collapses a resend of the same message** (email: the resend
//!   carries the same Message-ID, which mailbox providers deduplicate): the worker
//!   that meets the claim once it is old enough [`takes it over`](DeliveryLog::take_over)
//!   (one worker wins) and sends again, the same message. At least once at the
//!   provider, once in the recipient's mailbox: a confirmation never silently goes
//!   missing. A younger claim may still be in flight: the event is retried later.
//! - **It does not** (SMS, push): the record stays `Claimed` and nothing resends it
//!   (at most once: a duplicate text is what we promised never to send). Those
//!   records are listed by [`DeliveryLog::stale_claims`] for an operator to check
//!   against the provider's log.
//!
//! Which channel is which is the transport's to say (`commerce-notify`: the
//! `resends_are_deduplicated` method of each channel port).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use commerce_core::EventId;

use super::Channel;
use crate::error::Result;

/// The dedupe key of one message: `event:channel:recipient`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeliveryKey(String);

impl DeliveryKey {
    /// The key of the message about `event` on `channel` to `recipient` (compared
    /// case-insensitively for email).
    pub fn new(event: EventId, channel: Channel, recipient: &str) -> Self {
        let recipient = match channel {
            Channel::Email => recipient.trim().to_lowercase(),
            Channel::Sms | Channel::Push => recipient.trim().to_owned(),
        };
        DeliveryKey(format!("{event}:{}:{recipient}", channel.as_str()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key from its text (as stored).
    pub fn from_stored(s: String) -> Self {
        DeliveryKey(s)
    }
}

impl std::fmt::Display for DeliveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// A worker claimed it and is sending (or crashed while sending).
    Claimed,
    /// The provider accepted it.
    Sent,
}

/// The record of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Its key.
    pub key: DeliveryKey,
    /// Where it is.
    pub state: DeliveryState,
    /// When it was claimed, or last [taken over](DeliveryLog::take_over).
    pub claimed_at: DateTime<Utc>,
    /// When the provider accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// The provider's id of the message (SMTP queue id, SMS sid...).
    pub provider_id: Option<String>,
    /// Times the claim was taken over to send the message again (0: sent, or
    /// being sent, by its first claimer only).
    #[serde(default)]
    pub resends: u32,
}

/// The outcome of [`DeliveryLog::claim`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This caller wrote the claim: send, then `mark_sent` (or `release`).
    Claimed,
    /// Already sent: send nothing.
    AlreadySent(DeliveryRecord),
    /// Claimed by another worker, or by one that crashed mid-send: send nothing now
    /// (see the module docs for when it is taken over).
    InFlight(DeliveryRecord),
}

/// The dedupe records of sent notifications.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    /// Writes a `Claimed` record for `key` unless one exists, atomically: of any
    /// number of concurrent claims of one key exactly one gets [`Claim::Claimed`].
    async fn claim(&self, key: &DeliveryKey, now: DateTime<Utc>) -> Result<Claim>;

    /// Records that the provider accepted the message. `NotFound` when `key` was
    /// never claimed; marking a sent record again is a no-op.
    async fn mark_sent(
        &self,
        key: &DeliveryKey,
        provider_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Removes the `Claimed` record of `key` stamped `claimed_at` (the caller's own
    /// claim, or its takeover) whose send is known to have failed without sending,
    /// so a retry may claim it again. A claim stamped otherwise (taken over by
    /// another worker since: its send is under way) is left alone, as is an unknown
    /// key; a `Sent` record is a `Conflict`.
    async fn release(&self, key: &DeliveryKey, claimed_at: DateTime<Utc>) -> Result<()>;

    /// Takes over the `Claimed` record of `key` if it was claimed at or before
    /// `claimed_at_or_before` (and before `now`): re-stamps its claim time with `now`,
    /// counts one more resend ([`DeliveryRecord::resends`]) and returns `true`, so this caller sends again (then `mark_sent` or `release`
    /// as after a claim). Atomic: of any number of concurrent takeovers of one claim
    /// exactly one gets `true`. A `Sent` record, a claim younger than the cutoff and
    /// an unknown key are not taken (`false`). Only for channels whose provider
    /// collapses a resend (see the module docs).
    async fn take_over(
        &self,
        key: &DeliveryKey,
        claimed_at_or_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// The record of `key`, if any.
    async fn get(&self, key: &DeliveryKey) -> Result<Option<DeliveryRecord>>;

    /// `Claimed` records claimed at or before `older_than`, oldest first, at most
    /// `limit`: sends whose outcome is unknown, for an operator. On channels whose
    /// provider collapses resends they are taken over and resent by the workers;
    /// on the others (SMS, push) nothing resends them (see the module docs).
    async fn stale_claims(
        &self,
        older_than: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>>;
}
