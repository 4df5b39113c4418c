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
    /// the message (a timeout after the data was sent). Not retryable as such: the
    /// handler keeps the claim and, on a channel whose resends are deduplicated,
    /// answers [`NotifyError::InFlight`] instead (resent later); on the others the
    /// message is never sent again.
    #[error("{channel} outcome unknown: {message}")]
    Unknown {
        /// The channel.
        channel: &'static str,
        /// Why.
        message: String,
    },
    /// A message of the event, on a channel whose resends are deduplicated, is
    /// claimed by a send with no outcome yet (another worker's still running, one
    /// cut by a crash, or one whose reply was lost). Retryable: the event must come
    /// back, and once the claim is older than the handler's `resend_after` the
    /// message is taken over and sent again.
    #[error("{channel} message {key} in flight since {claimed_at}; retry later")]
    InFlight {
        /// The channel.
        channel: &'static str,
        /// The delivery key.
        key: String,
        /// When the claim was made (or last taken over).
        claimed_at: chrono::DateTime<chrono::Utc>,
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

    /// True when the event should be handled again later: nothing was sent, or a
    /// message waits for its claim to be taken over ([`NotifyError::InFlight`]).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            NotifyError::NotSent { .. }
                | NotifyError::InFlight { .. }
                | NotifyError::Orders(_)
                | NotifyError::Core(_)
                | NotifyError::Backend(_)
        )
    }
}

/// `Result` with [`NotifyError`].
pub type Result<T, E = NotifyError> = std::result::Result<T, E>;
