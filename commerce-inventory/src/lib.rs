//! # commerce-inventory
//!
//! Stock per SKU and location (`on_hand`, `reserved`), reservations that hold stock
//! for a checkout and end exactly once (`Committed`, `Released` or `Expired`), stock
//! adjustments with a reason, per-SKU backorder policies, and the
//! [`InventoryStore`] port with an in-memory implementation ([`MemoryInventory`]) and
//! an expiry sweep ([`ExpirySweeper`]).
//!
//! With the `testkit` feature, module `testkit` holds the conformance suite every
//! `InventoryStore` implementation runs through `inventory_store_conformance!`.

pub mod error;
pub mod memory;
pub mod model;
pub mod ports;
pub mod sweeper;
#[cfg(feature = "testkit")]
pub mod testkit;
mod validation;

pub use error::{Error, Result};
pub use memory::MemoryInventory;
pub use model::*;
pub use ports::{InventoryStore, StockReader};
pub use sweeper::{ExpirySweeper, sweep_once};

/// The storage ports under their former module name; use [`ports`].
#[doc(hidden)]
pub use ports as store;
