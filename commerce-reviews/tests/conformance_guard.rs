//! Every check of the reviews conformance suite is run by its macro: a `pub async fn`
//! added to the suite and forgotten in the macro fails here.

use commerce_core::testkit::guard::assert_suites_run;

const SUITE: &str = include_str!("../src/testkit.rs");

#[test]
fn conformance_guard_every_reviews_check_runs_from_the_macro() {
    assert_suites_run(
        None,
        &[(
            "testkit.rs",
            SUITE,
            &[
                (SUITE, "review_store_conformance {"),
                (SUITE, "purchase_history_conformance {"),
            ],
        )],
    );
}
