//! # commerce-notify
//!
//! Notification channels and the notification handler:
//!
//! - channel ports ([`EmailTransport`], [`SmsTransport`], [`PushTransport`]) with
//!   email over SMTP ([`SmtpMailer`], `lettre`), an in-memory mailbox
//!   ([`MemoryMailbox`], the default when `SMTP_URL` is unset) and in-memory SMS and
//!   push recorders, SMS and push over HTTP providers ([`TwilioSms`], [`FcmPush`],
//!   with [`SimulatedProviders`] to run on loopback);
//! - [`Templates`]: the messages, compiled into the binary and rendered with
//!   minijinja (a template per kind, a block per part: subject, text, HTML, SMS,
//!   push);
//! - [`NotificationHandler`]: an outbox event to messages per the customer's
//!   preferences, one per (event, channel, recipient) through the
//!   [`commerce_orders::notification::DeliveryLog`]: exactly once in the mailbox for
//!   email (a send cut by a crash is resent with the same Message-ID after
//!   `resend_after`), at most once for SMS and push (see [`channel`]);
//! - [`outbox_runner`]: the same handler driven from the outbox in process (no
//!   broker) by core's one outbox runner, and [`smtp_sink`], a loopback SMTP server for tests and benchmarks.

pub mod channel;
pub mod error;
pub mod handler;
pub mod http_providers;
pub mod memory;
pub mod runner;
pub mod smtp;
pub mod smtp_sink;
pub mod templates;

pub use channel::{Accepted, Email, EmailTransport, Push, PushTransport, Sms, SmsTransport};
pub use error::{NotifyError, Result};
pub use handler::{DEFAULT_RESEND_AFTER, EventHandler, NotificationHandler, Outcome};
pub use http_providers::{FcmPush, SimulatedProviders, TwilioSms};
pub use memory::{MemoryMailbox, MemoryPush, MemorySms};
pub use runner::{NotificationConsumer, outbox_runner, runner_config};
pub use smtp::SmtpMailer;
pub use templates::{Rendered, Templates};

/// The mail transport chosen from the environment, and the in-memory mailbox when
/// that is what it is (a page lists it).
#[derive(Clone)]
pub struct MailSetup {
    /// Where mail goes.
    pub transport: std::sync::Arc<dyn EmailTransport>,
    /// The mailbox, when `SMTP_URL` is unset.
    pub mailbox: Option<std::sync::Arc<MemoryMailbox>>,
}

impl std::fmt::Debug for MailSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSetup")
            .field("in_memory", &self.mailbox.is_some())
            .finish()
    }
}

/// SMTP when `SMTP_URL` is set, else an in-memory mailbox.
pub fn email_from_env() -> Result<MailSetup> {
    match std::env::var("SMTP_URL") {
        Ok(url) if !url.trim().is_empty() => Ok(MailSetup {
            transport: std::sync::Arc::new(SmtpMailer::from_url(&url)?),
            mailbox: None,
        }),
        _ => {
            let mailbox = std::sync::Arc::new(MemoryMailbox::new());
            Ok(MailSetup {
                transport: mailbox.clone(),
                mailbox: Some(mailbox),
            })
        }
    }
}
