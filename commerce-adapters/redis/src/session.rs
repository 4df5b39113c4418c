//! [`RedisSessionStore`]: login sessions under the digest of their token.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use redis::Value;

use commerce_core::auth::{
    MAX_SESSION_TTL, NewSession, Session, SessionStore, SessionToken, validate_session_ttl,
};
use commerce_core::{CustomerId, Error as CoreError, Result as CoreResult, Role};

use crate::connection::RedisConnection;
use crate::error::{Error, Result};
use crate::keys::KeyPrefix;
use crate::reply;
use crate::scripts;

/// The generation of a customer that never revoked all sessions.
const FIRST_GENERATION: &str = "0";

/// Sessions in Redis.
///
/// A session is a hash `P:session:{DIGEST}` (account, generation, created, expires in
/// Unix ms, role as `customer`, `admin` or `seller:<id>`; absent reads as `customer`)
/// named by the SHA-256 digest of its token, so the store never holds a
/// usable token; Redis drops it when it expires (`PEXPIRE` with the remaining time).
///
/// "Sign out everywhere" does not list sessions: each customer has a generation
/// (`P:session-gen:{CUSTOMER}`, absent = `"0"`); a session is valid only while the
/// generation it was created in is current, and `revoke_all` replaces the generation
/// with a fresh random one. Every operation touches one key per command, so the store
/// works unchanged on a Redis Cluster. Round trips: `session` 2 (the session, then its
/// customer's generation), `create` 2, `touch` 3, `revoke` and `revoke_all` 1. The
/// generation key expires too: it is kept alive at least as long as the longest
/// session of its generation, and sessions of the first generation can no longer be
/// extended once it exists.
#[derive(Clone, Debug)]
pub struct RedisSessionStore {
    conn: RedisConnection,
    prefix: KeyPrefix,
}

/// Milliseconds of a positive TTL, at least 1.
fn ttl_ms(ttl: Duration) -> i64 {
    ttl.num_milliseconds().max(1)
}

fn ms_time(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| Error::unexpected(format!("timestamp {ms}")))
}

fn customer_of(text: &str) -> Result<CustomerId> {
    text.parse()
        .map_err(|_| Error::unexpected(format!("customer id {text:?}")))
}

/// The role stored in a session (absent: a customer's session stored before roles).
fn role_of(text: Option<&str>) -> Result<Role> {
    text.map_or(Ok(Role::Customer), |t| {
        Role::parse(t).map_err(|_| Error::unexpected(format!("role {t:?}")))
    })
}

/// What a session hash holds.
struct Stored {
    customer: CustomerId,
    generation: String,
    created: i64,
    expires: i64,
    role: Role,
}

impl RedisSessionStore {
    /// A store over `conn` with keys under `prefix`.
    pub fn new(conn: RedisConnection, prefix: KeyPrefix) -> Self {
        RedisSessionStore { conn, prefix }
    }

    /// The current generation of `customer`, keeping its key alive `ttl` more.
    async fn generation(&self, customer: CustomerId, ttl: Duration) -> Result<String> {
        let g: Value = scripts::SESSION_GENERATION
            .key(self.prefix.session_generation(customer))
            .arg(ttl_ms(ttl))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        reply::string(g)
    }

