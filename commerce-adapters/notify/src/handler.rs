//! The notification handler: turns an outbox event into messages per the
//! customer's preferences and sends each (event, channel, recipient) once.
//!
//! For every planned message: claim its key in the [`DeliveryLog`], send, mark it
//! sent. A redelivered event, a second worker, or a worker restarted after a crash
//! between the send and the queue acknowledgement finds the `Sent` record and sends
//! nothing more.
//!
//! **A claim without an outcome** (the claiming worker was killed before the
//! provider answered, is still sending, or lost the reply): what the handler does
//! depends on the channel's transport (`resends_are_deduplicated`, see
//! [`crate::channel`]):
//!
//! - **Resends deduplicated** (email: same Message-ID): a claim younger than
//!   [`NotificationHandler::resend_after`] (default [`DEFAULT_RESEND_AFTER`], well
//!   above the SMTP command timeout) fails the event with the retryable
//!   [`NotifyError::InFlight`], so it comes back (RabbitMQ retry queues, the outbox
//!   runner's backoff) instead of being acknowledged with the mail unsent; an older
//!   one is taken over ([`DeliveryLog::take_over`], one worker wins) and the same
//!   message sent again. A send of ours whose outcome is unknown keeps its claim
//!   and answers `InFlight` too: it is taken over after `resend_after`. Exactly once
//!   in the recipient's mailbox, at least once at the provider.
//! - **Not deduplicated** (SMS, push, an integrator's transport by default): at
//!   most once, as the claim found is counted a duplicate and an unknown outcome is
//!   never resent (`DeliveryLog::stale_claims` lists them for an operator).
//!
//! The retry budget of the event must outlast `resend_after`: the notification
//! budget ([`crate::runner::MAX_ATTEMPTS`] attempts, [`crate::runner::FIRST_BACKOFF`]
//! doubling: the last about two minutes after the first), which the in-process
//! runner ([`crate::runner::runner_config`]) and the RabbitMQ notification queue
//! both use, does for the default 30 s.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use chrono::{DateTime, Utc};
use commerce_core::{Clock, EventEnvelope, SystemClock};
use commerce_orders::notification::{
    AccountNotice, Channel, Claim, DeliveryLog, MessageContext, NotificationKind,
    NotificationPreferences, PlannedMessage, PreferenceStore, Recipient, plan,
};
use commerce_orders::{OrderEvent, OrderId, OrderStore};

use crate::channel::{Email, EmailTransport, Push, PushTransport, Sms, SmsTransport};
use crate::error::{NotifyError, Result};
use crate::memory::{MemoryPush, MemorySms};
use crate::templates::{Rendered, Templates};

/// Something that consumes outbox events (the notification handler; the queue
/// worker and the in-process runner drive any of them).
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Handles one event. An error that [`NotifyError::is_retryable`] asks for the
    /// event again later; any other error is final for the event.
    async fn handle(&self, event: &EventEnvelope) -> Result<Outcome>;
}

/// What handling one event did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Messages sent now, as (channel, address).
    pub sent: Vec<(Channel, String)>,
    /// Messages skipped because they were sent (or claimed) before.
    pub duplicates: usize,
    /// Messages whose send ended with an unknown outcome (never resent on a channel
    /// whose resends are not deduplicated).
    pub unknown: usize,
    /// Messages among `sent` that were sent again after taking over a stale claim.
    pub resent: usize,
}

/// How long a claim of a message on a channel whose resends are deduplicated stays
/// another send's before it is taken over: 30 s, three times the SMTP command
/// timeout ([`crate::SmtpMailer::COMMAND_TIMEOUT`]).
pub const DEFAULT_RESEND_AFTER: Duration = Duration::from_secs(30);

/// The notification handler (see the module docs).
#[derive(Clone)]
pub struct NotificationHandler {
    orders: Arc<dyn OrderStore>,
    preferences: Arc<dyn PreferenceStore>,
    log: Arc<dyn DeliveryLog>,
    email: Arc<dyn EmailTransport>,
    sms: Arc<dyn SmsTransport>,
    push: Arc<dyn PushTransport>,
    templates: Templates,
    from: String,
    clock: Arc<dyn Clock>,
    resend_after: Duration,
}

