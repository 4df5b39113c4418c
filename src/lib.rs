#![doc = include_str!("../README.md")]

pub mod prelude;
pub mod shop;

pub use commerce_analytics as analytics;
pub use commerce_cart as cart;
pub use commerce_core as core;
pub use commerce_inventory as inventory;
#[cfg(feature = "notify")]
pub use commerce_notify as notify;
pub use commerce_orders as orders;
#[cfg(feature = "postgres")]
pub use commerce_postgres as postgres;
pub use commerce_recommend as recommend;
#[cfg(feature = "redis")]
pub use commerce_redis as redis;
pub use commerce_reviews as reviews;
pub use shop::{BuildError, Shop, ShopBuilder, default_config, default_warehouse};

#[cfg(test)]
mod tests {
    /// The README's in-memory example (the doctest of this crate) stays short.
    #[test]
    fn readme_example_fits_in_30_lines() {
        let readme = include_str!("../README.md");
        let start = readme.find("```rust\n").map(|i| i + 8);
        let body = start.and_then(|s| readme[s..].find("```").map(|e| &readme[s..s + e]));
        let lines = body.map(|b| b.lines().count());
        assert!(matches!(lines, Some(n) if n <= 30), "{lines:?} lines");
    }
}
