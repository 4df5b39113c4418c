//! The priced view of a cart: one batched catalog read for all lines, then the pure
//! `commerce-core` pricing function.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use commerce_core::ports::CatalogStore;
use commerce_core::pricing::{self, PriceBreakdown, PricingLine, PricingRequest, Promotion};
use commerce_core::{
    Address, Currency, ProductStatus, SellerId, ShippingMethod, Sku, SkuListing, TaxTable,
};

use crate::error::{Error, Result};
use crate::model::Cart;

/// Everything besides the cart and the catalog that a price depends on.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct PricingContext<'a> {
    /// Currency of the shop; every catalog price must be in it.
    pub currency: Currency,
    /// Promotions to apply, in order.
    pub promotions: &'a [Promotion],
    /// Tax rates and whether prices include tax.
    pub tax: &'a TaxTable,
    /// Where the goods go; `None` prices without tax and shipping.
    pub destination: Option<&'a Address>,
    /// Chosen shipping method; `None` prices without shipping.
    pub shipping: Option<&'a ShippingMethod>,
}

impl<'a> PricingContext<'a> {
    /// A context with no promotions, destination or shipping method (a cart preview).
    pub fn new(currency: Currency, tax: &'a TaxTable) -> Self {
        PricingContext {
            currency,
            promotions: &[],
            tax,
            destination: None,
            shipping: None,
        }
    }

    /// With these promotions.
    #[must_use]
    pub fn with_promotions(mut self, promotions: &'a [Promotion]) -> Self {
        self.promotions = promotions;
        self
    }

    /// With a destination address (enables tax and shipping).
    #[must_use]
    pub fn with_destination(mut self, destination: &'a Address) -> Self {
        self.destination = Some(destination);
        self
    }

    /// With a shipping method.
    #[must_use]
    pub fn with_shipping(mut self, shipping: &'a ShippingMethod) -> Self {
        self.shipping = Some(shipping);
        self
    }
}

/// A cart with its price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PricedCart {
    /// The cart as priced.
    pub cart: Cart,
    /// Lines, discounts, tax, shipping and totals, lines in the cart's (SKU) order.
    pub breakdown: PriceBreakdown,
    /// The seller of each line's product (order lines snapshot it, so a seller can
    /// be shown and ship only their own lines).
    pub sellers: HashMap<Sku, SellerId>,
}

impl PricedCart {
    /// `cart` priced as `breakdown`, with the seller of each line's product.
    #[must_use]
    pub fn new(cart: Cart, breakdown: PriceBreakdown, sellers: HashMap<Sku, SellerId>) -> Self {
        PricedCart {
            cart,
            breakdown,
            sellers,
        }
    }
}

/// Prices `cart` with current catalog prices, reading the listings of all its lines
/// in one [`CatalogStore::listings`] call (none for an empty cart).
///
/// Errors: `UnknownSku` / `NotPurchasable` for the first line (in SKU order) whose SKU
/// is gone from the catalog or whose product is not `Active`; `Backend` when the
/// catalog read fails; `Pricing` for what [`pricing::price`] rejects (a price in
/// another currency, a destination the shipping method does not serve, ...).
pub async fn price_cart(
    cart: &Cart,
    catalog: &dyn CatalogStore,
    context: &PricingContext<'_>,
) -> Result<PricedCart> {
    let listings = if cart.is_empty() {
        Vec::new()
    } else {
        let skus: Vec<Sku> = cart.lines.iter().map(|l| l.sku.clone()).collect();
        catalog.listings(&skus).await?
    };
    let lines = pricing_lines(cart, &listings)?;
    let request = PricingRequest::new(context.currency, &lines, context.tax)
        .with_promotions(context.promotions)
        .with_destination(context.destination)
        .with_shipping(context.shipping);
    let breakdown = pricing::price(&request).map_err(Error::Pricing)?;
    let sellers = listings
        .iter()
        .map(|l| (l.variant.sku.clone(), l.seller_id))
        .collect();
    Ok(PricedCart {
        cart: cart.clone(),
        breakdown,
        sellers,
    })
}

