//! Errors of this crate, and how database errors become the domain's errors.
//!
//! Store methods return the error enum of the port they implement
//! (`commerce_core::Error`, `commerce_inventory::Error`, ...). Database errors map
//! into it the same way everywhere:
//!
//! - a unique violation is a `Conflict` naming the constraint;
//! - a serialization failure or a deadlock aborts the transaction, which is retried
//!   from the start up to [`MAX_ATTEMPTS`] times with a short jittered backoff, then
//!   reported as `Unavailable` (retryable: nothing was written; never a `Conflict`,
//!   which would tell the caller another writer won);
//! - anything else (connection lost, pool timeout, ...) is `Backend`.

use std::future::Future;
use std::time::Duration;

/// How many times a transaction that hit a serialization failure or a deadlock is
/// tried in all before the store gives up with `Unavailable`.
pub const MAX_ATTEMPTS: u32 = 8;

/// SQLSTATE raised by the inventory functions on a shortage (detail: JSON
/// `{sku, requested, available}`).
pub(crate) const INSUFFICIENT_STOCK: &str = "CM001";

/// SQLSTATE raised by `commerce.commit_for_order` when the reservation cannot be
/// committed (detail: its status, or `missing`).
pub(crate) const NOT_COMMITTABLE: &str = "CM002";

/// The shortage reported with [`INSUFFICIENT_STOCK`].
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Shortage {
    /// The first short SKU.
    pub(crate) sku: String,
    /// Units asked for.
    pub(crate) requested: u64,
    /// Units available.
    pub(crate) available: u64,
}

/// The shortage behind `error`, when it is an [`INSUFFICIENT_STOCK`] error with a
/// readable detail.
pub(crate) fn shortage(error: &sqlx::Error) -> Option<Shortage> {
    if sqlstate(error) != Some(INSUFFICIENT_STOCK) {
        return None;
    }
    pg_error(error)
        .and_then(|pg| pg.detail())
        .and_then(|detail| serde_json::from_str::<Shortage>(detail).ok())
}

/// Errors of setting the stores up: connecting and migrating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be reached or refused the connection.
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[source] sqlx::Error),
    /// Applying the embedded migrations failed (see the source for which one).
    #[error("migrating the commerce schema failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why one attempt of a store operation failed: the database (maybe transient), or a
/// domain outcome that is final.
#[derive(Debug)]
pub(crate) enum Failure<E> {
    /// A database error; retried when transient.
    Db(sqlx::Error),
    /// A domain error, returned as it is.
    Domain(E),
}

impl<E> From<sqlx::Error> for Failure<E> {
    fn from(e: sqlx::Error) -> Self {
        Failure::Db(e)
    }
}

/// The error enums of the ports, as far as this adapter needs to build them.
pub(crate) trait PortError: Sized {
    /// A conflicting concurrent change or a duplicate.
    fn conflict(message: String) -> Self;
    /// A failure of the database.
    fn backend(error: sqlx::Error) -> Self;
    /// The database stayed too busy to finish the operation (retries exhausted).
    fn unavailable(error: GaveUp) -> Self;

    /// Maps a non-transient database error.
    fn from_db(error: sqlx::Error) -> Self {
        if let Some(constraint) = unique_violation(&error) {
            return Self::conflict(format!("duplicate value violates {constraint}"));
        }
        Self::backend(error)
    }
}

/// Why a transaction was given up: it hit concurrent transactions (serialization
/// failures, deadlocks) on every attempt. The last database error is the source.
#[derive(Debug, thiserror::Error)]
#[error("{what}: gave up after {attempts} attempts that hit concurrent transactions; retry later")]
pub struct GaveUp {
    what: String,
    attempts: u32,
    #[source]
    last: sqlx::Error,
}

impl PortError for commerce_core::Error {
    fn conflict(message: String) -> Self {
        commerce_core::Error::Conflict(message)
    }
    fn backend(error: sqlx::Error) -> Self {
        commerce_core::Error::backend(error)
    }
    fn unavailable(error: GaveUp) -> Self {
        commerce_core::Error::Unavailable(Box::new(error))
    }
}

