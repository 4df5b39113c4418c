//! The public API policy and the ports layout of docs/architecture.md, checked.
//!
//! "Public API stability": every public struct or enum of the domain crates that
//! code outside its crate could build with a literal or match exhaustively is either
//! `#[non_exhaustive]` or on the commented allowlist below. A new public type, or an
//! allowlisted type that became `#[non_exhaustive]`, fails here until the list says
//! why. "Ports": every `#[async_trait]` port is declared in its crate's `ports.rs`
//! unless `PORTS_ELSEWHERE` says why not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The domain crates whose public types the policy covers.
const CRATES: &[&str] = &[
    "commerce-core",
    "commerce-inventory",
    "commerce-cart",
    "commerce-orders",
    "commerce-reviews",
    "commerce-recommend",
    "commerce-analytics",
];

/// Public types deliberately kept exhaustive, as `crate::Type`, by reason.
const ALLOWLIST: &[&str] = &[
    // --- Ids and newtypes: one value, nothing to grow.
    "commerce-core::TaxClass",
    "commerce-inventory::LocationCode",
    "commerce-orders::PaymentReference",
    // --- Closed sets and backend vocabularies: a store or search backend maps each
    // variant one by one, so a new variant must fail to compile in every backend
    // (docs/architecture.md "Public API stability").
    "commerce-core::Rounding",
    "commerce-core::ProductStatus",
    "commerce-core::IndexChange",
    "commerce-core::SearchSort",
    "commerce-inventory::BackorderPolicy",
    "commerce-inventory::ReservationStatus",
    "commerce-inventory::Transition",
    "commerce-cart::CartKey",
    "commerce-orders::CreateOutcome",
    "commerce-orders::PlaceOutcome",
    "commerce-orders::Machine",
    "commerce-orders::MachineState",
    "commerce-orders::Channel",
    "commerce-orders::DeliveryState",
    "commerce-orders::Claim",
    "commerce-reviews::ReviewOrder",
    "commerce-reviews::Moderator",
    "commerce-analytics::Change",
    // --- Port records: every backend writes and reads them field by field, so they
    // stay exhaustive for the same reason (a new field fails to compile in each
    // backend instead of being silently left out of a table).
    "commerce-core::Customer",
    "commerce-core::SavedAddress",
    "commerce-core::CustomerPage",
    "commerce-core::OutboxEntry",
    "commerce-core::EventEnvelope",
    "commerce-core::Session",
    "commerce-core::NewSession",
    "commerce-core::Decision",
    "commerce-core::Category",
    "commerce-core::SkuListing",
    "commerce-core::StockLevel",
    "commerce-core::Signals",
    "commerce-core::Facets",
    "commerce-core::SearchResults",
    "commerce-core::Suggestion",
    "commerce-core::Vocabulary",
    "commerce-core::SearchCapabilities",
    "commerce-inventory::StockLevel",
    "commerce-inventory::ReservationLine",
    "commerce-inventory::Reservation",
    "commerce-cart::CartLine",
    "commerce-cart::Cart",
    "commerce-cart::MergeOutcome",
    "commerce-orders::Order",
    "commerce-orders::OrderLine",
    "commerce-orders::OrderTotals",
    "commerce-orders::OrderPage",
    "commerce-orders::ShippingSnapshot",
    "commerce-orders::ShipmentLine",
    "commerce-orders::PaymentMethodSummary",
    "commerce-orders::DeliveryRecord",
    "commerce-orders::Choice",
    "commerce-orders::PricingTables",
    "commerce-orders::PromotionRule",
    "commerce-orders::PricingTablesChanged",
    "commerce-reviews::Review",
    "commerce-reviews::ReviewCursor",
    "commerce-reviews::ReviewChange",
    "commerce-reviews::CustomerReviewPage",
    "commerce-reviews::ModerationPage",
    "commerce-recommend::ProductSignals",
    "commerce-recommend::Purchase",
    "commerce-recommend::PurchaseLine",
    "commerce-recommend::Scored",
    "commerce-analytics::CounterKey",
    "commerce-analytics::CounterRow",
    "commerce-analytics::KeyTotal",
    "commerce-analytics::StockLevel",
    // --- Tables an operator writes as data (pricing configuration; stored as JSON
    // and edited whole by the admin routes).
    "commerce-core::Promotion",
    "commerce-core::TaxRate",
    "commerce-core::TaxTable",
    "commerce-core::ShippingZone",
    "commerce-core::WeightTier",
    "commerce-core::ShippingMethod",
    "commerce-core::RateLimit",
    // --- Testing tools behind the `simulated` feature.
    "commerce-orders::GatewayOperation",
    "commerce-orders::FaultTiming",
];

/// A public type outside code could build or match exhaustively, as `crate::Type`.
fn exhaustive_public_types() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = BTreeSet::new();
    for krate in CRATES {
        for file in rust_files(&root.join(krate).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            let parsed = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
            collect(krate, &parsed.items, &mut found);
        }
    }
    found
}

