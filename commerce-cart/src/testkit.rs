//! The conformance suite of [`CartStore`]: every implementation (the in-memory store,
//! Redis, PostgreSQL) runs every check here.
//!
//! Each check is a plain `async fn` taking a fresh [`CartFixture`] and panicking with
//! a message when the store misbehaves. [`cart_store_conformance!`](crate::cart_store_conformance)
//! turns them into one `#[tokio::test]` each:
//!
//! ```ignore
//! async fn fixture() -> commerce_cart::testkit::CartFixture { /* a fresh store */ }
//! commerce_cart::cart_store_conformance!(fixture);
//! ```
//!
//! Times are taken relative to the wall clock: a store may judge reads
//! ([`CartStore::cart`]) by its own clock, while changes are judged by the `now` they
//! are given.

// A conformance suite reports failures by panicking, like any test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;

use commerce_core::{CustomerId, Sku};

use crate::error::Error;
use crate::model::{Cart, CartKey, CartLimits, GuestCartToken};
use crate::ports::CartStore;

/// What a check needs: a fresh, isolated store and the TTL it was built with.
#[derive(Clone)]
pub struct CartFixture {
    /// The store under test.
    pub store: Arc<dyn CartStore>,
    /// How long the store keeps a cart after its last change (the expiry checks move
    /// `now` around it).
    pub ttl: Duration,
}

impl std::fmt::Debug for CartFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CartFixture")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// Runs every check of the suite as its own test:
/// `commerce_cart::cart_store_conformance!(make_fixture);` where `make_fixture` is an
/// `async fn() -> CartFixture` returning a fresh store each call. The calling crate
/// needs `tokio` (with `macros` and `rt-multi-thread`) as a dev-dependency.
#[macro_export]
macro_rules! cart_store_conformance {
    ($make_fixture:path) => {
        $crate::cart_store_conformance!(@checks $make_fixture;
            add_creates_the_cart,
            add_increments_an_existing_line,
            add_rejects_zero_quantity,
            set_quantity_sets_and_zero_removes,
            remove_deletes_the_line_and_ignores_absent_skus,
            clear_removes_every_line,
            lines_are_sorted_by_sku,
            too_many_lines_leaves_the_cart_unchanged,
            quantity_over_the_limit_leaves_the_cart_unchanged,
            expired_cart_reads_as_none_and_restarts_empty,
            every_change_refreshes_the_expiry,
            merge_sums_and_caps_quantities,
            merge_drops_guest_lines_over_the_line_limit,
            merge_deletes_the_guest_cart,
            merge_of_an_absent_guest_cart_keeps_the_customer_cart,
            merge_rejects_keys_of_the_wrong_kind,
            guest_and_customer_carts_are_independent,
            concurrent_adds_to_one_line_all_count,
            concurrent_new_lines_never_exceed_the_line_limit,
        );
    };
    (@checks $make_fixture:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::testkit::$check($make_fixture().await).await;
            }
        )*
    };
}

fn sku(s: &str) -> Sku {
    Sku::new(s).expect("valid test SKU")
}

fn guest() -> CartKey {
    CartKey::guest(&GuestCartToken::generate().expect("random guest token"))
}

fn customer() -> CartKey {
    CartKey::Customer(CustomerId::new())
}

fn lines(cart: &Cart) -> Vec<(String, u32)> {
    cart.lines
        .iter()
        .map(|l| (l.sku.as_str().to_owned(), l.quantity))
        .collect()
}

fn expect_lines(cart: &Cart, expected: &[(&str, u32)]) {
    let expected: Vec<(String, u32)> = expected
        .iter()
        .map(|(s, q)| ((*s).to_owned(), *q))
        .collect();
    assert_eq!(lines(cart), expected, "lines of {}", cart.key);
}

async fn stored(f: &CartFixture, key: &CartKey) -> Option<Cart> {
    f.store.cart(key).await.expect("reading the cart")
}

/// The wall clock, truncated to milliseconds (what every backend can store).
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_else(Utc::now)
}

