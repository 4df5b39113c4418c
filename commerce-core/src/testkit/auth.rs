//! Conformance checks for [`SessionStore`] and [`LoginRateLimiter`].
//!
//! Each check takes a fresh fixture and asserts one behaviour. A backend runs them all
//! with [`crate::session_store_conformance!`] and
//! [`crate::rate_limiter_conformance!`]:
//!
//! ```ignore
//! async fn sessions() -> SessionFixture { SessionFixture::new(Arc::new(MemorySessionStore::new())) }
//! commerce_core::session_store_conformance!(sessions);
//! ```
//!
//! Times are whole seconds from [`fixed_time`], so backends that keep milliseconds
//! compare equal. The checks panic on failure (they are tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;

use crate::actor::Actor;
use crate::auth::{LoginRateLimiter, RateLimit, SessionStore, SessionToken};
use crate::error::Error;
use crate::id::{CustomerId, SellerId};
use crate::role::Role;
use crate::testkit::fixtures::fixed_time;

/// A fresh, isolated session store.
#[derive(Clone)]
pub struct SessionFixture {
    /// The store under test.
    pub store: Arc<dyn SessionStore>,
}

impl SessionFixture {
    /// Wraps a store.
    pub fn new(store: Arc<dyn SessionStore>) -> Self {
        SessionFixture { store }
    }
}

/// A fresh, isolated rate limiter.
#[derive(Clone)]
pub struct RateLimiterFixture {
    /// The limiter under test.
    pub limiter: Arc<dyn LoginRateLimiter>,
}

impl RateLimiterFixture {
    /// Wraps a limiter.
    pub fn new(limiter: Arc<dyn LoginRateLimiter>) -> Self {
        RateLimiterFixture { limiter }
    }
}

fn t0() -> DateTime<Utc> {
    fixed_time()
}

const HOUR: Duration = Duration::hours(1);

// ---------------------------------------------------------------- sessions

/// A created session is found by its token with its customer and times.
pub async fn created_session_is_found(f: SessionFixture) {
    let customer = CustomerId::new();
    let new = f.store.create(customer, HOUR, t0()).await.unwrap();
    assert_eq!(new.session.customer_id, customer);
    assert_eq!(new.session.created_at, t0());
    assert_eq!(new.session.expires_at, t0() + HOUR);
    let found = f.store.session(&new.token, t0()).await.unwrap();
    assert_eq!(found, Some(new.session));
}

/// Tokens are 64 hex characters, parse back, and are distinct even when created
/// concurrently (200 at once, for one customer).
pub async fn tokens_are_distinct_random_hex(f: SessionFixture) {
    let customer = CustomerId::new();
    let created = join_all((0..200).map(|_| f.store.create(customer, HOUR, t0()))).await;
    let mut seen = HashSet::new();
    for new in created {
        let new = new.unwrap();
        assert_eq!(new.token.as_str().len(), 64);
        assert_eq!(SessionToken::parse(new.token.as_str()).unwrap(), new.token);
        assert!(
            seen.insert(new.token.as_str().to_owned()),
            "duplicate token"
        );
    }
}

/// A token never issued finds nothing.
pub async fn unknown_token_finds_nothing(f: SessionFixture) {
    f.store.create(CustomerId::new(), HOUR, t0()).await.unwrap();
    let stranger = SessionToken::generate().unwrap();
    assert_eq!(f.store.session(&stranger, t0()).await.unwrap(), None);
    assert_eq!(f.store.touch(&stranger, HOUR, t0()).await.unwrap(), None);
}

/// A session is valid until just before `created + ttl` and gone from that instant.
pub async fn session_expires_after_its_ttl(f: SessionFixture) {
    let new = f.store.create(CustomerId::new(), HOUR, t0()).await.unwrap();
    let just_before = t0() + HOUR - Duration::milliseconds(1);
    assert!(
        f.store
            .session(&new.token, just_before)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        f.store.session(&new.token, t0() + HOUR).await.unwrap(),
        None
    );
    assert_eq!(
        f.store.touch(&new.token, HOUR, t0() + HOUR).await.unwrap(),
        None,
        "an expired session cannot be revived by touch"
    );
    assert_eq!(
        f.store.session(&new.token, t0() + HOUR).await.unwrap(),
        None
    );
}

