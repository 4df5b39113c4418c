//! The cart rules as pure functions on a [`Cart`]: limits are checked before anything
//! changes, so a rejected change leaves the cart exactly as it was.
//!
//! A store that loads a cart and writes it back inside one atomic step (the in-memory
//! store under its lock, a SQL transaction holding the row lock) applies these, so the
//! rules are written once. Stores that cannot (a Redis script) implement the same
//! behaviour, and the conformance suite checks that they do.

use chrono::{DateTime, Duration, Utc};

use commerce_core::Sku;

use crate::error::{Error, Result};
use crate::model::{Cart, CartKey, CartLimits, CartLine};

/// What [`Cart::merge_lines`] could not take over unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergeRemainder {
    /// Lines that did not fit under the line limit.
    pub dropped: Vec<CartLine>,
    /// SKUs whose quantity was capped at the per-line limit.
    pub capped: Vec<Sku>,
}

impl Cart {
    /// When the cart expires if it is not changed again: `updated_at + ttl`, or `None`
    /// when that instant is beyond what a timestamp can hold (never).
    pub fn expires_at(&self, ttl: Duration) -> Option<DateTime<Utc>> {
        self.updated_at.checked_add_signed(ttl)
    }

    /// Whether the cart is still alive at `now`: it expires exactly `ttl` after its last
    /// change.
    pub fn is_live_at(&self, ttl: Duration, now: DateTime<Utc>) -> bool {
        self.expires_at(ttl).is_none_or(|deadline| now < deadline)
    }

    /// Adds `quantity` units of `sku`, incrementing an existing line or inserting a new
    /// one in SKU order.
    ///
    /// `Validation` for a zero quantity, `QuantityLimit` when the line would exceed
    /// `limits.max_quantity`, `TooManyLines` when a new line would exceed
    /// `limits.max_lines`; on error nothing changes.
    pub fn add_units(&mut self, sku: &Sku, quantity: u32, limits: CartLimits) -> Result<()> {
        if quantity == 0 {
            return Err(Error::validation("quantity", "must be at least 1 to add"));
        }
        match self.position(sku) {
            Ok(i) => {
                if let Some(line) = self.lines.get_mut(i) {
                    line.quantity = checked_quantity(
                        sku,
                        u64::from(line.quantity) + u64::from(quantity),
                        limits,
                    )?;
                }
                Ok(())
            }
            Err(i) => self.insert_line(i, sku, u64::from(quantity), limits),
        }
    }

    /// Sets the quantity of `sku`; 0 removes the line. Limits and errors as for
    /// [`Cart::add_units`], except that a zero quantity is allowed.
    pub fn set_line_quantity(
        &mut self,
        sku: &Sku,
        quantity: u32,
        limits: CartLimits,
    ) -> Result<()> {
        if quantity == 0 {
            self.remove_line(sku);
            return Ok(());
        }
        match self.position(sku) {
            Ok(i) => {
                let checked = checked_quantity(sku, u64::from(quantity), limits)?;
                if let Some(line) = self.lines.get_mut(i) {
                    line.quantity = checked;
                }
                Ok(())
            }
            Err(i) => self.insert_line(i, sku, u64::from(quantity), limits),
        }
    }