/// The `.rs` files under `dir`, test support (`testkit`) excluded.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("");
        if name == "testkit" {
            continue;
        }
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

fn is_public(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn has_attr(attrs: &[syn::Attribute], name: &str) -> bool {
    attrs.iter().any(|a| a.path().is_ident(name))
}

/// `#[cfg(test)]` (test modules are no API).
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

fn collect(krate: &str, items: &[syn::Item], found: &mut BTreeSet<String>) {
    for item in items {
        match item {
            syn::Item::Struct(s) if is_public(&s.vis) && !has_attr(&s.attrs, "non_exhaustive") => {
                // A struct with a private field cannot be built or matched outside
                // its crate anyway; a unit struct is a closed value.
                let all_public = !s.fields.is_empty() && s.fields.iter().all(|f| is_public(&f.vis));
                if all_public {
                    found.insert(format!("{krate}::{}", s.ident));
                }
            }
            syn::Item::Enum(e) if is_public(&e.vis) && !has_attr(&e.attrs, "non_exhaustive") => {
                found.insert(format!("{krate}::{}", e.ident));
            }
            syn::Item::Mod(m) if !is_test_only(&m.attrs) => {
                if let Some((_, inner)) = &m.content {
                    collect(krate, inner, found);
                }
            }
            _ => {}
        }
    }
}

/// `#[async_trait]` traits (the ports) declared outside a `ports.rs`, as
/// `crate::Trait`, allowed where docs/architecture.md ("Ports") says why.
const PORTS_ELSEWHERE: &[&str] = &[
    // The face of an outside service lives beside its model.
    "commerce-core::ProductSearch",
    "commerce-core::PasswordHasher",
    "commerce-orders::PaymentGateway",
    "commerce-orders::Carrier",
    "commerce-orders::PreferenceStore",
    "commerce-orders::DeliveryLog",
    // A rule's read-only view over another crate's port, beside its one
    // implementation over `OrderStore`.
    "commerce-reviews::PurchaseHistory",
    // Not a port: what the outbox runner drives.
    "commerce-core::EventConsumer",
];

/// Every `#[async_trait]` public trait of the domain crates not in a `ports.rs`.
fn ports_outside_ports_rs() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = BTreeSet::new();
    for krate in CRATES {
        for file in rust_files(&root.join(krate).join("src")) {
            if file.file_name().is_some_and(|n| n == "ports.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let parsed = syn::parse_file(&text).unwrap();
            collect_ports(krate, &parsed.items, &mut found);
        }
    }
    found
}

fn collect_ports(krate: &str, items: &[syn::Item], found: &mut BTreeSet<String>) {
    for item in items {
        match item {
            syn::Item::Trait(t) if is_public(&t.vis) && has_attr(&t.attrs, "async_trait") => {
                found.insert(format!("{krate}::{}", t.ident));
            }
            syn::Item::Mod(m) if !is_test_only(&m.attrs) => {
                if let Some((_, inner)) = &m.content {
                    collect_ports(krate, inner, found);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn ports_storage_ports_are_declared_in_each_crates_ports_rs() {
    let found = ports_outside_ports_rs();
    let allowed: BTreeSet<String> = PORTS_ELSEWHERE.iter().map(|s| (*s).to_owned()).collect();
    let misplaced: Vec<&String> = found.difference(&allowed).collect();
    assert!(
        misplaced.is_empty(),
        "ports declared outside ports.rs (move them, or say why in PORTS_ELSEWHERE): {misplaced:?}"
    );
    let stale: Vec<&String> = allowed.difference(&found).collect();
    assert!(
        stale.is_empty(),
        "PORTS_ELSEWHERE names traits no longer there: {stale:?}"
    );
}

#[test]
fn public_api_policy_every_growing_public_type_is_non_exhaustive_or_allowlisted() {
    let found = exhaustive_public_types();
    let allowed: BTreeSet<String> = ALLOWLIST.iter().map(|s| (*s).to_owned()).collect();
    let unlisted: Vec<&String> = found.difference(&allowed).collect();
    assert!(
        unlisted.is_empty(),
        "public types neither #[non_exhaustive] nor on the allowlist of \
         commerce-core/tests/api_layout.rs (docs/architecture.md, \
         \"Public API stability\"): {unlisted:?}"
    );
    let stale: Vec<&String> = allowed.difference(&found).collect();
    assert!(
        stale.is_empty(),
        "allowlisted types that are gone or now #[non_exhaustive] (remove them): {stale:?}"
    );
}

#[test]
fn public_api_policy_the_guard_sees_the_types_it_must() {
    let found = exhaustive_public_types();
    // An allowlisted record and a closed set are seen ...
    assert!(found.contains("commerce-orders::Order"));
    assert!(found.contains("commerce-inventory::ReservationStatus"));
    // ... and the non_exhaustive reports are not.
    assert!(!found.contains("commerce-analytics::Dashboard"));
    assert!(!found.contains("commerce-cart::PricedCart"));
    // Every request is built by a constructor: the last one, NewOrder, too.
    assert!(!found.contains("commerce-orders::NewOrder"));
}