impl PortError for commerce_inventory::Error {
    fn conflict(message: String) -> Self {
        commerce_inventory::Error::Conflict(message)
    }
    fn backend(error: sqlx::Error) -> Self {
        commerce_inventory::Error::Backend(Box::new(error))
    }
    fn unavailable(error: GaveUp) -> Self {
        commerce_inventory::Error::Unavailable(Box::new(error))
    }
}

impl PortError for commerce_cart::Error {
    fn conflict(message: String) -> Self {
        // Carts have no conflict variant: every change is applied under a row lock,
        // so only a unique violation of a bug lands here.
        commerce_cart::Error::Backend(message.into())
    }
    fn backend(error: sqlx::Error) -> Self {
        commerce_cart::Error::backend(error)
    }
    fn unavailable(error: GaveUp) -> Self {
        commerce_cart::Error::Unavailable(Box::new(error))
    }
}

impl PortError for commerce_orders::Error {
    fn conflict(message: String) -> Self {
        commerce_orders::Error::Conflict(message)
    }
    fn backend(error: sqlx::Error) -> Self {
        commerce_orders::Error::backend(error)
    }
    fn unavailable(error: GaveUp) -> Self {
        commerce_orders::Error::Unavailable(Box::new(error))
    }
}

impl PortError for commerce_reviews::Error {
    fn conflict(message: String) -> Self {
        commerce_reviews::Error::Conflict(message)
    }
    fn backend(error: sqlx::Error) -> Self {
        commerce_reviews::Error::backend(error)
    }
    fn unavailable(error: GaveUp) -> Self {
        commerce_reviews::Error::unavailable(error)
    }
}

impl PortError for commerce_recommend::Error {
    fn conflict(message: String) -> Self {
        commerce_recommend::Error::backend(message)
    }
    fn backend(error: sqlx::Error) -> Self {
        commerce_recommend::Error::backend(error)
    }
    fn unavailable(error: GaveUp) -> Self {
        commerce_recommend::Error::unavailable(error)
    }
}

/// The PostgreSQL error behind `error`, if it came from the server.
pub(crate) fn pg_error(error: &sqlx::Error) -> Option<&sqlx::postgres::PgDatabaseError> {
    error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
}

/// The SQLSTATE of a server error.
pub(crate) fn sqlstate(error: &sqlx::Error) -> Option<&str> {
    pg_error(error).map(|e| e.code())
}

/// The violated constraint when `error` is a unique violation.
pub(crate) fn unique_violation(error: &sqlx::Error) -> Option<&str> {
    let pg = pg_error(error)?;
    (pg.code() == "23505").then(|| pg.constraint().unwrap_or("a unique constraint"))
}

/// True for errors after which the whole transaction can simply run again:
/// serialization failure (40001) and deadlock (40P01).
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    matches!(sqlstate(error), Some("40001" | "40P01"))
}

/// Runs `op` until it succeeds, fails for good, or has hit a transient error
/// [`MAX_ATTEMPTS`] times. Each attempt must be a whole transaction (or a single
/// statement), so a transient failure left nothing behind.
pub(crate) async fn retrying<T, E, F, Fut>(what: &str, mut op: F) -> std::result::Result<T, E>
where
    E: PortError,
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, Failure<E>>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(Failure::Domain(e)) => return Err(e),
            Err(Failure::Db(e)) if is_transient(&e) => {
                if attempt >= MAX_ATTEMPTS {
                    return Err(E::unavailable(GaveUp {
                        what: what.to_owned(),
                        attempts: attempt,
                        last: e,
                    }));
                }
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(Failure::Db(e)) => return Err(E::from_db(e)),
        }
    }
}

/// 1, 2, 4, ... ms (capped at 32 ms) plus up to as much again of jitter, so
/// transactions that collided do not collide again in lockstep.
fn backoff(attempt: u32) -> Duration {
    let base_micros = 1_000u64 << attempt.min(5);
    let random = u64::from_le_bytes(
        uuid::Uuid::now_v7().as_bytes()[8..16]
            .try_into()
            .unwrap_or([0; 8]),
    );
    Duration::from_micros(base_micros + random % base_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(1) >= Duration::from_millis(2));
        assert!(backoff(1) < Duration::from_millis(4));
        assert!(backoff(20) < Duration::from_millis(64));
    }
}
