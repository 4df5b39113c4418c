//! Every check of the orders conformance suites is run by its macro: a
//! `pub async fn` added to a suite and forgotten in the macro fails here.

use commerce_core::testkit::guard::unlisted;

const MACROS: &str = include_str!("../src/testkit/mod.rs");

fn assert_all_run(marker: &str, suites: &[&str]) {
    let (missing, unknown) = unlisted(&[(MACROS, marker)], suites);
    assert!(missing.is_empty(), "{marker} does not run: {missing:?}");
    assert!(
        unknown.is_empty(),
        "{marker} runs unknown checks: {unknown:?}"
    );
}

#[test]
fn conformance_guard_every_orders_check_runs_from_its_macro() {
    assert_all_run(
        "$make_fixture, order_store:",
        &[include_str!("../src/testkit/order_store.rs")],
    );
    assert_all_run(
        "$make_fixture, checkout_store:",
        &[include_str!("../src/testkit/checkout_store.rs")],
    );
    assert_all_run(
        "$make_fixture, payment_gateway:",
        &[include_str!("../src/testkit/payment_gateway.rs")],
    );
    assert_all_run(
        "$make_fixture, checkout:",
        &[include_str!("../src/testkit/checkout.rs")],
    );
    assert_all_run(
        "$make_fixture, payments:",
        &[include_str!("../src/testkit/payments.rs")],
    );
}
