//! The rating aggregate of a product: a histogram of published reviews' ratings,
//! from which count and average follow exactly.

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use commerce_core::{CatalogEvent, DomainEvent, EventEnvelope, ProductId};

use crate::error::Result;
use crate::model::Rating;

/// Published reviews of one product by rating. Stores keep it in the same atomic step
/// as every review change, so it is never recomputed by a scan and never drifts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RatingAggregate {
    /// The product.
    pub product_id: ProductId,
    /// `histogram[i]` is the number of published reviews with `i + 1` stars.
    pub histogram: [u32; 5],
}

impl RatingAggregate {
    /// The aggregate of a product with no published review.
    pub fn empty(product_id: ProductId) -> Self {
        RatingAggregate {
            product_id,
            histogram: [0; 5],
        }
    }

    /// Published reviews counted.
    pub fn count(&self) -> u32 {
        self.histogram
            .iter()
            .fold(0u32, |a, n| a.saturating_add(*n))
    }

    /// Average stars rounded half away from zero to two decimals; 0 with no reviews.
    pub fn average(&self) -> Decimal {
        let count = self.count();
        if count == 0 {
            return Decimal::ZERO;
        }
        let stars: u64 = self
            .histogram
            .iter()
            .zip(1u64..)
            .map(|(n, s)| u64::from(*n) * s)
            .sum();
        (Decimal::from(stars) / Decimal::from(count))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    }

    /// Moves one review's contribution from `before` to `after` (each `None` when the
    /// review did not count, see [`crate::Review::counted_rating`]). Returns whether
    /// the aggregate changed.
    pub fn apply(&mut self, before: Option<Rating>, after: Option<Rating>) -> bool {
        if before == after {
            return false;
        }
        if let Some(r) = before {
            self.histogram[r.index()] = self.histogram[r.index()].saturating_sub(1);
        }
        if let Some(r) = after {
            self.histogram[r.index()] = self.histogram[r.index()].saturating_add(1);
        }
        true
    }

    /// The aggregate computed from scratch from the ratings of published reviews (for
    /// tests and repairs; stores never do this on a read).
    pub fn recompute(product_id: ProductId, counted: impl IntoIterator<Item = Rating>) -> Self {
        let mut aggregate = RatingAggregate::empty(product_id);
        for r in counted {
            aggregate.apply(None, Some(r));
        }
        aggregate
    }

    /// `CatalogEvent::RatingChanged` with these figures, stamped `at`.
    pub fn rating_changed(&self, at: DateTime<Utc>) -> Result<EventEnvelope> {
        Ok(CatalogEvent::RatingChanged {
            product_id: self.product_id,
            rating_count: self.count(),
            rating_average: self.average(),
        }
        .envelope(at)?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use rust_decimal_macros::dec;

    use super::*;

    fn r(n: u8) -> Rating {
        Rating::new(n).unwrap()
    }

    #[test]
    fn review_average_rounds_to_two_decimals() {
        let p = ProductId::new();
        assert_eq!(RatingAggregate::empty(p).average(), dec!(0));
        let a = RatingAggregate::recompute(p, [r(5), r(4), r(4)]);
        assert_eq!((a.count(), a.average()), (3, dec!(4.33)));
        let b = RatingAggregate::recompute(p, [r(5), r(4), r(4), r(4), r(4), r(4)]);
        assert_eq!(b.average(), dec!(4.17));
        // 4.005 exactly rounds away from zero.
        let mut h = RatingAggregate::empty(p);
        h.histogram = [0, 0, 0, 199, 1];
        assert_eq!(h.average(), dec!(4.01));
    }

    #[test]
    fn review_apply_moves_one_contribution() {
        let p = ProductId::new();
        let mut a = RatingAggregate::empty(p);
        assert!(a.apply(None, Some(r(3))));
        assert!(!a.apply(Some(r(3)), Some(r(3))));
        assert!(a.apply(Some(r(3)), Some(r(5))));
        assert_eq!(a.histogram, [0, 0, 0, 0, 1]);
        assert!(a.apply(Some(r(5)), None));
        assert_eq!(a.count(), 0);
    }
}
