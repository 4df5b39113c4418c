//! Every check of the inventory conformance suite is run by its macro: a
//! `pub async fn` added to the suite and forgotten in the macro fails here.

use commerce_core::testkit::guard::unlisted;

#[test]
fn conformance_guard_every_inventory_check_runs_from_the_macro() {
    let suites = [
        include_str!("../src/testkit/concurrency.rs"),
        include_str!("../src/testkit/events.rs"),
        include_str!("../src/testkit/expiry.rs"),
        include_str!("../src/testkit/lifecycle.rs"),
        include_str!("../src/testkit/reserve.rs"),
        include_str!("../src/testkit/stock.rs"),
        include_str!("../src/testkit/support.rs"),
    ];
    let lists = [(
        include_str!("../src/testkit/mod.rs"),
        "@checks $make_fixture;",
    )];
    let (missing, unknown) = unlisted(&lists, &suites);
    assert!(
        missing.is_empty(),
        "checks the macro does not run: {missing:?}"
    );
    assert!(unknown.is_empty(), "macro runs unknown checks: {unknown:?}");
}
