//! [`RedisCartStore`]: carts kept across sessions and devices, one hash per cart.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use redis::Value;

use commerce_cart::{
    Cart, CartKey, CartLimits, CartLine, CartStore, DEFAULT_CART_TTL, Error as CartError,
    GuestCartId, MergeOutcome, Result as CartResult,
};
use commerce_core::{CustomerId, Sku};

use crate::connection::RedisConnection;
use crate::error::{Error, Result};
use crate::keys::KeyPrefix;
use crate::reply;
use crate::scripts;

/// How [`CartStore::merge`] moves a guest cart into a customer cart.
///
/// A guest cart and a customer cart have different hash tags (the guest is not known
/// to be that customer until login), so they usually live in different Redis Cluster
/// slots, where no script may touch both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeMode {
    /// One Lua script over both carts: atomic. Needs both keys on one node (a single
    /// Redis, or a cluster-unaware proxy in front of one primary). The default for
    /// [`RedisConnection::Single`].
    Atomic,
    /// Three single-slot scripts: move the guest cart aside with a merge id (guest
    /// slot), apply it to the customer cart once per merge id (customer slot), drop the
    /// staged copy (guest slot). Not atomic (for a moment the lines are in neither
    /// cart), but no line is ever lost or counted twice: a merge interrupted at any
    /// point is finished by the next merge of that guest cart. The default for
    /// [`RedisConnection::Cluster`].
    Staged,
}

/// Carts in Redis, one hash per cart (`P:cart:{guest:ID}` or `P:cart:{customer:ID}`)
/// with two fields: `:u`, the last change in Unix milliseconds, and `:l`, the lines as
/// `;SKU=QTY` pairs.
///
/// Every change is one Lua script (one `EVALSHA` round trip) that checks the limits,
/// changes the quantity on the server, stamps the cart, moves its expiry to the last
/// change + TTL (`PEXPIREAT`, so Redis itself drops abandoned carts) and returns the
/// resulting cart as one string. (Lines as one field rather than one field per SKU:
/// a change then reads and returns one value instead of building a reply of every
/// line, which gave half the throughput end to end; see docs/benchmarks.md.)
///
/// Changes judge expiry by the `now` they are given (a cart whose last change + TTL
/// <= now counts as empty), [`CartStore::cart`] by Redis' clock (the key's own
/// expiry); with app servers and Redis on synchronised clocks the two agree.
#[derive(Clone, Debug)]
pub struct RedisCartStore {
    conn: RedisConnection,
    prefix: KeyPrefix,
    ttl: Duration,
    merge_mode: MergeMode,
}

impl RedisCartStore {
    /// A store over `conn` with keys under `prefix`, keeping carts
    /// [`DEFAULT_CART_TTL`] (30 days) after their last change; merges are
    /// [`MergeMode::Atomic`] on a single node and [`MergeMode::Staged`] on a cluster.
    pub fn new(conn: RedisConnection, prefix: KeyPrefix) -> Self {
        let merge_mode = if conn.is_cluster() {
            MergeMode::Staged
        } else {
            MergeMode::Atomic
        };
        RedisCartStore {
            conn,
            prefix,
            ttl: DEFAULT_CART_TTL,
            merge_mode,
        }
    }

    /// Keeps carts `ttl` after their last change instead (zero or less: every cart
    /// expires at once).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Merges with `mode` instead of the connection's default. [`MergeMode::Atomic`]
    /// on a cluster fails with a `CROSSSLOT` error.
    #[must_use]
    pub fn with_merge_mode(mut self, mode: MergeMode) -> Self {
        self.merge_mode = mode;
        self
    }

    /// How long a cart is kept after its last change.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How merges are done.
    pub fn merge_mode(&self) -> MergeMode {
        self.merge_mode
    }

    fn ttl_ms(&self) -> i64 {
        self.ttl.num_milliseconds()
    }