const LIMITS: CartLimits = CartLimits {
    max_lines: 100,
    max_quantity: 99,
};

/// The first add creates the cart with one line, owned by the key, stamped `now`.
pub async fn add_creates_the_cart(f: CartFixture) {
    let key = guest();
    assert_eq!(stored(&f, &key).await, None, "a new key has no cart");
    let t = now();
    let cart = f.store.add(&key, &sku("A"), 2, LIMITS, t).await.unwrap();
    assert_eq!(cart.key, key);
    assert_eq!(cart.updated_at, t);
    expect_lines(&cart, &[("A", 2)]);
    assert_eq!(stored(&f, &key).await, Some(cart));
}

/// Adding a SKU already in the cart increments its line.
pub async fn add_increments_an_existing_line(f: CartFixture) {
    let key = customer();
    f.store
        .add(&key, &sku("A"), 2, LIMITS, now())
        .await
        .unwrap();
    let cart = f
        .store
        .add(&key, &sku("A"), 3, LIMITS, now())
        .await
        .unwrap();
    expect_lines(&cart, &[("A", 5)]);
    expect_lines(&stored(&f, &key).await.unwrap(), &[("A", 5)]);
}

/// Adding zero units is a `Validation` error and creates nothing.
pub async fn add_rejects_zero_quantity(f: CartFixture) {
    let key = guest();
    let err = f
        .store
        .add(&key, &sku("A"), 0, LIMITS, now())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "got {err:?}");
    assert_eq!(stored(&f, &key).await, None);
}

/// `set_quantity` replaces the quantity (creating the line if needed); 0 removes the
/// line, and a cart left without lines reads as `None`.
pub async fn set_quantity_sets_and_zero_removes(f: CartFixture) {
    let key = customer();
    f.store
        .add(&key, &sku("A"), 5, LIMITS, now())
        .await
        .unwrap();
    let cart = f
        .store
        .set_quantity(&key, &sku("A"), 2, LIMITS, now())
        .await
        .unwrap();
    expect_lines(&cart, &[("A", 2)]);
    let cart = f
        .store
        .set_quantity(&key, &sku("B"), 4, LIMITS, now())
        .await
        .unwrap();
    expect_lines(&cart, &[("A", 2), ("B", 4)]);
    let cart = f
        .store
        .set_quantity(&key, &sku("A"), 0, LIMITS, now())
        .await
        .unwrap();
    expect_lines(&cart, &[("B", 4)]);
    expect_lines(&stored(&f, &key).await.unwrap(), &[("B", 4)]);
    let cart = f
        .store
        .set_quantity(&key, &sku("B"), 0, LIMITS, now())
        .await
        .unwrap();
    assert!(cart.is_empty());
    assert_eq!(stored(&f, &key).await, None, "an empty cart is no cart");
}

/// `remove` deletes one line; removing a SKU not in the cart changes no line.
pub async fn remove_deletes_the_line_and_ignores_absent_skus(f: CartFixture) {
    let key = guest();
    f.store
        .add(&key, &sku("A"), 1, LIMITS, now())
        .await
        .unwrap();
    f.store
        .add(&key, &sku("B"), 2, LIMITS, now())
        .await
        .unwrap();
    let cart = f.store.remove(&key, &sku("A"), now()).await.unwrap();
    expect_lines(&cart, &[("B", 2)]);
    let cart = f.store.remove(&key, &sku("Z"), now()).await.unwrap();
    expect_lines(&cart, &[("B", 2)]);
    expect_lines(&stored(&f, &key).await.unwrap(), &[("B", 2)]);
    let cart = f.store.remove(&key, &sku("B"), now()).await.unwrap();
    assert!(cart.is_empty());
    assert_eq!(stored(&f, &key).await, None);
    let other = guest();
    let cart = f.store.remove(&other, &sku("A"), now()).await.unwrap();
    assert!(cart.is_empty(), "removing from an absent cart is a no-op");
    assert_eq!(stored(&f, &other).await, None);
}

