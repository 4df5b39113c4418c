#![doc = include_str!("../README.md")]

pub mod prelude;
pub mod shop;

pub use commerce_analytics as analytics;
pub use commerce_cart as cart;
pub use commerce_core as core;
pub use commerce_inventory as inventory;
pub use commerce_orders as orders;
#[cfg(feature = "postgres")]
pub use commerce_postgres as postgres;
#[cfg(feature = "redis")]
pub use commerce_redis as redis;
pub use shop::{BuildError, Shop, ShopBuilder, default_config};
