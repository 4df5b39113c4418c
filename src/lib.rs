//! # commerce
//!
//! Facade over the `commerce` crate family. See the README.

pub use commerce_cart as cart;
pub use commerce_core as core;
pub use commerce_inventory as inventory;
pub use commerce_orders as orders;