/// `clear` removes every line; clearing an absent cart succeeds.
pub async fn clear_removes_every_line(f: CartFixture) {
    let key = customer();
    for s in ["A", "B", "C"] {
        f.store.add(&key, &sku(s), 1, LIMITS, now()).await.unwrap();
    }
    f.store.clear(&key).await.unwrap();
    assert_eq!(stored(&f, &key).await, None);
    f.store.clear(&key).await.unwrap();
    let cart = f
        .store
        .add(&key, &sku("A"), 1, LIMITS, now())
        .await
        .unwrap();
    expect_lines(&cart, &[("A", 1)]);
}

/// Lines come back sorted by SKU whatever the order they were added in.
pub async fn lines_are_sorted_by_sku(f: CartFixture) {
    let key = guest();
    for s in ["m-2", "B", "a", "Z.9", "m-10", "0"] {
        f.store.add(&key, &sku(s), 1, LIMITS, now()).await.unwrap();
    }
    let cart = stored(&f, &key).await.unwrap();
    let got: Vec<&str> = cart.lines.iter().map(|l| l.sku.as_str()).collect();
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(got, sorted);
    assert_eq!(got.len(), 6);
    let changed = f
        .store
        .set_quantity(&key, &sku("C"), 1, LIMITS, now())
        .await
        .unwrap();
    assert!(changed.lines.windows(2).all(|w| w[0].sku < w[1].sku));
}

/// A new line beyond `max_lines` fails with `TooManyLines`; the cart is unchanged
/// and existing lines can still grow.
pub async fn too_many_lines_leaves_the_cart_unchanged(f: CartFixture) {
    let limits = CartLimits {
        max_lines: 3,
        max_quantity: 10,
    };
    let key = customer();
    for s in ["A", "B", "C"] {
        f.store.add(&key, &sku(s), 1, limits, now()).await.unwrap();
    }
    let before = stored(&f, &key).await.unwrap();
    let err = f
        .store
        .add(&key, &sku("D"), 1, limits, now())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooManyLines { max: 3 }), "got {err:?}");
    let err = f
        .store
        .set_quantity(&key, &sku("D"), 1, limits, now())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooManyLines { max: 3 }), "got {err:?}");
    assert_eq!(stored(&f, &key).await, Some(before));
    let cart = f
        .store
        .add(&key, &sku("A"), 1, limits, now())
        .await
        .unwrap();
    expect_lines(&cart, &[("A", 2), ("B", 1), ("C", 1)]);
}

/// A line beyond `max_quantity` fails with `QuantityLimit` naming the SKU, the
/// quantity it would have had and the limit; the cart is unchanged.
pub async fn quantity_over_the_limit_leaves_the_cart_unchanged(f: CartFixture) {
    let limits = CartLimits {
        max_lines: 3,
        max_quantity: 10,
    };
    let key = guest();
    f.store
        .add(&key, &sku("A"), 8, limits, now())
        .await
        .unwrap();
    let before = stored(&f, &key).await.unwrap();
    match f.store.add(&key, &sku("A"), 3, limits, now()).await {
        Err(Error::QuantityLimit {
            sku: s,
            requested,
            max,
        }) => {
            assert_eq!((s, requested, max), (sku("A"), 11, 10));
        }
        other => panic!("expected QuantityLimit, got {other:?}"),
    }
    let err = f
        .store
        .set_quantity(&key, &sku("A"), 11, limits, now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::QuantityLimit { requested: 11, .. }),
        "got {err:?}"
    );
    let err = f
        .store
        .add(&key, &sku("B"), 11, limits, now())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuantityLimit { .. }), "got {err:?}");
    let err = f
        .store
        .add(&key, &sku("A"), u32::MAX, limits, now())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuantityLimit { .. }), "got {err:?}");
    assert_eq!(stored(&f, &key).await, Some(before));
    let cart = f
        .store
        .add(&key, &sku("A"), 2, limits, now())
        .await
        .unwrap();
    expect_lines(&cart, &[("A", 10)]);
}

