//! Input rules shared by every [`crate::InventoryStore`] implementation, so each
//! backend rejects the same requests with the same errors before touching storage.

use std::collections::BTreeMap;

use commerce_core::Sku;

use crate::error::{Error, Result};
use crate::model::{
    AdjustmentReason, BackorderPolicy, ReservationLine, ReserveRequest, StockAdjustment, StockLevel,
};

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

    /// The stock level after this adjustment. Incoming units (positive delta) fill
    /// owed backorders first, the rest go on hand. Outgoing units may take `on_hand`
    /// down to `reserved` under [`BackorderPolicy::Deny`] and to zero under `Allow`
    /// (reserved units beyond stock are then backorders); taking more fails with
    /// `InsufficientStock` naming what could be removed.
    pub fn apply_to_level(&self, level: &StockLevel) -> Result<StockLevel> {
        if self.delta >= 0 {
            return level
                .take_in(self.delta.unsigned_abs())
                .ok_or_else(|| Error::Validation {
                    field: "delta",
                    message: format!("on hand of {} would overflow", self.sku),
                });
        }
        let floor = match level.backorder {
            BackorderPolicy::Deny => level.reserved,
            BackorderPolicy::Allow { .. } => 0,
        };
        let take = self.delta.unsigned_abs();
        let removable = level.on_hand.saturating_sub(floor);
        if take > removable {
            return Err(Error::InsufficientStock {
                sku: self.sku.clone(),
                requested: take,
                available: removable,
            });
        }
        Ok(StockLevel {
            on_hand: level.on_hand - take,
            ..level.clone()
        })
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

    fn level(
        on_hand: u64,
        reserved: u64,
        backordered: u64,
        backorder: BackorderPolicy,
    ) -> StockLevel {
        StockLevel {
            sku: sku("A"),
            location: LocationCode::default_location(),
            on_hand,
            reserved,
            backordered,
            backorder,
        }
    }

    #[test]
    fn apply_guards_zero_and_floor() {
        let deny = BackorderPolicy::Deny;
        let a = adjustment(-5, AdjustmentReason::Correction);
        assert_eq!(a.apply_to_level(&level(5, 0, 0, deny)).unwrap().on_hand, 0);
        assert!(matches!(
            a.apply_to_level(&level(5, 1, 0, deny)),
            Err(Error::InsufficientStock {
                requested: 5,
                available: 4,
                ..
            })
        ));
        assert!(matches!(
            a.apply_to_level(&level(3, 0, 0, deny)),
            Err(Error::InsufficientStock { available: 3, .. })
        ));
        let allow = BackorderPolicy::Allow { limit: 9 };
        assert_eq!(a.apply_to_level(&level(5, 4, 0, allow)).unwrap().on_hand, 0);
        let big = adjustment(i64::MIN, AdjustmentReason::Correction);
        assert!(big.apply_to_level(&level(u64::MAX, 0, 0, deny)).is_ok());
        let up = adjustment(1, AdjustmentReason::Received);
        assert!(matches!(
            up.apply_to_level(&level(u64::MAX, 0, 0, deny)),
            Err(Error::Validation { .. })
        ));
    }

    #[test]
    fn received_units_fill_backorders_first() {
        let allow = BackorderPolicy::Allow { limit: 9 };
        let up = adjustment(5, AdjustmentReason::Received);
        let after = up.apply_to_level(&level(0, 0, 3, allow)).unwrap();
        assert_eq!((after.on_hand, after.backordered), (2, 0));
        let after = adjustment(2, AdjustmentReason::Received)
            .apply_to_level(&level(0, 0, 3, allow))
            .unwrap();
        assert_eq!((after.on_hand, after.backordered), (0, 1));
    }

    #[test]
    fn selling_beyond_stock_owes_units() {
        let allow = BackorderPolicy::Allow { limit: 9 };
        let sold = level(2, 5, 0, allow).sell_reserved(4).unwrap();
        assert_eq!((sold.on_hand, sold.reserved, sold.backordered), (0, 1, 2));
        assert_eq!(sold.reservable(), 9 - 1 - 2);
        assert!(level(2, 1, 0, allow).sell_reserved(2).is_none());
    }
}
