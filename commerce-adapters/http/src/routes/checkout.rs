//! Checkout: turns the caller's cart into an order, once per `Idempotency-Key`.
//!
//! Queries per request: as the checkout service (a fixed number of store calls
//! whatever the cart size: one cart read, one batched listings read, one atomic
//! place-and-reserve, one atomic commit-and-confirm). With a usage-limited promotion
//! code the place step is one transaction of five statements on PostgreSQL (the
//! order, the codes' locks, the count, the redemptions), whatever the number of
//! codes; a used-up code is 422 `promotion_exhausted`.
//!
//! A checkout whose payment answer did not come in time (the gateway timed out, or
//! the connection dropped after it charged) leaves its order `pending_payment` for
//! the recovery pass. It answers **202 Accepted** with the order as it is, a
//! `Location` (`/v1/checkout/{key}`) and a `Retry-After`; the same buyer (a
//! customer, or a guest through the same cart token) polls that location, and
//! retries of the POST with the same key answer the current state too. Another
//! buyer polling the key gets 404: keys are scoped to the buyer in the domain
//! ([`commerce::orders::Checkout::order_by_key`]).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use commerce::core::{Address, CountryCode};
use commerce::orders::{CheckoutRequest, IdempotencyKey, Order, OrderStatus, PaymentMethod};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Caller, IdempotencyKeyHeader};
use crate::state::AppState;
use crate::views::OrderView;

/// A postal address.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    /// Recipient name.
    pub name: String,
    /// First line.
    pub line1: String,
    /// Second line.
    #[serde(default)]
    pub line2: Option<String>,
    /// City.
    pub city: String,
    /// Region code, where the country has them.
    #[serde(default)]
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
}

impl AddressBody {
    /// The domain address, validated (country code, required lines, lengths).
    pub fn into_address(self) -> Result<Address, ApiError> {
        let mut address = Address::new(
            self.name,
            self.line1,
            self.city,
            self.postal_code,
            CountryCode::new(&self.country)?,
        );
        address.line2 = self.line2;
        address.region = self.region;
        address.phone = self.phone;
        address.validate()?;
        Ok(address)
    }
}

/// How to pay. Store credit is the signed-in customer's own.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaymentBody {
    /// A card.
    Card {
        /// Number, digits (spaces ignored).
        number: String,
        /// Expiry month, 1 to 12.
        expiry_month: u8,
        /// Expiry year, four digits.
        expiry_year: u16,
        /// Verification code.
        cvc: String,
    },
    /// A wallet token.
    Wallet {
        /// Provider (`apple_pay`, `google_pay`, `paypal`).
        provider: String,
        /// One-time token.
        token: String,
    },
    /// A gift card by its code.
    GiftCard {
        /// The code (a secret).
        code: String,
    },
    /// The signed-in customer's store credit.
    StoreCredit,
    /// Cash to the courier.
    CashOnDelivery,
}

/// A checkout.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    /// Contact email.
    pub email: String,
    /// Where the goods go.
    pub shipping_address: AddressBody,
    /// Where the invoice goes; the shipping address when absent.
    #[serde(default)]
    pub billing_address: Option<AddressBody>,
    /// Shipping method code (see the cart's `shipping_options`).
    pub shipping_method: String,
    /// How to pay.
    pub payment_method: PaymentBody,
    /// Promotion codes.
    #[serde(default)]
    pub promo_codes: Vec<String>,
}

/// Seconds a client should wait before polling a pending checkout again.
pub const PENDING_RETRY_AFTER_SECONDS: u32 = 2;

