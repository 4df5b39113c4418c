//! The error type of `commerce-rabbitmq`.

/// Errors of the relay and the queue worker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RabbitError {
    /// The broker cannot be reached: the message says how to start it.
    #[error(
        "RabbitMQ is not reachable at {url} ({source}); start it with `rabbitmq-server -detached` or set AMQP_URL"
    )]
    Unreachable {
        /// The URL tried (without password).
        url: String,
        /// Why.
        #[source]
        source: lapin::Error,
    },
    /// A channel or protocol operation failed.
    #[error("amqp: {0}")]
    Amqp(#[from] lapin::Error),
    /// The channel or the connection closed (a broker restart, a network cut) and
    /// this relay or worker does not reconnect by itself.
    #[error("{0}")]
    Closed(String),
    /// The broker refused (nacked) a publish: nothing is acknowledged, it is retried.
    #[error("the broker did not confirm the publish of {0}")]
    NotConfirmed(String),
    /// The outbox failed.
    #[error(transparent)]
    Core(#[from] commerce_core::Error),
    /// An event could not be (de)serialized.
    #[error("serialization: {0}")]
    Serialization(#[from] serde_json::Error),
}

/// `Result` with [`RabbitError`].
pub type Result<T, E = RabbitError> = std::result::Result<T, E>;