/// `touch` extends a valid session to `now + ttl` and never shortens it.
pub async fn touch_extends_a_valid_session(f: SessionFixture) {
    let new = f.store.create(CustomerId::new(), HOUR, t0()).await.unwrap();
    let later = t0() + Duration::minutes(30);
    let touched = f
        .store
        .touch(&new.token, HOUR, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.expires_at, later + HOUR);
    assert_eq!(touched.created_at, t0());
    let after_first_expiry = t0() + HOUR + Duration::minutes(1);
    assert_eq!(
        f.store
            .session(&new.token, after_first_expiry)
            .await
            .unwrap(),
        Some(touched.clone())
    );
    let shorter = f
        .store
        .touch(&new.token, Duration::minutes(1), later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shorter.expires_at, later + HOUR, "touch never shortens");
}

/// `revoke` ends one session; the customer's other sessions stay valid; revoking
/// again (or an unknown token) is fine.
pub async fn revoke_ends_only_that_session(f: SessionFixture) {
    let customer = CustomerId::new();
    let a = f.store.create(customer, HOUR, t0()).await.unwrap();
    let b = f.store.create(customer, HOUR, t0()).await.unwrap();
    f.store.revoke(&a.token).await.unwrap();
    assert_eq!(f.store.session(&a.token, t0()).await.unwrap(), None);
    assert_eq!(f.store.touch(&a.token, HOUR, t0()).await.unwrap(), None);
    assert!(f.store.session(&b.token, t0()).await.unwrap().is_some());
    f.store.revoke(&a.token).await.unwrap();
    f.store
        .revoke(&SessionToken::generate().unwrap())
        .await
        .unwrap();
}

/// `revoke_all` ends every session of the customer and no one else's.
pub async fn revoke_all_ends_every_session_of_the_customer(f: SessionFixture) {
    let alice = CustomerId::new();
    let bob = CustomerId::new();
    let alices = join_all((0..20).map(|_| f.store.create(alice, HOUR, t0()))).await;
    let bobs = f.store.create(bob, HOUR, t0()).await.unwrap();
    f.store.revoke_all(alice).await.unwrap();
    for s in alices {
        let s = s.unwrap();
        assert_eq!(f.store.session(&s.token, t0()).await.unwrap(), None);
        assert_eq!(f.store.touch(&s.token, HOUR, t0()).await.unwrap(), None);
    }
    assert!(f.store.session(&bobs.token, t0()).await.unwrap().is_some());
    f.store.revoke_all(CustomerId::new()).await.unwrap();
}

/// Sessions created after `revoke_all` are valid (revocation is not a ban).
pub async fn sessions_created_after_revoke_all_are_valid(f: SessionFixture) {
    let customer = CustomerId::new();
    let old = f.store.create(customer, HOUR, t0()).await.unwrap();
    f.store.revoke_all(customer).await.unwrap();
    let new = f.store.create(customer, HOUR, t0()).await.unwrap();
    assert_eq!(f.store.session(&old.token, t0()).await.unwrap(), None);
    assert_eq!(
        f.store.session(&new.token, t0()).await.unwrap(),
        Some(new.session.clone())
    );
    assert!(
        f.store
            .touch(&new.token, HOUR, t0())
            .await
            .unwrap()
            .is_some()
    );
}

/// A TTL that is not positive or exceeds the maximum is a `Validation` error.
pub async fn invalid_session_ttl_is_rejected(f: SessionFixture) {
    let customer = CustomerId::new();
    for ttl in [Duration::zero(), -HOUR, Duration::days(401)] {
        let err = f.store.create(customer, ttl, t0()).await.unwrap_err();
        assert!(
            matches!(err, Error::Validation { field: "ttl", .. }),
            "{err:?}"
        );
    }
    let new = f.store.create(customer, HOUR, t0()).await.unwrap();
    let err = f
        .store
        .touch(&new.token, Duration::zero(), t0())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Validation { field: "ttl", .. }),
        "{err:?}"
    );
}

