//! Tax rates by country, region and tax class.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::address::CountryCode;
use crate::catalog::TaxClass;
use crate::money::Rounding;

/// One tax rate. A rate with `region: None` applies to the whole country; a rate
/// with a region wins over it for addresses in that region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    /// Country the rate applies in.
    pub country: CountryCode,
    /// Region (state/province code) it is limited to, if any.
    #[serde(default)]
    pub region: Option<String>,
    /// Tax class it applies to.
    pub tax_class: TaxClass,
    /// Rate as a fraction, e.g. `0.0725` for 7.25 %.
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
    /// Name shown on invoices, e.g. "CA sales tax".
    pub name: String,
}

/// The tax configuration of a shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TaxTable {
    /// Whether catalog prices include tax (EU style) or exclude it (US style).
    pub prices_include_tax: bool,
    /// Rounding applied to each line's tax.
    #[serde(default)]
    pub rounding: Rounding,
    /// Tax class shipping is taxed under; `None` leaves shipping untaxed.
    #[serde(default)]
    pub shipping_tax_class: Option<TaxClass>,
    /// The rates.
    pub rates: Vec<TaxRate>,
}

impl TaxTable {
    /// The rate for `class` at `country`/`region`: a regional rate first, else the
    /// country rate, else zero (no tax configured for that destination and class).
    pub fn rate_for(
        &self,
        country: CountryCode,
        region: Option<&str>,
        class: &TaxClass,
    ) -> Decimal {
        let regional = region.and_then(|r| {
            self.rates.iter().find(|t| {
                t.country == country && &t.tax_class == class && t.region.as_deref() == Some(r)
            })
        });
        regional
            .or_else(|| {
                self.rates
                    .iter()
                    .find(|t| t.country == country && &t.tax_class == class && t.region.is_none())
            })
            .map(|t| t.rate)
            .unwrap_or(Decimal::ZERO)
    }
}
