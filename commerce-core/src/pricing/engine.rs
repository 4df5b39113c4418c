//! The steps of [`super::price`]: validate, apply promotions, tax each line, ship, total.

use std::collections::HashSet;

use rust_decimal::Decimal;

use super::{
    DEFAULT_ROUNDING, DiscountKind, PriceBreakdown, PricedLine, PricingLine, PricingRequest,
    Promotion,
};
use crate::address::Address;
use crate::error::{Error, Result};
use crate::money::{Currency, Money};
use crate::shipping::ShippingMethod;
use crate::tax::TaxTable;

/// Runs every step of pricing.
pub(super) fn price(request: &PricingRequest<'_>) -> Result<PriceBreakdown> {
    let currency = request.currency;
    validate_lines(currency, request.lines)?;
    validate_promotions(currency, request.promotions)?;

    let subtotals = request
        .lines
        .iter()
        .map(|l| l.unit_price.checked_mul_qty(u64::from(l.quantity)))
        .collect::<Result<Vec<_>>>()?;
    let discounts = apply_promotions(currency, request.lines, &subtotals, request.promotions)?;

    let table = request.tax;
    let mut lines = Vec::with_capacity(request.lines.len());
    for ((line, subtotal), discount) in request.lines.iter().zip(&subtotals).zip(&discounts.lines) {
        let net = subtotal.checked_sub(*discount)?;
        let rate = match request.destination {
            Some(to) => table.rate_for(to.country, to.region.as_deref(), &line.tax_class),
            None => Decimal::ZERO,
        };
        let tax = tax_on(net, rate, table)?;
        let total = if table.prices_include_tax {
            net
        } else {
            net.checked_add(tax)?
        };
        lines.push(PricedLine {
            sku: line.sku.clone(),
            name: line.name.clone(),
            quantity: line.quantity,
            unit_price: line.unit_price,
            subtotal: *subtotal,
            discount: *discount,
            tax,
            tax_rate: rate,
            total,
        });
    }

    let subtotal = Money::sum(currency, lines.iter().map(|l| l.subtotal))?;
    let discount_total = Money::sum(currency, lines.iter().map(|l| l.discount))?;
    let goods_net = subtotal.checked_sub(discount_total)?;
    let line_tax = Money::sum(currency, lines.iter().map(|l| l.tax))?;

    let (shipping_total, shipping_tax) = match (request.destination, request.shipping) {
        (Some(to), Some(method)) => {
            let cost = shipping_cost(currency, method, to, request.lines, goods_net)?;
            let cost = if discounts.free_shipping {
                Money::zero(currency)
            } else {
                cost
            };
            let tax = match &table.shipping_tax_class {
                Some(class) => tax_on(
                    cost,
                    table.rate_for(to.country, to.region.as_deref(), class),
                    table,
                )?,
                None => Money::zero(currency),
            };
            (cost, tax)
        }
        _ => (Money::zero(currency), Money::zero(currency)),
    };

    let tax_total = line_tax.checked_add(shipping_tax)?;
    let mut grand_total = goods_net.checked_add(shipping_total)?;
    if !table.prices_include_tax {
        grand_total = grand_total.checked_add(tax_total)?;
    }

    Ok(PriceBreakdown {
        currency,
        prices_include_tax: table.prices_include_tax,
        lines,
        subtotal,
        discount_total,
        shipping_total,
        shipping_tax,
        tax_total,
        grand_total,
        applied_promotions: discounts.applied,
    })
}

fn same_currency(expected: Currency, money: &Money) -> Result<()> {
    if money.currency() != expected {
        return Err(Error::CurrencyMismatch {
            expected,
            found: money.currency(),
        });
    }
    Ok(())
}

/// An amount that must be a non-negative whole number of minor units.
fn check_price(what: &str, money: &Money) -> Result<()> {
    if money.is_negative() || !money.is_rounded() {
        return Err(Error::InvalidAmount(format!(
            "{what} must be non-negative and in minor units, got {money:?}"
        )));
    }
    Ok(())
}

fn validate_lines(currency: Currency, lines: &[PricingLine]) -> Result<()> {
    let mut seen = HashSet::with_capacity(lines.len());
    for line in lines {
        same_currency(currency, &line.unit_price)?;
        check_price(&format!("unit price of {}", line.sku), &line.unit_price)?;
        if line.quantity == 0 {
            return Err(Error::validation(
                "quantity",
                format!("quantity of {} must be at least 1", line.sku),
            ));
        }
        if !seen.insert(&line.sku) {
            return Err(Error::validation(
                "lines",
                format!("sku {} appears on more than one line", line.sku),
            ));
        }
    }
    Ok(())
}

