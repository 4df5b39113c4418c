//! The error type of `commerce-notify`.

use commerce_core::BoxError;

/// Errors of the notification handler and channels.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// A template failed to compile or render (a bug: every template is rendered by
    /// a test).
    #[error("template: {0}")]
    Template(String),
    /// The provider refused the message, or could not be reached: nothing was sent,
    /// so a retry may send it.
    #[error("{channel} not sent: {message}")]
    NotSent {
        /// The channel.
        channel: &'static str,
        /// Why.
        message: String,
    },
    /// The send failed in a way that leaves it unknown whether the provider accepted
    /// the message (a timeout after the data was sent). The message is not retried.
    #[error("{channel} outcome unknown: {message}")]
    Unknown {
        /// The channel.
        channel: &'static str,
        /// Why.
        message: String,
    },
    /// The event could not be read.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// Orders, preferences or the delivery log failed.
    #[error(transparent)]
    Orders(#[from] commerce_orders::Error),
    /// The outbox failed.
    #[error(transparent)]
    Core(#[from] commerce_core::Error),
    /// Configuration (an SMTP URL...) is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// Another backend failed.
    #[error("backend: {0}")]
    Backend(#[source] BoxError),
}

impl NotifyError {
    pub(crate) fn template(e: minijinja::Error) -> Self {
        NotifyError::Template(format!("{e:#}"))
    }

    /// True when nothing was sent and the message may be retried.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            NotifyError::NotSent { .. }
                | NotifyError::Orders(_)
                | NotifyError::Core(_)
                | NotifyError::Backend(_)
        )
    }
}

/// `Result` with [`NotifyError`].
pub type Result<T, E = NotifyError> = std::result::Result<T, E>;
