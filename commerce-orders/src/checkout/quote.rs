//! The priced cart for a chosen address: tax for that address, every shipping option
//! that serves it (the zone/weight table and the carriers' quotes) with its price,
//! cheapest and fastest marked, and the totals with the chosen option.

use std::collections::HashMap;

use serde::Serialize;

use commerce_cart::pricing::pricing_lines;
use commerce_cart::{CartKey, PricedCart};
use commerce_core::pricing::{self, PriceBreakdown, PricingLine, PricingRequest};
use commerce_core::shipping::{ShippingZone, WeightTier};
use commerce_core::{Actor, Address, Money, ShippingMethod};

use crate::carrier::{CarrierCode, Parcel, RateQuote, ServiceLevel};
use crate::error::{Error, Result};

use super::Checkout;

/// One way to ship the cart to the address, priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ShippingQuote {
    /// The code to send as `CheckoutRequest::shipping_method` (`standard`,
    /// `ups:ground`).
    pub code: String,
    /// Name shown to people.
    pub name: String,
    /// What shipping costs for this cart with this option (after free-shipping
    /// thresholds and promotions; tax included when prices include tax).
    pub price: Money,
    /// Business days in transit, when a carrier quoted them.
    pub transit_days: Option<u32>,
    /// The carrier, for a carrier option.
    pub carrier: Option<CarrierCode>,
    /// The service level, for a carrier option.
    pub service: Option<ServiceLevel>,
    /// The cheapest option (ties: the faster one).
    pub cheapest: bool,
    /// The fastest option of those with a transit time (ties: the cheaper one).
    pub fastest: bool,
}

/// The cart priced for an address ([`Checkout::quote`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CartQuote {
    /// The cart priced with tax for the address and, when one was chosen, its
    /// shipping option.
    pub priced: PricedCart,
    /// The chosen option's code, if any.
    pub shipping_method: Option<String>,
    /// Every option serving the address, cheapest first.
    pub options: Vec<ShippingQuote>,
}

impl Checkout {
    /// The caller's cart priced for `destination` (see the module docs): tax for the
    /// address, the shipping options of the table and of the configured carriers
    /// with their price for this cart, and the totals with `shipping_method` when
    /// given (`UnknownShippingMethod` when it is not one of the options).
    ///
    /// One cart read and one batched listings read whatever the cart size (plus one
    /// rate request per carrier). An empty cart prices to zero with no options.
    /// `UnknownPromotion` for a code not configured; `Forbidden` for an actor
    /// without a cart (sellers, staff).
    pub async fn quote(
        &self,
        actor: &Actor,
        destination: &Address,
        shipping_method: Option<&str>,
        promo_codes: &[String],
    ) -> Result<CartQuote> {
        destination.validate()?;
        let key = CartKey::of(actor).ok_or(Error::Forbidden("only shoppers have a cart"))?;
        let tables = self.pricing.current().await?;
        let promotions = crate::pricing_tables::PricingTablesService::chosen_promotions(
            &tables,
            promo_codes,
            self.clock.now(),
        )?;
        let cart = self
            .carts
            .cart(&key)
            .await?
            .unwrap_or_else(|| commerce_cart::Cart::empty(key, self.clock.now()));
        let listings = if cart.is_empty() {
            Vec::new()
        } else {
            let skus: Vec<_> = cart.lines.iter().map(|l| l.sku.clone()).collect();
            self.catalog.listings(&skus).await?
        };
        let lines = pricing_lines(&cart, &listings)?;
        let sellers: HashMap<_, _> = listings
            .iter()
            .map(|l| (l.variant.sku.clone(), l.seller_id))
            .collect();
        let price_with = |method: Option<&ShippingMethod>| -> Result<PriceBreakdown> {
            Ok(pricing::price(
                &PricingRequest::new(self.config.currency, &lines, &tables.tax)
                    .with_promotions(&promotions)
                    .with_destination(destination)
                    .with_shipping(method),
            )?)
        };
        let mut methods: Vec<(ShippingMethod, Option<RateQuote>)> = Vec::new();
        if !lines.is_empty() {
            methods.extend(
                tables
                    .shipping_methods
                    .iter()
                    .filter(|m| m.serves(destination))
                    .map(|m| (m.clone(), None)),
            );
            if let Some(carriers) = self.carriers.as_deref() {
                let parcel = parcel_of(&lines)?;
                // A destination no carrier serves leaves the table's options.
                if let Ok(options) = carriers
                    .options(destination, parcel, self.config.currency)
                    .await
                {
                    methods.extend(options.options.into_iter().map(|o| {
                        let method = carrier_method(&o.quote, destination);
                        (method, Some(o.quote))
                    }));
                }
            }
        }
        let mut options = Vec::with_capacity(methods.len());
        let mut chosen = None;
        for (method, quote) in &methods {
            // A table method without a tier for this weight is not an option.
            let Ok(breakdown) = price_with(Some(method)) else {
                continue;
            };
            if shipping_method == Some(method.code.as_str()) {
                chosen = Some(breakdown.clone());
            }
            options.push(ShippingQuote {
                code: method.code.clone(),
                name: method.name.clone(),
                price: breakdown.shipping_total,
                transit_days: quote.as_ref().map(|q| q.transit_days),
                carrier: quote.as_ref().map(|q| q.carrier),
                service: quote.as_ref().map(|q| q.service),
                cheapest: false,
                fastest: false,
            });
        }
        let breakdown = match (shipping_method, chosen) {
            (None, _) => price_with(None)?,
            (Some(_), Some(b)) => b,
            (Some(code), None) => return Err(Error::UnknownShippingMethod(code.to_owned())),
        };
        mark(&mut options);
        Ok(CartQuote {
            priced: PricedCart::new(cart, breakdown, sellers),
            shipping_method: shipping_method.map(str::to_owned),
            options,
        })
    }
}

