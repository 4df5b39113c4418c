//! The notification handler: turns an outbox event into messages per the
//! customer's preferences and sends each (event, channel, recipient) at most once.
//!
//! For every planned message: claim its key in the [`DeliveryLog`], send, mark it
//! sent. A redelivered event, a second worker, or a worker restarted after a crash
//! between the send and the queue acknowledgement finds the record and sends nothing
//! more. See [`commerce_orders::notification`] for the at-most-once choice in the
//! gap between the provider's acceptance and the record.

use std::sync::Arc;

use async_trait::async_trait;

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
    /// Messages whose send ended with an unknown outcome (not retried).
    pub unknown: usize,
}

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
            match self.log.claim(&message.key, self.clock.now()).await? {
                Claim::Claimed => {}
                Claim::AlreadySent(_) | Claim::InFlight(_) => {
                    outcome.duplicates += 1;
                    continue;
                }
            }
            match self.send_one(event, message, &rendered).await {
                Ok(provider_id) => {
                    self.log
                        .mark_sent(&message.key, provider_id.as_deref(), self.clock.now())
                        .await?;
                    outcome
                        .sent
                        .push((message.channel, message.address.clone()));
                }
                Err(NotifyError::Unknown { .. }) => {
                    // It may have left: keep the claim, never resend (at most once).
                    outcome.unknown += 1;
                }
                Err(e) => {
                    // Nothing left: free the key so the retry can send.
                    self.log.release(&message.key).await?;
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
