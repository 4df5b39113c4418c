//! The in-memory [`OrderStore`]: the reference behaviour, exact under concurrent
//! tasks.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use commerce_core::memory::MemoryOutbox;
use commerce_core::{CustomerId, EventEnvelope, SellerId};

use crate::error::{Error, Result};
use crate::id::{IdempotencyKey, OrderId};
use crate::machine::OrderStatus;
use crate::model::Order;
use crate::ports::{CreateOutcome, OrderPage, OrderStore};

#[derive(Debug, Default)]
struct State {
    orders: BTreeMap<OrderId, Order>,
    by_key: HashMap<IdempotencyKey, OrderId>,
}

/// Orders in memory. Each call takes one lock and, while holding it, pushes its
/// events into the shared [`MemoryOutbox`], so a change and its events appear
/// together (the in-memory form of one transaction).
///
/// ```
/// # use std::sync::Arc;
/// # use commerce_core::memory::MemoryOutbox;
/// # use commerce_orders::{MemoryOrderStore, OrderStore};
/// let outbox = Arc::new(MemoryOutbox::new());
/// let store: Arc<dyn OrderStore> = Arc::new(MemoryOrderStore::new(outbox));
/// ```
#[derive(Debug)]
pub struct MemoryOrderStore {
    state: Mutex<State>,
    outbox: Arc<MemoryOutbox>,
}

impl MemoryOrderStore {
    /// An empty store writing its events to `outbox`.
    pub fn new(outbox: Arc<MemoryOutbox>) -> Self {
        MemoryOrderStore {
            state: Mutex::new(State::default()),
            outbox,
        }
    }

    /// The outbox this store writes its events to.
    pub fn outbox(&self) -> &Arc<MemoryOutbox> {
        &self.outbox
    }

    /// Number of orders stored.
    pub fn len(&self) -> usize {
        self.lock().orders.len()
    }

    /// True when no order is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A keyset page of the orders matching `keep`, newest first.
    fn newest_first(&self, page: OrderPage, keep: impl Fn(&Order) -> bool) -> Vec<Order> {
        let limit = page.limit.min(OrderPage::MAX_LIMIT) as usize;
        let state = self.lock();
        let upper = match page.before {
            Some(before) => state.orders.range(..before),
            None => state.orders.range(..),
        };
        upper
            .rev()
            .map(|(_, o)| o)
            .filter(|o| keep(o))
            .take(limit)
            .cloned()
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change is a single insert after all checks: a panic elsewhere cannot
        // leave half an update behind, so a poisoned lock is safe to take over.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl OrderStore for MemoryOrderStore {
    async fn create(&self, order: &Order, events: &[EventEnvelope]) -> Result<CreateOutcome> {
        let mut state = self.lock();
        if let Some(existing) = state
            .by_key
            .get(&order.idempotency_key)
            .and_then(|id| state.orders.get(id))
        {
            return Ok(CreateOutcome::Existing(existing.clone()));
        }
        if state.orders.contains_key(&order.id) {
            return Err(Error::Conflict(format!(
                "order {} exists with another idempotency key",
                order.id
            )));
        }
        let mut stored = order.clone();
        stored.version = 1;
        state
            .by_key
            .insert(stored.idempotency_key.clone(), stored.id);
        state.orders.insert(stored.id, stored.clone());
        self.outbox.push(events.to_vec());
        Ok(CreateOutcome::Created(stored))
    }

    async fn update(
        &self,
        order: &Order,
        expected_version: u64,
        events: &[EventEnvelope],
    ) -> Result<Order> {
        let mut state = self.lock();
        let current = state
            .orders
            .get_mut(&order.id)
            .ok_or_else(|| Error::not_found("order", order.id))?;
        if current.version != expected_version {
            return Err(Error::Conflict(format!(
                "order {} is at version {}, not {expected_version}",
                order.id, current.version
            )));
        }
        let mut stored = order.clone();
        stored.idempotency_key = current.idempotency_key.clone();
        stored.created_at = current.created_at;
        stored.version = expected_version.saturating_add(1);
        *current = stored.clone();
        self.outbox.push(events.to_vec());
        Ok(stored)
    }

    async fn get(&self, id: OrderId) -> Result<Option<Order>> {
        Ok(self.lock().orders.get(&id).cloned())
    }

    async fn get_many(&self, ids: &[OrderId]) -> Result<Vec<Order>> {
        let state = self.lock();
        let ids: std::collections::BTreeSet<&OrderId> = ids.iter().collect();
        Ok(ids
            .into_iter()
            .filter_map(|id| state.orders.get(id).cloned())
            .collect())
    }

    async fn get_for_customer(&self, id: OrderId, customer_id: CustomerId) -> Result<Order> {
        self.lock()
            .orders
            .get(&id)
            .filter(|o| o.customer_id == Some(customer_id))
            .cloned()
            .ok_or_else(|| Error::not_found("order", id))
    }

    async fn by_idempotency_key(&self, key: &IdempotencyKey) -> Result<Option<Order>> {
        let state = self.lock();
        Ok(state
            .by_key
            .get(key)
            .and_then(|id| state.orders.get(id))
            .cloned())
    }

    async fn list_for_customer(
        &self,
        customer_id: CustomerId,
        page: OrderPage,
    ) -> Result<Vec<Order>> {
        let limit = page.limit.min(OrderPage::MAX_LIMIT) as usize;
        let state = self.lock();
        let upper = match page.before {
            Some(before) => state.orders.range(..before),
            None => state.orders.range(..),
        };
        Ok(upper
            .rev()
            .map(|(_, o)| o)
            .filter(|o| o.customer_id == Some(customer_id))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn list_for_seller(&self, seller_id: SellerId, page: OrderPage) -> Result<Vec<Order>> {
        Ok(self.newest_first(page, |o| {
            o.lines.iter().any(|l| l.seller_id == Some(seller_id))
        }))
    }

    async fn list_all(&self, page: OrderPage) -> Result<Vec<Order>> {
        Ok(self.newest_first(page, |_| true))
    }

    async fn list_recoverable(&self, older_than: DateTime<Utc>, limit: u32) -> Result<Vec<Order>> {
        let state = self.lock();
        let mut stuck: Vec<&Order> = state
            .orders
            .values()
            .filter(|o| o.status == OrderStatus::PendingPayment && o.updated_at <= older_than)
            .collect();
        stuck.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(stuck.into_iter().take(limit as usize).cloned().collect())
    }

    async fn list_payment_actions_due(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<Order>> {
        let state = self.lock();
        let mut due: Vec<(DateTime<Utc>, &Order)> = state
            .orders
            .values()
            .filter_map(|o| o.payment.intent.as_ref().map(|i| (i.due_at, o)))
            .filter(|(at, _)| *at <= now)
            .collect();
        due.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|(_, o)| o.clone())
            .collect())
    }
}
