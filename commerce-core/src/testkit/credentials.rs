//! Conformance suite of [`CredentialStore`]: password hashes replace each other, the
//! email-verified flag, reset tokens used at most once and never after they expire.
//! Also checks of the [`Accounts`] service over the store.

// Conformance checks assert by unwrapping, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Duration;
use futures::future::join_all;

use crate::Actor;
use crate::accounts::{Accounts, CredentialStore};
use crate::auth::{SessionStore, SessionToken};
use crate::error::Error;
use crate::id::{CustomerId, SellerId};
use crate::memory::{MemoryCustomers, MemorySessionStore};
use crate::role::Role;
use crate::testkit::fixtures::fixed_time;

/// A fresh credential store.
pub struct CredentialFixture {
    /// The store under test.
    pub store: Arc<dyn CredentialStore>,
}

fn digest() -> crate::auth::TokenDigest {
    SessionToken::generate().expect("random token").digest()
}

/// A hash set twice is replaced; the email-verified flag survives; no credentials
/// for an unknown customer.
pub async fn account_password_hash_replaces_and_keeps_the_verified_flag(f: CredentialFixture) {
    let id = CustomerId::new();
    assert!(f.store.credentials(id).await.unwrap().is_none());
    assert!(matches!(
        f.store.set_email_verified(id, true).await,
        Err(Error::NotFound { .. })
    ));
    f.store
        .set_password_hash(id, "$argon2id$first")
        .await
        .unwrap();
    f.store.set_email_verified(id, true).await.unwrap();
    f.store
        .set_password_hash(id, "$argon2id$second")
        .await
        .unwrap();
    let c = f.store.credentials(id).await.unwrap().unwrap();
    assert_eq!(c.customer_id, id);
    assert_eq!(c.password_hash, "$argon2id$second");
    assert!(c.email_verified);
    assert!(
        f.store
            .credentials(CustomerId::new())
            .await
            .unwrap()
            .is_none()
    );
}

