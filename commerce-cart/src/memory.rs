//! The in-memory [`CartStore`]: the reference behaviour, and the embedded default of
//! the example server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use commerce_core::{Clock, Sku, SystemClock};

use crate::error::Result;
use crate::model::{Cart, CartKey, CartLimits, DEFAULT_CART_TTL, MergeOutcome};
use crate::ports::CartStore;

/// Carts in a `HashMap` behind one mutex: every operation is one critical section
/// (the lock is never held across an `.await`), so increments and limits are exact
/// under any number of concurrent callers.
///
/// A cart expires `ttl` after its last change. Changes measure that with the `now`
/// they are given; [`CartStore::cart`], which has no `now`, asks the store's clock
/// (the system clock unless [`MemoryCartStore::with_clock`] says otherwise). An
/// expired cart reads as `None` and counts as empty for the next change. Expired
/// carts are dropped when next touched, or all at once by
/// [`MemoryCartStore::purge_expired`].
#[derive(Debug)]
pub struct MemoryCartStore {
    carts: Mutex<HashMap<CartKey, Cart>>,
    ttl: Duration,
    clock: Arc<dyn Clock>,
    outbox: Option<Arc<commerce_core::memory::MemoryOutbox>>,
}

impl MemoryCartStore {
    /// An empty store keeping carts for [`DEFAULT_CART_TTL`] after their last change.
    pub fn new() -> Self {
        MemoryCartStore {
            carts: Mutex::new(HashMap::new()),
            ttl: DEFAULT_CART_TTL,
            clock: Arc::new(SystemClock),
            outbox: None,
        }
    }

    /// Writes `cart.created` into `outbox` when a cart gets its first line, inside the
    /// same critical section as the change.
    #[must_use]
    pub fn with_outbox(mut self, outbox: Arc<commerce_core::memory::MemoryOutbox>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Keeps carts for `ttl` after their last change instead (a TTL of zero or less
    /// makes every cart expire at once).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Reads ([`CartStore::cart`]) judge expiry by `clock` instead of the system clock;
    /// give it the clock the callers take their `now` from.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long a cart is kept after its last change.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Drops every cart expired at `now`; returns how many were dropped.
    pub fn purge_expired(&self, now: DateTime<Utc>) -> usize {
        let mut carts = self.lock();
        let before = carts.len();
        carts.retain(|_, cart| cart.is_live_at(self.ttl, now));
        before - carts.len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CartKey, Cart>> {
        // Every critical section computes the new cart before writing it back, so a
        // poisoned map is still consistent.
        self.carts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live cart of `key` at `now` in `carts`, or an empty one.
    fn live_or_empty(
        &self,
        carts: &HashMap<CartKey, Cart>,
        key: &CartKey,
        now: DateTime<Utc>,
    ) -> Cart {
        match carts.get(key) {
            Some(cart) if cart.is_live_at(self.ttl, now) => cart.clone(),
            _ => Cart::empty(*key, now),
        }
    }

    /// Applies `change` to the live cart of `key` in one critical section; stores the
    /// result stamped with `now` (an empty cart is deleted) unless `change` fails.
    fn change(
        &self,
        key: &CartKey,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut Cart) -> Result<()>,
    ) -> Result<Cart> {
        let mut carts = self.lock();
        let mut cart = self.live_or_empty(&carts, key, now);
        let was_empty = cart.is_empty();
        change(&mut cart)?;
        cart.updated_at = now;
        if was_empty
            && !cart.is_empty()
            && let Some(outbox) = &self.outbox
        {
            let created = crate::model::CartEvent::CartCreated {
                cart: key.to_string(),
            };
            outbox.push(vec![
                commerce_core::DomainEvent::envelope(&created, now)
                    .map_err(crate::error::Error::from)?,
            ]);
        }
        store(&mut carts, &cart);
        Ok(cart)
    }
}

impl Default for MemoryCartStore {
    fn default() -> Self {
        MemoryCartStore::new()
    }
}

/// Writes `cart` back, deleting it when it has no lines.
fn store(carts: &mut HashMap<CartKey, Cart>, cart: &Cart) {
    if cart.is_empty() {
        carts.remove(&cart.key);
    } else {
        carts.insert(cart.key, cart.clone());
    }
}

#[async_trait]
impl CartStore for MemoryCartStore {
    async fn cart(&self, key: &CartKey) -> Result<Option<Cart>> {
        let now = self.clock.now();
        let mut carts = self.lock();
        match carts.get(key) {
            Some(cart) if cart.is_live_at(self.ttl, now) && !cart.is_empty() => {
                Ok(Some(cart.clone()))
            }
            Some(_) => {
                carts.remove(key);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    async fn add(
        &self,
        key: &CartKey,
        sku: &Sku,
        quantity: u32,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<Cart> {
        self.change(key, now, |cart| cart.add_units(sku, quantity, limits))
    }

    async fn set_quantity(
        &self,
        key: &CartKey,
        sku: &Sku,
        quantity: u32,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<Cart> {
        self.change(key, now, |cart| {
            cart.set_line_quantity(sku, quantity, limits)
        })
    }

    async fn remove(&self, key: &CartKey, sku: &Sku, now: DateTime<Utc>) -> Result<Cart> {
        self.change(key, now, |cart| {
            cart.remove_line(sku);
            Ok(())
        })
    }

    async fn clear(&self, key: &CartKey) -> Result<()> {
        self.lock().remove(key);
        Ok(())
    }

    async fn merge(
        &self,
        from: &CartKey,
        into: &CartKey,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome> {
        crate::rules::check_merge_keys(from, into)?;
        let mut carts = self.lock();
        let guest = carts
            .remove(from)
            .filter(|c| c.is_live_at(self.ttl, now) && !c.is_empty());
        let mut cart = self.live_or_empty(&carts, into, now);
        let Some(guest) = guest else {
            return Ok(MergeOutcome {
                cart,
                dropped: Vec::new(),
                capped: Vec::new(),
            });
        };
        let remainder = cart.merge_lines(&guest.lines, limits);
        cart.updated_at = now;
        store(&mut carts, &cart);
        Ok(MergeOutcome {
            cart,
            dropped: remainder.dropped,
            capped: remainder.capped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commerce_core::{CustomerId, ManualClock};

    #[tokio::test]
    async fn reads_judge_expiry_by_the_store_clock_and_purge_drops_expired_carts() {
        let start = Utc::now();
        let clock = Arc::new(ManualClock::new(start));
        let store = MemoryCartStore::new()
            .with_ttl(Duration::minutes(10))
            .with_clock(clock.clone());
        assert_eq!(store.ttl(), Duration::minutes(10));
        let key = CartKey::Customer(CustomerId::new());
        let sku = Sku::new("A").unwrap();
        store
            .add(&key, &sku, 1, CartLimits::default(), start)
            .await
            .unwrap();
        clock.advance(Duration::minutes(9));
        assert!(store.cart(&key).await.unwrap().is_some());
        clock.advance(Duration::minutes(1));
        assert_eq!(store.cart(&key).await.unwrap(), None);

        let other = CartKey::Customer(CustomerId::new());
        store
            .add(&key, &sku, 1, CartLimits::default(), start)
            .await
            .unwrap();
        store
            .add(
                &other,
                &sku,
                1,
                CartLimits::default(),
                start + Duration::minutes(5),
            )
            .await
            .unwrap();
        assert_eq!(store.purge_expired(start + Duration::minutes(10)), 1);
        assert_eq!(store.lock().len(), 1);
    }
}
