//! The crash-injection hooks are test-only API: each is declared behind
//! `#[cfg(feature = "testkit")]`, so a build without the feature has none of them.
//! (A `compile_fail` doctest cannot show it: this crate's tests always build with
//! `testkit`, which the dev-dependency on itself turns on.)

/// Every hook, by the file declaring it and the start of its declaration.
const HOOKS: &[(&str, &str)] = &[
    ("src/checkout/mod.rs", "pub async fn checkout_interrupted("),
    ("src/checkout/mod.rs", "pub use step::CheckoutStep;"),
    ("src/lib.rs", "pub use checkout::CheckoutStep;"),
    ("src/simulated.rs", "pub fn inject_fault("),
    ("src/simulated.rs", "pub fn clear_faults("),
    (
        "src/simulated.rs",
        "pub use faults::{FaultTiming, GatewayOperation};",
    ),
    (
        "src/lib.rs",
        "pub use simulated::{FaultTiming, GatewayOperation};",
    ),
];

#[test]
fn testkit_hooks_are_declared_only_behind_the_testkit_feature() {
    for (file, decl) in HOOKS {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = source.lines().collect();
        let at: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].trim_start().starts_with(decl))
            .collect();
        assert!(!at.is_empty(), "{decl} not found in {file}");
        for i in at {
            // The attribute is on one of the few lines above (after its doc).
            let gated = lines[i.saturating_sub(3)..i]
                .iter()
                .any(|l| l.trim() == "#[cfg(feature = \"testkit\")]");
            assert!(
                gated,
                "{file}:{}: `{decl}` is not behind feature testkit",
                i + 1
            );
        }
    }
}

#[test]
fn testkit_simulated_gateway_is_behind_the_simulated_feature() {
    let lib =
        std::fs::read_to_string(format!("{}/src/lib.rs", env!("CARGO_MANIFEST_DIR"))).unwrap();
    assert!(lib.contains("#[cfg(feature = \"simulated\")]\npub mod simulated;"));
    assert!(lib.contains(
        "#[cfg(feature = \"simulated\")]\npub use simulated::{GatewayStats, SimulatedGateway};"
    ));
}
