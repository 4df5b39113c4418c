//! Every check of the cart conformance suite is run by its macro: a `pub async fn`
//! added to the suite and forgotten in the macro fails here.

use commerce_core::testkit::guard::unlisted;

const SUITE: &str = include_str!("../src/testkit.rs");

#[test]
fn conformance_guard_every_cart_check_runs_from_the_macro() {
    let (missing, unknown) = unlisted(&[(SUITE, "@checks $make_fixture;")], &[SUITE]);
    assert!(
        missing.is_empty(),
        "checks the macro does not run: {missing:?}"
    );
    assert!(unknown.is_empty(), "macro runs unknown checks: {unknown:?}");
}
