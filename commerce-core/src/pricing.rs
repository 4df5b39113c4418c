//! Pricing as a pure function: line totals, discounts, tax, shipping, grand total.
//!
//! [`price`] takes everything it needs as arguments (lines with catalog prices,
//! promotions, tax table, shipping method, destination) and returns a
//! [`PriceBreakdown`]. Same input, same output, to the minor unit.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::catalog::TaxClass;
use crate::error::Result;
use crate::id::Sku;
use crate::money::{Currency, Money, Rounding};
use crate::shipping::ShippingMethod;
use crate::tax::TaxTable;

mod engine;
#[cfg(test)]
mod tests;

/// One line to price: a SKU, its catalog unit price and quantity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PricingLine {
    /// SKU.
    pub sku: Sku,
    /// Name snapshotted into order lines ("Product title - Variant").
    pub name: String,
    /// Catalog unit price (tax-inclusive or exclusive, as the tax table says).
    pub unit_price: Money,
    /// Quantity, at least 1.
    pub quantity: u32,
    /// Tax class of the SKU.
    pub tax_class: TaxClass,
    /// Unit shipping weight in grams.
    pub weight_grams: u32,
}

impl PricingLine {
    /// `quantity` units of `sku`, named `name`, at `unit_price`; standard tax class
    /// and no weight until [`with_tax_class`](Self::with_tax_class) and
    /// [`with_weight_grams`](Self::with_weight_grams) say otherwise.
    pub fn new(sku: Sku, name: impl Into<String>, unit_price: Money, quantity: u32) -> Self {
        PricingLine {
            sku,
            name: name.into(),
            unit_price,
            quantity,
            tax_class: TaxClass::default(),
            weight_grams: 0,
        }
    }

    /// The same line in this tax class.
    pub fn with_tax_class(mut self, tax_class: TaxClass) -> Self {
        self.tax_class = tax_class;
        self
    }

    /// The same line weighing this much per unit, in grams.
    pub fn with_weight_grams(mut self, weight_grams: u32) -> Self {
        self.weight_grams = weight_grams;
        self
    }
}

/// How a promotion reduces the price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiscountKind {
    /// A percentage off the eligible lines, `0 < percent <= 100`.
    Percentage {
        /// Percent off, e.g. `15` or `12.5`.
        #[serde(with = "rust_decimal::serde::str")]
        percent: Decimal,
    },
    /// A fixed amount off the eligible lines, allocated across them in proportion to
    /// their subtotals, never more than their subtotal.
    Fixed {
        /// Amount off.
        amount: Money,
    },
    /// Free shipping.
    FreeShipping,
}

/// A promotion applied to a cart (usually by code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    /// Code the shopper enters, e.g. `SPRING15`.
    pub code: String,
    /// What it takes off.
    pub kind: DiscountKind,
    /// The promotion applies only when its eligible lines add up to at least this
    /// amount (after the discounts of earlier promotions).
    #[serde(default)]
    pub min_subtotal: Option<Money>,
    /// Only these SKUs are eligible; `None` means every line.
    #[serde(default)]
    pub skus: Option<Vec<Sku>>,
}

/// Everything [`price`] needs.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct PricingRequest<'a> {
    /// Currency of the cart; every price must be in it.
    pub currency: Currency,
    /// Lines to price (SKUs unique).
    pub lines: &'a [PricingLine],
    /// Promotions to apply, in order.
    pub promotions: &'a [Promotion],
    /// Tax rates and whether prices include tax.
    pub tax: &'a TaxTable,
    /// Where the goods go; `None` prices without tax and shipping (a cart preview
    /// before an address is known).
    pub destination: Option<&'a Address>,
    /// Chosen shipping method; `None` prices without shipping.
    pub shipping: Option<&'a ShippingMethod>,
}

impl<'a> PricingRequest<'a> {
    /// Price `lines` in `currency` under `tax`, with no promotion, no destination
    /// (so without tax and shipping) and no shipping method.
    pub fn new(currency: Currency, lines: &'a [PricingLine], tax: &'a TaxTable) -> Self {
        PricingRequest {
            currency,
            lines,
            promotions: &[],
            tax,
            destination: None,
            shipping: None,
        }
    }

    /// The same request applying these promotions, in order.
    pub fn with_promotions(mut self, promotions: &'a [Promotion]) -> Self {
        self.promotions = promotions;
        self
    }

