//! # commerce-inventory
//!
//! Stock per SKU and location (`on_hand`, `reserved`), reservations that hold stock
//! for a checkout and end exactly once (`Committed`, `Released` or `Expired`), stock
//! adjustments with a reason, per-SKU backorder policies, and the
//! [`InventoryStore`] port with an in-memory implementation.

pub mod error;
pub mod model;
pub mod store;

pub use error::{Error, Result};
pub use model::*;
pub use store::InventoryStore;
