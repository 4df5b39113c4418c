//! Time decay of "popular now": units sold weigh `2^(-age / HALF_LIFE)`.
//!
//! Scores are kept as `log2(sum of units * 2^(t / HALF_LIFE))` over the product's
//! sales (forward decay): adding a sale is one [`add_log2`], and because every score
//! decays by the same factor as time passes, ordering by the stored value is
//! ordering by the decayed sum at any moment. No periodic rewrite, no overflow.

use chrono::{DateTime, Utc};

/// Half-life of a sale's weight: 7 days.
pub const HALF_LIFE_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// `log2(units * 2^(at / HALF_LIFE))`: the log-weight of one sale.
pub fn sale_weight(units: u32, at: DateTime<Utc>) -> f64 {
    let seconds = at.timestamp() as f64 + f64::from(at.timestamp_subsec_millis()) / 1000.0;
    f64::from(units.max(1)).log2() + seconds / HALF_LIFE_SECONDS
}

/// `log2(2^a + 2^b)`, computed without overflow.
pub fn add_log2(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    hi + (1.0 + (lo - hi).exp2()).log2()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chrono::Duration;

    use super::*;

    #[test]
    fn recommend_decay_halves_weight_per_half_life() {
        let t = DateTime::parse_from_rfc3339("2026-11-30T00:00:00Z")
            .unwrap()
            .to_utc();
        let old = add_log2(sale_weight(2, t), sale_weight(2, t));
        let new = sale_weight(2, t + Duration::days(7));
        // 4 units a week ago weigh as much as 2 units now.
        assert!((old - new).abs() < 1e-9);
        assert!(sale_weight(1, t + Duration::days(1)) > sale_weight(1, t));
    }
}
