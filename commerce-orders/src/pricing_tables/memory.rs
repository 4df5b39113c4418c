//! [`MemoryPricingTableStore`]: the pricing tables in memory.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use commerce_core::EventEnvelope;
use commerce_core::memory::MemoryOutbox;

use crate::error::{Error, Result};
use crate::ports::PricingTableStore;

use super::PricingTables;

/// The pricing tables in memory. A save checks the version and pushes its events
/// into the shared [`MemoryOutbox`] under one lock (the in-memory transaction).
#[derive(Debug)]
pub struct MemoryPricingTableStore {
    tables: Mutex<Option<PricingTables>>,
    outbox: Arc<MemoryOutbox>,
}

impl MemoryPricingTableStore {
    /// An empty store writing its events to `outbox`.
    pub fn new(outbox: Arc<MemoryOutbox>) -> Self {
        MemoryPricingTableStore {
            tables: Mutex::new(None),
            outbox,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<PricingTables>> {
        // Replaced whole after the checks: a poisoned lock holds a whole value.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl PricingTableStore for MemoryPricingTableStore {
    async fn load(&self) -> Result<Option<PricingTables>> {
        Ok(self.lock().clone())
    }

    async fn save(
        &self,
        tables: &PricingTables,
        expected_version: u64,
        events: &[EventEnvelope],
    ) -> Result<PricingTables> {
        let mut stored = self.lock();
        let current = stored.as_ref().map_or(0, |t| t.version);
        if current != expected_version {
            return Err(Error::Conflict(format!(
                "pricing tables are at version {current}, not {expected_version}"
            )));
        }
        let mut next = tables.clone();
        next.version = expected_version + 1;
        *stored = Some(next.clone());
        self.outbox.push(events.to_vec());
        Ok(next)
    }
}
