//! [`PgCredentials`]: password hashes, the email-verified flag, the account's role
//! (migration `0011_account_roles.sql`) and password reset token digests on
//! PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use commerce_core::accounts::{CredentialStore, Credentials};
use commerce_core::auth::TokenDigest;
use commerce_core::{CustomerId, Error, Result, Role, SellerId};

use crate::error::PortError;
use crate::stores::Shared;

/// Credentials of customer accounts (see [`commerce_core::accounts`]).
#[derive(Clone)]
pub struct PgCredentials {
    shared: Shared,
}

impl std::fmt::Debug for PgCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCredentials").finish_non_exhaustive()
    }
}

impl PgCredentials {
    pub(crate) fn new(shared: Shared) -> Self {
        PgCredentials { shared }
    }
}

/// The role of columns `role` (`customer`, `seller`, `admin`) and `seller_id`.
fn role_of(kind: &str, seller: Option<uuid::Uuid>) -> Result<Role> {
    match (kind, seller) {
        ("customer", None) => Ok(Role::Customer),
        ("admin", None) => Ok(Role::Admin),
        ("seller", Some(id)) => Ok(Role::Seller(SellerId::from_uuid(id))),
        _ => Err(Error::backend(format!(
            "credentials with role {kind:?} and seller {seller:?}"
        ))),
    }
}

#[async_trait]
impl CredentialStore for PgCredentials {
    async fn set_password_hash(&self, customer_id: CustomerId, password_hash: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO commerce.credentials (customer_id, password_hash) VALUES ($1, $2)
             ON CONFLICT (customer_id)
             DO UPDATE SET password_hash = EXCLUDED.password_hash, updated_at = now()",
        )
        .bind(customer_id.as_uuid())
        .bind(password_hash)
        .execute(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        Ok(())
    }

    async fn credentials(&self, customer_id: CustomerId) -> Result<Option<Credentials>> {
        let row = sqlx::query(
            "SELECT password_hash, email_verified, role, seller_id
               FROM commerce.credentials WHERE customer_id = $1",
        )
        .bind(customer_id.as_uuid())
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        row.map(|r| {
            let mut c = Credentials::new(
                customer_id,
                r.try_get("password_hash").map_err(Error::backend)?,
            );
            c.email_verified = r.try_get("email_verified").map_err(Error::backend)?;
            let kind: String = r.try_get("role").map_err(Error::backend)?;
            let seller: Option<uuid::Uuid> = r.try_get("seller_id").map_err(Error::backend)?;
            c.role = role_of(&kind, seller)?;
            Ok(c)
        })
        .transpose()
    }

    async fn set_email_verified(&self, customer_id: CustomerId, verified: bool) -> Result<()> {
        let done = sqlx::query(
            "UPDATE commerce.credentials SET email_verified = $2, updated_at = now()
              WHERE customer_id = $1",
        )
        .bind(customer_id.as_uuid())
        .bind(verified)
        .execute(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("credentials", customer_id));
        }
        Ok(())
    }

    async fn set_role(&self, customer_id: CustomerId, role: Role) -> Result<()> {
        let done = sqlx::query(
            "UPDATE commerce.credentials SET role = $2, seller_id = $3, updated_at = now()
              WHERE customer_id = $1",
        )
        .bind(customer_id.as_uuid())
        .bind(role.kind())
        .bind(role.seller_id().map(|s| s.as_uuid()))
        .execute(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("credentials", customer_id));
        }
        Ok(())
    }

    async fn put_reset_token(
        &self,
        customer_id: CustomerId,
        digest: TokenDigest,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO commerce.password_reset_tokens (digest, customer_id, expires_at)
             VALUES ($1, $2, $3)",
        )
        .bind(digest.as_bytes().as_slice())
        .bind(customer_id.as_uuid())
        .bind(expires_at)
        .execute(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        Ok(())
    }

    async fn take_reset_token(
        &self,
        digest: TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerId>> {
        // Expired tokens go on the way, whoever asks.
        let row = sqlx::query(
            "WITH gone AS (
                 DELETE FROM commerce.password_reset_tokens
                  WHERE digest = $1 OR expires_at <= $2
              RETURNING digest, customer_id, expires_at)
             SELECT customer_id FROM gone WHERE digest = $1 AND expires_at > $2",
        )
        .bind(digest.as_bytes().as_slice())
        .bind(now)
        .fetch_optional(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        row.map(|r| {
            r.try_get("customer_id")
                .map(CustomerId::from_uuid)
                .map_err(Error::backend)
        })
        .transpose()
    }
}