/// The parcel of `lines`: their total weight in the standard box.
fn parcel_of(lines: &[PricingLine]) -> Result<Parcel> {
    let grams = lines.iter().try_fold(0u64, |sum, l| {
        sum.checked_add(u64::from(l.weight_grams) * u64::from(l.quantity))
    });
    let grams = grams
        .and_then(|g| u32::try_from(g.max(1)).ok())
        .ok_or_else(|| Error::validation("weight", "too heavy for one parcel"))?;
    Ok(Parcel::standard_box(grams))
}

/// The shipping method standing for a carrier quote (one open tier at its price), as
/// checkout builds it.
pub(super) fn carrier_method(quote: &RateQuote, destination: &Address) -> ShippingMethod {
    ShippingMethod {
        code: quote.option_code(),
        name: quote.display_name(),
        zones: vec![ShippingZone {
            country: destination.country,
            regions: Vec::new(),
        }],
        tiers: vec![WeightTier {
            max_grams: None,
            price: quote.price,
        }],
        free_over: None,
    }
}

/// Sorts `options` by price (then transit days, then code) and marks the cheapest and
/// the fastest.
fn mark(options: &mut [ShippingQuote]) {
    options.sort_by(|a, b| {
        a.price
            .amount()
            .cmp(&b.price.amount())
            .then(
                a.transit_days
                    .unwrap_or(u32::MAX)
                    .cmp(&b.transit_days.unwrap_or(u32::MAX)),
            )
            .then(a.code.cmp(&b.code))
    });
    if let Some(first) = options.first_mut() {
        first.cheapest = true;
    }
    let fastest = options
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.transit_days.map(|d| (i, d, o.price.amount())))
        .min_by(|a, b| a.1.cmp(&b.1).then(a.2.cmp(&b.2)))
        .map(|(i, _, _)| i);
    if let Some(i) = fastest {
        options[i].fastest = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commerce_core::Currency;

    fn option(code: &str, minor: i64, days: Option<u32>) -> ShippingQuote {
        ShippingQuote {
            code: code.to_owned(),
            name: code.to_owned(),
            price: Money::from_minor(minor, Currency::USD),
            transit_days: days,
            carrier: None,
            service: None,
            cheapest: false,
            fastest: false,
        }
    }

    #[test]
    fn quote_marks_the_cheapest_and_the_fastest_with_a_transit_time() {
        let mut options = vec![
            option("ups:overnight", 4000, Some(1)),
            option("standard", 500, None),
            option("fedex:overnight", 3900, Some(1)),
            option("ups:ground", 900, Some(4)),
        ];
        mark(&mut options);
        let codes: Vec<_> = options.iter().map(|o| o.code.as_str()).collect();
        assert_eq!(
            codes,
            ["standard", "ups:ground", "fedex:overnight", "ups:overnight"]
        );
        assert!(options[0].cheapest && !options[0].fastest);
        assert!(options[2].fastest && !options[2].cheapest);
        assert_eq!(options.iter().filter(|o| o.cheapest).count(), 1);
        assert_eq!(options.iter().filter(|o| o.fastest).count(), 1);
    }
}
