//! Shipping methods: zones, weight tiers and free shipping over a threshold.

use serde::{Deserialize, Serialize};

use crate::address::{Address, CountryCode};
use crate::error::{Error, Result};
use crate::money::Money;

/// Where a shipping method delivers: a country, optionally limited to regions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingZone {
    /// Country.
    pub country: CountryCode,
    /// Regions served; empty means the whole country.
    #[serde(default)]
    pub regions: Vec<String>,
}

/// A price for parcels up to a weight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightTier {
    /// Inclusive upper bound in grams; `None` for the last, open tier.
    pub max_grams: Option<u32>,
    /// Price of the tier.
    pub price: Money,
}

/// A way to ship an order (standard, express, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingMethod {
    /// Stable code, e.g. `standard`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Zones served.
    pub zones: Vec<ShippingZone>,
    /// Weight tiers, sorted by `max_grams` ascending, last one open or not.
    pub tiers: Vec<WeightTier>,
    /// Free when the discounted goods subtotal reaches this amount.
    #[serde(default)]
    pub free_over: Option<Money>,
}

impl ShippingMethod {
    /// A method with one price for any weight, delivering to the whole of each of
    /// `countries`, never free.
    pub fn flat_rate(
        code: impl Into<String>,
        name: impl Into<String>,
        price: Money,
        countries: &[CountryCode],
    ) -> Self {
        ShippingMethod {
            code: code.into(),
            name: name.into(),
            zones: countries
                .iter()
                .map(|c| ShippingZone {
                    country: *c,
                    regions: Vec::new(),
                })
                .collect(),
            tiers: vec![WeightTier {
                max_grams: None,
                price,
            }],
            free_over: None,
        }
    }

    /// Whether the method delivers to `address`.
    pub fn serves(&self, address: &Address) -> bool {
        self.zones.iter().any(|z| {
            z.country == address.country
                && (z.regions.is_empty()
                    || address
                        .region
                        .as_deref()
                        .is_some_and(|r| z.regions.iter().any(|zr| zr == r)))
        })
    }

    /// The rate for a parcel of `weight_grams` before any free-shipping threshold.
    /// `NotServiceable` when no tier is heavy enough.
    pub fn rate_for_weight(&self, weight_grams: u64) -> Result<Money> {
        self.tiers
            .iter()
            .find(|t| t.max_grams.is_none_or(|max| weight_grams <= u64::from(max)))
            .map(|t| t.price)
            .ok_or_else(|| {
                Error::NotServiceable(format!(
                    "{} does not ship parcels of {weight_grams} g",
                    self.code
                ))
            })
    }
}
