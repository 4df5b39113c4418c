//! # commerce-cart
//!
//! Carts for guests and customers: add, set quantity, remove, clear, merge a guest
//! cart into a customer's on login, with line and quantity limits enforced in the same
//! atomic step as the change. The [`CartStore`] port has an in-memory implementation,
//! [`MemoryCartStore`]; [`price_cart`] prices a cart through `commerce-core` pricing
//! with one batched catalog read.

pub mod error;
pub mod memory;
pub mod model;
pub mod ports;
pub mod pricing;
pub mod rules;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::{Error, Result};
pub use memory::MemoryCartStore;
pub use model::*;
pub use ports::CartStore;
pub use pricing::{PricedCart, PricingContext, price_cart, pricing_lines};
pub use rules::MergeRemainder;

/// The storage ports under their former module name; use [`ports`].
#[doc(hidden)]
pub use ports as store;
