//! Every conformance suite of the domain crates (`suites/conformance.rs`) against
//! the PostgreSQL named by `DATABASE_URL`; `pgbouncer.rs` runs the same suites
//! through pgbouncer in transaction mode.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod support;

#[path = "suites/conformance.rs"]
mod conformance;
