//! The in-memory [`InventoryStore`]: the reference behaviour of the port, and the
//! embedded default of the example server.
//!
//! One mutex guards the whole state (stock rows, reservations and the expiry index),
//! so every port call is one critical section: it validates and plans, writes its
//! events to the [`MemoryOutbox`], then applies the change, all before anyone else
//! sees the state. The lock is never held across an `.await` (the methods do not
//! await while holding it) and the lock order is always "inventory, then outbox".

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use commerce_core::memory::MemoryOutbox;
use commerce_core::{DomainEvent, EventEnvelope, Sku};

use crate::error::{Error, Result};
use crate::model::{
    BackorderPolicy, InventoryEvent, LocationCode, Reservation, ReservationId, ReservationLine,
    ReservationStatus, ReserveRequest, StockAdjustment, StockLevel, Transition,
};
use crate::ports::InventoryStore;

/// Stock rows of one location, by SKU.
type LocationStock = HashMap<Sku, StockLevel>;

#[derive(Debug, Default)]
struct State {
    stock: HashMap<LocationCode, LocationStock>,
    reservations: HashMap<ReservationId, Reservation>,
    /// Active reservations by expiry, for `expire_due`.
    due: BTreeSet<(DateTime<Utc>, ReservationId)>,
}

impl State {
    fn level(&self, location: &LocationCode, sku: &Sku) -> Option<&StockLevel> {
        self.stock.get(location).and_then(|rows| rows.get(sku))
    }

    fn put_levels(&mut self, levels: Vec<StockLevel>) {
        for level in levels {
            self.stock
                .entry(level.location.clone())
                .or_default()
                .insert(level.sku.clone(), level);
        }
    }
}

/// In-memory stock and reservations, exact under any number of concurrent tasks.
///
/// ```
/// # use std::sync::Arc;
/// # use commerce_core::memory::MemoryOutbox;
/// # use commerce_inventory::{InventoryStore, MemoryInventory};
/// let outbox = Arc::new(MemoryOutbox::new());
/// let store: Arc<dyn InventoryStore> = Arc::new(MemoryInventory::new(outbox));
/// ```
#[derive(Debug)]
pub struct MemoryInventory {
    state: Mutex<State>,
    outbox: Arc<MemoryOutbox>,
}

impl MemoryInventory {
    /// An empty inventory writing its events to `outbox`.
    pub fn new(outbox: Arc<MemoryOutbox>) -> Self {
        MemoryInventory {
            state: Mutex::new(State::default()),
            outbox,
        }
    }

