//! The expiry sweep: gives the stock of abandoned checkouts back.
//!
//! Runtime agnostic: [`sweep_once`] is one pass, and the server decides how often to
//! run it (every [`DEFAULT_SWEEP_INTERVAL`] is a good start). Several processes may
//! sweep at once: [`InventoryStore::expire_due`] expires each reservation exactly once.

use std::sync::Arc;

use commerce_core::Clock;

use crate::error::{Error, Result};
use crate::model::ReservationId;
use crate::ports::InventoryStore;

/// Reservations expired per `expire_due` call by default.
pub const DEFAULT_SWEEP_BATCH: u32 = 500;

/// A sensible pause between two sweeps: well under the 15-minute default TTL.
pub const DEFAULT_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Expires every reservation due at `clock.now()` (read once, so the pass ends), in
/// batches of `batch`, until a batch comes back short. Returns the ids expired by
/// this pass (not those another sweeper got first).
///
/// Fails with `Validation` when `batch` is zero; a store error stops the pass (the
/// batches already expired stay expired, and the next pass continues).
pub async fn sweep_once(
    store: &dyn InventoryStore,
    clock: &dyn Clock,
    batch: u32,
) -> Result<Vec<ReservationId>> {
    if batch == 0 {
        return Err(Error::Validation {
            field: "batch",
            message: "must be at least 1".to_owned(),
        });
    }
    let now = clock.now();
    let mut expired = Vec::new();
    loop {
        let ids = store.expire_due(now, batch).await?;
        let short = ids.len() < usize::try_from(batch).unwrap_or(usize::MAX);
        expired.extend(ids);
        if short {
            return Ok(expired);
        }
    }
}

/// A store, a clock and a batch size: what a scheduler needs to call
/// [`sweep_once`] periodically.
#[derive(Clone)]
pub struct ExpirySweeper {
    store: Arc<dyn InventoryStore>,
    clock: Arc<dyn Clock>,
    batch: u32,
}

impl std::fmt::Debug for ExpirySweeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpirySweeper")
            .field("clock", &self.clock)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl ExpirySweeper {
    /// A sweeper over `store` on `clock`, expiring [`DEFAULT_SWEEP_BATCH`] per call.
    pub fn new(store: Arc<dyn InventoryStore>, clock: Arc<dyn Clock>) -> Self {
        ExpirySweeper {
            store,
            clock,
            batch: DEFAULT_SWEEP_BATCH,
        }
    }

    /// The same sweeper with another batch size (`0` is refused by each sweep).
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch;
        self
    }

    /// One pass: see [`sweep_once`].
    pub async fn sweep_once(&self) -> Result<Vec<ReservationId>> {
        sweep_once(self.store.as_ref(), self.clock.as_ref(), self.batch).await
    }
}
