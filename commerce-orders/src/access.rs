//! Who may read and change an order: the rules every order service call checks
//! against the [`Actor`] it is given.
//!
//! - its customer, or the guest holding the cart it was placed from, may read it and
//!   cancel it (before shipment);
//! - a seller may read an order holding lines of their products and ship those lines;
//! - staff may do everything.
//!
//! An actor who may not read an order gets `NotFound`, as for an unknown id, so a
//! caller cannot learn that someone else's order exists.

use commerce_core::Actor;

use crate::error::{Error, Result};
use crate::model::{Order, ShipmentLine};

/// Whether `actor` may read `order`.
pub fn can_read(actor: &Actor, order: &Order) -> bool {
    match actor {
        Actor::Admin => true,
        Actor::Customer(id) => order.customer_id == Some(*id),
        Actor::Guest(cart) => order.customer_id.is_none() && order.guest_cart == Some(*cart),
        Actor::Seller(id) => order.lines.iter().any(|l| l.seller_id == Some(*id)),
        _ => false,
    }
}

/// Whether `actor` owns `order` (its customer, or the guest who placed it).
pub fn is_owner(actor: &Actor, order: &Order) -> bool {
    matches!(actor, Actor::Customer(_) | Actor::Guest(_)) && can_read(actor, order)
}

/// `order` when `actor` may read it, else `NotFound`.
pub(crate) fn readable(actor: &Actor, order: Option<Order>, id: impl ToString) -> Result<Order> {
    match order {
        Some(order) if can_read(actor, &order) => Ok(order),
        _ => Err(Error::not_found("order", id.to_string())),
    }
}

/// Checks that `actor` may ship `lines` of `order` (read access already checked):
/// staff any line, a seller only lines of their own products.
pub(crate) fn check_ship(actor: &Actor, order: &Order, lines: &[ShipmentLine]) -> Result<()> {
    match actor {
        Actor::Admin => Ok(()),
        Actor::Seller(seller) => {
            let theirs = |sku| {
                order
                    .lines
                    .iter()
                    .any(|l| &l.sku == sku && l.seller_id == Some(*seller))
            };
            if lines.iter().all(|l| theirs(&l.sku)) {
                Ok(())
            } else {
                Err(Error::Forbidden(
                    "a seller ships only lines of their own products",
                ))
            }
        }
        _ => Err(Error::Forbidden("only sellers and staff ship orders")),
    }
}

/// Checks that `actor` may record a delivery of `order`: staff, or a seller all of
/// whose lines are theirs.
pub(crate) fn check_deliver(actor: &Actor, order: &Order) -> Result<()> {
    match actor {
        Actor::Admin => Ok(()),
        Actor::Seller(seller) if order.lines.iter().all(|l| l.seller_id == Some(*seller)) => Ok(()),
        _ => Err(Error::Forbidden(
            "only staff record deliveries of this order",
        )),
    }
}

/// Checks that `actor` is staff (refunds, returns).
pub(crate) fn check_staff(actor: &Actor, what: &'static str) -> Result<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden(what))
    }
}
