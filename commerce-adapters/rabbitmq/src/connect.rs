//! Connecting to the broker named by `AMQP_URL`.

use lapin::{Connection, ConnectionProperties};

use crate::error::{RabbitError, Result};

/// The default broker URL of the development and CI machines.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// `AMQP_URL`, or [`DEFAULT_AMQP_URL`].
pub fn amqp_url() -> String {
    std::env::var("AMQP_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_AMQP_URL.to_owned())
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Connects to `url`. An unreachable broker is [`RabbitError::Unreachable`], whose
/// message says how to start it.
pub async fn connect(url: &str) -> Result<Connection> {
    Connection::connect(url, ConnectionProperties::default())
        .await
        .map_err(|source| RabbitError::Unreachable {
            url: redacted(url),
            source,
        })
}