    /// Removes the line of `sku`; returns whether there was one.
    pub fn remove_line(&mut self, sku: &Sku) -> bool {
        match self.position(sku) {
            Ok(i) => {
                self.lines.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Merges a guest's lines into this (customer's) cart: the cart's own lines are
    /// all kept; quantities of the same SKU are summed and capped at
    /// `limits.max_quantity`; guest lines for new SKUs are taken in SKU order while
    /// the cart has fewer than `limits.max_lines` lines and dropped after that.
    pub fn merge_lines(&mut self, guest: &[CartLine], limits: CartLimits) -> MergeRemainder {
        let mut guest: Vec<&CartLine> = guest.iter().filter(|l| l.quantity > 0).collect();
        guest.sort_by(|a, b| a.sku.cmp(&b.sku));
        let max_lines = usize::try_from(limits.max_lines).unwrap_or(usize::MAX);
        let mut remainder = MergeRemainder::default();
        for g in guest {
            match self.position(&g.sku) {
                Ok(i) => {
                    if let Some(line) = self.lines.get_mut(i) {
                        let sum = u64::from(line.quantity) + u64::from(g.quantity);
                        match u32::try_from(sum) {
                            Ok(sum) if sum <= limits.max_quantity => line.quantity = sum,
                            _ => {
                                // Never lower what the customer already had.
                                line.quantity = line.quantity.max(limits.max_quantity);
                                remainder.capped.push(g.sku.clone());
                            }
                        }
                    }
                }
                Err(i) => {
                    let quantity = g.quantity.min(limits.max_quantity);
                    if self.lines.len() >= max_lines || quantity == 0 {
                        remainder.dropped.push(g.clone());
                        continue;
                    }
                    if quantity < g.quantity {
                        remainder.capped.push(g.sku.clone());
                    }
                    self.lines.insert(
                        i,
                        CartLine {
                            sku: g.sku.clone(),
                            quantity,
                        },
                    );
                }
            }
        }
        remainder
    }

    /// Index of the line of `sku`, or where it would be inserted (lines are sorted).
    fn position(&self, sku: &Sku) -> std::result::Result<usize, usize> {
        self.lines.binary_search_by(|l| l.sku.cmp(sku))
    }

    fn insert_line(
        &mut self,
        at: usize,
        sku: &Sku,
        quantity: u64,
        limits: CartLimits,
    ) -> Result<()> {
        let quantity = checked_quantity(sku, quantity, limits)?;
        if self.lines.len() >= usize::try_from(limits.max_lines).unwrap_or(usize::MAX) {
            return Err(Error::TooManyLines {
                max: limits.max_lines,
            });
        }
        self.lines.insert(
            at,
            CartLine {
                sku: sku.clone(),
                quantity,
            },
        );
        Ok(())
    }
}

/// Checks the keys of a merge: only a guest cart merges, and only into a customer's
/// cart. Every store runs this before touching anything.
pub fn check_merge_keys(from: &CartKey, into: &CartKey) -> Result<()> {
    if !matches!(from, CartKey::Guest(_)) {
        return Err(Error::validation("from", "only a guest cart can be merged"));
    }
    if !matches!(into, CartKey::Customer(_)) {
        return Err(Error::validation(
            "into",
            "a guest cart merges into a customer cart",
        ));
    }
    Ok(())
}

/// `requested` as a line quantity, or `QuantityLimit` above `limits.max_quantity`.
fn checked_quantity(sku: &Sku, requested: u64, limits: CartLimits) -> Result<u32> {
    match u32::try_from(requested) {
        Ok(q) if q <= limits.max_quantity => Ok(q),
        _ => Err(Error::QuantityLimit {
            sku: sku.clone(),
            requested,
            max: limits.max_quantity,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commerce_core::CustomerId;

    fn sku(s: &str) -> Sku {
        Sku::new(s).unwrap()
    }

    fn cart(lines: &[(&str, u32)]) -> Cart {
        let mut c = Cart::empty(CartKey::Customer(CustomerId::new()), Utc::now());
        for (s, q) in lines {
            c.add_units(&sku(s), *q, CartLimits::default()).unwrap();
        }
        c
    }

    const LIMITS: CartLimits = CartLimits {
        max_lines: 3,
        max_quantity: 10,
    };

    #[test]
    fn add_keeps_lines_sorted_and_increments() {
        let mut c = cart(&[("C", 1), ("A", 2)]);
        c.add_units(&sku("B"), 3, LIMITS).unwrap();
        c.add_units(&sku("A"), 1, LIMITS).unwrap();
        let got: Vec<_> = c
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity))
            .collect();
        assert_eq!(got, [("A", 3), ("B", 3), ("C", 1)]);
    }

    #[test]
    fn rejected_changes_leave_the_cart_unchanged() {
        let mut c = cart(&[("A", 9), ("B", 1), ("C", 1)]);
        let before = c.clone();
        assert!(matches!(
            c.add_units(&sku("A"), 2, LIMITS),
            Err(Error::QuantityLimit {
                requested: 11,
                max: 10,
                ..
            })
        ));
        assert!(matches!(
            c.add_units(&sku("D"), 1, LIMITS),
            Err(Error::TooManyLines { max: 3 })
        ));
        assert!(matches!(
            c.add_units(&sku("A"), 0, LIMITS),
            Err(Error::Validation { .. })
        ));
        assert!(matches!(
            c.set_line_quantity(&sku("B"), 11, LIMITS),
            Err(Error::QuantityLimit { .. })
        ));
        assert!(matches!(
            c.add_units(&sku("A"), u32::MAX, LIMITS),
            Err(Error::QuantityLimit { .. })
        ));
        assert_eq!(c, before);
    }

    #[test]
    fn merge_sums_caps_and_drops() {
        let mut c = cart(&[("B", 8), ("D", 1)]);
        let guest = cart(&[("A", 12), ("B", 5), ("C", 1), ("E", 1)]);
        let rest = c.merge_lines(&guest.lines, LIMITS);
        let got: Vec<_> = c
            .lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity))
            .collect();
        assert_eq!(got, [("A", 10), ("B", 10), ("D", 1)]);
        assert_eq!(rest.capped, [sku("A"), sku("B")]);
        let dropped: Vec<_> = rest.dropped.iter().map(|l| l.sku.as_str()).collect();
        assert_eq!(dropped, ["C", "E"]);
    }

    #[test]
    fn expiry_is_exactly_ttl_after_the_last_change() {
        let c = cart(&[("A", 1)]);
        let ttl = Duration::hours(1);
        assert!(c.is_live_at(ttl, c.updated_at + ttl - Duration::nanoseconds(1)));
        assert!(!c.is_live_at(ttl, c.updated_at + ttl));
        assert!(c.is_live_at(Duration::MAX, c.updated_at + ttl));
    }
}
