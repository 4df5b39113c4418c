//! The caller's cart priced for an address: tax for that address, every shipping
//! option (the shop's zone/weight table and the carriers' quotes) with its price for
//! this cart, cheapest and fastest marked, and the totals with the chosen option.
//! Checkout takes the chosen option's `code` as `shipping_method`; the order
//! snapshots it.
//!
//! Queries per request: 2 (the cart, the listings of all its lines in one read),
//! plus one rate request per configured carrier, whatever the cart size.

use axum::extract::State;
use commerce::orders::ShippingQuote;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller};
use crate::routes::checkout::AddressBody;
use crate::state::AppState;
use crate::views::{CartView, MoneyView, ShippingOptionView, cart_view};

/// Where the cart would go, and optionally how.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    /// The shipping address.
    pub shipping_address: AddressBody,
    /// A shipping option's `code` to price the totals with.
    #[serde(default)]
    pub shipping_method: Option<String>,
    /// Promotion codes.
    #[serde(default)]
    pub promo_codes: Vec<String>,
}

/// One way to ship the cart there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingQuoteView {
    /// Send as `shipping_method` at checkout (`standard`, `ups:ground`).
    pub code: String,
    /// Name.
    pub name: String,
    /// Shipping for this cart with this option.
    pub price: MoneyView,
    /// Business days in transit, when a carrier quoted them.
    pub transit_days: Option<u32>,
    /// Carrier code (`fedex`, `ups`, `dhl`) of a carrier option.
    pub carrier: Option<String>,
    /// Service level of a carrier option (`ground`, `express`, `overnight`).
    pub service: Option<String>,
    /// The cheapest option.
    pub cheapest: bool,
    /// The fastest option (of those with a transit time).
    pub fastest: bool,
}

impl From<&ShippingQuote> for ShippingQuoteView {
    fn from(q: &ShippingQuote) -> Self {
        ShippingQuoteView {
            code: q.code.clone(),
            name: q.name.clone(),
            price: q.price.into(),
            transit_days: q.transit_days,
            carrier: q.carrier.map(|c| c.as_str().to_owned()),
            service: q.service.map(|s| s.as_str().to_owned()),
            cheapest: q.cheapest,
            fastest: q.fastest,
        }
    }
}

/// The cart priced for an address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartQuoteView {
    /// The cart with tax for the address and the chosen option's shipping.
    pub cart: CartView,
    /// The chosen option's code, if one was sent.
    pub shipping_method: Option<String>,
    /// Every option serving the address, cheapest first.
    pub shipping_options: Vec<ShippingQuoteView>,
}

/// Prices the caller's cart for an address: tax there, the shipping options with
/// their prices (cheapest and fastest marked) and the totals with the chosen one.
/// An unknown `shipping_method` is 422.
#[utoipa::path(post, path = "/v1/cart/quote", tag = "cart", request_body = QuoteBody,
    responses((status = 200, body = CartQuoteView), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn quote(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<QuoteBody>,
) -> Result<ApiJson<CartQuoteView>, ApiError> {
    caller.cart()?;
    let actor = caller.actor()?;
    if body.promo_codes.len() > 10 {
        return Err(ApiError::validation("promo_codes", "at most 10 codes"));
    }
    let address = body.shipping_address.into_address()?;
    let quote = state
        .shop
        .checkout()
        .quote(
            &actor,
            &address,
            body.shipping_method.as_deref(),
            &body.promo_codes,
        )
        .await?;
    let options: Vec<ShippingQuoteView> =
        quote.options.iter().map(ShippingQuoteView::from).collect();
    let names = options
        .iter()
        .map(|o| ShippingOptionView {
            code: o.code.clone(),
            name: o.name.clone(),
        })
        .collect();
    Ok(ApiJson(CartQuoteView {
        cart: cart_view(&quote.priced, names),
        shipping_method: quote.shipping_method,
        shipping_options: options,
    }))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(quote))
}
