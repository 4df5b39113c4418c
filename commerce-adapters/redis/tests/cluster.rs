//! The cart, cache, session and rate-limit suites of `suites/` against a real Redis
//! Cluster (three primaries, three replicas: `.ci/redis-cluster.sh start`, named by
//! `REDIS_CLUSTER_URLS`). Carts merge with `MergeMode::Staged` there (single-slot
//! steps). Failover and slot migration run in `cluster_failover.rs`, alone in their
//! binary, since they change the cluster under them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/cluster.rs"]
mod common;

#[path = "suites/cart.rs"]
mod cluster_cart;

#[path = "suites/cache.rs"]
mod cluster_cache;

#[path = "suites/auth.rs"]
mod cluster_auth;
