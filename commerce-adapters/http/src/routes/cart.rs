//! The cart of the caller: a guest's (by cart token) or a signed-in customer's.
//!
//! Queries per request: view 2 (cart, listings of all its lines in one read);
//! add 3 (listing of the SKU, the atomic add, listings for the view); set 2 or 3;
//! remove and clear 1 or 2; merge 3. None grows with the number of lines.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use commerce::cart::{Cart, CartKey, CartLimits, PricingContext, price_cart};
use commerce::core::actor::GuestCartToken;
use commerce::core::{ProductStatus, Sku};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, CART_COOKIE, Caller, set_cookie};
use crate::state::AppState;
use crate::views::{CartView, ShippingOptionView, cart_view};

/// A new guest cart token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CartToken {
    /// Send it back as the `X-Cart-Token` header (it is also set as an HttpOnly
    /// cookie). It is a secret: whoever holds it holds the cart.
    pub cart_token: String,
}

/// Creates a guest cart token (the cart itself exists once it has a line).
#[utoipa::path(post, path = "/v1/cart", tag = "cart", responses(
    (status = 201, body = CartToken), (status = 503, body = ErrorBody)))]
async fn create_cart(State(state): State<AppState>) -> Result<Response, ApiError> {
    let token = GuestCartToken::generate()?;
    let cookie = set_cookie(
        CART_COOKIE,
        token.as_str(),
        state.config.cart_ttl,
        state.config.secure_cookies,
    );
    let mut response = (
        StatusCode::CREATED,
        ApiJson(CartToken {
            cart_token: token.as_str().to_owned(),
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Prices `cart` (or an empty cart of `key`) with the shop's configuration.
pub(crate) async fn priced_view(
    state: &AppState,
    key: CartKey,
    cart: Option<Cart>,
) -> Result<CartView, ApiError> {
    let shop = &state.shop;
    let config = shop.checkout().config();
    let cart = cart.unwrap_or_else(|| Cart::empty(key, shop.clock().now()));
    // The tables admins keep (cached; see commerce_orders::pricing_tables).
    let tables = shop.pricing_tables().current().await?;
    let promotions = tables.promotions_at(shop.clock().now());
    let context = PricingContext::new(config.currency, &tables.tax).with_promotions(&promotions);
    let priced = price_cart(&cart, shop.catalog().as_ref(), &context).await?;
    let options = tables
        .shipping_methods
        .iter()
        .map(|m| ShippingOptionView {
            code: m.code.clone(),
            name: m.name.clone(),
        })
        .collect();
    Ok(cart_view(&priced, options))
}

/// The caller's cart, priced.
#[utoipa::path(get, path = "/v1/cart", tag = "cart", responses(
    (status = 200, body = CartView), (status = 401, body = ErrorBody)))]
async fn get_cart(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<CartView>, ApiError> {
    let key = caller.cart()?;
    let cart = state.shop.carts().cart(&key).await?;
    Ok(ApiJson(priced_view(&state, key, cart).await?))
}

/// Empties the caller's cart.
#[utoipa::path(delete, path = "/v1/cart", tag = "cart", responses(
    (status = 200, body = CartView), (status = 401, body = ErrorBody)))]
async fn clear_cart(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<CartView>, ApiError> {
    let key = caller.cart()?;
    state.shop.carts().clear(&key).await?;
    Ok(ApiJson(priced_view(&state, key, None).await?))
}

/// A line to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItem {
    /// SKU of an active product.
    pub sku: String,
    /// Units to add, 1 to the cart's per-line limit.
    pub quantity: u32,
}

/// A new quantity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetQuantity {
    /// Units, 0 (removes the line) to the cart's per-line limit.
    pub quantity: u32,
}

