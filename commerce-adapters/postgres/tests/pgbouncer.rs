//! Every conformance suite of the domain crates (`suites/conformance.rs`) through
//! pgbouncer in transaction mode (`PGBOUNCER_URL`, default
//! `postgres://postgres@127.0.0.1:6432`, in front of `DATABASE_URL`'s server; start it
//! with `.ci/pg-replica.sh bouncer`). Needs pgbouncer >= 1.21 with
//! `max_prepared_statements` > 0: sqlx prepares named statements (its statement
//! cache), which older pgbouncers cannot route in transaction mode. Not part of
//! `cargo test --workspace`; run with
//! `cargo test -p commerce-postgres --features pgbouncer-tests --test pgbouncer`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

#[path = "support/pgbouncer.rs"]
mod support;

#[path = "suites/conformance.rs"]
mod pgbouncer_conformance;
