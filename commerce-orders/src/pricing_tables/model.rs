//! The shop's pricing tables as stored: tax, shipping methods, promotions, with the
//! rules every write must pass ([`PricingTables::validate`]).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use commerce_core::pricing::{DiscountKind, Promotion};
use commerce_core::{Currency, DomainEvent, Money, ShippingMethod, Sku, TaxTable};

use crate::error::{Error, Result};

/// Longest promotion code.
pub const MAX_CODE_LEN: usize = 32;

/// A promotion as the admin manages it: the discount (see [`Promotion`]) with a
/// validity window and an on/off switch. Codes match case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionRule {
    /// Code the shopper enters, e.g. `SPRING15` (letters, digits, `-`, `_`; at most
    /// [`MAX_CODE_LEN`]); unique in the table, case-insensitively.
    pub code: String,
    /// What it takes off (percent in `0 < p <= 100`, a positive fixed amount in the
    /// shop's currency, or free shipping).
    pub kind: DiscountKind,
    /// Applies only from this amount of eligible goods on (shop's currency).
    #[serde(default)]
    pub min_subtotal: Option<Money>,
    /// Only these SKUs are eligible; `None` means every line.
    #[serde(default)]
    pub skus: Option<Vec<Sku>>,
    /// Valid from this instant (inclusive); `None`: since always.
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// Valid until this instant (exclusive); `None`: forever. After `starts_at`.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// A deactivated promotion is kept (for the record) but no longer applies.
    #[serde(default = "yes")]
    pub active: bool,
    /// At most this many orders may redeem the code, all buyers together; `None`:
    /// no limit. Counted by the checkout store with the order (see
    /// [`crate::redemption`]).
    #[serde(default)]
    pub usage_limit: Option<u32>,
    /// At most this many orders per buyer (a customer by account, a guest by
    /// email); `None`: no limit.
    #[serde(default)]
    pub usage_limit_per_customer: Option<u32>,
}

fn yes() -> bool {
    true
}

impl PromotionRule {
    /// An always-valid, active rule for `promotion` (how configured promotions are
    /// seeded).
    pub fn always(promotion: Promotion) -> Self {
        PromotionRule {
            code: promotion.code,
            kind: promotion.kind,
            min_subtotal: promotion.min_subtotal,
            skus: promotion.skus,
            starts_at: None,
            ends_at: None,
            active: true,
            usage_limit: None,
            usage_limit_per_customer: None,
        }
    }

    /// Whether redeeming the code is limited (in total or per buyer).
    pub fn is_limited(&self) -> bool {
        self.usage_limit.is_some() || self.usage_limit_per_customer.is_some()
    }

    /// Whether the rule applies at `now`: active and inside its window.
    pub fn applies_at(&self, now: DateTime<Utc>) -> bool {
        self.active
            && self.starts_at.is_none_or(|s| s <= now)
            && self.ends_at.is_none_or(|e| now < e)
    }

    /// The discount pricing applies.
    pub fn promotion(&self) -> Promotion {
        Promotion {
            code: self.code.clone(),
            kind: self.kind.clone(),
            min_subtotal: self.min_subtotal,
            skus: self.skus.clone(),
        }
    }

