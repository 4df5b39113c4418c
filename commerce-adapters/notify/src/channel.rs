//! Channel ports: how an email, a text message or a push notification leaves.
//!
//! Implementations: [`crate::SmtpMailer`] and [`crate::MemoryMailbox`] for email,
//! [`crate::MemorySms`]/[`crate::MemoryPush`] (and the HTTP providers) for the others.
//! A send that failed must say whether anything may have left:
//! [`crate::NotifyError::NotSent`] (nothing did, retry) or
//! [`crate::NotifyError::Unknown`] (it may have: never resend).

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
}

/// Sends text messages.
#[async_trait]
pub trait SmsTransport: Send + Sync {
    /// Sends `sms`; `Ok` once the provider accepted it.
    async fn send(&self, sms: &Sms) -> Result<Accepted>;
}

/// Sends push notifications.
#[async_trait]
pub trait PushTransport: Send + Sync {
    /// Sends `push`; `Ok` once the provider accepted it.
    async fn send(&self, push: &Push) -> Result<Accepted>;
}