/// The pricing lines of `cart` from `listings` (read beforehand in one batch), in the
/// cart's order. Checkout uses it to price and snapshot from the listings it already
/// read. `UnknownSku` / `NotPurchasable` as for [`price_cart`].
pub fn pricing_lines(cart: &Cart, listings: &[SkuListing]) -> Result<Vec<PricingLine>> {
    let by_sku: HashMap<&Sku, &SkuListing> = listings.iter().map(|l| (&l.variant.sku, l)).collect();
    cart.lines
        .iter()
        .map(|line| {
            let listing = by_sku.get(&line.sku).ok_or_else(|| Error::UnknownSku {
                sku: line.sku.clone(),
            })?;
            if listing.status != ProductStatus::Active {
                return Err(Error::NotPurchasable {
                    sku: line.sku.clone(),
                    status: listing.status,
                });
            }
            Ok(PricingLine::new(
                line.sku.clone(),
                line_name(listing),
                listing.variant.price,
                line.quantity,
            )
            .with_tax_class(listing.variant.tax_class.clone())
            .with_weight_grams(listing.variant.weight_grams))
        })
        .collect()
}

/// "Product title - Variant name", or the title alone for an unnamed variant.
fn line_name(listing: &SkuListing) -> String {
    let variant = listing.variant.name.trim();
    if variant.is_empty() {
        listing.product_title.clone()
    } else {
        format!("{} - {variant}", listing.product_title)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CartKey, CartLimits};
    use chrono::Utc;
    use commerce_core::{CustomerId, Money, ProductId, SellerId, TaxClass, Variant};

    fn sku(s: &str) -> Sku {
        Sku::new(s).unwrap()
    }

    fn listing(s: &str, variant: &str, status: ProductStatus) -> SkuListing {
        SkuListing {
            variant: Variant::builder(sku(s), Money::from_minor(1999, Currency::USD))
                .name(variant)
                .weight_grams(250)
                .tax_class(TaxClass::standard())
                .build(ProductId::new()),
            product_title: "T-shirt".to_owned(),
            status,
            seller_id: SellerId::new(),
        }
    }

    fn cart(skus: &[&str]) -> Cart {
        let mut c = Cart::empty(CartKey::Customer(CustomerId::new()), Utc::now());
        for s in skus {
            c.add_units(&sku(s), 2, CartLimits::default()).unwrap();
        }
        c
    }

    #[test]
    fn lines_carry_name_price_quantity_and_weight() {
        let listings = [
            listing("B", "", ProductStatus::Active),
            listing("A", "Red / M", ProductStatus::Active),
        ];
        let lines = pricing_lines(&cart(&["A", "B"]), &listings).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].sku, sku("A"));
        assert_eq!(lines[0].name, "T-shirt - Red / M");
        assert_eq!(lines[1].name, "T-shirt");
        assert_eq!(lines[0].quantity, 2);
        assert_eq!(lines[0].unit_price, Money::from_minor(1999, Currency::USD));
        assert_eq!(lines[0].weight_grams, 250);
    }

    #[test]
    fn unknown_and_inactive_skus_are_named() {
        let listings = [
            listing("A", "", ProductStatus::Active),
            listing("C", "", ProductStatus::Archived),
        ];
        match pricing_lines(&cart(&["A", "B", "C"]), &listings) {
            Err(Error::UnknownSku { sku: s }) => assert_eq!(s, sku("B")),
            other => panic!("expected UnknownSku, got {other:?}"),
        }
        match pricing_lines(&cart(&["A", "C"]), &listings) {
            Err(Error::NotPurchasable { sku: s, status }) => {
                assert_eq!(s, sku("C"));
                assert_eq!(status, ProductStatus::Archived);
            }
            other => panic!("expected NotPurchasable, got {other:?}"),
        }
    }
}
