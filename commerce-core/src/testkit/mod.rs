//! Conformance suites for the ports `commerce-core` owns, and builders for tests.
//!
//! Every implementation (the in-memory stores here, PostgreSQL, Redis) runs the same
//! checks: each module has a fixture struct, one `pub async fn` per behaviour, and an
//! exported macro that expands to one test per check for a backend:
//!
//! - [`crate::catalog_store_conformance!`] runs [`catalog`],
//! - [`crate::customer_store_conformance!`] runs [`customers`],
//! - [`crate::outbox_conformance!`] runs [`outbox`],
//! - [`crate::product_search_conformance!`] runs [`search`].
//!
//! Each macro takes the path of an `async fn() -> Fixture` that returns a fresh,
//! isolated store, and expands to a module of
//! `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` tests (the calling
//! crate needs tokio as a dev-dependency).
//!
//! [`fixtures`] holds builders (products, tax tables, shipping methods, addresses,
//! events) shared by the tests of every crate; [`support`] holds runtime-agnostic
//! helpers (yield, sleep, drain the outbox).

pub mod auth;
pub mod catalog;
pub mod credentials;
pub mod customers;
pub mod fixtures;
pub mod guard;
pub mod outbox;
pub mod search;
pub mod support;

/// Expands to one tokio test per check: `$crate::testkit::$module::$check(make().await)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __core_conformance_tests {
    ($make:path, $module:ident: $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::testkit::$module::$check($make().await).await;
            }
        )*
    };
}