    fn validate(&self, currency: Currency, at: usize) -> Result<()> {
        let code = self.code.trim();
        if code.is_empty()
            || code.len() > MAX_CODE_LEN
            || !code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "promotions.code",
                at,
                format!("1 to {MAX_CODE_LEN} letters, digits, '-' or '_'"),
            ));
        }
        match &self.kind {
            DiscountKind::Percentage { percent }
                if *percent <= Decimal::ZERO || *percent > Decimal::ONE_HUNDRED =>
            {
                return Err(invalid(
                    "promotions.kind.percent",
                    at,
                    "must be above 0 and at most 100",
                ));
            }
            DiscountKind::Fixed { amount } => {
                money(*amount, currency, "promotions.kind.amount", at)?;
                if amount.is_zero() {
                    return Err(invalid("promotions.kind.amount", at, "must be above 0"));
                }
            }
            // A new kind of discount is accepted as pricing knows it.
            _ => {}
        }
        if let Some(min) = self.min_subtotal {
            money(min, currency, "promotions.min_subtotal", at)?;
        }
        if let (Some(s), Some(e)) = (self.starts_at, self.ends_at)
            && e <= s
        {
            return Err(invalid("promotions.ends_at", at, "must be after starts_at"));
        }
        if self.usage_limit == Some(0) {
            return Err(invalid("promotions.usage_limit", at, "must be at least 1"));
        }
        if self.usage_limit_per_customer == Some(0) {
            return Err(invalid(
                "promotions.usage_limit_per_customer",
                at,
                "must be at least 1",
            ));
        }
        if self.skus.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid(
                "promotions.skus",
                at,
                "must name at least one SKU (leave it out for every line)",
            ));
        }
        Ok(())
    }
}

/// A `Validation` error on `field` of item `at` of its list.
fn invalid(field: &'static str, at: usize, message: impl std::fmt::Display) -> Error {
    Error::validation(field, format!("item {at}: {message}"))
}

/// Checks `amount` (of item `at`) is in `currency`, not negative and rounded to its
/// minor units.
fn money(amount: Money, currency: Currency, field: &'static str, at: usize) -> Result<()> {
    if amount.currency() != currency {
        return Err(invalid(
            field,
            at,
            format!("must be in the shop's currency {}", currency.code()),
        ));
    }
    if amount.is_negative() {
        return Err(invalid(field, at, "must not be negative"));
    }
    if !amount.is_rounded() {
        return Err(invalid(
            field,
            at,
            format!("must have at most {} decimals", currency.minor_units()),
        ));
    }
    Ok(())
}

/// The shop's pricing tables, one versioned document: every change names the
/// version it read ([`crate::ports::PricingTableStore::save`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingTables {
    /// 1 for the first stored tables, +1 on every change.
    pub version: u64,
    /// Tax rates.
    pub tax: TaxTable,
    /// Shipping methods (zone/weight tables), by code.
    pub shipping_methods: Vec<ShippingMethod>,
    /// Promotions, by code.
    pub promotions: Vec<PromotionRule>,
    /// When the tables were last changed.
    pub updated_at: DateTime<Utc>,
}

impl PricingTables {
    /// The promotion with `code` (case-insensitive), whatever its state.
    pub fn promotion(&self, code: &str) -> Option<&PromotionRule> {
        let code = code.trim();
        self.promotions
            .iter()
            .find(|p| p.code.eq_ignore_ascii_case(code))
    }

    /// The shipping method with `code`.
    pub fn shipping_method(&self, code: &str) -> Option<&ShippingMethod> {
        self.shipping_methods.iter().find(|m| m.code == code)
    }

    /// The promotions applying at `now`, as pricing takes them (a cart preview
    /// applies all of them).
    pub fn promotions_at(&self, now: DateTime<Utc>) -> Vec<Promotion> {
        self.promotions
            .iter()
            .filter(|p| p.applies_at(now))
            .map(PromotionRule::promotion)
            .collect()
    }

    /// Checks every rule of a write, naming the first field that breaks one
    /// (`Validation`):
    ///
    /// - tax: rates are fractions in `0..=1` (`0.2` is 20 %), names not empty, one
    ///   rate per country, region and tax class;
    /// - shipping: codes unique and not empty, names not empty, at least one zone
    ///   and one tier, tiers by ascending weight with only the last one open,
    ///   prices and thresholds in `currency`, not negative;
    /// - promotions: see [`PromotionRule`]; codes unique case-insensitively,
    ///   `ends_at` after `starts_at`.
    pub fn validate(&self, currency: Currency) -> Result<()> {
        validate_tax(&self.tax)?;
        validate_shipping(&self.shipping_methods, currency)?;
        let mut codes = HashSet::new();
        for (i, p) in self.promotions.iter().enumerate() {
            p.validate(currency, i)?;
            if !codes.insert(p.code.trim().to_ascii_uppercase()) {
                return Err(invalid(
                    "promotions.code",
                    i,
                    format!("{} is used by another promotion", p.code),
                ));
            }
        }
        Ok(())
    }
}

