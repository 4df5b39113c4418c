//! Every check of the inventory conformance suite is run by its macro: a
//! `pub async fn` added to the suite and forgotten in the macro, or a new suite
//! file no guard lists, fails here.

use std::path::Path;

use commerce_core::testkit::guard::{files_declaring_checks, unlisted};

/// The suite's files (the macro in `mod.rs` runs them all as one list).
const SUITES: &[(&str, &str)] = &[
    (
        "concurrency.rs",
        include_str!("../src/testkit/concurrency.rs"),
    ),
    ("events.rs", include_str!("../src/testkit/events.rs")),
    ("expiry.rs", include_str!("../src/testkit/expiry.rs")),
    ("lifecycle.rs", include_str!("../src/testkit/lifecycle.rs")),
    ("reserve.rs", include_str!("../src/testkit/reserve.rs")),
    ("stock.rs", include_str!("../src/testkit/stock.rs")),
    ("support.rs", include_str!("../src/testkit/support.rs")),
];

#[test]
fn conformance_guard_every_inventory_check_runs_from_the_macro() {
    let sources: Vec<&str> = SUITES.iter().map(|s| s.1).collect();
    let lists = [(
        include_str!("../src/testkit/mod.rs"),
        "@checks $make_fixture;",
    )];
    let (missing, unknown) = unlisted(&lists, &sources);
    assert!(
        missing.is_empty(),
        "checks the macro does not run: {missing:?}"
    );
    assert!(unknown.is_empty(), "macro runs unknown checks: {unknown:?}");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testkit");
    let on_disk = files_declaring_checks(&dir).expect("the suite directory is readable");
    let unguarded: Vec<&String> = on_disk
        .iter()
        .filter(|f| !SUITES.iter().any(|s| s.0 == f.as_str()))
        .collect();
    assert!(
        unguarded.is_empty(),
        "suite files no guard checks: {unguarded:?}"
    );
}
