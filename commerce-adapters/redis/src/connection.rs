//! [`RedisConnection`]: one handle over a single Redis node or a Redis Cluster, cloned
//! cheaply into every store.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::SingleNodeRoutingInfo;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, ServerErrorKind, Value};

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

/// How many times a single cluster command answered with a redirection the client
/// could not follow is sent again (see [`RedisConnection`]'s `ConnectionLike`).
const CLUSTER_REDIRECT_RESENDS: u32 = 8;

/// True for the replies that prove the server did not run the command: a
/// redirection (`ASK`, `MOVED`) or `TRYAGAIN` (keys of one command split by a slot
/// being migrated).
fn not_run_redirect(e: &RedisError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Server(
            ServerErrorKind::Ask | ServerErrorKind::Moved | ServerErrorKind::TryAgain
        )
    )
}

/// Sends one command on a cluster connection, sending it again when it comes back
/// with a redirection the client gave up on.
///
/// The `redis` crate follows `ASK` by sending `ASKING` and then the command as two
/// separate requests on a multiplexed connection, so another task's command can take
/// the one-shot `ASKING` flag in between; the command is then answered `MOVED` back to
/// the source, which answers `ASK` again, until the client's retries run out (seen
/// with 8 tasks writing one cart while its slot migrates: `tests/cluster_failover.rs`).
/// An `ASK` that comes back to us is therefore followed here with `ASKING` and the
/// command in one pipeline, which the connection writes as one piece: nothing can
/// come between them. A redirection means the command did not run, so sending it
/// again is safe even for a non-idempotent script; `MOVED` and `TRYAGAIN` are sent
/// again after a short pause that lets the slot map settle.
async fn cluster_command(conn: &mut ClusterConnection, cmd: &Cmd) -> redis::RedisResult<Value> {
    let mut attempt = 0;
    let mut result = conn.req_packed_command(cmd).await;
    loop {
        match result {
            Err(e) if attempt < CLUSTER_REDIRECT_RESENDS && not_run_redirect(&e) => {
                attempt += 1;
                result = match ask_target(&e) {
                    Some(node) => asking_then(conn, cmd, node).await,
                    None => {
                        tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2)).await;
                        conn.req_packed_command(cmd).await
                    }
                };
            }
            other => return other,
        }
    }
}

/// The node an `ASK` redirection names, as the routing the cluster client takes.
fn ask_target(e: &RedisError) -> Option<SingleNodeRoutingInfo> {
    if e.kind() != ErrorKind::Server(ServerErrorKind::Ask) {
        return None;
    }
    let (node, _slot) = e.redirect_node()?;
    let (host, port) = node.rsplit_once(':')?;
    Some(SingleNodeRoutingInfo::ByAddress {
        host: host.to_owned(),
        port: port.parse().ok()?,
    })
}

/// Sends `ASKING` and `cmd` to `node` as one pipeline and returns `cmd`'s reply.
async fn asking_then(
    conn: &mut ClusterConnection,
    cmd: &Cmd,
    node: SingleNodeRoutingInfo,
) -> redis::RedisResult<Value> {
    let mut pipeline = redis::pipe();
    pipeline.cmd("ASKING").add_command(cmd.clone());
    let mut replies = conn.route_pipeline(pipeline, 0, 2, node).await?.into_iter();
    match (replies.next(), replies.next()) {
        (Some(Value::ServerError(e)), Some(_)) | (Some(_), Some(Value::ServerError(e))) => {
            Err(e.into())
        }
        (Some(_), Some(reply)) => Ok(reply),
        _ => Err(RedisError::from((
            ErrorKind::Client,
            "ASKING pipeline",
            "fewer than two replies".to_owned(),
        ))),
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConnection::Single(c) => c.req_packed_command(cmd),
            RedisConnection::Cluster(c) => Box::pin(cluster_command(c, cmd)),
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