fn validate_tax(tax: &TaxTable) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, r) in tax.rates.iter().enumerate() {
        if r.rate < Decimal::ZERO || r.rate > Decimal::ONE {
            return Err(invalid(
                "tax.rates.rate",
                i,
                "must be a fraction from 0 to 1 (0.2 is 20 %)",
            ));
        }
        if r.name.trim().is_empty() {
            return Err(invalid("tax.rates.name", i, "must not be empty"));
        }
        if r.region.as_deref().is_some_and(|g| g.trim().is_empty()) {
            return Err(invalid(
                "tax.rates.region",
                i,
                "must not be empty (leave it out for the whole country)",
            ));
        }
        if !seen.insert((r.country, r.region.clone(), r.tax_class.clone())) {
            return Err(invalid(
                "tax.rates",
                i,
                "another rate has the same country, region and tax class",
            ));
        }
    }
    Ok(())
}

fn validate_shipping(methods: &[ShippingMethod], currency: Currency) -> Result<()> {
    let mut codes = HashSet::new();
    for (i, m) in methods.iter().enumerate() {
        let code = m.code.trim();
        if code.is_empty() || code.len() > MAX_CODE_LEN || code.contains(':') {
            return Err(invalid(
                "shipping_methods.code",
                i,
                format!("1 to {MAX_CODE_LEN} characters, no ':' (carrier options use it)"),
            ));
        }
        if !codes.insert(code.to_owned()) {
            return Err(invalid(
                "shipping_methods.code",
                i,
                format!("{code} is used by another method"),
            ));
        }
        if m.name.trim().is_empty() {
            return Err(invalid("shipping_methods.name", i, "must not be empty"));
        }
        if m.zones.is_empty() {
            return Err(invalid("shipping_methods.zones", i, "at least one zone"));
        }
        if m.tiers.is_empty() {
            return Err(invalid(
                "shipping_methods.tiers",
                i,
                "at least one weight tier",
            ));
        }
        let mut last: Option<u32> = None;
        for (t, tier) in m.tiers.iter().enumerate() {
            money(tier.price, currency, "shipping_methods.tiers.price", i)?;
            if t > 0 && last.is_none() {
                return Err(invalid(
                    "shipping_methods.tiers",
                    i,
                    "only the last tier may be open (no max_grams)",
                ));
            }
            if let (Some(max), Some(l)) = (tier.max_grams, last)
                && max <= l
            {
                return Err(invalid(
                    "shipping_methods.tiers.max_grams",
                    i,
                    "tiers must be sorted by ascending max_grams",
                ));
            }
            last = tier.max_grams;
        }
        if let Some(free) = m.free_over {
            money(free, currency, "shipping_methods.free_over", i)?;
        }
    }
    Ok(())
}

/// What changed in the pricing tables, written to the outbox with the change
/// (topic `pricing.tables_changed`): caches of the tables refresh on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingTablesChanged {
    /// The version stored by the change.
    pub version: u64,
    /// Which part changed: `seed`, `tax`, `shipping_methods` or `promotions`.
    pub part: String,
    /// The promotion code, for a promotion change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl PricingTablesChanged {
    /// The topic of the event.
    pub const TOPIC: &'static str = "pricing.tables_changed";
}

impl DomainEvent for PricingTablesChanged {
    fn topic(&self) -> &'static str {
        Self::TOPIC
    }
    fn aggregate_type(&self) -> &'static str {
        "pricing_tables"
    }
    fn aggregate_id(&self) -> String {
        "shop".to_owned()
    }
}
