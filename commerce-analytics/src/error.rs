//! The error type of `commerce-analytics`.

/// Errors of the analytics rollups and reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input that fails validation (a date range, a metric name); `field` names it.
    #[error("invalid {field}: {message}")]
    Validation {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// An event whose payload does not match its topic.
    #[error("malformed event {topic}: {message}")]
    MalformedEvent {
        /// The event's topic.
        topic: String,
        /// What did not parse.
        message: String,
    },
    /// A port of another crate failed (catalog lookups).
    #[error(transparent)]
    Core(#[from] commerce_core::Error),
    /// The analytics store's backend failed (retry or report it).
    #[error("backend error: {0}")]
    Backend(#[source] commerce_core::BoxError),
}

impl Error {
    /// Shorthand for [`Error::Validation`].
    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        Error::Validation {
            field,
            message: message.into(),
        }
    }

    /// Wraps a backend error.
    pub fn backend(e: impl Into<commerce_core::BoxError>) -> Self {
        Error::Backend(e.into())
    }
}

impl From<Error> for commerce_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Core(inner) => inner,
            Error::Validation { field, message } => {
                commerce_core::Error::Validation { field, message }
            }
            other => commerce_core::Error::backend(other),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
