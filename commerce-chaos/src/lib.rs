//! # commerce-chaos
//!
//! Proves what the platform promises the way Jepsen does: it runs the real server
//! (the `platform` example, as processes) several times over one PostgreSQL and one
//! Redis of its own, puts concurrent shoppers on the instances, breaks things while
//! they shop (kill -9, `pg_terminate_backend`, database and Redis restarts, a
//! payment gateway failing after it charged), and checks the history of what every
//! client saw, the gateway's ledger and the database against the invariants:
//! every captured payment belongs to exactly one confirmed order, one order per
//! idempotency key, stock conserved, no reservation active past its expiry, the
//! outbox drained. It also sends hostile input (an authorization sweep, slow and
//! oversized requests, a schema-driven fuzzer) and runs a soak.
//!
//! `cargo run -p commerce-chaos -- <scenario>`; `cargo run -p commerce-chaos -- --help`
//! lists them. docs/reliability.md records what ran and what it found.

pub mod accounts;
pub mod checker;
pub mod client;
pub mod cluster;
pub mod figures;
pub mod fuzz;
pub mod gateway;
pub mod hostile;
pub mod lag;
pub mod platform;
pub mod scenario;
pub mod services;
pub mod workload;

/// Errors of the harness itself (a service that did not start, a query that failed).
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result of the harness.
pub type Result<T> = std::result::Result<T, Error>;
