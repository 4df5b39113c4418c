//! Conformance checks for [`CustomerStore`] implementations.
//!
//! Run them all for a backend with [`crate::customer_store_conformance!`]. The checks
//! panic (they are assertions) and expect a fresh, empty store each.
#![allow(clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use futures::future::join_all;

use crate::address::{Customer, SavedAddress};
use crate::error::Error;
use crate::id::{AddressId, CustomerId};
use crate::ports::{CustomerPage, CustomerStore};
use crate::testkit::fixtures::{address, customer, saved_address, us_address};

/// What every customer check gets: a fresh, empty store.
#[derive(Clone)]
pub struct CustomerFixture {
    /// The store under test.
    pub store: Arc<dyn CustomerStore>,
}

async fn created(fx: &CustomerFixture, email: &str) -> Customer {
    let c = customer(email);
    fx.store.create_customer(&c).await.expect("create customer");
    c
}

fn sorted(mut v: Vec<SavedAddress>) -> Vec<SavedAddress> {
    v.sort_by_key(|a| a.id);
    v
}

/// A customer reads back by id and by email in any letter case; the email is stored
/// lower-cased; unknown ids and emails give `None`.
pub async fn create_then_read_by_id_and_email(fx: CustomerFixture) {
    let mut c = customer("ada@example.com");
    c.email = "Ada@Example.COM".into();
    fx.store.create_customer(&c).await.expect("create");
    let stored = fx
        .store
        .customer(c.id)
        .await
        .expect("read")
        .expect("customer");
    assert_eq!(stored.email, "ada@example.com");
    assert_eq!(stored.name, c.name);
    assert_eq!(stored.created_at, c.created_at);
    for email in ["ada@example.com", "ADA@EXAMPLE.COM", "Ada@example.com"] {
        assert_eq!(
            fx.store.customer_by_email(email).await.expect("read"),
            Some(stored.clone()),
            "{email}"
        );
    }
    assert_eq!(
        fx.store.customer(CustomerId::new()).await.expect("read"),
        None
    );
    assert_eq!(
        fx.store
            .customer_by_email("bob@example.com")
            .await
            .expect("read"),
        None
    );
}

/// An email taken in any letter case is a `Conflict`.
pub async fn email_is_unique_case_insensitively(fx: CustomerFixture) {
    created(&fx, "grace@example.com").await;
    let mut other = customer("x@example.com");
    other.email = "GRACE@example.com".into();
    let err = fx.store.create_customer(&other).await.expect_err("taken");
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(fx.store.customer(other.id).await.expect("read"), None);
}

/// A malformed email is a `Validation` error.
pub async fn malformed_email_is_rejected(fx: CustomerFixture) {
    for bad in ["", "no-at-sign", "@example.com", "ada@"] {
        let mut c = customer("x@example.com");
        c.email = bad.into();
        let err = fx.store.create_customer(&c).await.expect_err(bad);
        assert!(matches!(err, Error::Validation { .. }), "{bad}: {err:?}");
    }
}

/// 50 sign-ups racing for one email (in different letter cases) create exactly one
/// customer; the others get `Conflict`.
pub async fn concurrent_signups_with_one_email_make_one_customer(fx: CustomerFixture) {
    let contenders: Vec<Customer> = (0..50)
        .map(|i| {
            let mut c = customer("race@example.com");
            if i % 2 == 1 {
                c.email = "RACE@example.com".into();
            }
            c
        })
        .collect();
    let results = join_all(contenders.iter().map(|c| {
        let store = Arc::clone(&fx.store);
        async move { store.create_customer(c).await }
    }))
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r.is_ok() || matches!(r, Err(Error::Conflict(_)))),
        "{results:?}"
    );
}

