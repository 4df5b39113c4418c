//! Every check of a conformance suite is run by its macro: a `pub async fn` added to
//! a suite and forgotten in the macro, or a new suite file no guard lists, fails here.

use std::path::Path;

use commerce_core::testkit::guard::assert_suites_run;

const AUTH: &str = include_str!("../src/testkit/auth.rs");
const CATALOG: &str = include_str!("../src/testkit/catalog.rs");
const CREDENTIALS: &str = include_str!("../src/testkit/credentials.rs");
const CUSTOMERS: &str = include_str!("../src/testkit/customers.rs");
const OUTBOX: &str = include_str!("../src/testkit/outbox.rs");
const SEARCH: &str = include_str!("../src/testkit/search.rs");

#[test]
fn conformance_guard_every_core_check_runs_from_its_macro() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testkit");
    assert_suites_run(
        Some(&dir),
        &[
            ("catalog.rs", CATALOG, &[(CATALOG, "$make, catalog:")]),
            (
                "customers.rs",
                CUSTOMERS,
                &[(CUSTOMERS, "$make, customers:")],
            ),
            ("outbox.rs", OUTBOX, &[(OUTBOX, "$make, outbox:")]),
            (
                "credentials.rs",
                CREDENTIALS,
                &[(CREDENTIALS, "$make, credentials:")],
            ),
            ("search.rs", SEARCH, &[(SEARCH, "$make, search:")]),
            (
                "auth.rs",
                AUTH,
                &[
                    (AUTH, "session_store_conformance, $make_fixture;"),
                    (AUTH, "rate_limiter_conformance, $make_fixture;"),
                ],
            ),
        ],
    );
}
