//! Every check of the orders conformance suites is run by its macro: a
//! `pub async fn` added to a suite and forgotten in the macro, or a new suite file
//! no guard lists, fails here.

use std::path::Path;

use commerce_core::testkit::guard::assert_suites_run;

const MACROS: &str = include_str!("../src/testkit/mod.rs");

#[test]
fn conformance_guard_every_orders_check_runs_from_its_macro() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testkit");
    assert_suites_run(
        Some(&dir),
        &[
            (
                "order_store.rs",
                include_str!("../src/testkit/order_store.rs"),
                &[(MACROS, "$make_fixture, order_store:")],
            ),
            (
                "checkout_store.rs",
                include_str!("../src/testkit/checkout_store.rs"),
                &[(MACROS, "$make_fixture, checkout_store:")],
            ),
            (
                "payment_gateway.rs",
                include_str!("../src/testkit/payment_gateway.rs"),
                &[(MACROS, "$make_fixture, payment_gateway:")],
            ),
            (
                "checkout.rs",
                include_str!("../src/testkit/checkout.rs"),
                &[(MACROS, "$make_fixture, checkout:")],
            ),
            (
                "promotion_limits.rs",
                include_str!("../src/testkit/promotion_limits.rs"),
                &[(MACROS, "$make_fixture, promotion_limits:")],
            ),
            (
                "payments.rs",
                include_str!("../src/testkit/payments.rs"),
                &[(MACROS, "$make_fixture, payments:")],
            ),
            (
                "preference_store.rs",
                include_str!("../src/testkit/preference_store.rs"),
                &[(MACROS, "$make_store, preference_store:")],
            ),
            (
                "pricing_tables.rs",
                include_str!("../src/testkit/pricing_tables.rs"),
                &[(MACROS, "$make_fixture, pricing_tables:")],
            ),
            (
                "delivery_log.rs",
                include_str!("../src/testkit/delivery_log.rs"),
                &[(MACROS, "$make_log, delivery_log:")],
            ),
            (
                "carrier.rs",
                include_str!("../src/testkit/carrier.rs"),
                &[(MACROS, "$make_fixture, carrier:")],
            ),
        ],
    );
}