/// Checks `sku` names an active product: 404 `unknown_sku`, 409 `not_purchasable`.
async fn purchasable(state: &AppState, sku: &Sku) -> Result<(), ApiError> {
    let listing = state
        .shop
        .catalog()
        .listings(std::slice::from_ref(sku))
        .await?;
    match listing.first() {
        None => Err(commerce::cart::Error::UnknownSku { sku: sku.clone() }.into()),
        Some(l) if l.status != ProductStatus::Active => {
            Err(commerce::cart::Error::NotPurchasable {
                sku: sku.clone(),
                status: l.status,
            }
            .into())
        }
        Some(_) => Ok(()),
    }
}

fn parse_sku(raw: &str) -> Result<Sku, ApiError> {
    Sku::new(raw).map_err(ApiError::from)
}

/// Adds units of a SKU (summed with a line already there).
#[utoipa::path(post, path = "/v1/cart/items", tag = "cart", request_body = AddItem, responses(
    (status = 200, body = CartView), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_item(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<AddItem>,
) -> Result<ApiJson<CartView>, ApiError> {
    let key = caller.cart()?;
    let sku = parse_sku(&body.sku)?;
    if body.quantity == 0 {
        return Err(ApiError::validation("quantity", "must be at least 1"));
    }
    purchasable(&state, &sku).await?;
    let now = state.shop.clock().now();
    let cart = state
        .shop
        .carts()
        .add(&key, &sku, body.quantity, CartLimits::default(), now)
        .await?;
    Ok(ApiJson(priced_view(&state, key, Some(cart)).await?))
}

/// Sets the quantity of a line (0 removes it).
#[utoipa::path(put, path = "/v1/cart/items/{sku}", tag = "cart", request_body = SetQuantity,
    params(("sku" = String, Path, description = "SKU")), responses(
    (status = 200, body = CartView), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_item(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(sku): ApiPath<String>,
    ApiJson(body): ApiJson<SetQuantity>,
) -> Result<ApiJson<CartView>, ApiError> {
    let key = caller.cart()?;
    let sku = parse_sku(&sku)?;
    if body.quantity > 0 {
        purchasable(&state, &sku).await?;
    }
    let now = state.shop.clock().now();
    let cart = state
        .shop
        .carts()
        .set_quantity(&key, &sku, body.quantity, CartLimits::default(), now)
        .await?;
    Ok(ApiJson(priced_view(&state, key, Some(cart)).await?))
}

/// Removes a line (no-op when absent).
#[utoipa::path(delete, path = "/v1/cart/items/{sku}", tag = "cart",
    params(("sku" = String, Path, description = "SKU")), responses(
    (status = 200, body = CartView), (status = 401, body = ErrorBody),
    (status = 422, body = ErrorBody)))]
async fn remove_item(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(sku): ApiPath<String>,
) -> Result<ApiJson<CartView>, ApiError> {
    let key = caller.cart()?;
    let sku = parse_sku(&sku)?;
    let now = state.shop.clock().now();
    let cart = state.shop.carts().remove(&key, &sku, now).await?;
    Ok(ApiJson(priced_view(&state, key, Some(cart)).await?))
}

/// Moves the guest cart of the token sent into the signed-in customer's cart
/// (quantities summed, capped at the limits); the guest cart is gone after.
#[utoipa::path(post, path = "/v1/cart/merge", tag = "cart", responses(
    (status = 200, body = CartView), (status = 401, body = ErrorBody),
    (status = 422, body = ErrorBody)))]
async fn merge_cart(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<ApiJson<CartView>, ApiError> {
    let customer = caller.customer()?;
    let token = caller
        .cart_token
        .as_ref()
        .ok_or_else(|| ApiError::validation("cart_token", "send the guest cart token to merge"))?;
    let into = CartKey::Customer(customer);
    let now = state.shop.clock().now();
    let outcome = state
        .shop
        .carts()
        .merge(
            &CartKey::Guest(token.cart_id()),
            &into,
            CartLimits::default(),
            now,
        )
        .await?;
    Ok(ApiJson(
        priced_view(&state, into, Some(outcome.cart)).await?,
    ))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_cart, get_cart, clear_cart))
        .routes(routes!(add_item))
        .routes(routes!(set_item, remove_item))
        .routes(routes!(merge_cart))
}
