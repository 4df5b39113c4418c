//! [`CheckoutStep`]: where a simulated crash stops a checkout (feature `testkit`).

#[cfg(doc)]
use crate::ports::{CheckoutStore, OrderStore};
#[cfg(doc)]
use crate::separate_stores::SeparateStores;

/// The step after which a simulated crash stops a checkout
/// (`Checkout::checkout_interrupted`), to test recovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
// Without `testkit` only the checkout itself names it (and never stops).
#[cfg_attr(not(feature = "testkit"), allow(unreachable_pub, dead_code))]
#[non_exhaustive]
pub enum CheckoutStep {
    /// The pending order is stored; nothing reserved. (Only [`SeparateStores`] can
    /// stop here for real: a native [`CheckoutStore`] places and reserves at once.
    /// The interrupted checkout stores the order with [`OrderStore::create`] alone.)
    Placed,
    /// The order is placed and its stock reserved; no payment attempted.
    Reserved,
    /// The payment is authorized; the reservation is still active and the order
    /// still pending (the crash of defect 7).
    Authorized,
    /// The reservation is committed; the order is still pending. (Only
    /// [`SeparateStores`] can stop here for real; the interrupted checkout commits
    /// with `InventoryStore::commit` alone.)
    Committed,
}