impl std::fmt::Debug for NotificationHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationHandler")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl NotificationHandler {
    /// A handler reading orders and preferences, deduplicating in `log`, sending
    /// mail through `email` from `from`. SMS and push go to in-memory recorders until
    /// [`with_sms`](Self::with_sms) / [`with_push`](Self::with_push) set providers.
    pub fn new(
        orders: Arc<dyn OrderStore>,
        preferences: Arc<dyn PreferenceStore>,
        log: Arc<dyn DeliveryLog>,
        email: Arc<dyn EmailTransport>,
        templates: Templates,
        from: impl Into<String>,
    ) -> Self {
        NotificationHandler {
            orders,
            preferences,
            log,
            email,
            sms: Arc::new(MemorySms::new()),
            push: Arc::new(MemoryPush::new()),
            templates,
            from: from.into(),
            clock: Arc::new(SystemClock),
            resend_after: DEFAULT_RESEND_AFTER,
        }
    }

    /// Sends SMS through `sms`.
    #[must_use]
    pub fn with_sms(mut self, sms: Arc<dyn SmsTransport>) -> Self {
        self.sms = sms;
        self
    }

    /// Sends push notifications through `push`.
    #[must_use]
    pub fn with_push(mut self, push: Arc<dyn PushTransport>) -> Self {
        self.push = push;
        self
    }

    /// Stamps delivery records with `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Takes over and resends a claim older than `after` on a channel whose
    /// resends are deduplicated (see the module docs; default
    /// [`DEFAULT_RESEND_AFTER`]). Keep it above the longest a send may take, or a
    /// slow send is resent while it runs (collapsed downstream, but sent twice).
    #[must_use]
    pub fn with_resend_after(mut self, after: Duration) -> Self {
        self.resend_after = after;
        self
    }

    /// How old a claim must be to be taken over and resent.
    pub fn resend_after(&self) -> Duration {
        self.resend_after
    }

    /// Whether the transport of `channel` collapses a resend of the same message.
    fn resends_deduplicated(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.resends_are_deduplicated(),
            Channel::Sms => self.sms.resends_are_deduplicated(),
            Channel::Push => self.push.resends_are_deduplicated(),
        }
    }

    /// The claim time at or before which a claim is taken over, at `now` (`None`:
    /// `resend_after` is too large for any claim to be that old).
    fn takeover_cutoff(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        chrono::Duration::from_std(self.resend_after)
            .ok()
            .and_then(|after| now.checked_sub_signed(after))
    }

    async fn preferences_of(
        &self,
        customer: Option<commerce_core::CustomerId>,
    ) -> Result<Option<NotificationPreferences>> {
        Ok(match customer {
            Some(c) => Some(self.preferences.get(c).await?),
            None => None,
        })
    }

    /// The recipient, their preferences and the message data of `event`.
    async fn audience(
        &self,
        kind: NotificationKind,
        event: &EventEnvelope,
    ) -> Result<(Recipient, Option<NotificationPreferences>, MessageContext)> {
        match event.aggregate_type.as_str() {
            "order" => {
                let id: OrderId = event.aggregate_id.parse().map_err(|_| {
                    NotifyError::Malformed(format!("order id {}", event.aggregate_id))
                })?;
                let order = self
                    .orders
                    .get(id)
                    .await?
                    .ok_or_else(|| commerce_orders::Error::not_found("order", id))?;
                let typed: Option<OrderEvent> = serde_json::from_value(event.payload.clone()).ok();
                let prefs = self.preferences_of(order.customer_id).await?;
                let recipient = Recipient::new(order.customer_id, order.email.clone())
                    .with_phone(
                        prefs
                            .as_ref()
                            .and_then(|p| p.phone.clone())
                            .or_else(|| order.shipping_address.phone.clone()),
                    )
                    .with_push_token(prefs.as_ref().and_then(|p| p.push_token.clone()));
                let ctx = MessageContext::for_order(kind, &order, typed.as_ref());
                Ok((recipient, prefs, ctx))
            }
            "customer" => {
                let notice: AccountNotice = serde_json::from_value(event.payload.clone())
                    .map_err(|e| NotifyError::Malformed(e.to_string()))?;
                let customer_id = notice.customer_id();
                let email = notice.email().to_owned();
                let prefs = self.preferences_of(Some(customer_id)).await?;
                let recipient = Recipient::new(customer_id, email)
                    .with_phone(prefs.as_ref().and_then(|p| p.phone.clone()))
                    .with_push_token(prefs.as_ref().and_then(|p| p.push_token.clone()));
                Ok((recipient, prefs, MessageContext::for_account(&notice)))
            }
            other => Err(NotifyError::Malformed(format!(
                "{} has aggregate type {other}",
                event.topic
            ))),
        }
    }

    async fn send_one(
        &self,
        event: &EventEnvelope,
        message: &PlannedMessage,
        rendered: &Rendered,
    ) -> Result<Option<String>> {
        let accepted = match message.channel {
            Channel::Email => {
                self.email
                    .send(&Email {
                        to: message.address.clone(),
                        from: self.from.clone(),
                        subject: rendered.subject.clone(),
                        text: rendered.text.clone(),
                        html: rendered.html.clone(),
                        message_id: message_id(event, &message.address),
                    })
                    .await?
            }
            Channel::Sms => {
                self.sms
                    .send(&Sms {
                        to: message.address.clone(),
                        body: rendered.sms.clone(),
                    })
                    .await?
            }
            Channel::Push => {
                self.push
                    .send(&Push {
                        token: message.address.clone(),
                        title: rendered.subject.clone(),
                        body: rendered.push.clone(),
                    })
                    .await?
            }
        };
        Ok(accepted.provider_id)
    }
}

