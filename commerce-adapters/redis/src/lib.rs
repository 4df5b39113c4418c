//! # commerce-redis
//!
//! Redis stores for the `commerce` crates:
//!
//! - [`RedisCartStore`]: carts kept across sessions and devices (one hash per cart,
//!   a 30-day expiry refreshed by every change, quantities and limits changed by one
//!   Lua script per operation, guest-to-customer merges);
//! - [`CachedCatalog`] and [`CachedAvailability`]: read-through caches in front of the
//!   catalog and inventory, invalidated by outbox events;
//! - [`RedisSessionStore`] and [`RedisRateLimiter`]: login sessions and login rate
//!   limits (the `commerce_core::auth` ports).
//!
//! Every store takes a [`RedisConnection`] (a single node or a Redis Cluster; clone one
//! into every store) and a [`KeyPrefix`] naming its keys. Keys are designed for Redis
//! Cluster: keys one script touches share a hash tag (see the [`keys`] module and the
//! README). Scripts live in `lua/*.lua`. Redis 7.0 or later is required (`PEXPIRE ..
//! NX/GT`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use commerce_cart::CartStore;
//! use commerce_redis::{KeyPrefix, RedisCartStore, RedisConnection};
//!
//! let conn = RedisConnection::connect("redis://127.0.0.1:6379").await?;
//! let carts: Arc<dyn CartStore> = Arc::new(RedisCartStore::new(conn, KeyPrefix::new("shop")?));
//! # Ok(()) }
//! ```

mod cache;
mod cart;
mod connection;
mod error;
pub mod keys;
mod rate_limit;
mod reply;
mod scripts;
mod session;

pub use cache::{CachedAvailability, CachedCatalog, MAX_CACHE_TTL};
pub use cart::{MergeMode, RedisCartStore};
pub use connection::{DEFAULT_RESPONSE_TIMEOUT, RedisConnection};
pub use error::{Error, Result};
pub use keys::KeyPrefix;
pub use rate_limit::RedisRateLimiter;
pub use session::RedisSessionStore;
