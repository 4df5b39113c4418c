//! [`RedisConnection`]: one handle over a single Redis node or a Redis Cluster, cloned
//! cheaply into every store.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::error::Result;

/// How long a command may wait for its reply before failing (the `redis` crate's
/// default of 500 ms is tight for a loaded machine).
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A multiplexed connection to a single node or to a cluster.
///
/// Cloning is cheap and clones share the connection: build one at start-up and hand
/// clones to every store. Concurrent commands are pipelined on it.
#[derive(Clone)]
pub enum RedisConnection {
    /// A single node (or a primary behind a proxy), reconnecting on failure.
    Single(ConnectionManager),
    /// A Redis Cluster; commands are routed by key slot.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisConnection::Single(_) => f.write_str("RedisConnection::Single"),
            RedisConnection::Cluster(_) => f.write_str("RedisConnection::Cluster"),
        }
    }
}

impl RedisConnection {
    /// Connects to the single node at `url` (e.g. `redis://127.0.0.1:6379`), with a
    /// reconnecting [`ConnectionManager`] and [`DEFAULT_RESPONSE_TIMEOUT`].
    pub async fn connect(url: &str) -> Result<Self> {
        let client = redis::Client::open(url)?;
        let config =
            ConnectionManagerConfig::new().set_response_timeout(Some(DEFAULT_RESPONSE_TIMEOUT));
        let manager = client.get_connection_manager_with_config(config).await?;
        Ok(RedisConnection::Single(manager))
    }

    /// Connects to the cluster reachable through `nodes` (one or more seed URLs).
    pub async fn connect_cluster<S: AsRef<str>>(nodes: &[S]) -> Result<Self> {
        let nodes: Vec<&str> = nodes.iter().map(AsRef::as_ref).collect();
        let client = ClusterClientBuilder::new(nodes)
            .response_timeout(DEFAULT_RESPONSE_TIMEOUT)
            .build()?;
        Ok(RedisConnection::Cluster(
            client.get_async_connection().await?,
        ))
    }

    /// True for a cluster connection: multi-key scripts must then keep to one slot.
    pub fn is_cluster(&self) -> bool {
        matches!(self, RedisConnection::Cluster(_))
    }
}

impl From<ConnectionManager> for RedisConnection {
    fn from(c: ConnectionManager) -> Self {
        RedisConnection::Single(c)
    }
}

impl From<ClusterConnection> for RedisConnection {
    fn from(c: ClusterConnection) -> Self {
        RedisConnection::Cluster(c)
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConnection::Single(c) => c.req_packed_command(cmd),
            RedisConnection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConnection::Single(c) => c.req_packed_commands(pipeline, offset, count),
            RedisConnection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConnection::Single(c) => c.get_db(),
            RedisConnection::Cluster(c) => c.get_db(),
        }
    }
}
