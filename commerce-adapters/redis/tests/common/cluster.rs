//! Shared by the `cluster_*` tests: a connection to the Redis Cluster named by
//! `REDIS_CLUSTER_URLS` (comma-separated seed URLs; default the loopback cluster of
//! `.ci/redis-cluster.sh`, ports 7000-7005), with the same helpers as `mod.rs` so the
//! suites in `suites/` run unchanged. Without a reachable cluster every test fails
//! with the command that starts one (never skips).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use commerce_redis::{KeyPrefix, RedisConnection};
use redis::AsyncCommands;

/// True: these tests run against a Redis Cluster.
pub(crate) const CLUSTER: bool = true;

/// The default seed URLs: the cluster `.ci/redis-cluster.sh start` runs.
pub(crate) const DEFAULT_URLS: &str = "redis://127.0.0.1:7000,redis://127.0.0.1:7001,\
redis://127.0.0.1:7002,redis://127.0.0.1:7003,redis://127.0.0.1:7004,redis://127.0.0.1:7005";

/// The seed URLs of the cluster under test.
pub(crate) fn cluster_urls() -> Vec<String> {
    std::env::var("REDIS_CLUSTER_URLS")
        .unwrap_or_else(|_| DEFAULT_URLS.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn unreachable(e: &dyn std::fmt::Display) -> ! {
    panic!(
        "No Redis Cluster answers at REDIS_CLUSTER_URLS={} ({e}).\n\
         The cluster_* tests need a real Redis Cluster (three primaries, three replicas).\n\
         Start the loopback one (ports 7000-7005, a few seconds) with:\n    \
         .ci/redis-cluster.sh start\n\
         or point REDIS_CLUSTER_URLS at one (comma-separated seed URLs).",
        cluster_urls().join(",")
    )
}

/// A cluster connection; panics with how to start the cluster when it is not
/// reachable or not healthy.
pub(crate) async fn connection() -> RedisConnection {
    let urls = cluster_urls();
    let conn = match RedisConnection::connect_cluster(&urls).await {
        Ok(conn) => conn,
        Err(e) => unreachable(&e),
    };
    let info: String = match redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async(&mut conn.clone())
        .await
    {
        Ok(info) => info,
        Err(e) => unreachable(&e),
    };
    if !info.contains("cluster_state:ok") {
        unreachable(&format!("cluster_state is not ok: {info}"));
    }
    conn
}

/// A fresh random prefix (`test:<uuid>`).
pub(crate) fn prefix() -> KeyPrefix {
    KeyPrefix::new(format!("test:{}", uuid::Uuid::now_v7().simple())).unwrap()
}

/// One node of the cluster as `CLUSTER NODES` lists it.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// The node id.
    pub(crate) id: String,
    /// `host:port` of its client port.
    pub(crate) addr: String,
    /// True for a primary.
    pub(crate) primary: bool,
    /// The primary it replicates (replicas only).
    pub(crate) replica_of: Option<String>,
    /// Its slot ranges (primaries only).
    pub(crate) slots: Vec<(u16, u16)>,
    /// Flagged `fail` or `fail?` by the node asked.
    pub(crate) failing: bool,
}

impl Node {
    /// True if the node serves `slot`.
    pub(crate) fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(a, b)| a <= slot && slot <= b)
    }

    /// Its URL.
    pub(crate) fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }
}

/// A plain (non-cluster) connection to one node.
pub(crate) async fn node_connection(addr: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://{addr}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("node {addr}: {e}"))
}

/// The nodes as the node at `addr` sees them.
pub(crate) async fn nodes_seen_by(addr: &str) -> Vec<Node> {
    let mut c = node_connection(addr).await;
    let text: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut c)
        .await
        .unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let addr = f[1].split('@').next().unwrap().to_owned();
            let flags = f[2];
            let primary = flags.contains("master");
            let slots = f[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .map(|s| match s.split_once('-') {
                    Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                    None => (s.parse().unwrap(), s.parse().unwrap()),
                })
                .collect();
            Node {
                id: f[0].to_owned(),
                addr,
                primary,
                replica_of: (f[3] != "-").then(|| f[3].to_owned()),
                slots,
                failing: flags.contains("fail"),
            }
        })
        .collect()
}

/// The nodes as the first answering seed sees them.
pub(crate) async fn nodes() -> Vec<Node> {
    for url in cluster_urls() {
        let addr = url.trim_start_matches("redis://").to_owned();
        let ok = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .is_ok();
        if ok {
            return nodes_seen_by(&addr).await;
        }
    }
    unreachable(&"no seed answers")
}

/// Every key under `prefix`, scanned on every primary.
pub(crate) async fn keys_under(_conn: &RedisConnection, prefix: &KeyPrefix) -> Vec<String> {
    let mut keys = Vec::new();
    for node in nodes()
        .await
        .into_iter()
        .filter(|n| n.primary && !n.failing)
    {
        let mut c = node_connection(&node.addr).await;
        let mut iter: redis::AsyncIter<String> = c.scan_match(format!("{prefix}:*")).await.unwrap();
        while let Some(key) = iter.next_item().await {
            keys.push(key.unwrap());
        }
    }
    keys.sort();
    keys
}

/// The remaining time to live of `key` in ms (-1: no expiry, -2: no key).
pub(crate) async fn pttl(conn: &RedisConnection, key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query_async(&mut conn.clone())
        .await
        .unwrap()
}
