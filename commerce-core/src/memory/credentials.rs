//! In-memory credential store: password hashes, email-verified flags, roles and reset
//! token digests behind one lock.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::accounts::{CredentialStore, Credentials};
use crate::auth::TokenDigest;
use crate::error::{Error, Result};
use crate::id::CustomerId;
use crate::role::Role;

#[derive(Default)]
struct State {
    credentials: HashMap<CustomerId, Credentials>,
    resets: HashMap<TokenDigest, (CustomerId, DateTime<Utc>)>,
}

/// The in-memory [`CredentialStore`].
#[derive(Default)]
pub struct MemoryCredentials {
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCredentials").finish_non_exhaustive()
    }
}

impl MemoryCredentials {
    /// An empty store.
    pub fn new() -> Self {
        MemoryCredentials::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl CredentialStore for MemoryCredentials {
    async fn set_password_hash(&self, customer_id: CustomerId, password_hash: &str) -> Result<()> {
        let mut state = self.lock();
        state
            .credentials
            .entry(customer_id)
            .and_modify(|c| c.password_hash = password_hash.to_owned())
            .or_insert_with(|| Credentials::new(customer_id, password_hash.to_owned()));
        Ok(())
    }

    async fn credentials(&self, customer_id: CustomerId) -> Result<Option<Credentials>> {
        Ok(self.lock().credentials.get(&customer_id).cloned())
    }

    async fn set_email_verified(&self, customer_id: CustomerId, verified: bool) -> Result<()> {
        match self.lock().credentials.get_mut(&customer_id) {
            Some(c) => {
                c.email_verified = verified;
                Ok(())
            }
            None => Err(Error::not_found("credentials", customer_id)),
        }
    }

    async fn set_role(&self, customer_id: CustomerId, role: Role) -> Result<()> {
        match self.lock().credentials.get_mut(&customer_id) {
            Some(c) => {
                c.role = role;
                Ok(())
            }
            None => Err(Error::not_found("credentials", customer_id)),
        }
    }

    async fn put_reset_token(
        &self,
        customer_id: CustomerId,
        digest: TokenDigest,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.lock().resets.insert(digest, (customer_id, expires_at));
        Ok(())
    }

    async fn take_reset_token(
        &self,
        digest: TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerId>> {
        Ok(self
            .lock()
            .resets
            .remove(&digest)
            .filter(|(_, expires_at)| now < *expires_at)
            .map(|(customer, _)| customer))
    }
}