/// Places an order from the caller's cart and pays for it. The same
/// `Idempotency-Key` always answers the same order (at most one charge); a declined
/// payment is 402 and leaves stock and cart as they were. When the payment's answer
/// did not come in time the order stays `pending_payment` and the answer is 202
/// with `Location` (poll it: `GET /v1/checkout/{key}`) and `Retry-After`.
#[utoipa::path(post, path = "/v1/checkout", tag = "checkout", request_body = CheckoutBody,
    params(("Idempotency-Key" = String, Header, description = "Chosen once per attempt, sent on every retry")),
    responses((status = 201, body = OrderView, description = "Placed and paid"),
              (status = 202, body = OrderView, description = "Placed, payment still pending: poll Location after Retry-After seconds",
               headers(("Location" = String, description = "/v1/checkout/{key}, readable by this buyer only"),
                       ("Retry-After" = u32, description = "Seconds before polling again"))),
              (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 402, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> Result<Response, ApiError> {
    // The cart and the paying customer are the caller's (401/403 otherwise).
    caller.cart()?;
    let actor = caller.actor()?;
    if body.promo_codes.len() > 10 {
        return Err(ApiError::validation("promo_codes", "at most 10 codes"));
    }
    let payment_method = match body.payment_method {
        PaymentBody::Card {
            number,
            expiry_month,
            expiry_year,
            cvc,
        } => PaymentMethod::Card {
            number,
            expiry_month,
            expiry_year,
            cvc,
        },
        PaymentBody::Wallet { provider, token } => PaymentMethod::Wallet { provider, token },
        PaymentBody::GiftCard { code } => PaymentMethod::GiftCard { code },
        PaymentBody::StoreCredit => {
            caller.customer()?;
            PaymentMethod::StoreCredit
        }
        PaymentBody::CashOnDelivery => PaymentMethod::CashOnDelivery,
    };
    let mut request = CheckoutRequest::new(
        key.clone(),
        body.email,
        body.shipping_address.into_address()?,
        body.shipping_method,
        payment_method,
    );
    if let Some(billing) = body.billing_address {
        request = request.with_billing_address(billing.into_address()?);
    }
    for code in body.promo_codes {
        request = request.with_promo_code(code);
    }
    let checkout = state.shop.checkout();
    let order = match checkout.checkout(&actor, &request).await {
        Ok(order) => order,
        // The gateway (or a store) did not answer in time: the order of this key, if
        // it was placed, is pending and the recovery pass finishes it.
        Err(e) if e.is_retryable() => match checkout.order_by_key(&actor, &key).await? {
            Some(order) if order.status == OrderStatus::PendingPayment => order,
            _ => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    };
    Ok(answer(&key, &order, StatusCode::CREATED))
}

/// The order of a checkout as it is now, for the buyer who placed it: a customer
/// signed in, or a guest sending the same cart token. 202 (with `Retry-After`) while
/// its payment is pending, 200 once confirmed or cancelled; 404 for a key this buyer
/// never checked out with (another buyer's key reads as unknown).
#[utoipa::path(get, path = "/v1/checkout/{key}", tag = "checkout",
    params(("key" = String, Path, description = "The Idempotency-Key of the checkout")),
    responses((status = 200, body = OrderView, description = "Confirmed or cancelled"),
              (status = 202, body = OrderView, description = "Payment still pending",
               headers(("Location" = String, description = "This URL"),
                       ("Retry-After" = u32, description = "Seconds before polling again"))),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn checkout_status(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(key): ApiPath<String>,
) -> Result<Response, ApiError> {
    let actor = caller.actor()?;
    let key = IdempotencyKey::new(key).map_err(|_| ApiError::not_found("checkout"))?;
    let order = state
        .shop
        .checkout()
        .order_by_key(&actor, &key)
        .await?
        .ok_or_else(|| ApiError::not_found("checkout"))?;
    Ok(answer(&key, &order, StatusCode::OK))
}

/// `order` as the answer for checkout `key`: `done` once its payment is settled,
/// 202 with `Location` and `Retry-After` while it is pending.
fn answer(key: &IdempotencyKey, order: &Order, done: StatusCode) -> Response {
    let view = ApiJson(OrderView::from(order));
    if order.status != OrderStatus::PendingPayment {
        return (done, view).into_response();
    }
    let location = format!(
        "/v1/checkout/{}",
        utf8_percent_encode(key.as_str(), NON_ALPHANUMERIC)
    );
    let mut response = (StatusCode::ACCEPTED, view).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(
        header::RETRY_AFTER,
        HeaderValue::from(PENDING_RETRY_AFTER_SECONDS),
    );
    response
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkout))
        .routes(routes!(checkout_status))
}
