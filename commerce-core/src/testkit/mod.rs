//! Conformance suites for the ports `commerce-core` owns. Every implementation (the
//! in-memory stores here, PostgreSQL, Redis) runs the same checks.

pub mod auth;
pub mod catalog;
pub mod customers;
pub mod outbox;
