//! [`PgCartStore`]: carts on PostgreSQL.
//!
//! A cart is one row (its lines a JSON array). Every change is one transaction that
//! locks the row (creating it if needed), applies the pure cart rules of
//! `commerce-cart` ([`Cart::add_units`], [`Cart::merge_lines`], ...) to the latest
//! version and writes the result back: the rules are written once, and two devices
//! changing one cart at once are serialised by the row lock, so both changes count
//! and the limits hold.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

use commerce_cart::{
    Cart, CartEvent, CartKey, CartLimits, CartLine, CartStore, Error, MergeOutcome, Result,
};
use commerce_core::{DomainEvent, Sku};

use crate::error::{Failure, PortError, retrying};
use crate::stores::Shared;

/// Carts of guests and customers, expiring `ttl` after their last change (see
/// [`crate::PgStores::with_cart_ttl`]).
#[derive(Clone)]
pub struct PgCartStore {
    shared: Shared,
}

impl std::fmt::Debug for PgCartStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCartStore")
            .field("ttl", &self.shared.cart_ttl)
            .finish_non_exhaustive()
    }
}

fn lines_from_json(value: serde_json::Value) -> Result<Vec<CartLine>> {
    serde_json::from_value(value).map_err(Error::backend)
}

impl PgCartStore {
    pub(crate) fn new(shared: Shared) -> Self {
        PgCartStore { shared }
    }

    /// Deletes every cart expired at `now`; returns how many were deleted.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM commerce.carts WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.shared.pool)
            .await
            .map_err(Error::from_db)?
            .rows_affected();
        Ok(deleted)
    }

    /// The live cart of `key` at `now`, locked until the transaction ends (an empty
    /// cart when there is none or it expired).
    async fn lock_cart(
        &self,
        tx: &mut PgConnection,
        key: &CartKey,
        now: DateTime<Utc>,
    ) -> std::result::Result<Cart, Failure<Error>> {
        // Inserting a placeholder, or touching the existing row, takes its row lock
        // and returns the latest committed version.
        let row = sqlx::query(
            "INSERT INTO commerce.carts (cart_key, lines, updated_at) VALUES ($1, '[]', $2)
             ON CONFLICT (cart_key) DO UPDATE SET cart_key = EXCLUDED.cart_key
             RETURNING lines, updated_at",
        )
        .bind(key.to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let cart = Cart {
            key: *key,
            lines: lines_from_json(row.try_get("lines")?).map_err(Failure::Domain)?,
            updated_at: row.try_get("updated_at")?,
        };
        if cart.is_live_at(self.shared.cart_ttl, now) && !cart.is_empty() {
            Ok(cart)
        } else {
            Ok(Cart::empty(*key, now))
        }
    }

    /// Writes `cart` back (deletes the row when the cart has no lines).
    async fn write(
        &self,
        tx: &mut PgConnection,
        cart: &Cart,
    ) -> std::result::Result<(), Failure<Error>> {
        if cart.is_empty() {
            sqlx::query("DELETE FROM commerce.carts WHERE cart_key = $1")
                .bind(cart.key.to_string())
                .execute(&mut *tx)
                .await?;
            return Ok(());
        }
        let lines =
            serde_json::to_value(&cart.lines).map_err(|e| Failure::Domain(Error::backend(e)))?;
        sqlx::query(
            "UPDATE commerce.carts SET lines = $2, updated_at = $3, expires_at = $4 WHERE cart_key = $1",
        )
        .bind(cart.key.to_string())
        .bind(lines)
        .bind(cart.updated_at)
        .bind(cart.expires_at(self.shared.cart_ttl))
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Applies `change` to the live cart of `key` under its row lock and stores the
    /// result stamped with `now`, unless `change` fails (then nothing changes).
    async fn change<F>(&self, key: &CartKey, now: DateTime<Utc>, change: F) -> Result<Cart>
    where
        F: Fn(&mut Cart) -> Result<()> + Send + Sync,
    {
        let change = &change;
        retrying("cart change", move || async move {
            let mut tx = self.shared.pool.begin().await?;
            let mut cart = self.lock_cart(&mut tx, key, now).await?;
            let was_empty = cart.is_empty();
            change(&mut cart).map_err(Failure::Domain)?;
            cart.updated_at = now;
            self.write(&mut tx, &cart).await?;
            if was_empty && !cart.is_empty() {
                // The analytics funnel's first step, in the change's transaction.
                let created = CartEvent::CartCreated {
                    cart: key.to_string(),
                }
                .envelope(now)
                .map_err(|e| Failure::Domain(Error::from(e)))?;
                crate::outbox::append_events(&mut *tx, &[created]).await?;
            }
            tx.commit().await?;
            Ok(cart)
        })
        .await
    }
}

#[async_trait]
impl CartStore for PgCartStore {
    async fn cart(&self, key: &CartKey) -> Result<Option<Cart>> {
        let row = sqlx::query("SELECT lines, updated_at FROM commerce.carts WHERE cart_key = $1")
            .bind(key.to_string())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(Error::from_db)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let cart = Cart {
            key: *key,
            lines: lines_from_json(row.try_get("lines").map_err(Error::from_db)?)?,
            updated_at: row.try_get("updated_at").map_err(Error::from_db)?,
        };
        let now = self.shared.clock.now();
        Ok((cart.is_live_at(self.shared.cart_ttl, now) && !cart.is_empty()).then_some(cart))
    }

    async fn add(
        &self,
        key: &CartKey,
        sku: &Sku,
        quantity: u32,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<Cart> {
        if quantity == 0 {
            return Err(Error::validation("quantity", "must be at least 1 to add"));
        }
        self.change(key, now, |cart| cart.add_units(sku, quantity, limits))
            .await
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
        .await
    }

    async fn remove(&self, key: &CartKey, sku: &Sku, now: DateTime<Utc>) -> Result<Cart> {
        self.change(key, now, |cart| {
            cart.remove_line(sku);
            Ok(())
        })
        .await
    }

    async fn clear(&self, key: &CartKey) -> Result<()> {
        sqlx::query("DELETE FROM commerce.carts WHERE cart_key = $1")
            .bind(key.to_string())
            .execute(&self.shared.pool)
            .await
            .map_err(Error::from_db)?;
        Ok(())
    }

    async fn merge(
        &self,
        from: &CartKey,
        into: &CartKey,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome> {
        commerce_cart::rules::check_merge_keys(from, into)?;
        retrying("cart merge", move || async move {
            let mut tx = self.shared.pool.begin().await?;
            let guest = sqlx::query(
                "DELETE FROM commerce.carts WHERE cart_key = $1 RETURNING lines, updated_at",
            )
            .bind(from.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let guest = match guest {
                Some(row) => Some(Cart {
                    key: *from,
                    lines: lines_from_json(row.try_get("lines")?).map_err(Failure::Domain)?,
                    updated_at: row.try_get("updated_at")?,
                }),
                None => None,
            }
            .filter(|g| g.is_live_at(self.shared.cart_ttl, now) && !g.is_empty());
            let mut cart = self.lock_cart(&mut tx, into, now).await?;
            let outcome = match guest {
                None => MergeOutcome {
                    cart,
                    dropped: Vec::new(),
                    capped: Vec::new(),
                },
                Some(guest) => {
                    let remainder = cart.merge_lines(&guest.lines, limits);
                    cart.updated_at = now;
                    MergeOutcome {
                        cart,
                        dropped: remainder.dropped,
                        capped: remainder.capped,
                    }
                }
            };
            self.write(&mut tx, &outcome.cart).await?;
            tx.commit().await?;
            Ok(outcome)
        })
        .await
    }
}