/// A cart whose last change is a TTL or more ago reads as `None`, and the next change
/// starts from an empty cart (old quantities and lines do not count).
pub async fn expired_cart_reads_as_none_and_restarts_empty(f: CartFixture) {
    let limits = CartLimits {
        max_lines: 2,
        max_quantity: 10,
    };
    let key = customer();
    let long_ago = now() - f.ttl - Duration::minutes(1);
    f.store
        .add(&key, &sku("A"), 9, limits, long_ago)
        .await
        .unwrap();
    f.store
        .add(&key, &sku("B"), 1, limits, long_ago)
        .await
        .unwrap();
    assert_eq!(stored(&f, &key).await, None, "expired by the wall clock");
    let cart = f
        .store
        .add(&key, &sku("A"), 2, limits, now())
        .await
        .unwrap();
    expect_lines(&cart, &[("A", 2)]);
    let cart = f
        .store
        .add(&key, &sku("C"), 1, limits, now())
        .await
        .unwrap();
    expect_lines(&cart, &[("A", 2), ("C", 1)]);

    // Expiry of changes is measured with the `now` they are given.
    let other = guest();
    let t0 = now();
    f.store.add(&other, &sku("A"), 5, limits, t0).await.unwrap();
    let later = t0 + f.ttl + Duration::seconds(1);
    let cart = f
        .store
        .add(&other, &sku("A"), 1, limits, later)
        .await
        .unwrap();
    expect_lines(&cart, &[("A", 1)]);
    let much_later = later + f.ttl + Duration::seconds(1);
    let cart = f
        .store
        .set_quantity(&other, &sku("B"), 1, limits, much_later)
        .await
        .unwrap();
    expect_lines(&cart, &[("B", 1)]);
}

/// Every change (add, set quantity, remove, merge) restarts the TTL: a cart changed
/// within each TTL lives on past the first deadline.
pub async fn every_change_refreshes_the_expiry(f: CartFixture) {
    let step = f.ttl - Duration::seconds(1);
    let key = customer();
    let t0 = now();
    f.store.add(&key, &sku("A"), 1, LIMITS, t0).await.unwrap();
    let t1 = t0 + step;
    f.store
        .set_quantity(&key, &sku("B"), 1, LIMITS, t1)
        .await
        .unwrap();
    let t2 = t1 + step;
    let cart = f.store.remove(&key, &sku("B"), t2).await.unwrap();
    expect_lines(&cart, &[("A", 1)]);
    assert_eq!(cart.updated_at, t2);
    let t3 = t2 + step;
    let from = guest();
    f.store.add(&from, &sku("C"), 1, LIMITS, t3).await.unwrap();
    let merged = f.store.merge(&from, &key, LIMITS, t3).await.unwrap();
    expect_lines(&merged.cart, &[("A", 1), ("C", 1)]);
    assert_eq!(merged.cart.updated_at, t3);
    let t4 = t3 + step;
    let cart = f.store.add(&key, &sku("A"), 1, LIMITS, t4).await.unwrap();
    expect_lines(&cart, &[("A", 2), ("C", 1)]);
    assert_eq!(cart.updated_at, t4);
    assert!(
        stored(&f, &key).await.is_some(),
        "refreshed into the future"
    );
    let t5 = t4 + f.ttl;
    let cart = f.store.add(&key, &sku("A"), 1, LIMITS, t5).await.unwrap();
    expect_lines(&cart, &[("A", 1)]);
}

