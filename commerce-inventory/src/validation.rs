//! Input rules shared by every [`crate::InventoryStore`] implementation, so each
//! backend rejects the same requests with the same errors before touching storage.

use std::collections::BTreeMap;

use commerce_core::Sku;

use crate::error::{Error, Result};
use crate::model::{AdjustmentReason, ReservationLine, ReserveRequest, StockAdjustment};

impl ReserveRequest {
    /// The lines with the quantities of each SKU summed, one line per SKU in SKU
    /// order: the form a reservation is stored and compared in.
    ///
    /// Fails with `Validation` when there are no lines, a line has quantity zero, or
    /// the quantities of a SKU overflow `u64`.
    pub fn summed_lines(&self) -> Result<Vec<ReservationLine>> {
        if self.lines.is_empty() {
            return Err(Error::Validation {
                field: "lines",
                message: "a reservation needs at least one line".to_owned(),
            });
        }
        let mut summed: BTreeMap<&Sku, u64> = BTreeMap::new();
        for line in &self.lines {
            if line.quantity == 0 {
                return Err(Error::Validation {
                    field: "quantity",
                    message: format!("line for {} has quantity 0", line.sku),
                });
            }
            let total = summed.entry(&line.sku).or_insert(0);
            *total = total
                .checked_add(line.quantity)
                .ok_or_else(|| Error::Validation {
                    field: "quantity",
                    message: format!("quantities for {} overflow", line.sku),
                })?;
        }
        Ok(summed
            .into_iter()
            .map(|(sku, quantity)| ReservationLine {
                sku: sku.clone(),
                quantity,
            })
            .collect())
    }
}

impl StockAdjustment {
    /// Checks that the sign of `delta` fits the reason: `Received` and `Restock` add
    /// units, `Damaged` removes them, `Correction` may go either way; a zero delta is
    /// never valid. Fails with `Validation`.
    pub fn validate(&self) -> Result<()> {
        let ok = match self.reason {
            AdjustmentReason::Received | AdjustmentReason::Restock { .. } => self.delta > 0,
            AdjustmentReason::Damaged => self.delta < 0,
            AdjustmentReason::Correction => self.delta != 0,
        };
        if ok {
            return Ok(());
        }
        let expected = match self.reason {
            AdjustmentReason::Received | AdjustmentReason::Restock { .. } => "positive",
            AdjustmentReason::Damaged => "negative",
            AdjustmentReason::Correction => "non-zero",
        };
        Err(Error::Validation {
            field: "delta",
            message: format!(
                "must be {expected} for reason {:?}, got {}",
                self.reason, self.delta
            ),
        })
    }

    /// The on-hand quantity after applying `delta` to `on_hand` with the store's
    /// guards: `InsufficientStock` when units would be removed below zero, or below
    /// `floor` (the reserved units under `BackorderPolicy::Deny`, zero otherwise);
    /// `Validation` when the result overflows `u64`.
    pub fn apply_to(&self, on_hand: u64, floor: u64) -> Result<u64> {
        if self.delta >= 0 {
            return on_hand
                .checked_add(self.delta.unsigned_abs())
                .ok_or_else(|| Error::Validation {
                    field: "delta",
                    message: format!("on hand of {} would overflow", self.sku),
                });
        }
        let take = self.delta.unsigned_abs();
        let removable = on_hand.saturating_sub(floor);
        if take > removable {
            return Err(Error::InsufficientStock {
                sku: self.sku.clone(),
                requested: take,
                available: removable,
            });
        }
        Ok(on_hand - take)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::model::{LocationCode, ReservationId};

    fn sku(s: &str) -> Sku {
        Sku::new(s).unwrap()
    }

    fn request(lines: &[(&str, u64)]) -> ReserveRequest {
        ReserveRequest {
            id: ReservationId::new(),
            reference: "order".to_owned(),
            location: LocationCode::default(),
            lines: lines
                .iter()
                .map(|(s, q)| ReservationLine {
                    sku: sku(s),
                    quantity: *q,
                })
                .collect(),
            expires_at: Utc::now(),
        }
    }

    #[test]
    fn lines_are_summed_and_sorted() {
        let lines = request(&[("B", 1), ("A", 2), ("B", 3)])
            .summed_lines()
            .unwrap();
        assert_eq!(
            lines,
            vec![
                ReservationLine {
                    sku: sku("A"),
                    quantity: 2
                },
                ReservationLine {
                    sku: sku("B"),
                    quantity: 4
                },
            ]
        );
    }

    #[test]
    fn empty_zero_and_overflowing_lines_are_invalid() {
        for req in [
            request(&[]),
            request(&[("A", 0)]),
            request(&[("A", u64::MAX), ("A", 1)]),
        ] {
            assert!(matches!(req.summed_lines(), Err(Error::Validation { .. })));
        }
    }

    fn adjustment(delta: i64, reason: AdjustmentReason) -> StockAdjustment {
        StockAdjustment {
            sku: sku("A"),
            location: LocationCode::default(),
            delta,
            reason,
            note: None,
        }
    }

    #[test]
    fn delta_sign_must_fit_reason() {
        assert!(adjustment(1, AdjustmentReason::Received).validate().is_ok());
        assert!(
            adjustment(-1, AdjustmentReason::Received)
                .validate()
                .is_err()
        );
        assert!(adjustment(1, AdjustmentReason::Damaged).validate().is_err());
        assert!(adjustment(-1, AdjustmentReason::Damaged).validate().is_ok());
        assert!(
            adjustment(-1, AdjustmentReason::Correction)
                .validate()
                .is_ok()
        );
        assert!(
            adjustment(0, AdjustmentReason::Correction)
                .validate()
                .is_err()
        );
        let restock = AdjustmentReason::Restock {
            reference: "o".to_owned(),
        };
        assert!(adjustment(2, restock).validate().is_ok());
    }

    #[test]
    fn apply_guards_zero_and_floor() {
        let a = adjustment(-5, AdjustmentReason::Correction);
        assert_eq!(a.apply_to(5, 0).unwrap(), 0);
        assert!(matches!(
            a.apply_to(5, 1),
            Err(Error::InsufficientStock {
                requested: 5,
                available: 4,
                ..
            })
        ));
        assert!(matches!(
            a.apply_to(3, 0),
            Err(Error::InsufficientStock { available: 3, .. })
        ));
        let big = adjustment(i64::MIN, AdjustmentReason::Correction);
        assert!(big.apply_to(u64::MAX, 0).is_ok());
        let up = adjustment(1, AdjustmentReason::Received);
        assert!(matches!(
            up.apply_to(u64::MAX, 0),
            Err(Error::Validation { .. })
        ));
    }
}