    /// The outbox this store writes its events to.
    pub fn outbox(&self) -> &Arc<MemoryOutbox> {
        &self.outbox
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every method plans before it mutates and mutates without panicking, so a
        // poisoned lock still guards a consistent state: recover the guard.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends reservation `id` in `target`, inside the caller's critical section.
    fn finish(
        &self,
        state: &mut State,
        id: ReservationId,
        target: ReservationStatus,
        now: DateTime<Utc>,
    ) -> Result<Transition> {
        let reservation = state.reservations.get(&id).ok_or_else(|| Error::NotFound {
            entity: "reservation",
            id: id.to_string(),
        })?;
        match reservation.status {
            ReservationStatus::Active => {}
            from if from == target => return Ok(Transition::AlreadyDone),
            // A release finds an expired reservation already given back.
            ReservationStatus::Expired if target == ReservationStatus::Released => {
                return Ok(Transition::AlreadyDone);
            }
            from => {
                return Err(Error::IllegalTransition {
                    id,
                    from,
                    to: target,
                });
            }
        }

        let mut levels = Vec::with_capacity(reservation.lines.len());
        for line in &reservation.lines {
            let mut level = state
                .level(&reservation.location, &line.sku)
                .cloned()
                .ok_or_else(|| inconsistency(&reservation.location, &line.sku))?;
            level = if target == ReservationStatus::Committed {
                // Units reserved beyond stock (backorder) are sold and owed.
                level.sell_reserved(line.quantity)
            } else {
                level
                    .reserved
                    .checked_sub(line.quantity)
                    .map(|reserved| StockLevel { reserved, ..level })
            }
            .ok_or_else(|| inconsistency(&reservation.location, &line.sku))?;
            levels.push(level);
        }
        let mut events: Vec<InventoryEvent> = levels.iter().map(stock_changed).collect();
        events.push(InventoryEvent::ReservationFinished { id, status: target });
        let envelopes = envelopes(&events, now)?;
        let expires_at = reservation.expires_at;

        // Nothing below can fail: the events and the change land together.
        self.outbox.push(envelopes);
        state.put_levels(levels);
        state.due.remove(&(expires_at, id));
        if let Some(reservation) = state.reservations.get_mut(&id) {
            reservation.status = target;
            reservation.finished_at = Some(now);
        }
        Ok(Transition::Applied)
    }
}

fn stock_changed(level: &StockLevel) -> InventoryEvent {
    InventoryEvent::StockChanged {
        sku: level.sku.clone(),
        location: level.location.clone(),
        on_hand: level.on_hand,
        reserved: level.reserved,
        backordered: level.backordered,
    }
}

fn envelopes(events: &[InventoryEvent], now: DateTime<Utc>) -> Result<Vec<EventEnvelope>> {
    events
        .iter()
        .map(|e| e.envelope(now).map_err(Error::from))
        .collect()
}

/// A reservation whose stock row is missing or holds fewer reserved units than it:
/// impossible unless the state was corrupted, reported rather than papered over.
fn inconsistency(location: &LocationCode, sku: &Sku) -> Error {
    Error::Backend(
        format!("inventory state inconsistent: stock row {location}/{sku} does not cover its reservations")
            .into(),
    )
}

#[async_trait]
impl InventoryStore for MemoryInventory {
    async fn reserve(&self, request: &ReserveRequest, now: DateTime<Utc>) -> Result<Reservation> {
        let lines = request.summed_lines()?;
        let mut state = self.lock();
        if let Some(existing) = state.reservations.get(&request.id) {
            if existing.lines == lines && existing.location == request.location {
                return Ok(existing.clone());
            }
            return Err(Error::Conflict(format!(
                "reservation {} already exists with other lines or location",
                request.id
            )));
        }

        let mut levels = Vec::with_capacity(lines.len());
        for ReservationLine { sku, quantity } in &lines {
            let level = state.level(&request.location, sku);
            let reservable = level.map_or(0, StockLevel::reservable);
            let Some(mut level) = level.filter(|_| reservable >= *quantity).cloned() else {
                return Err(Error::InsufficientStock {
                    sku: sku.clone(),
                    requested: *quantity,
                    available: reservable,
                });
            };
            // `reservable >= quantity` bounds the sum by `on_hand + limit`.
            level.reserved = level.reserved.saturating_add(*quantity);
            levels.push(level);
        }
        let events: Vec<InventoryEvent> = levels.iter().map(stock_changed).collect();
        let envelopes = envelopes(&events, now)?;
        let reservation = Reservation {
            id: request.id,
            reference: request.reference.clone(),
            location: request.location.clone(),
            lines,
            status: ReservationStatus::Active,
            created_at: now,
            expires_at: request.expires_at,
            finished_at: None,
        };

        self.outbox.push(envelopes);
        state.put_levels(levels);
        state.due.insert((reservation.expires_at, reservation.id));
        state
            .reservations
            .insert(reservation.id, reservation.clone());
        Ok(reservation)
    }

    async fn commit(&self, id: ReservationId, now: DateTime<Utc>) -> Result<Transition> {
        let mut state = self.lock();
        self.finish(&mut state, id, ReservationStatus::Committed, now)
    }

    async fn release(&self, id: ReservationId, now: DateTime<Utc>) -> Result<Transition> {
        let mut state = self.lock();
        self.finish(&mut state, id, ReservationStatus::Released, now)
    }