/// Merging sums the quantities of SKUs in both carts and caps them at
/// `max_quantity`, reporting the capped SKUs; the customer's other lines stay.
pub async fn merge_sums_and_caps_quantities(f: CartFixture) {
    let limits = CartLimits {
        max_lines: 10,
        max_quantity: 10,
    };
    let from = guest();
    let into = customer();
    f.store
        .add(&into, &sku("A"), 4, limits, now())
        .await
        .unwrap();
    f.store
        .add(&into, &sku("B"), 7, limits, now())
        .await
        .unwrap();
    f.store
        .add(&into, &sku("D"), 1, limits, now())
        .await
        .unwrap();
    f.store
        .add(&from, &sku("A"), 3, limits, now())
        .await
        .unwrap();
    f.store
        .add(&from, &sku("B"), 5, limits, now())
        .await
        .unwrap();
    f.store
        .add(&from, &sku("C"), 2, limits, now())
        .await
        .unwrap();
    let t = now();
    let outcome = f.store.merge(&from, &into, limits, t).await.unwrap();
    expect_lines(&outcome.cart, &[("A", 7), ("B", 10), ("C", 2), ("D", 1)]);
    assert_eq!(outcome.cart.key, into);
    assert_eq!(outcome.cart.updated_at, t);
    assert_eq!(outcome.capped, vec![sku("B")]);
    assert!(outcome.dropped.is_empty());
    assert_eq!(stored(&f, &into).await, Some(outcome.cart));
}

/// Guest lines for new SKUs that would take the customer's cart over `max_lines` are
/// dropped and reported; the customer's own lines are all kept, and guest lines for
/// SKUs the customer already has still merge.
pub async fn merge_drops_guest_lines_over_the_line_limit(f: CartFixture) {
    let limits = CartLimits {
        max_lines: 3,
        max_quantity: 10,
    };
    let from = guest();
    let into = customer();
    f.store
        .add(&into, &sku("B"), 1, limits, now())
        .await
        .unwrap();
    f.store
        .add(&into, &sku("D"), 1, limits, now())
        .await
        .unwrap();
    // The guest cart was filled under looser limits (e.g. before a limit change).
    for s in ["A", "C", "D", "E"] {
        f.store.add(&from, &sku(s), 2, LIMITS, now()).await.unwrap();
    }
    let outcome = f.store.merge(&from, &into, limits, now()).await.unwrap();
    expect_lines(&outcome.cart, &[("A", 2), ("B", 1), ("D", 3)]);
    let dropped: Vec<(String, u32)> = outcome
        .dropped
        .iter()
        .map(|l| (l.sku.as_str().to_owned(), l.quantity))
        .collect();
    assert_eq!(dropped, vec![("C".to_owned(), 2), ("E".to_owned(), 2)]);
    assert!(outcome.capped.is_empty());
    expect_lines(
        &stored(&f, &into).await.unwrap(),
        &[("A", 2), ("B", 1), ("D", 3)],
    );
}

/// After a merge the guest cart is gone; a customer without a cart gets the guest's
/// lines.
pub async fn merge_deletes_the_guest_cart(f: CartFixture) {
    let from = guest();
    let into = customer();
    f.store
        .add(&from, &sku("A"), 2, LIMITS, now())
        .await
        .unwrap();
    let outcome = f.store.merge(&from, &into, LIMITS, now()).await.unwrap();
    expect_lines(&outcome.cart, &[("A", 2)]);
    assert_eq!(stored(&f, &from).await, None, "guest cart deleted");
    expect_lines(&stored(&f, &into).await.unwrap(), &[("A", 2)]);
    let again = f.store.merge(&from, &into, LIMITS, now()).await.unwrap();
    expect_lines(&again.cart, &[("A", 2)]);
}

/// Merging a guest cart that does not exist (or expired) returns the customer's
/// cart unchanged, or an empty cart when the customer has none.
pub async fn merge_of_an_absent_guest_cart_keeps_the_customer_cart(f: CartFixture) {
    let into = customer();
    let outcome = f.store.merge(&guest(), &into, LIMITS, now()).await.unwrap();
    assert!(outcome.cart.is_empty());
    assert_eq!(outcome.cart.key, into);
    assert!(outcome.dropped.is_empty() && outcome.capped.is_empty());
    assert_eq!(stored(&f, &into).await, None);

    let before = f
        .store
        .add(&into, &sku("A"), 1, LIMITS, now())
        .await
        .unwrap();
    let outcome = f.store.merge(&guest(), &into, LIMITS, now()).await.unwrap();
    assert_eq!(outcome.cart, before);
    assert_eq!(stored(&f, &into).await, Some(before.clone()));

    let expired = guest();
    let long_ago = now() - f.ttl - Duration::minutes(1);
    f.store
        .add(&expired, &sku("B"), 1, LIMITS, long_ago)
        .await
        .unwrap();
    let outcome = f.store.merge(&expired, &into, LIMITS, now()).await.unwrap();
    assert_eq!(outcome.cart, before);
}