/// A session carries the role it was opened with (a customer's by `create`, seller
/// staff's and an admin's by `create_with_role`) through `session` and `touch`, and
/// yields that actor; `revoke_all` of a staff account ends its staff sessions.
pub async fn sessions_carry_their_role(f: SessionFixture) {
    let seller = SellerId::new();
    let staff = CustomerId::new();
    let admin = CustomerId::new();
    let shopper = CustomerId::new();
    let as_seller = f
        .store
        .create_with_role(staff, Role::Seller(seller), HOUR, t0())
        .await
        .unwrap();
    let as_admin = f
        .store
        .create_with_role(admin, Role::Admin, HOUR, t0())
        .await
        .unwrap();
    let as_customer = f.store.create(shopper, HOUR, t0()).await.unwrap();
    for (new, role, actor) in [
        (&as_seller, Role::Seller(seller), Actor::Seller(seller)),
        (&as_admin, Role::Admin, Actor::Admin),
        (&as_customer, Role::Customer, Actor::Customer(shopper)),
    ] {
        assert_eq!(new.session.role, role);
        let found = f.store.session(&new.token, t0()).await.unwrap().unwrap();
        assert_eq!(found.role, role);
        assert_eq!(found.actor(), actor);
        let touched = f
            .store
            .touch(&new.token, HOUR, t0() + Duration::minutes(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(touched.role, role);
    }
    assert_eq!(as_seller.session.customer_id, staff);
    f.store.revoke_all(staff).await.unwrap();
    assert_eq!(f.store.session(&as_seller.token, t0()).await.unwrap(), None);
    assert!(
        f.store
            .session(&as_admin.token, t0())
            .await
            .unwrap()
            .is_some()
    );
}

// ---------------------------------------------------------------- rate limits

fn five_per_minute() -> RateLimit {
    RateLimit::new(5, Duration::minutes(1)).unwrap()
}

/// Up to `max_hits` attempts are allowed with a falling `remaining`; the next is
/// denied with the time until the oldest leaves the window.
pub async fn allows_max_hits_then_denies(f: RateLimiterFixture) {
    let limit = five_per_minute();
    for i in 0..5u32 {
        let at = t0() + Duration::seconds(i64::from(i));
        let d = f
            .limiter
            .hit("login:a@example.com", limit, at)
            .await
            .unwrap();
        assert!(d.allowed, "hit {i}");
        assert_eq!(d.remaining, 4 - i);
        assert_eq!(d.retry_after, None);
    }
    let at = t0() + Duration::seconds(10);
    let d = f
        .limiter
        .hit("login:a@example.com", limit, at)
        .await
        .unwrap();
    assert!(!d.allowed);
    assert_eq!(d.remaining, 0);
    assert_eq!(d.retry_after, Some(Duration::seconds(50)));
}

/// The window slides: each hit frees its slot exactly `window` after it was made.
pub async fn window_slides(f: RateLimiterFixture) {
    let limit = five_per_minute();
    let key = "login:b@example.com";
    for i in 0..5 {
        let at = t0() + Duration::seconds(i * 10);
        assert!(f.limiter.hit(key, limit, at).await.unwrap().allowed);
    }
    let just_before = t0() + Duration::seconds(60) - Duration::milliseconds(1);
    assert!(
        !f.limiter
            .hit(key, limit, just_before)
            .await
            .unwrap()
            .allowed
    );
    let d = f
        .limiter
        .hit(key, limit, t0() + Duration::seconds(60))
        .await
        .unwrap();
    assert!(d.allowed, "the first hit left the window");
    assert_eq!(d.remaining, 0);
    let d = f
        .limiter
        .hit(key, limit, t0() + Duration::seconds(61))
        .await
        .unwrap();
    assert!(!d.allowed);
    assert_eq!(
        d.retry_after,
        Some(Duration::seconds(9)),
        "second hit leaves at 70 s"
    );
}

/// Denied attempts do not count: hammering while locked out does not extend it.
pub async fn denied_hits_are_not_counted(f: RateLimiterFixture) {
    let limit = RateLimit::new(2, Duration::minutes(1)).unwrap();
    let key = "login:c@example.com";
    assert!(f.limiter.hit(key, limit, t0()).await.unwrap().allowed);
    assert!(f.limiter.hit(key, limit, t0()).await.unwrap().allowed);
    for s in 1..30 {
        let at = t0() + Duration::seconds(s);
        assert!(!f.limiter.hit(key, limit, at).await.unwrap().allowed);
    }
    let d = f
        .limiter
        .hit(key, limit, t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert!(d.allowed);
    assert_eq!(d.remaining, 1);
}

/// Keys are counted separately.
pub async fn keys_are_independent(f: RateLimiterFixture) {
    let limit = RateLimit::new(1, Duration::minutes(1)).unwrap();
    assert!(
        f.limiter
            .hit("login:x|10.0.0.1", limit, t0())
            .await
            .unwrap()
            .allowed
    );
    assert!(
        !f.limiter
            .hit("login:x|10.0.0.1", limit, t0())
            .await
            .unwrap()
            .allowed
    );
    assert!(
        f.limiter
            .hit("login:x|10.0.0.2", limit, t0())
            .await
            .unwrap()
            .allowed
    );
    assert!(
        f.limiter
            .hit("login:y|10.0.0.1", limit, t0())
            .await
            .unwrap()
            .allowed
    );
}

/// `reset` forgets every hit of a key (and only that key).
pub async fn reset_forgets_the_key(f: RateLimiterFixture) {
    let limit = RateLimit::new(1, Duration::minutes(1)).unwrap();
    assert!(f.limiter.hit("k1", limit, t0()).await.unwrap().allowed);
    assert!(f.limiter.hit("k2", limit, t0()).await.unwrap().allowed);
    f.limiter.reset("k1").await.unwrap();
    f.limiter.reset("never-hit").await.unwrap();
    assert!(f.limiter.hit("k1", limit, t0()).await.unwrap().allowed);
    assert!(!f.limiter.hit("k2", limit, t0()).await.unwrap().allowed);
}

/// 200 concurrent attempts on one key under a limit of 10: exactly 10 are allowed.
pub async fn concurrent_hits_never_exceed_the_limit(f: RateLimiterFixture) {
    let limit = RateLimit::new(10, Duration::minutes(1)).unwrap();
    let decisions = join_all((0..200).map(|_| f.limiter.hit("hot", limit, t0()))).await;
    let allowed = decisions
        .into_iter()
        .map(|d| d.unwrap())
        .filter(|d| d.allowed)
        .count();
    assert_eq!(allowed, 10);
}

/// A malformed key or limit is a `Validation` error.
pub async fn invalid_key_or_limit_is_rejected(f: RateLimiterFixture) {
    let limit = five_per_minute();
    let err = f.limiter.hit("", limit, t0()).await.unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err:?}");
    let long = "k".repeat(257);
    assert!(matches!(
        f.limiter.hit(&long, limit, t0()).await,
        Err(Error::Validation { .. })
    ));
    assert!(matches!(
        f.limiter.reset("").await,
        Err(Error::Validation { .. })
    ));
    let zero = RateLimit {
        max_hits: 0,
        window: Duration::minutes(1),
    };
    assert!(matches!(
        f.limiter.hit("k", zero, t0()).await,
        Err(Error::Validation { .. })
    ));
}

/// Expands to one test per [`SessionStore`] check, in a module
/// `session_store_conformance`. `$make_fixture` is an `async fn() ->`
/// [`SessionFixture`] returning a fresh, isolated store each call; the calling crate
/// needs `tokio` (macros, multi-thread runtime) as a dev-dependency.
#[macro_export]
macro_rules! session_store_conformance {
    ($make_fixture:path) => {
        $crate::__auth_conformance_tests!(session_store_conformance, $make_fixture;
            created_session_is_found,
            tokens_are_distinct_random_hex,
            unknown_token_finds_nothing,
            session_expires_after_its_ttl,
            touch_extends_a_valid_session,
            revoke_ends_only_that_session,
            revoke_all_ends_every_session_of_the_customer,
            sessions_created_after_revoke_all_are_valid,
            invalid_session_ttl_is_rejected,
            sessions_carry_their_role,
        );
    };
}

/// Expands to one test per [`LoginRateLimiter`] check, in a module
/// `rate_limiter_conformance`. `$make_fixture` is an `async fn() ->`
/// [`RateLimiterFixture`] returning a fresh, isolated limiter each call; the calling
/// crate needs `tokio` (macros, multi-thread runtime) as a dev-dependency.
#[macro_export]
macro_rules! rate_limiter_conformance {
    ($make_fixture:path) => {
        $crate::__auth_conformance_tests!(rate_limiter_conformance, $make_fixture;
            allows_max_hits_then_denies,
            window_slides,
            denied_hits_are_not_counted,
            keys_are_independent,
            reset_forgets_the_key,
            concurrent_hits_never_exceed_the_limit,
            invalid_key_or_limit_is_rejected,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __auth_conformance_tests {
    ($module:ident, $make_fixture:path; $($check:ident),* $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    $crate::testkit::auth::$check($make_fixture().await).await;
                }
            )*
        }
    };
}