    /// The stored fields of a session.
    async fn load(&self, token: &SessionToken) -> Result<Option<Stored>> {
        let fields: Vec<Value> = redis::cmd("HMGET")
            .arg(self.prefix.session(&token.digest()))
            .arg(&["c", "g", "ca", "ea", "r"])
            .query_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        let mut it = fields.into_iter();
        let Some(customer) = reply::opt_string(reply::next(&mut it, "the customer")?)? else {
            return Ok(None);
        };
        let generation = reply::string(reply::next(&mut it, "the generation")?)?;
        let created = reply::int(&reply::next(&mut it, "the creation time")?)?;
        let expires = reply::int(&reply::next(&mut it, "the expiry")?)?;
        let role = reply::opt_string(reply::next(&mut it, "the role")?)?;
        Ok(Some(Stored {
            customer: customer_of(&customer)?,
            generation,
            created,
            expires,
            role: role_of(role.as_deref())?,
        }))
    }
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create_with_role(
        &self,
        customer_id: CustomerId,
        role: Role,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> CoreResult<NewSession> {
        validate_session_ttl(ttl)?;
        let created = now.timestamp_millis();
        let expires = created
            .checked_add(ttl.num_milliseconds())
            .ok_or(CoreError::Overflow)?;
        let generation = self.generation(customer_id, ttl).await?;
        let token = SessionToken::generate()?;
        let written: i64 = scripts::SESSION_CREATE
            .key(self.prefix.session(&token.digest()))
            .arg(customer_id.to_string())
            .arg(&generation)
            .arg(created)
            .arg(expires)
            .arg(ttl_ms(ttl))
            .arg(role.to_string())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        if written != 1 {
            // Two equal 256-bit random tokens: the random source is broken.
            return Err(CoreError::Conflict("session token collision".to_owned()));
        }
        Ok(NewSession {
            token,
            session: Session {
                customer_id,
                role,
                created_at: ms_time(created)?,
                expires_at: ms_time(expires)?,
            },
        })
    }

    async fn session(
        &self,
        token: &SessionToken,
        now: DateTime<Utc>,
    ) -> CoreResult<Option<Session>> {
        let Some(stored) = self.load(token).await? else {
            return Ok(None);
        };
        if stored.expires <= now.timestamp_millis() {
            return Ok(None);
        }
        let current: Option<String> = redis::cmd("GET")
            .arg(self.prefix.session_generation(stored.customer))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        if stored.generation != current.as_deref().unwrap_or(FIRST_GENERATION) {
            return Ok(None);
        }
        Ok(Some(Session {
            customer_id: stored.customer,
            role: stored.role,
            created_at: ms_time(stored.created)?,
            expires_at: ms_time(stored.expires)?,
        }))
    }

    async fn touch(
        &self,
        token: &SessionToken,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> CoreResult<Option<Session>> {
        validate_session_ttl(ttl)?;
        let now_ms = now.timestamp_millis();
        let until = now_ms
            .checked_add(ttl.num_milliseconds())
            .ok_or(CoreError::Overflow)?;
        let Some(stored) = self.load(token).await? else {
            return Ok(None);
        };
        if stored.expires <= now_ms {
            return Ok(None);
        }
        let generation = self.generation(stored.customer, ttl).await?;
        let reply: Value = scripts::SESSION_TOUCH
            .key(self.prefix.session(&token.digest()))
            .arg(&generation)
            .arg(now_ms)
            .arg(until)
            .arg(ttl_ms(ttl))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        let mut it = reply::array(reply)?.into_iter();
        let Some(customer) = it.next() else {
            return Ok(None);
        };
        let created = reply::int(&reply::next(&mut it, "the creation time")?)?;
        let expires = reply::int(&reply::next(&mut it, "the expiry")?)?;
        let role = reply::string(reply::next(&mut it, "the role")?)?;
        Ok(Some(Session {
            customer_id: customer_of(&reply::string(customer)?)?,
            role: role_of(Some(&role))?,
            created_at: ms_time(created)?,
            expires_at: ms_time(expires)?,
        }))
    }

    async fn revoke(&self, token: &SessionToken) -> CoreResult<()> {
        let _: i64 = redis::cmd("DEL")
            .arg(self.prefix.session(&token.digest()))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        Ok(())
    }

    async fn revoke_all(&self, customer_id: CustomerId) -> CoreResult<()> {
        // Sessions of older generations never become valid again, whatever happens to
        // this key later; it only has to outlive the sessions of the first generation,
        // which can no longer be extended and so end within MAX_SESSION_TTL.
        let () = redis::cmd("SET")
            .arg(self.prefix.session_generation(customer_id))
            .arg(uuid::Uuid::now_v7().to_string())
            .arg("PX")
            .arg(MAX_SESSION_TTL.num_milliseconds())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        Ok(())
    }
}