/// A reset token is taken once, by its digest, and not after it expired.
pub async fn account_reset_token_is_single_use_and_expires(f: CredentialFixture) {
    let id = CustomerId::new();
    let now = fixed_time();
    let live = digest();
    f.store
        .put_reset_token(id, live, now + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(f.store.take_reset_token(live, now).await.unwrap(), Some(id));
    assert_eq!(f.store.take_reset_token(live, now).await.unwrap(), None);
    let old = digest();
    f.store
        .put_reset_token(id, old, now + Duration::hours(1))
        .await
        .unwrap();
    let late = now + Duration::hours(1);
    assert_eq!(f.store.take_reset_token(old, late).await.unwrap(), None);
    assert_eq!(f.store.take_reset_token(digest(), now).await.unwrap(), None);
}

/// Of 20 concurrent takes of one reset token, exactly one succeeds.
pub async fn account_reset_token_taken_concurrently_is_used_once(f: CredentialFixture) {
    let id = CustomerId::new();
    let now = fixed_time();
    let token = digest();
    f.store
        .put_reset_token(id, token, now + Duration::hours(1))
        .await
        .unwrap();
    let takes = join_all((0..20).map(|_| f.store.take_reset_token(token, now))).await;
    let won = takes
        .into_iter()
        .filter(|r| matches!(r, Ok(Some(c)) if *c == id))
        .count();
    assert_eq!(won, 1);
}

/// The account service over the store: register, login, wrong password and unknown
/// email alike, password change, reset with a single-use token, email verification.
pub async fn account_register_login_change_and_reset(f: CredentialFixture) {
    let accounts = Accounts::new(Arc::new(MemoryCustomers::new()), f.store.clone());
    let now = fixed_time();
    let ada = accounts
        .register(" Ada@Example.com ", "Ada", "correct horse", now)
        .await
        .unwrap();
    assert_eq!(ada.email, "ada@example.com");
    let stored = f.store.credentials(ada.id).await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(!stored.password_hash.contains("correct horse"));
    assert!(matches!(
        accounts
            .register("ada@example.com", "Other", "another pass", now)
            .await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        accounts
            .register("not-an-email", "X", "long enough", now)
            .await,
        Err(Error::Validation { .. })
    ));
    assert!(matches!(
        accounts.register("b@example.com", "B", "short", now).await,
        Err(Error::Validation { .. })
    ));

    assert_eq!(
        accounts
            .login("ADA@example.com", "correct horse")
            .await
            .unwrap(),
        ada.id
    );
    for (email, password) in [
        ("ada@example.com", "wrong horse"),
        ("nobody@example.com", "x"),
    ] {
        assert!(matches!(
            accounts.login(email, password).await,
            Err(Error::InvalidCredentials)
        ));
    }

    let actor = Actor::Customer(ada.id);
    assert!(matches!(
        accounts
            .change_password(&actor, "wrong horse", "new password")
            .await,
        Err(Error::InvalidCredentials)
    ));
    accounts
        .change_password(&actor, "correct horse", "new password")
        .await
        .unwrap();
    assert!(
        accounts
            .login("ada@example.com", "correct horse")
            .await
            .is_err()
    );
    assert_eq!(
        accounts
            .login("ada@example.com", "new password")
            .await
            .unwrap(),
        ada.id
    );

    assert!(
        accounts
            .request_password_reset("nobody@example.com", now)
            .await
            .unwrap()
            .is_none()
    );
    let token = accounts
        .request_password_reset("ada@example.com", now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        accounts
            .reset_password(&token, "reset password", now)
            .await
            .unwrap(),
        ada.id
    );
    assert!(matches!(
        accounts.reset_password(&token, "again password", now).await,
        Err(Error::InvalidToken)
    ));
    assert_eq!(
        accounts
            .login("ada@example.com", "reset password")
            .await
            .unwrap(),
        ada.id
    );

    assert!(!accounts.email_verified(&actor).await.unwrap());
    accounts.mark_email_verified(ada.id).await.unwrap();
    assert!(accounts.email_verified(&actor).await.unwrap());
}

/// New credentials are a customer's; a role set is kept by a password change and
/// read back (seller staff with their seller, admin); setting the role of an
/// account without credentials is `NotFound`.
pub async fn account_role_is_stored_with_the_credentials(f: CredentialFixture) {
    let id = CustomerId::new();
    f.store
        .set_password_hash(id, "$argon2id$one")
        .await
        .unwrap();
    assert_eq!(
        f.store.credentials(id).await.unwrap().unwrap().role,
        Role::Customer
    );
    let seller = SellerId::new();
    f.store.set_role(id, Role::Seller(seller)).await.unwrap();
    f.store
        .set_password_hash(id, "$argon2id$two")
        .await
        .unwrap();
    let c = f.store.credentials(id).await.unwrap().unwrap();
    assert_eq!(c.role, Role::Seller(seller));
    assert_eq!(c.password_hash, "$argon2id$two");
    f.store.set_role(id, Role::Admin).await.unwrap();
    assert_eq!(
        f.store.credentials(id).await.unwrap().unwrap().role,
        Role::Admin
    );
    f.store.set_role(id, Role::Customer).await.unwrap();
    assert_eq!(
        f.store.credentials(id).await.unwrap().unwrap().role,
        Role::Customer
    );
    assert!(matches!(
        f.store.set_role(CustomerId::new(), Role::Admin).await,
        Err(Error::NotFound { .. })
    ));
}

/// Staff accounts over the store: only an admin (or the shop's set-up, no actor)
/// creates them; their login opens a session that acts as the seller or the
/// admin; a customer's login a customer's session; only an admin changes a role.
pub async fn account_staff_sign_in_as_their_role(f: CredentialFixture) {
    let accounts = Accounts::new(Arc::new(MemoryCustomers::new()), f.store.clone());
    let sessions = MemorySessionStore::new();
    let now = fixed_time();
    let seller = SellerId::new();
    let admin = accounts
        .create_staff(
            None,
            "root@example.com",
            "Root",
            "admin password",
            Role::Admin,
            now,
        )
        .await
        .unwrap();
    let staff = accounts
        .create_staff(
            Some(&Actor::Admin),
            "staff@example.com",
            "Staff",
            "seller password",
            Role::Seller(seller),
            now,
        )
        .await
        .unwrap();
    let shopper = accounts
        .register("shop@example.com", "Shopper", "customer password", now)
        .await
        .unwrap();
    assert!(matches!(
        accounts
            .create_staff(
                Some(&Actor::Customer(shopper.id)),
                "evil@example.com",
                "Evil",
                "evil password",
                Role::Admin,
                now,
            )
            .await,
        Err(Error::NotFound { .. })
    ));
    for (email, password, id, actor) in [
        ("root@example.com", "admin password", admin.id, Actor::Admin),
        (
            "staff@example.com",
            "seller password",
            staff.id,
            Actor::Seller(seller),
        ),
        (
            "shop@example.com",
            "customer password",
            shopper.id,
            Actor::Customer(shopper.id),
        ),
    ] {
        let new = accounts
            .sign_in(&sessions, email, password, Duration::hours(1), now)
            .await
            .unwrap();
        assert_eq!(new.session.customer_id, id);
        let found = sessions.session(&new.token, now).await.unwrap().unwrap();
        assert_eq!(found.actor(), actor);
        assert_eq!(accounts.login(email, password).await.unwrap(), id);
    }
    assert!(matches!(
        accounts
            .sign_in(
                &sessions,
                "root@example.com",
                "wrong",
                Duration::hours(1),
                now
            )
            .await,
        Err(Error::InvalidCredentials)
    ));
    assert!(matches!(
        accounts
            .set_role(&Actor::Seller(seller), shopper.id, Role::Admin)
            .await,
        Err(Error::NotFound { .. })
    ));
    accounts
        .set_role(&Actor::Admin, shopper.id, Role::Seller(seller))
        .await
        .unwrap();
    assert_eq!(
        accounts.role(shopper.id).await.unwrap(),
        Some(Role::Seller(seller))
    );
}

/// Expands to one test per [`CredentialStore`] check, each calling
/// `$make().await` (an `async fn() -> CredentialFixture` giving a fresh store).
#[macro_export]
macro_rules! credential_store_conformance {
    ($make:path) => {
        #[allow(unused_imports)]
        mod credential_store_conformance {
            use super::*;
            $crate::__core_conformance_tests!($make, credentials:
                account_password_hash_replaces_and_keeps_the_verified_flag,
                account_reset_token_is_single_use_and_expires,
                account_reset_token_taken_concurrently_is_used_once,
                account_register_login_change_and_reset,
                account_role_is_stored_with_the_credentials,
                account_staff_sign_in_as_their_role,
            );
        }
    };
}
