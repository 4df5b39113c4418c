//! Accounts: registration with a password, login, password change and reset, and the
//! email-verified flag; the [`CredentialStore`] port they keep their secrets in.
//!
//! Passwords are hashed with argon2id at OWASP's parameters (19 MiB, 2 passes, 1
//! lane) into a PHC string; verification is constant time (argon2's own comparison).
//! A login for an unknown email verifies against a dummy hash, so it costs the same
//! time as a wrong password. Passwords are never stored, logged or part of a `Debug`
//! output. Reset tokens are 32 random bytes from the operating system
//! ([`SessionToken`]), single use and expiring; stores keep their SHA-256 digest.
//!
//! Hashing takes tens of milliseconds of CPU on purpose, so [`Accounts`] never hashes
//! on its own: it asks its [`PasswordHasher`]. The default, [`Argon2id`], hashes
//! inline on the calling task (right for tests, scripts and callers without a
//! reactor); a server hands [`Accounts::with_hasher`] one that runs the same
//! [`hash_password`] / [`verify_password`] off its reactor threads (commerce-http
//! wraps them in tokio's `spawn_blocking`). The domain stays runtime-free.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::actor::Actor;
use crate::address::{Customer, check_email, normalize_email};
use crate::auth::{NewSession, SessionToken};
use crate::error::{Error, Result};
use crate::id::CustomerId;
use crate::ports::CustomerStore;
use crate::role::Role;

/// The credentials port lives with the other storage ports.
pub use crate::ports::CredentialStore;
use crate::ports::SessionStore;

/// Shortest password accepted (OWASP: at least 8 characters).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (bounds the hashing work an attacker can ask for).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// How long a password reset token lives by default: one hour.
pub const DEFAULT_RESET_TTL: Duration = Duration::hours(1);

/// The stored credentials of a customer.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credentials {
    /// The customer.
    pub customer_id: CustomerId,
    /// The argon2id PHC string of the password (salt and parameters included).
    pub password_hash: String,
    /// Whether the customer proved they own their email.
    pub email_verified: bool,
    /// What the account may do (a customer unless set otherwise).
    pub role: Role,
}

impl Credentials {
    /// Credentials of `customer_id` with `password_hash`, email not verified.
    pub fn new(customer_id: CustomerId, password_hash: String) -> Self {
        Credentials {
            customer_id,
            password_hash,
            email_verified: false,
            role: Role::Customer,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("customer_id", &self.customer_id)
            .field("password_hash", &"<redacted>")
            .field("email_verified", &self.email_verified)
            .field("role", &self.role)
            .finish()
    }
}

/// Checks a new password: 8 to 128 characters.
pub fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(Error::validation("password", "must be 8 to 128 characters"));
    }
    Ok(())
}

/// What a login for an unknown email is verified against, so that it costs the same
/// as a wrong password: an argon2id hash at the same parameters of a password no
/// account can have (whatever matches it, the login fails: there is no account).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$vBzAXbUtSBSNCiaLwZxVow$VZrvaY4GoNblc2poBDwzs0gqfeOBB2H00daUyD2IsdE";