    /// The same request shipped to this address (`None`: not known yet).
    pub fn with_destination(mut self, destination: impl Into<Option<&'a Address>>) -> Self {
        self.destination = destination.into();
        self
    }

    /// The same request with this shipping method (`None`: priced without shipping).
    pub fn with_shipping(mut self, shipping: impl Into<Option<&'a ShippingMethod>>) -> Self {
        self.shipping = shipping.into();
        self
    }
}

/// One priced line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PricedLine {
    /// SKU.
    pub sku: Sku,
    /// Name as snapshotted.
    pub name: String,
    /// Quantity.
    pub quantity: u32,
    /// Unit price as listed.
    pub unit_price: Money,
    /// `unit_price * quantity`.
    pub subtotal: Money,
    /// Discount allocated to this line (positive amount taken off).
    pub discount: Money,
    /// Tax of this line, rounded per line.
    pub tax: Money,
    /// Rate applied (fraction, e.g. `0.0875`).
    #[serde(with = "rust_decimal::serde::str")]
    pub tax_rate: Decimal,
    /// What the line costs: `subtotal - discount (+ tax when exclusive)`.
    pub total: Money,
}

/// The result of [`price`].
///
/// Identity, to the minor unit: with tax-exclusive prices
/// `grand_total = subtotal - discount_total + tax_total + shipping_total`; with
/// tax-inclusive prices the tax is already inside the prices and
/// `grand_total = subtotal - discount_total + shipping_total`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PriceBreakdown {
    /// Currency of every amount.
    pub currency: Currency,
    /// Whether listed prices include tax.
    pub prices_include_tax: bool,
    /// Priced lines in input order.
    pub lines: Vec<PricedLine>,
    /// Sum of line subtotals.
    pub subtotal: Money,
    /// Sum of line discounts.
    pub discount_total: Money,
    /// Shipping after shipping discounts (inclusive of shipping tax when prices
    /// include tax).
    pub shipping_total: Money,
    /// Tax on shipping (part of `tax_total`).
    pub shipping_tax: Money,
    /// Sum of line taxes plus shipping tax.
    pub tax_total: Money,
    /// What the customer pays.
    pub grand_total: Money,
    /// Codes of the promotions that applied.
    pub applied_promotions: Vec<String>,
}

/// Prices a cart. Pure: no I/O, no clock.
///
/// The steps, in order:
/// 1. **Lines**: `subtotal = unit_price * quantity`, exact.
/// 2. **Promotions**, in the given order. A promotion's eligible lines are those its
///    `skus` name (all lines when `None`); it applies when they add up to at least
///    `min_subtotal`, counting what earlier promotions left. A percentage is taken off
///    that amount and rounded with [`DEFAULT_ROUNDING`]; a fixed amount is capped at
///    it. The discount is then split across the eligible lines with
///    [`Money::allocate`], in proportion to what each line has left, so the shares sum
///    exactly and no line goes below zero. `FreeShipping` zeroes shipping.
/// 3. **Tax** per line on `subtotal - discount` at
///    [`TaxTable::rate_for`]`(destination, tax class)`, rounded per line with the
///    table's rounding: `amount * rate` when prices exclude tax,
///    `amount - amount / (1 + rate)` (the tax inside the price) when they include it.
/// 4. **Shipping** (only with a destination and a method): the method must serve the
///    destination; the tier is picked by the total weight (`weight * quantity` over
///    all lines); it is free when the discounted goods subtotal reaches the method's
///    `free_over`. Shipping is taxed like a line when the table names a
///    `shipping_tax_class`.
/// 5. **Totals**, satisfying the identity documented on [`PriceBreakdown`] to the
///    minor unit.
///
/// Without a destination nothing is taxed or shipped (a cart preview).
///
/// Errors: `CurrencyMismatch` when a price, promotion amount or shipping rate is in
/// another currency; `Validation` for a zero quantity, a duplicate SKU, a promotion
/// code given twice or a percentage outside `(0, 100]`; `InvalidAmount` for a
/// negative or sub-minor-unit price or a zero fixed discount; `NotServiceable` when
/// the shipping method does not serve the destination or has no tier heavy enough.
pub fn price(request: &PricingRequest<'_>) -> Result<PriceBreakdown> {
    engine::price(request)
}

/// Rounding used for per-line tax and discount shares.
pub const DEFAULT_ROUNDING: Rounding = Rounding::HalfEven;
