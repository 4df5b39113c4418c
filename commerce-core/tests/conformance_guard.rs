//! Every check of a conformance suite is run by its macro: a `pub async fn` added to
//! a suite and forgotten in the macro fails here.

use commerce_core::testkit::guard::unlisted;

const AUTH: &str = include_str!("../src/testkit/auth.rs");
const CATALOG: &str = include_str!("../src/testkit/catalog.rs");
const CREDENTIALS: &str = include_str!("../src/testkit/credentials.rs");
const CUSTOMERS: &str = include_str!("../src/testkit/customers.rs");
const OUTBOX: &str = include_str!("../src/testkit/outbox.rs");

fn assert_all_run(lists: &[(&str, &str)], suites: &[&str]) {
    let (missing, unknown) = unlisted(lists, suites);
    assert!(
        missing.is_empty(),
        "checks the macro does not run: {missing:?}"
    );
    assert!(unknown.is_empty(), "macro runs unknown checks: {unknown:?}");
}

#[test]
fn conformance_guard_every_core_check_runs_from_its_macro() {
    assert_all_run(&[(CATALOG, "$make, catalog:")], &[CATALOG]);
    assert_all_run(&[(CUSTOMERS, "$make, customers:")], &[CUSTOMERS]);
    assert_all_run(&[(OUTBOX, "$make, outbox:")], &[OUTBOX]);
    assert_all_run(&[(CREDENTIALS, "$make, credentials:")], &[CREDENTIALS]);
    assert_all_run(
        &[
            (AUTH, "session_store_conformance, $make_fixture;"),
            (AUTH, "rate_limiter_conformance, $make_fixture;"),
        ],
        &[AUTH],
    );
}
