//! # commerce-cart
//!
//! Carts for guests and customers: add, set quantity, remove, clear, merge a guest
//! cart into a customer's on login, with line and quantity limits enforced in the same
//! atomic step as the change. The [`CartStore`] port has an in-memory implementation;
//! a priced view goes through `commerce-core` pricing with one batched catalog read.

pub mod error;
pub mod model;
pub mod store;

pub use error::{Error, Result};
pub use model::*;
pub use store::CartStore;