/// `from` must be a guest cart and `into` a customer cart; otherwise a `Validation`
/// error and nothing changes.
pub async fn merge_rejects_keys_of_the_wrong_kind(f: CartFixture) {
    let (g, c) = (guest(), customer());
    f.store.add(&g, &sku("A"), 1, LIMITS, now()).await.unwrap();
    f.store.add(&c, &sku("B"), 1, LIMITS, now()).await.unwrap();
    for (from, into) in [(c, c), (c, g), (g, guest()), (c, customer())] {
        let err = f
            .store
            .merge(&from, &into, LIMITS, now())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Validation { .. }), "got {err:?}");
    }
    expect_lines(&stored(&f, &g).await.unwrap(), &[("A", 1)]);
    expect_lines(&stored(&f, &c).await.unwrap(), &[("B", 1)]);
}

/// Carts of different keys never share lines.
pub async fn guest_and_customer_carts_are_independent(f: CartFixture) {
    let id = CustomerId::new();
    let c = CartKey::Customer(id);
    let g = guest();
    let other = customer();
    f.store.add(&c, &sku("A"), 1, LIMITS, now()).await.unwrap();
    f.store.add(&g, &sku("A"), 2, LIMITS, now()).await.unwrap();
    f.store
        .add(&other, &sku("B"), 3, LIMITS, now())
        .await
        .unwrap();
    expect_lines(&stored(&f, &c).await.unwrap(), &[("A", 1)]);
    expect_lines(&stored(&f, &g).await.unwrap(), &[("A", 2)]);
    f.store.clear(&g).await.unwrap();
    expect_lines(&stored(&f, &c).await.unwrap(), &[("A", 1)]);
    expect_lines(&stored(&f, &other).await.unwrap(), &[("B", 3)]);
    assert_eq!(stored(&f, &g).await, None);
}

/// 50 concurrent adds of one unit to the same line leave exactly 50 units: the
/// increment is atomic in the store (defect 8).
pub async fn concurrent_adds_to_one_line_all_count(f: CartFixture) {
    let key = customer();
    let a = sku("A");
    let results = join_all((0..50).map(|_| f.store.add(&key, &a, 1, LIMITS, now()))).await;
    assert!(results.iter().all(Result::is_ok), "every add succeeds");
    expect_lines(&stored(&f, &key).await.unwrap(), &[("A", 50)]);
}

/// Concurrent adds of new SKUs to a cart near its line limit fill it exactly to the
/// limit: the winners are in the cart, every other add fails with `TooManyLines`.
pub async fn concurrent_new_lines_never_exceed_the_line_limit(f: CartFixture) {
    let limits = CartLimits {
        max_lines: 10,
        max_quantity: 10,
    };
    let key = guest();
    for i in 0..8 {
        f.store
            .add(&key, &sku(&format!("OLD-{i}")), 1, limits, now())
            .await
            .unwrap();
    }
    let new: Vec<Sku> = (0..60).map(|i| sku(&format!("NEW-{i:02}"))).collect();
    let results = join_all(new.iter().map(|s| f.store.add(&key, s, 1, limits, now()))).await;
    let mut winners = Vec::new();
    for (s, r) in new.iter().zip(&results) {
        match r {
            Ok(_) => winners.push(s.clone()),
            Err(Error::TooManyLines { max: 10 }) => {}
            Err(e) => panic!("unexpected error for {s}: {e:?}"),
        }
    }
    assert_eq!(winners.len(), 2, "exactly the free lines are taken");
    let cart = stored(&f, &key).await.unwrap();
    assert_eq!(cart.lines.len(), 10);
    for s in &winners {
        assert_eq!(cart.quantity_of(s), 1);
    }
}