    async fn restock(&self, id: ReservationId, now: DateTime<Utc>) -> Result<Transition> {
        let mut state = self.lock();
        let reservation = state.reservations.get(&id).ok_or_else(|| Error::NotFound {
            entity: "reservation",
            id: id.to_string(),
        })?;
        match reservation.status {
            ReservationStatus::Committed => {}
            ReservationStatus::Restocked => return Ok(Transition::AlreadyDone),
            from => {
                return Err(Error::IllegalTransition {
                    id,
                    from,
                    to: ReservationStatus::Restocked,
                });
            }
        }
        let mut levels = Vec::with_capacity(reservation.lines.len());
        for line in &reservation.lines {
            let level = state
                .level(&reservation.location, &line.sku)
                .ok_or_else(|| inconsistency(&reservation.location, &line.sku))?
                .take_in(line.quantity)
                .ok_or_else(|| Error::Validation {
                    field: "quantity",
                    message: format!("on hand of {} would overflow", line.sku),
                })?;
            levels.push(level);
        }
        let mut events: Vec<InventoryEvent> = levels.iter().map(stock_changed).collect();
        events.push(InventoryEvent::ReservationFinished {
            id,
            status: ReservationStatus::Restocked,
        });
        let envelopes = envelopes(&events, now)?;

        // Nothing below can fail: the events and the change land together.
        self.outbox.push(envelopes);
        state.put_levels(levels);
        if let Some(reservation) = state.reservations.get_mut(&id) {
            reservation.status = ReservationStatus::Restocked;
        }
        Ok(Transition::Applied)
    }

    async fn expire_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ReservationId>> {
        let mut state = self.lock();
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let due: Vec<ReservationId> = state
            .due
            .iter()
            .take_while(|(expires_at, _)| *expires_at <= now)
            .take(limit)
            .map(|(_, id)| *id)
            .collect();
        for id in &due {
            self.finish(&mut state, *id, ReservationStatus::Expired, now)?;
        }
        Ok(due)
    }

    async fn prune_finished(&self, finished_before: DateTime<Utc>, limit: u32) -> Result<u64> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut state = self.lock();
        let mut finished: Vec<(DateTime<Utc>, ReservationId)> = state
            .reservations
            .values()
            .filter(|r| r.status.is_final())
            .filter_map(|r| r.finished_at.map(|at| (at, r.id)))
            .filter(|(at, _)| *at < finished_before)
            .collect();
        finished.sort();
        finished.truncate(limit);
        for (_, id) in &finished {
            state.reservations.remove(id);
        }
        Ok(finished.len() as u64)
    }

    async fn reservation(&self, id: ReservationId) -> Result<Option<Reservation>> {
        Ok(self.lock().reservations.get(&id).cloned())
    }

    async fn stock(&self, sku: &Sku, location: &LocationCode) -> Result<Option<StockLevel>> {
        Ok(self.lock().level(location, sku).cloned())
    }

    async fn stock_levels(&self, skus: &[Sku], location: &LocationCode) -> Result<Vec<StockLevel>> {
        let wanted: BTreeSet<&Sku> = skus.iter().collect();
        let state = self.lock();
        Ok(wanted
            .into_iter()
            .filter_map(|sku| state.level(location, sku).cloned())
            .collect())
    }

    async fn adjust(&self, adjustment: &StockAdjustment, now: DateTime<Utc>) -> Result<StockLevel> {
        adjustment.validate()?;
        let mut state = self.lock();
        let mut level = state
            .level(&adjustment.location, &adjustment.sku)
            .cloned()
            .unwrap_or_else(|| StockLevel {
                sku: adjustment.sku.clone(),
                location: adjustment.location.clone(),
                on_hand: 0,
                reserved: 0,
                backordered: 0,
                backorder: BackorderPolicy::Deny,
            });
        level = adjustment.apply_to_level(&level)?;
        let envelopes = envelopes(&[stock_changed(&level)], now)?;

        self.outbox.push(envelopes);
        state.put_levels(vec![level.clone()]);
        Ok(level)
    }

    async fn set_backorder_policy(
        &self,
        sku: &Sku,
        location: &LocationCode,
        policy: BackorderPolicy,
        now: DateTime<Utc>,
    ) -> Result<StockLevel> {
        let mut state = self.lock();
        let level = state
            .stock
            .entry(location.clone())
            .or_default()
            .entry(sku.clone())
            .or_insert_with(|| StockLevel {
                sku: sku.clone(),
                location: location.clone(),
                on_hand: 0,
                reserved: 0,
                backordered: 0,
                backorder: policy,
            });
        level.backorder = policy;
        let level = level.clone();
        self.outbox.push(envelopes(&[stock_changed(&level)], now)?);
        Ok(level)
    }
}