/// A Message-ID unique per event and recipient: `<event id>.<hash>@commerce`.
fn message_id(event: &EventEnvelope, address: &str) -> String {
    // FNV-1a: a stable, dependency-free hash; the id only has to differ per address.
    let hash = address
        .to_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{}.{hash:016x}@commerce", event.id)
}

#[async_trait]
impl EventHandler for NotificationHandler {
    async fn handle(&self, event: &EventEnvelope) -> Result<Outcome> {
        let Some(kind) = NotificationKind::from_topic(&event.topic) else {
            return Ok(Outcome::default());
        };
        let (recipient, prefs, ctx) = self.audience(kind, event).await?;
        let planned = plan(kind, event.id, &recipient, prefs.as_ref());
        if planned.is_empty() {
            return Ok(Outcome::default());
        }
        let rendered = self.templates.render(kind, &ctx)?;
        let mut outcome = Outcome::default();
        let mut retry = None;
        for message in &planned {
            let dedupes = self.resends_deduplicated(message.channel);
            let now = self.clock.now();
            let in_flight = |claimed_at| NotifyError::InFlight {
                channel: message.channel.as_str(),
                key: message.key.as_str().to_owned(),
                claimed_at,
            };
            let resend = match self.log.claim(&message.key, now).await? {
                Claim::Claimed => false,
                Claim::AlreadySent(_) => {
                    outcome.duplicates += 1;
                    continue;
                }
                Claim::InFlight(_) if !dedupes => {
                    // At most once: whoever claimed it sends it, or nobody does.
                    outcome.duplicates += 1;
                    continue;
                }
                Claim::InFlight(record) => match self.takeover_cutoff(now) {
                    Some(cutoff)
                        if record.claimed_at <= cutoff
                            && self.log.take_over(&message.key, cutoff, now).await? =>
                    {
                        true
                    }
                    // Young, or another worker took it over first: come back later.
                    _ => {
                        retry.get_or_insert(in_flight(record.claimed_at));
                        continue;
                    }
                },
            };
            match self.send_one(event, message, &rendered).await {
                Ok(provider_id) => {
                    self.log
                        .mark_sent(&message.key, provider_id.as_deref(), self.clock.now())
                        .await?;
                    outcome
                        .sent
                        .push((message.channel, message.address.clone()));
                    outcome.resent += usize::from(resend);
                }
                Err(NotifyError::Unknown { .. }) => {
                    // It may have left: keep the claim. Resent once the claim is
                    // old enough where resends are collapsed, else never.
                    outcome.unknown += 1;
                    if dedupes {
                        retry.get_or_insert(in_flight(now));
                    }
                }
                Err(e) => {
                    // Nothing left: free the key so the retry can send.
                    self.log.release(&message.key, now).await?;
                    retry.get_or_insert(e);
                }
            }
        }
        match retry {
            Some(e) => Err(e),
            None => Ok(outcome),
        }
    }
}