    /// Runs `cart_add.lua` or `cart_set.lua` (one `EVALSHA`) and decodes the outcome.
    async fn change(
        &self,
        script: &redis::Script,
        key: &CartKey,
        sku: &Sku,
        quantity: u32,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> CartResult<Cart> {
        let reply: Value = script
            .key(self.prefix.cart(key))
            .arg(sku.as_str())
            .arg(quantity)
            .arg(limits.max_lines)
            .arg(limits.max_quantity)
            .arg(now.timestamp_millis())
            .arg(self.ttl_ms())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        let (code, mut rest) = reply::split_first(reply::array(reply)?)?;
        match reply::int(&code)? {
            0 => Ok(cart_from(*key, &mut rest, now)?),
            1 => {
                let requested = reply::int(&reply::next(&mut rest, "the quantity")?)?;
                Err(CartError::QuantityLimit {
                    sku: sku.clone(),
                    requested: u64::try_from(requested).unwrap_or(0),
                    max: limits.max_quantity,
                })
            }
            2 => Err(CartError::TooManyLines {
                max: limits.max_lines,
            }),
            other => Err(Error::unexpected(format!("cart script status {other}")).into()),
        }
    }

    /// The cart of `key` as live at `now` (an expired one is deleted), in one script.
    async fn live_cart(&self, key: &CartKey, now: DateTime<Utc>) -> Result<Cart> {
        let reply: Value = scripts::CART_READ
            .key(self.prefix.cart(key))
            .arg(now.timestamp_millis())
            .arg(self.ttl_ms())
            .invoke_async(&mut self.conn.clone())
            .await?;
        let (_, mut rest) = reply::split_first(reply::array(reply)?)?;
        cart_from(*key, &mut rest, now)
    }

    async fn merge_atomic(
        &self,
        from: &CartKey,
        into: &CartKey,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome> {
        let reply: Value = scripts::CART_MERGE
            .key(self.prefix.cart(from))
            .key(self.prefix.cart(into))
            .arg(limits.max_lines)
            .arg(limits.max_quantity)
            .arg(now.timestamp_millis())
            .arg(self.ttl_ms())
            .invoke_async(&mut self.conn.clone())
            .await?;
        merge_outcome_from(*into, reply, now)
    }

    async fn merge_staged(
        &self,
        from: &CartKey,
        into: &CartKey,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome> {
        let staging = self.prefix.cart_merging(from);
        // A pending merge of this guest cart into another customer (an earlier merge
        // that was interrupted) is finished first; then the guest cart is taken again.
        for _ in 0..3 {
            let id = uuid::Uuid::now_v7().to_string();
            let reply: Value = scripts::CART_MERGE_TAKE
                .key(self.prefix.cart(from))
                .key(&staging)
                .arg(into.to_string())
                .arg(&id)
                .arg(now.timestamp_millis())
                .arg(self.ttl_ms())
                .invoke_async(&mut self.conn.clone())
                .await?;
            let (status, mut rest) = reply::split_first(reply::array(reply)?)?;
            if reply::int(&status)? == 0 {
                break;
            }
            let target_text = reply::string(reply::next(&mut rest, "the merge target")?)?;
            let target = parse_cart_key(&target_text)
                .ok_or_else(|| Error::unexpected(format!("merge target {target_text:?}")))?;
            let merge_id = reply::string(reply::next(&mut rest, "the merge id")?)?;
            let staged = reply::string(reply::next(&mut rest, "the staged lines")?)?;
            let applied: Value = scripts::CART_MERGE_APPLY
                .key(self.prefix.cart(&target))
                .key(self.prefix.cart_merged(&target))
                .arg(&merge_id)
                .arg(limits.max_lines)
                .arg(limits.max_quantity)
                .arg(now.timestamp_millis())
                .arg(self.ttl_ms())
                .arg(staged)
                .invoke_async(&mut self.conn.clone())
                .await?;
            let _: i64 = scripts::CART_MERGE_FINISH
                .key(&staging)
                .arg(&merge_id)
                .invoke_async(&mut self.conn.clone())
                .await?;
            if target == *into {
                return merge_outcome_from(*into, applied, now);
            }
        }
        Ok(MergeOutcome {
            cart: self.live_cart(into, now).await?,
            dropped: Vec::new(),
            capped: Vec::new(),
        })
    }
}

/// Parses the text of a [`CartKey`] (`guest:<token digest hex>` or `customer:<uuid>`).
fn parse_cart_key(text: &str) -> Option<CartKey> {
    let (kind, id) = text.split_once(':')?;
    match kind {
        "guest" => GuestCartId::from_str(id).ok().map(CartKey::Guest),
        "customer" => CustomerId::from_str(id).ok().map(CartKey::Customer),
        _ => None,
    }
}

/// A cart from the `stamp, lines` part of a script reply (stamp `false`/nil and no
/// lines for an absent cart, which is empty and stamped `now`).
fn cart_from(
    key: CartKey,
    rest: &mut impl Iterator<Item = Value>,
    now: DateTime<Utc>,
) -> Result<Cart> {
    let stamp = reply::next(rest, "the cart stamp")?;
    let encoded = reply::opt_string(reply::next(rest, "the cart lines")?)?.unwrap_or_default();
    decode_cart(key, &stamp, &encoded, now)
}

/// A cart from its stamp (`:u`, Unix ms) and encoded lines (`:l`, `;SKU=QTY` pairs).
fn decode_cart(key: CartKey, stamp: &Value, encoded: &str, now: DateTime<Utc>) -> Result<Cart> {
    let mut cart = Cart::empty(key, now);
    if matches!(stamp, Value::Nil) || encoded.is_empty() {
        return Ok(cart);
    }
    let ms = reply::int(stamp)?;
    cart.updated_at = DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| Error::unexpected(format!("cart stamp {ms}")))?;
    for pair in encoded.split(';').filter(|p| !p.is_empty()) {
        let (sku, quantity) = pair
            .split_once('=')
            .ok_or_else(|| Error::unexpected(format!("cart line {pair:?}")))?;
        cart.lines.push(line(sku, quantity)?);
    }
    cart.lines.sort_by(|a, b| a.sku.cmp(&b.sku));
    Ok(cart)
}

fn line(sku: &str, quantity: &str) -> Result<CartLine> {
    let sku = Sku::new(sku).map_err(|e| Error::unexpected(format!("cart line: {e}")))?;
    let quantity = quantity
        .parse::<u32>()
        .map_err(|_| Error::unexpected(format!("quantity of {sku}: {quantity:?}")))?;
    Ok(CartLine { sku, quantity })
}

/// `{0, dropped (flat sku/quantity), capped (skus), stamp, lines}`.
fn merge_outcome_from(into: CartKey, reply: Value, now: DateTime<Utc>) -> Result<MergeOutcome> {
    let (_, mut rest) = reply::split_first(reply::array(reply)?)?;
    let dropped = reply::pairs(reply::next(&mut rest, "the dropped lines")?)?
        .into_iter()
        .map(|(sku, quantity)| line(&sku, &reply::int(&quantity)?.to_string()))
        .collect::<Result<Vec<_>>>()?;
    let capped = reply::array(reply::next(&mut rest, "the capped skus")?)?
        .into_iter()
        .map(|v| {
            let text = reply::string(v)?;
            Sku::new(text).map_err(|e| Error::unexpected(format!("capped sku: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let cart = cart_from(into, &mut rest, now)?;
    Ok(MergeOutcome {
        cart,
        dropped,
        capped,
    })
}

#[async_trait]
impl CartStore for RedisCartStore {
    async fn cart(&self, key: &CartKey) -> CartResult<Option<Cart>> {
        let (stamp, encoded): (Value, Option<String>) = redis::cmd("HMGET")
            .arg(self.prefix.cart(key))
            .arg(":u")
            .arg(":l")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        // The timestamp of an absent cart is never used.
        let cart = decode_cart(
            *key,
            &stamp,
            encoded.as_deref().unwrap_or_default(),
            DateTime::UNIX_EPOCH,
        )?;
        Ok((!cart.is_empty()).then_some(cart))
    }

    async fn add(
        &self,
        key: &CartKey,
        sku: &Sku,
        quantity: u32,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> CartResult<Cart> {
        if quantity == 0 {
            return Err(CartError::validation(
                "quantity",
                "must be at least 1 to add",
            ));
        }
        self.change(&scripts::CART_ADD, key, sku, quantity, limits, now)
            .await
    }

    async fn set_quantity(
        &self,
        key: &CartKey,
        sku: &Sku,
        quantity: u32,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> CartResult<Cart> {
        self.change(&scripts::CART_SET, key, sku, quantity, limits, now)
            .await
    }

    async fn remove(&self, key: &CartKey, sku: &Sku, now: DateTime<Utc>) -> CartResult<Cart> {
        // Setting the quantity to 0 removes the line; limits play no part in it.
        self.change(&scripts::CART_SET, key, sku, 0, CartLimits::default(), now)
            .await
    }

    async fn clear(&self, key: &CartKey) -> CartResult<()> {
        let _: i64 = redis::cmd("DEL")
            .arg(self.prefix.cart(key))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(Error::from)?;
        Ok(())
    }

    async fn merge(
        &self,
        from: &CartKey,
        into: &CartKey,
        limits: CartLimits,
        now: DateTime<Utc>,
    ) -> CartResult<MergeOutcome> {
        commerce_cart::rules::check_merge_keys(from, into)?;
        let outcome = match self.merge_mode {
            MergeMode::Atomic => self.merge_atomic(from, into, limits, now).await?,
            MergeMode::Staged => self.merge_staged(from, into, limits, now).await?,
        };
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_keys_parse_back() {
        let token = commerce_cart::GuestCartToken::generate().unwrap();
        let g = CartKey::guest(&token);
        let c = CartKey::Customer(CustomerId::new());
        assert_eq!(parse_cart_key(&g.to_string()), Some(g));
        // guest_token_: the Redis key holds the digest, never the token.
        assert!(!g.to_string().contains(token.as_str()));
        assert_eq!(parse_cart_key(&c.to_string()), Some(c));
        assert_eq!(parse_cart_key("admin:x"), None);
        assert_eq!(parse_cart_key("guest"), None);
    }
}