fn validate_promotions(currency: Currency, promotions: &[Promotion]) -> Result<()> {
    let mut codes = HashSet::with_capacity(promotions.len());
    for promo in promotions {
        if !codes.insert(promo.code.as_str()) {
            return Err(Error::validation(
                "promotions",
                format!("promotion {} is applied twice", promo.code),
            ));
        }
        if let Some(min) = &promo.min_subtotal {
            same_currency(currency, min)?;
            check_price(&format!("minimum subtotal of {}", promo.code), min)?;
        }
        match &promo.kind {
            DiscountKind::Percentage { percent } => {
                if *percent <= Decimal::ZERO || *percent > Decimal::ONE_HUNDRED {
                    return Err(Error::validation(
                        "promotions",
                        format!(
                            "percent of {} must be in (0, 100], got {percent}",
                            promo.code
                        ),
                    ));
                }
            }
            DiscountKind::Fixed { amount } => {
                same_currency(currency, amount)?;
                check_price(&format!("amount of {}", promo.code), amount)?;
                if amount.is_zero() {
                    return Err(Error::InvalidAmount(format!(
                        "amount of {} must be above zero",
                        promo.code
                    )));
                }
            }
            DiscountKind::FreeShipping => {}
        }
    }
    Ok(())
}

/// The effect of the promotions on a cart.
struct Discounts {
    /// Discount per line, in input order.
    lines: Vec<Money>,
    /// Whether a free-shipping promotion applied.
    free_shipping: bool,
    /// Codes of the promotions that applied.
    applied: Vec<String>,
}

/// Applies `promotions` in order. Each sees the line amounts left by the ones before
/// it; its discount is allocated across its eligible lines in proportion to those
/// amounts, so no line is ever discounted below zero.
fn apply_promotions(
    currency: Currency,
    lines: &[PricingLine],
    subtotals: &[Money],
    promotions: &[Promotion],
) -> Result<Discounts> {
    let mut discount = vec![Money::zero(currency); lines.len()];
    let mut free_shipping = false;
    let mut applied = Vec::new();
    for promo in promotions {
        let eligible: Vec<usize> = (0..lines.len())
            .filter(|&i| {
                promo
                    .skus
                    .as_ref()
                    .is_none_or(|skus| skus.contains(&lines[i].sku))
            })
            .collect();
        if eligible.is_empty() {
            continue;
        }
        let remaining = eligible
            .iter()
            .map(|&i| subtotals[i].checked_sub(discount[i]))
            .collect::<Result<Vec<_>>>()?;
        let base = Money::sum(currency, remaining.iter().copied())?;
        if let Some(min) = &promo.min_subtotal
            && base.checked_cmp(min)?.is_lt()
        {
            continue;
        }
        let off = match &promo.kind {
            DiscountKind::FreeShipping => {
                free_shipping = true;
                applied.push(promo.code.clone());
                continue;
            }
            DiscountKind::Percentage { percent } => {
                let fraction = percent
                    .checked_div(Decimal::ONE_HUNDRED)
                    .ok_or(Error::Overflow)?;
                base.checked_mul_rate(fraction)?.round(DEFAULT_ROUNDING)
            }
            DiscountKind::Fixed { amount } => amount.min(base)?,
        };
        if off.is_zero() {
            continue;
        }
        let weights: Vec<Decimal> = remaining.iter().map(Money::amount).collect();
        let shares = off.allocate(&weights)?;
        for (&i, share) in eligible.iter().zip(shares) {
            discount[i] = discount[i].checked_add(share)?;
        }
        applied.push(promo.code.clone());
    }
    Ok(Discounts {
        lines: discount,
        free_shipping,
        applied,
    })
}

/// Tax contained in (inclusive) or due on (exclusive) `amount` at `rate`, rounded to
/// the minor unit with the table's rounding.
fn tax_on(amount: Money, rate: Decimal, table: &TaxTable) -> Result<Money> {
    if rate.is_zero() || amount.is_zero() {
        return Ok(Money::zero(amount.currency()));
    }
    let tax = if table.prices_include_tax {
        let divisor = Decimal::ONE.checked_add(rate).ok_or(Error::Overflow)?;
        let net = amount
            .amount()
            .checked_div(divisor)
            .ok_or(Error::Overflow)?;
        amount.checked_sub(Money::new_unrounded(net, amount.currency()))?
    } else {
        amount.checked_mul_rate(rate)?
    };
    Ok(tax.round(table.rounding))
}

/// What shipping `lines` to `to` with `method` costs before shipping promotions:
/// `NotServiceable` when the method does not deliver there or no tier is heavy
/// enough; zero from the method's free-shipping threshold on.
fn shipping_cost(
    currency: Currency,
    method: &ShippingMethod,
    to: &Address,
    lines: &[PricingLine],
    goods_net: Money,
) -> Result<Money> {
    for tier in &method.tiers {
        same_currency(currency, &tier.price)?;
        check_price(&format!("shipping rate of {}", method.code), &tier.price)?;
    }
    if let Some(free_over) = &method.free_over {
        same_currency(currency, free_over)?;
    }
    if !method.serves(to) {
        let region = to
            .region
            .as_deref()
            .map(|r| format!("/{r}"))
            .unwrap_or_default();
        return Err(Error::NotServiceable(format!(
            "shipping method {} does not deliver to {}{region}",
            method.code, to.country
        )));
    }
    let weight = lines.iter().try_fold(0_u64, |acc, l| {
        u64::from(l.weight_grams)
            .checked_mul(u64::from(l.quantity))
            .and_then(|w| acc.checked_add(w))
            .ok_or(Error::Overflow)
    })?;
    let rate = method.rate_for_weight(weight)?;
    let free = match &method.free_over {
        Some(threshold) => goods_net.checked_cmp(threshold)?.is_ge(),
        None => false,
    };
    Ok(if free { Money::zero(currency) } else { rate })
}