/// Saving an address for an unknown customer is `NotFound`.
pub async fn save_address_requires_a_known_customer(fx: CustomerFixture) {
    let a = saved_address(CustomerId::new(), us_address("CA"));
    let err = fx.store.save_address(&a).await.expect_err("no customer");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// An invalid address is a `Validation` error.
pub async fn invalid_address_is_rejected(fx: CustomerFixture) {
    let c = created(&fx, "val@example.com").await;
    let mut a = saved_address(c.id, us_address("CA"));
    a.address.line1 = "  ".into();
    let err = fx.store.save_address(&a).await.expect_err("empty line1");
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    assert!(fx.store.addresses(c.id).await.expect("list").is_empty());
}

/// Saved addresses read back; saving an existing id replaces it; each customer sees
/// only their own.
pub async fn address_book_round_trip(fx: CustomerFixture) {
    let ada = created(&fx, "ada@example.com").await;
    let bob = created(&fx, "bob@example.com").await;
    let home = saved_address(ada.id, us_address("CA"));
    let work = saved_address(ada.id, address("DE", None));
    let bobs = saved_address(bob.id, us_address("NY"));
    for a in [&home, &work, &bobs] {
        fx.store.save_address(a).await.expect("save");
    }
    assert_eq!(
        sorted(fx.store.addresses(ada.id).await.expect("list")),
        sorted(vec![home.clone(), work.clone()])
    );
    let mut moved = home.clone();
    moved.address.city = "Elsewhere".into();
    fx.store.save_address(&moved).await.expect("replace");
    assert_eq!(
        sorted(fx.store.addresses(ada.id).await.expect("list")),
        sorted(vec![moved, work])
    );
    assert_eq!(fx.store.addresses(bob.id).await.expect("list"), vec![bobs]);
}

/// Setting a default clears the previous default of the same kind only.
pub async fn default_address_switches(fx: CustomerFixture) {
    let c = created(&fx, "def@example.com").await;
    let mut first = saved_address(c.id, us_address("CA"));
    first.is_default_shipping = true;
    first.is_default_billing = true;
    fx.store.save_address(&first).await.expect("save");
    let mut second = saved_address(c.id, us_address("NY"));
    second.is_default_shipping = true;
    fx.store.save_address(&second).await.expect("save");
    let book = fx.store.addresses(c.id).await.expect("list");
    let get = |id: AddressId| book.iter().find(|a| a.id == id).expect("address");
    assert!(
        !get(first.id).is_default_shipping,
        "old shipping default cleared"
    );
    assert!(
        get(first.id).is_default_billing,
        "billing default untouched"
    );
    assert!(get(second.id).is_default_shipping);
    assert!(!get(second.id).is_default_billing);
    assert_eq!(book.iter().filter(|a| a.is_default_shipping).count(), 1);
    assert_eq!(book.iter().filter(|a| a.is_default_billing).count(), 1);
}

/// 20 addresses of one customer all saved at once as default shipping leave exactly
/// one default.
pub async fn concurrent_defaults_leave_one_default(fx: CustomerFixture) {
    let c = created(&fx, "many@example.com").await;
    let addresses: Vec<SavedAddress> = (0..20)
        .map(|_| SavedAddress {
            is_default_shipping: true,
            ..saved_address(c.id, us_address("CA"))
        })
        .collect();
    let results = join_all(addresses.iter().map(|a| {
        let store = Arc::clone(&fx.store);
        async move { store.save_address(a).await }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let book = fx.store.addresses(c.id).await.expect("list");
    assert_eq!(book.len(), 20);
    assert_eq!(book.iter().filter(|a| a.is_default_shipping).count(), 1);
}

/// A customer deletes their own address; deleting someone else's (or an unknown
/// one, or the same twice) is `NotFound` and leaves it in place.
pub async fn delete_address_only_of_its_owner(fx: CustomerFixture) {
    let ada = created(&fx, "ada@example.com").await;
    let eve = created(&fx, "eve@example.com").await;
    let a = saved_address(ada.id, us_address("CA"));
    fx.store.save_address(&a).await.expect("save");
    let err = fx
        .store
        .delete_address(eve.id, a.id)
        .await
        .expect_err("not hers");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(
        fx.store.addresses(ada.id).await.expect("list"),
        vec![a.clone()]
    );
    // Overwriting someone else's address by id is refused the same way.
    let hijack = SavedAddress {
        customer_id: eve.id,
        ..a.clone()
    };
    let err = fx.store.save_address(&hijack).await.expect_err("not hers");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    fx.store.delete_address(ada.id, a.id).await.expect("delete");
    assert!(fx.store.addresses(ada.id).await.expect("list").is_empty());
    let err = fx
        .store
        .delete_address(ada.id, a.id)
        .await
        .expect_err("already gone");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// A rename changes the name (trimmed) and nothing else; an empty name is
/// `Validation`, an unknown customer `NotFound`.
pub async fn rename_changes_only_the_name(fx: CustomerFixture) {
    let ada = created(&fx, "ada@example.com").await;
    let renamed = fx
        .store
        .rename_customer(ada.id, "  Ada King ")
        .await
        .expect("rename");
    assert_eq!(renamed.name, "Ada King");
    assert_eq!(renamed.email, ada.email);
    assert_eq!(
        fx.store.customer(ada.id).await.expect("read"),
        Some(renamed)
    );
    let err = fx
        .store
        .rename_customer(ada.id, "   ")
        .await
        .expect_err("empty");
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let err = fx
        .store
        .rename_customer(CustomerId::new(), "Bob")
        .await
        .expect_err("unknown");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// Customers list by email ascending in keyset pages, filtered by an email prefix
/// matched case-insensitively (with `%` and `_` taken literally).
pub async fn list_pages_by_email_and_searches_by_prefix(fx: CustomerFixture) {
    for email in [
        "carol@example.com",
        "alice@example.com",
        "bob@example.com",
        "alina@example.com",
        "al_x@example.com",
    ] {
        created(&fx, email).await;
    }
    let emails = |v: Vec<Customer>| v.into_iter().map(|c| c.email).collect::<Vec<_>>();
    let page = |prefix: Option<&str>, after: Option<&str>, limit| CustomerPage {
        email_prefix: prefix.map(str::to_owned),
        after: after.map(str::to_owned),
        limit,
    };
    let first = fx
        .store
        .list_customers(&page(None, None, 2))
        .await
        .expect("list");
    assert_eq!(emails(first), ["al_x@example.com", "alice@example.com"]);
    let next = fx
        .store
        .list_customers(&page(None, Some("alice@example.com"), 2))
        .await
        .expect("list");
    assert_eq!(emails(next), ["alina@example.com", "bob@example.com"]);
    let last = fx
        .store
        .list_customers(&page(None, Some("bob@example.com"), 10))
        .await
        .expect("list");
    assert_eq!(emails(last), ["carol@example.com"]);
    let al = fx
        .store
        .list_customers(&page(Some(" AL"), None, 10))
        .await
        .expect("search");
    assert_eq!(
        emails(al),
        ["al_x@example.com", "alice@example.com", "alina@example.com"]
    );
    let literal = fx
        .store
        .list_customers(&page(Some("al_"), None, 10))
        .await
        .expect("search");
    assert_eq!(emails(literal), ["al_x@example.com"]);
    let none = fx
        .store
        .list_customers(&page(Some("%"), None, 10))
        .await
        .expect("search");
    assert!(none.is_empty());
    assert!(
        fx.store
            .list_customers(&page(None, None, 0))
            .await
            .expect("empty page")
            .is_empty()
    );
}

/// Runs every customer check against a backend: one tokio test per check.
///
/// `make` is the path of an `async fn() -> CustomerFixture` returning a fresh, empty
/// store each call.
///
/// ```no_run
/// use std::sync::Arc;
/// use commerce_core::memory::MemoryCustomers;
/// use commerce_core::testkit::customers::CustomerFixture;
///
/// async fn make() -> CustomerFixture {
///     CustomerFixture { store: Arc::new(MemoryCustomers::new()) }
/// }
/// commerce_core::customer_store_conformance!(make);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! customer_store_conformance {
    ($make:path) => {
        #[allow(unused_imports)]
        mod customer_store_conformance {
            use super::*;
            $crate::__core_conformance_tests!($make, customers:
                create_then_read_by_id_and_email,
                email_is_unique_case_insensitively,
                malformed_email_is_rejected,
                concurrent_signups_with_one_email_make_one_customer,
                save_address_requires_a_known_customer,
                invalid_address_is_rejected,
                address_book_round_trip,
                default_address_switches,
                concurrent_defaults_leave_one_default,
                delete_address_only_of_its_owner,
                rename_changes_only_the_name,
                list_pages_by_email_and_searches_by_prefix,
            );
        }
    };
}
