//! Channel ports: how an email, a text message or a push notification leaves.
//!
//! Implementations: [`crate::SmtpMailer`] and [`crate::MemoryMailbox`] for email,
//! [`crate::MemorySms`]/[`crate::MemoryPush`] (and the HTTP providers) for the others.
//! A send that failed must say whether anything may have left:
//! [`crate::NotifyError::NotSent`] (nothing did, retry) or
//! [`crate::NotifyError::Unknown`] (it may have).
//!
//! **Resends.** Each port says whether a resend of the same message is collapsed
//! downstream (`resends_are_deduplicated`, default `false`). That decides what the
//! [`crate::NotificationHandler`] does with a send whose outcome is unknown (a crash
//! between the delivery log's claim and the provider's answer, a lost reply):
//!
//! | channel | resends collapsed | guarantee |
//! |---|---|---|
//! | email over SMTP ([`crate::SmtpMailer`]), [`crate::MemoryMailbox`] | yes: a resend carries the same Message-ID (`<event id>.<hash>@commerce`), which mailbox providers and the in-memory mailbox collapse | **exactly once in the mailbox**: an unknown outcome is resent once the claim is older than the handler's `resend_after` (at least once at the SMTP server) |
//! | SMS ([`crate::TwilioSms`], [`crate::MemorySms`]) | no: text messages are not deduplicated | **at most once**: an unknown outcome is never resent (listed by `DeliveryLog::stale_claims`) |
//! | push ([`crate::FcmPush`], [`crate::MemoryPush`]) | no (see [`crate::FcmPush`]) | **at most once**, as SMS |
//!
//! An integrator's transport keeps at most once unless it says otherwise.

use async_trait::async_trait;
use serde::Serialize;

use crate::error::Result;

/// An email ready to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Sender address.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// Message-ID (without angle brackets), derived from the delivery key so a
    /// duplicate would be recognisable downstream.
    pub message_id: String,
}

/// A text message ready to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sms {
    /// Phone number, E.164.
    pub to: String,
    /// Body.
    pub body: String,
}

/// A push notification ready to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Push {
    /// Device token.
    pub token: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
}

/// What a provider said when it accepted a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's id of the message, if it gave one.
    pub provider_id: Option<String>,
}

/// Sends email.
#[async_trait]
pub trait EmailTransport: Send + Sync {
    /// Sends `email`; `Ok` once the server accepted it.
    async fn send(&self, email: &Email) -> Result<Accepted>;

    /// Whether sending the same [`Email`] again (same Message-ID) reaches the
    /// recipient once: then a send with an unknown outcome is resent (see the module
    /// docs). Default `false`: never resent.
    fn resends_are_deduplicated(&self) -> bool {
        false
    }
}

/// Sends text messages.
#[async_trait]
pub trait SmsTransport: Send + Sync {
    /// Sends `sms`; `Ok` once the provider accepted it.
    async fn send(&self, sms: &Sms) -> Result<Accepted>;

    /// Whether sending the same [`Sms`] again reaches the recipient once. Default
    /// `false` (text messages are not deduplicated): never resent.
    fn resends_are_deduplicated(&self) -> bool {
        false
    }
}

/// Sends push notifications.
#[async_trait]
pub trait PushTransport: Send + Sync {
    /// Sends `push`; `Ok` once the provider accepted it.
    async fn send(&self, push: &Push) -> Result<Accepted>;

    /// Whether sending the same [`Push`] again reaches the device once. Default
    /// `false`: never resent.
    fn resends_are_deduplicated(&self) -> bool {
        false
    }
}
