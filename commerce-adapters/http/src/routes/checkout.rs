//! Checkout: turns the caller's cart into an order, once per `Idempotency-Key`.
//!
//! Queries per request: as the checkout service (a fixed number of store calls
//! whatever the cart size: one cart read, one batched listings read, one atomic
//! place-and-reserve, one atomic commit-and-confirm). With a usage-limited promotion
//! code the place step is one transaction of five statements on PostgreSQL (the
//! order, the codes' locks, the count, the redemptions), whatever the number of
//! codes; a used-up code is 422 `promotion_exhausted`.

use axum::extract::State;
use axum::http::StatusCode;
use commerce::core::{Address, CountryCode};
use commerce::orders::{CheckoutRequest, PaymentMethod};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Caller, IdempotencyKeyHeader};
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

/// Places an order from the caller's cart and pays for it. The same
/// `Idempotency-Key` always answers the same order (at most one charge); a declined
/// payment is 402 and leaves stock and cart as they were.
#[utoipa::path(post, path = "/v1/checkout", tag = "checkout", request_body = CheckoutBody,
    params(("Idempotency-Key" = String, Header, description = "Chosen once per attempt, sent on every retry")),
    responses((status = 201, body = OrderView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 402, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    ApiJson(body): ApiJson<CheckoutBody>,
) -> Result<(StatusCode, ApiJson<OrderView>), ApiError> {
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
        key,
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
    let order = state.shop.checkout().checkout(&actor, &request).await?;
    Ok((StatusCode::CREATED, ApiJson(OrderView::from(&order))))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(checkout))
}
