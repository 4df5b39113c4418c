//! The auth suite of `suites/auth.rs` against the single Redis named by `REDIS_URL`
//! (`tests/cluster.rs` runs the same suite against a Redis Cluster).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[path = "suites/auth.rs"]
mod auth;