/// The argon2id hasher at OWASP's parameters.
fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| Error::backend(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with argon2id and a random salt into a PHC string.
pub fn hash_password(password: &str) -> Result<String> {
    argon2()?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::backend(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (constant-time comparison).
/// A malformed hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Where [`Accounts`] hashes and verifies passwords: a port so that a server can
/// run the CPU-heavy argon2id work off its async reactor. An implementation calls
/// [`hash_password`] and [`verify_password`] (anything else changes the stored
/// format), wherever it likes.
#[async_trait]
pub trait PasswordHasher: Send + Sync + fmt::Debug {
    /// [`hash_password`] of `password`.
    async fn hash(&self, password: &str) -> Result<String>;
    /// [`verify_password`] of `password` against the PHC string `hash`.
    async fn verify(&self, password: &str, hash: &str) -> bool;
}

/// The default [`PasswordHasher`]: argon2id inline, on the calling task.
#[derive(Clone, Copy, Debug, Default)]
pub struct Argon2id;

#[async_trait]
impl PasswordHasher for Argon2id {
    async fn hash(&self, password: &str) -> Result<String> {
        hash_password(password)
    }

    async fn verify(&self, password: &str, hash: &str) -> bool {
        verify_password(password, hash)
    }
}

/// The account service: registration, login, password change and reset, email
/// verification. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    customers: Arc<dyn CustomerStore>,
    credentials: Arc<dyn CredentialStore>,
    hasher: Arc<dyn PasswordHasher>,
    reset_ttl: Duration,
}

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accounts")
            .field("hasher", &self.hasher)
            .field("reset_ttl", &self.reset_ttl)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// The service over these stores, reset tokens living [`DEFAULT_RESET_TTL`],
    /// passwords hashed inline ([`Argon2id`]).
    pub fn new(customers: Arc<dyn CustomerStore>, credentials: Arc<dyn CredentialStore>) -> Self {
        Accounts {
            customers,
            credentials,
            hasher: Arc::new(Argon2id),
            reset_ttl: DEFAULT_RESET_TTL,
        }
    }

    /// With passwords hashed and verified by `hasher` (e.g. one that runs
    /// [`hash_password`] on a blocking thread pool).
    #[must_use]
    pub fn with_hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Self {
        self.hasher = hasher;
        self
    }

    /// With reset tokens living `ttl` (positive).
    #[must_use]
    pub fn with_reset_ttl(mut self, ttl: Duration) -> Self {
        if ttl > Duration::zero() {
            self.reset_ttl = ttl;
        }
        self
    }

    /// Registers a customer with `email` (the one email rule of
    /// [`crate::address::check_email`], stored normalized), `name` and `password`.
    /// `Validation` for a malformed email, an empty name or a password outside 8 to
    /// 128 characters; `Conflict` when the email is taken.
    pub async fn register(
        &self,
        email: &str,
        name: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<Customer> {
        let email = normalize_email(email);
        check_email(&email)?;
        check_password(password)?;
        let hash = self.hasher.hash(password).await?;
        let customer = Customer {
            id: CustomerId::new(),
            email,
            name: name.trim().to_owned(),
            created_at: now,
        };
        self.customers.create_customer(&customer).await?;
        self.credentials
            .set_password_hash(customer.id, &hash)
            .await?;
        Ok(customer)
    }

    /// The customer whose email and password these are; `InvalidCredentials`
    /// otherwise, in the same time whether the email is unknown or the password
    /// wrong. Whatever the account's role: a login route opens the session with
    /// [`Accounts::login_with_role`] or [`Accounts::sign_in`], so staff act as staff.
    pub async fn login(&self, email: &str, password: &str) -> Result<CustomerId> {
        self.login_with_role(email, password)
            .await
            .map(|(id, _)| id)
    }

    /// [`Accounts::login`] with the account's [`Role`], which the session must carry.
    pub async fn login_with_role(&self, email: &str, password: &str) -> Result<(CustomerId, Role)> {
        let customer = self
            .customers
            .customer_by_email(&normalize_email(email))
            .await?;
        let credentials = match &customer {
            Some(c) => self.credentials.credentials(c.id).await?,
            None => None,
        };
        let hash = credentials
            .as_ref()
            .map_or(DUMMY_HASH, |c| c.password_hash.as_str());
        let matches = self.hasher.verify(password, hash).await;
        match (credentials, matches) {
            (Some(c), true) => Ok((c.customer_id, c.role)),
            _ => Err(Error::InvalidCredentials),
        }
    }

    /// Logs in and opens a session living `ttl` that carries the account's role (a
    /// customer's, a seller staff's or an admin's): the one call a login route needs
    /// after its rate limit. `InvalidCredentials` as [`Accounts::login`].
    pub async fn sign_in(
        &self,
        sessions: &dyn SessionStore,
        email: &str,
        password: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<NewSession> {
        let (account, role) = self.login_with_role(email, password).await?;
        sessions.create_with_role(account, role, ttl, now).await
    }

    /// Creates a staff account (a seller's staff or an admin): an account with
    /// `email`, `name` and `password` as [`Accounts::register`] makes, with `role`.
    /// Only an admin may (anyone else: `NotFound`, as for what they cannot see);
    /// `None` for the actor creates the first accounts of a shop (its set-up, the
    /// demo), which no request can reach.
    pub async fn create_staff(
        &self,
        actor: Option<&Actor>,
        email: &str,
        name: &str,
        password: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<Customer> {
        if actor.is_some_and(|a| !a.is_admin()) {
            return Err(Error::not_found("account", email));
        }
        let account = self.register(email, name, password, now).await?;
        self.credentials.set_role(account.id, role).await?;
        Ok(account)
    }

    /// Changes the role of an account; admins only (anyone else: `NotFound`).
    /// `NotFound` for an account without credentials. Sessions keep the role they
    /// were opened with: end them (`SessionStore::revoke_all`) for the change to
    /// take effect at once.
    pub async fn set_role(&self, actor: &Actor, account: CustomerId, role: Role) -> Result<()> {
        if !actor.is_admin() {
            return Err(Error::not_found("account", account));
        }
        self.credentials.set_role(account, role).await
    }

    /// The role of an account (`None` without credentials).
    pub async fn role(&self, account: CustomerId) -> Result<Option<Role>> {
        Ok(self.credentials.credentials(account).await?.map(|c| c.role))
    }

    /// Changes the password of the acting customer after checking the current one
    /// (`InvalidCredentials` when wrong). Anyone but a customer is `Validation`-free
    /// `InvalidCredentials` too: only a customer has a password.
    pub async fn change_password(&self, actor: &Actor, current: &str, new: &str) -> Result<()> {
        let customer_id = actor.customer_id().ok_or(Error::InvalidCredentials)?;
        check_password(new)?;
        let credentials = self.credentials.credentials(customer_id).await?;
        let hash = credentials
            .as_ref()
            .map_or(DUMMY_HASH, |c| c.password_hash.as_str());
        if !self.hasher.verify(current, hash).await || credentials.is_none() {
            return Err(Error::InvalidCredentials);
        }
        self.credentials
            .set_password_hash(customer_id, &self.hasher.hash(new).await?)
            .await
    }

    /// Starts a password reset for `email`: a single-use token living the reset TTL,
    /// to send to that address. `None` (and nothing stored) when no account has the
    /// email: say the same thing to the client either way.
    pub async fn request_password_reset(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionToken>> {
        let Some(customer) = self
            .customers
            .customer_by_email(&normalize_email(email))
            .await?
        else {
            return Ok(None);
        };
        let token = SessionToken::generate()?;
        let expires_at = now
            .checked_add_signed(self.reset_ttl)
            .ok_or_else(|| Error::validation("reset_ttl", "too long"))?;
        self.credentials
            .put_reset_token(customer.id, token.digest(), expires_at)
            .await?;
        Ok(Some(token))
    }

    /// Sets a new password with a reset token; the token is used up.
    /// `InvalidToken` for an unknown, used or expired token; `Validation` for a bad
    /// password (the token is kept for another try).
    pub async fn reset_password(
        &self,
        token: &SessionToken,
        new_password: &str,
        now: DateTime<Utc>,
    ) -> Result<CustomerId> {
        check_password(new_password)?;
        let hash = self.hasher.hash(new_password).await?;
        let customer_id = self
            .credentials
            .take_reset_token(token.digest(), now)
            .await?
            .ok_or(Error::InvalidToken)?;
        self.credentials
            .set_password_hash(customer_id, &hash)
            .await?;
        Ok(customer_id)
    }

    /// Records that the customer proved they own their email (the verification
    /// link was followed). `NotFound` for a customer without credentials.
    pub async fn mark_email_verified(&self, customer_id: CustomerId) -> Result<()> {
        self.credentials.set_email_verified(customer_id, true).await
    }

    /// Whether the acting customer's email is verified (`false` for anyone else).
    pub async fn email_verified(&self, actor: &Actor) -> Result<bool> {
        let Some(id) = actor.customer_id() else {
            return Ok(false);
        };
        Ok(self
            .credentials
            .credentials(id)
            .await?
            .is_some_and(|c| c.email_verified))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains("correct horse"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(hash_password("correct horse").unwrap(), hash, "salted");
    }

    #[test]
    fn account_passwords_are_8_to_128_characters() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"x".repeat(129)).is_err());
    }

    #[test]
    fn account_unknown_email_is_checked_against_a_hash_of_the_same_cost() {
        let real = hash_password("whatever").unwrap();
        let params = |h: &str| h.split('$').nth(3).map(str::to_owned);
        assert_eq!(params(DUMMY_HASH), params(&real));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn account_credentials_debug_hides_the_hash() {
        let c = Credentials::new(CustomerId::new(), "$argon2id$secret".to_owned());
        assert!(!format!("{c:?}").contains("secret"));
    }

    /// Counts the calls and hashes inline.
    #[derive(Debug, Default)]
    struct Counting {
        hashes: std::sync::atomic::AtomicUsize,
        verifies: std::sync::atomic::AtomicUsize,
    }

    #[async_trait]
    impl PasswordHasher for Counting {
        async fn hash(&self, password: &str) -> Result<String> {
            self.hashes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            hash_password(password)
        }
        async fn verify(&self, password: &str, hash: &str) -> bool {
            self.verifies
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            verify_password(password, hash)
        }
    }

    #[tokio::test]
    async fn account_hashing_runs_only_through_the_hasher_port() {
        use crate::memory::{MemoryCredentials, MemoryCustomers};
        use std::sync::atomic::Ordering::SeqCst;
        let hasher = Arc::new(Counting::default());
        let accounts = Accounts::new(
            Arc::new(MemoryCustomers::new()),
            Arc::new(MemoryCredentials::new()),
        )
        .with_hasher(hasher.clone());
        let now = Utc::now();
        let c = accounts
            .register("hasher@example.com", "H", "password-1", now)
            .await
            .unwrap();
        assert_eq!(
            accounts
                .login("hasher@example.com", "password-1")
                .await
                .unwrap(),
            c.id
        );
        assert!(
            accounts
                .login("nobody@example.com", "password-1")
                .await
                .is_err()
        );
        let actor = Actor::Customer(c.id);
        accounts
            .change_password(&actor, "password-1", "password-2")
            .await
            .unwrap();
        let token = accounts
            .request_password_reset("hasher@example.com", now)
            .await
            .unwrap()
            .unwrap();
        accounts
            .reset_password(&token, "password-3", now)
            .await
            .unwrap();
        assert_eq!(hasher.hashes.load(SeqCst), 3, "register, change, reset");
        assert_eq!(hasher.verifies.load(SeqCst), 3, "two logins, change");
    }
}
