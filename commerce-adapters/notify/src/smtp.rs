//! Email over SMTP with `lettre`: a `multipart/alternative` message (text and HTML
//! parts) per [`Email`].
//!
//! `SMTP_URL` forms: `smtp://host:port` and `smtp://user:password@host:port`
//! (plain SMTP; this build has no TLS, so point it at a local relay or sink).
//!
//! Every message carries the handler's deterministic Message-ID
//! (`<event id>.<hash>@commerce`), so a resend after an unknown outcome is the same
//! message, which mailbox providers collapse:
//! [`EmailTransport::resends_are_deduplicated`] is `true`.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::channel::{Accepted, Email, EmailTransport};
use crate::error::{NotifyError, Result};

/// Sends mail to an SMTP server.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

fn config(message: impl Into<String>) -> NotifyError {
    NotifyError::Config(message.into())
}

impl SmtpMailer {
    /// How long the mailer waits for each SMTP reply (the handler's default
    /// `resend_after` is well above it, so a slow send is not resent while it runs).
    pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

    /// A mailer for `url` (`smtp://[user:password@]host[:port]`, port 25 by default),
    /// with a [`SmtpMailer::COMMAND_TIMEOUT`] timeout per command.
    pub fn from_url(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| config("SMTP_URL must start with smtp://"))?;
        let rest = rest.trim_end_matches('/');
        let (credentials, host_port) = match rest.rsplit_once('@') {
            Some((userinfo, host)) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                (
                    Some(Credentials::new(user.to_owned(), password.to_owned())),
                    host,
                )
            }
            None => (None, rest),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| config(format!("bad SMTP port {p:?}")))?,
            ),
            None => (host_port, 25),
        };
        if host.is_empty() {
            return Err(config("SMTP_URL has no host"));
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(Self::COMMAND_TIMEOUT));
        if let Some(c) = credentials {
            builder = builder.credentials(c);
        }
        Ok(SmtpMailer {
            transport: builder.build(),
        })
    }
}

fn mailbox(field: &'static str, address: &str) -> Result<Mailbox> {
    address.parse().map_err(|e| NotifyError::NotSent {
        channel: "email",
        message: format!("bad {field} address {address:?}: {e}"),
    })
}

/// Builds the MIME message of `email`.
pub fn build_message(email: &Email) -> Result<Message> {
    Message::builder()
        .from(mailbox("from", &email.from)?)
        .to(mailbox("to", &email.to)?)
        .subject(email.subject.clone())
        .message_id(Some(format!("<{}>", email.message_id)))
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| NotifyError::NotSent {
            channel: "email",
            message: e.to_string(),
        })
}

#[async_trait]
impl EmailTransport for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<Accepted> {
        let message = build_message(email)?;
        match self.transport.send(message).await {
            Ok(response) => Ok(Accepted {
                provider_id: Some(response.message().collect::<Vec<_>>().join(" ")),
            }),
            // A 4xx/5xx reply or a refused connection: the server did not take it.
            Err(e)
                if e.is_permanent()
                    || e.is_transient()
                    || e.to_string().starts_with("Connection error") =>
            {
                Err(NotifyError::NotSent {
                    channel: "email",
                    message: e.to_string(),
                })
            }
            // Lost connection or timeout mid-conversation: it may have been taken.
            Err(e) => Err(NotifyError::Unknown {
                channel: "email",
                message: e.to_string(),
            }),
        }
    }

    /// `true`: a resend carries the same Message-ID (see the module docs).
    fn resends_are_deduplicated(&self) -> bool {
        true
    }
}
