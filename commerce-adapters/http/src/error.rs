//! [`ApiError`]: every failure as a JSON body `{code, message, details}` with a
//! stable `code` and the status a client can act on.
//!
//! Domain errors map here once ([`From`] impls per crate error); handlers return
//! `Result<_, ApiError>` and never build a status by hand.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use commerce::cart::Error as CartError;
use commerce::core::Error as CoreError;
use commerce::inventory::Error as InventoryError;
use commerce::orders::{CancelReason, Error as OrderError};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// The JSON body of every error response.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code (`not_found`, `validation_failed`,
    /// `payment_declined`, ...). Codes are never renamed.
    pub code: &'static str,
    /// A message for humans; wording may change.
    pub message: String,
    /// Structured details (the field at fault, the SKU short of stock, ...); an
    /// empty object when there are none. Which keys appear depends on `code`.
    #[schema(value_type = ErrorDetails)]
    pub details: Value,
}

/// The keys [`ErrorBody::details`] may hold (each present only for the codes that
/// use it). The OpenAPI schema of `details`; the body itself is built per error.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorDetails {
    /// The field at fault (`validation_failed`).
    pub field: Option<String>,
    /// The kind of record missing (`not_found`).
    pub entity: Option<String>,
    /// SKU concerned (`insufficient_stock`, `not_purchasable`, ...).
    pub sku: Option<String>,
    /// Units (or, for `refund_exceeds_captured`, the amount) asked for.
    pub requested: Option<CountOrAmount>,
    /// Units available (`insufficient_stock`).
    pub available: Option<u64>,
    /// Units left to ship (`shipment_exceeds_order`).
    pub remaining: Option<u64>,
    /// Largest accepted value (`limit_exceeded` and friends).
    pub max: Option<u64>,
    /// Amount that can still be refunded (`refund_exceeds_captured`).
    pub refundable: Option<String>,
    /// Currency expected and found (`currency_mismatch`).
    pub expected: Option<String>,
    /// Currency found (`currency_mismatch`).
    pub found: Option<String>,
    /// Unknown currency code (`unknown_currency`).
    pub currency: Option<String>,
    /// Promotion code (`unknown_promotion`, `promotion_exhausted`).
    pub code: Option<String>,
    /// Whether the buyer's own limit was reached (`promotion_exhausted`).
    pub per_customer: Option<bool>,
    /// Shipping method code (`unknown_shipping_method`).
    pub shipping_method: Option<String>,
    /// The order a failed checkout stored (`payment_declined`, `checkout_failed`).
    pub order_id: Option<String>,
    /// Why a payment was declined (`payment_declined`).
    pub reason: Option<String>,
    /// Product concerned (reviews).
    pub product_id: Option<String>,
    /// The existing review (`already_reviewed`).
    pub review_id: Option<String>,
    /// Seconds to wait before trying again (`rate_limited`).
    pub retry_after_seconds: Option<u64>,
}

/// A count of units, or an amount as a decimal string.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CountOrAmount {
    /// Units.
    Count(u64),
    /// A decimal amount (`"12.50"`).
    Amount(String),
}

/// An error answered to the client: a status and an [`ErrorBody`].
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub body: ErrorBody,
}

impl ApiError {
    /// An error with `status`, `code` and `message`, no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                details: json!({}),
            },
        }
    }

    /// Adds details.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.body.details = details;
        self
    }

    /// 422 `validation_failed` on `field`.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
        .with_details(json!({ "field": field }))
    }

    /// 404 `not_found` for `entity`.
    pub fn not_found(entity: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{entity} not found"),
        )
        .with_details(json!({ "entity": entity }))
    }

    /// 401 `unauthenticated`: no valid session (or cart token) was presented.
    pub fn unauthenticated() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in (session cookie or bearer token) to use this route",
        )
    }

    /// 403 `forbidden`: the actor is known but has no right to this route.
    pub fn forbidden() -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role may not use this route",
        )
    }

    /// 503 `unavailable`: a backend failed; the details stay in the server log.
    pub fn unavailable(what: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %what, "backend failure answered as 503");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "a service the shop needs is unavailable; try again",
        )
    }

    /// 500 `internal`: an error this version does not know how to classify.
    fn internal(what: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %what, "unclassified error answered as 500");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "unexpected error",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status, self.body.code, self.body.message
        )
    }
}

impl std::error::Error for ApiError {}

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        match e {
            CoreError::CurrencyMismatch { expected, found } => {
                ApiError::new(UNPROCESSABLE, "currency_mismatch", message)
                    .with_details(json!({ "expected": expected.code(), "found": found.code() }))
            }
            CoreError::UnknownCurrency(code) => {
                ApiError::new(UNPROCESSABLE, "unknown_currency", message)
                    .with_details(json!({ "currency": code }))
            }
            CoreError::InvalidAmount(_) => ApiError::new(UNPROCESSABLE, "invalid_amount", message),
            CoreError::Overflow => ApiError::new(UNPROCESSABLE, "overflow", message),
            CoreError::Validation { field, message } => ApiError::validation(field, message),
            CoreError::NotFound { entity, .. } => ApiError::not_found(entity),
            CoreError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            CoreError::CategoryCycle { category } => {
                ApiError::new(StatusCode::CONFLICT, "category_cycle", message)
                    .with_details(json!({ "category_id": category }))
            }
            CoreError::NotServiceable(_) => {
                ApiError::new(UNPROCESSABLE, "not_serviceable", message)
            }
            CoreError::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", message)
            }
            CoreError::InvalidToken => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_token", message)
            }
            CoreError::Backend(e) => ApiError::unavailable(&e),
            other => ApiError::internal(&other),
        }
    }
}

impl From<CartError> for ApiError {
    fn from(e: CartError) -> Self {
        let message = e.to_string();
        match e {
            CartError::TooManyLines { max } => {
                ApiError::new(UNPROCESSABLE, "cart_too_many_lines", message)
                    .with_details(json!({ "max": max }))
            }
            CartError::QuantityLimit {
                sku,
                requested,
                max,
            } => ApiError::new(UNPROCESSABLE, "quantity_limit", message)
                .with_details(json!({ "sku": sku.as_str(), "requested": requested, "max": max })),
            CartError::NotFound { entity, .. } => ApiError::not_found(entity),
            CartError::Validation { field, message } => ApiError::validation(field, message),
            CartError::UnknownSku { sku } => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_sku", message)
                    .with_details(json!({ "sku": sku.as_str() }))
            }
            CartError::NotPurchasable { sku, .. } => {
                ApiError::new(StatusCode::CONFLICT, "not_purchasable", message)
                    .with_details(json!({ "sku": sku.as_str() }))
            }
            CartError::Pricing(e) => e.into(),
            CartError::Backend(e) => ApiError::unavailable(&e),
            other => ApiError::internal(&other),
        }
    }
}

impl From<InventoryError> for ApiError {
    fn from(e: InventoryError) -> Self {
        let message = e.to_string();
        match e {
            InventoryError::InsufficientStock {
                sku,
                requested,
                available,
                ..
            } => ApiError::new(StatusCode::CONFLICT, "insufficient_stock", message).with_details(
                json!({ "sku": sku.as_str(), "requested": requested, "available": available }),
            ),
            InventoryError::IllegalTransition { .. } => {
                ApiError::new(StatusCode::CONFLICT, "illegal_transition", message)
            }
            InventoryError::NotFound { entity, .. } => ApiError::not_found(entity),
            InventoryError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            InventoryError::Validation { field, message } => ApiError::validation(field, message),
            InventoryError::Backend(e) => ApiError::unavailable(&e),
            other => ApiError::internal(&other),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        let message = e.to_string();
        match e {
            OrderError::IllegalTransition { .. } => {
                ApiError::new(StatusCode::CONFLICT, "illegal_transition", message)
            }
            OrderError::NotFound { entity, .. } => ApiError::not_found(entity),
            OrderError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            OrderError::Validation { field, message } => ApiError::validation(field, message),
            OrderError::EmptyCart => ApiError::new(UNPROCESSABLE, "empty_cart", message),
            OrderError::UnknownShippingMethod(code) => {
                ApiError::new(UNPROCESSABLE, "unknown_shipping_method", message)
                    .with_details(json!({ "shipping_method": code }))
            }
            OrderError::UnknownPromotion(code) => {
                ApiError::new(UNPROCESSABLE, "unknown_promotion", message)
                    .with_details(json!({ "code": code }))
            }
            OrderError::PromotionExhausted { code, per_customer } => {
                ApiError::new(UNPROCESSABLE, "promotion_exhausted", message)
                    .with_details(json!({ "code": code, "per_customer": per_customer }))
            }
            OrderError::NotPurchasable(sku) => {
                ApiError::new(StatusCode::CONFLICT, "not_purchasable", message)
                    .with_details(json!({ "sku": sku.as_str() }))
            }
            OrderError::LimitExceeded(_) => ApiError::new(UNPROCESSABLE, "limit_exceeded", message),
            OrderError::CheckoutFailed { order_id, reason } => match reason {
                CancelReason::PaymentDeclined {
                    reason,
                    message: why,
                } => ApiError::new(
                    StatusCode::PAYMENT_REQUIRED,
                    "payment_declined",
                    format!("payment declined: {why}"),
                )
                .with_details(json!({ "reason": reason, "order_id": order_id.to_string() })),
                CancelReason::OutOfStock {
                    sku,
                    requested,
                    available,
                } => ApiError::new(StatusCode::CONFLICT, "insufficient_stock", message)
                    .with_details(json!({ "sku": sku.as_str(), "requested": requested,
                                "available": available, "order_id": order_id.to_string() })),
                _ => ApiError::new(StatusCode::CONFLICT, "checkout_failed", message)
                    .with_details(json!({ "order_id": order_id.to_string() })),
            },
            OrderError::PaymentDeclined {
                reason,
                message: why,
            } => ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                "payment_declined",
                format!("payment declined: {why}"),
            )
            .with_details(json!({ "reason": reason })),
            OrderError::RefundExceedsCaptured {
                requested,
                refundable,
            } => ApiError::new(UNPROCESSABLE, "refund_exceeds_captured", message)
                .with_details(json!({ "requested": requested.amount().to_string(),
                            "refundable": refundable.amount().to_string() })),
            OrderError::ShipmentExceedsOrder {
                sku,
                requested,
                remaining,
            } => ApiError::new(UNPROCESSABLE, "shipment_exceeds_order", message).with_details(
                json!({ "sku": sku.as_str(), "requested": requested, "remaining": remaining }),
            ),
            OrderError::InsufficientStock {
                sku,
                requested,
                available,
            } => ApiError::new(StatusCode::CONFLICT, "insufficient_stock", message).with_details(
                json!({ "sku": sku.as_str(), "requested": requested, "available": available }),
            ),
            OrderError::Core(e) => e.into(),
            OrderError::Inventory(e) => e.into(),
            OrderError::Cart(e) => e.into(),
            OrderError::GatewayUnavailable(e) => ApiError::unavailable(&e),
            OrderError::Backend(e) => ApiError::unavailable(&e),
            OrderError::IdempotencyKeyReused { .. } => {
                ApiError::new(UNPROCESSABLE, "idempotency_key_reused", message)
            }
            OrderError::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", message),
            OrderError::InvalidSignature => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", message)
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let text = rejection.body_text();
        match rejection {
            JsonRejection::JsonDataError(_) => ApiError::new(UNPROCESSABLE, "invalid_body", text),
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", text)
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            ),
            JsonRejection::BytesRejection(_) if rejection_is_too_large(&text) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is too large",
            ),
            _ => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", text),
        }
    }
}

fn rejection_is_too_large(text: &str) -> bool {
    text.contains("length limit")
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            rejection.body_text(),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            rejection.body_text(),
        )
    }
}

/// Turns a 413 that is not JSON (the body limit layer's plain-text answer to an
/// oversized `Content-Length`) into the API's `body_too_large` error.
pub async fn body_limit_as_json(response: axum::response::Response) -> axum::response::Response {
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is too large",
        )
        .into_response();
    }
    response
}

impl From<commerce::reviews::Error> for ApiError {
    fn from(e: commerce::reviews::Error) -> Self {
        use commerce::reviews::Error as ReviewError;
        let message = e.to_string();
        match e {
            ReviewError::Validation { field, message } => ApiError::validation(field, message),
            ReviewError::NotFound { entity, .. } => ApiError::not_found(entity),
            ReviewError::PurchaseRequired { product_id } => {
                ApiError::new(StatusCode::FORBIDDEN, "purchase_required", message)
                    .with_details(json!({ "product_id": product_id.to_string() }))
            }
            ReviewError::AlreadyReviewed { review_id } => {
                ApiError::new(StatusCode::CONFLICT, "already_reviewed", message)
                    .with_details(json!({ "review_id": review_id.to_string() }))
            }
            ReviewError::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", message),
            ReviewError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            ReviewError::Core(e) => e.into(),
            ReviewError::Orders(e) => e.into(),
            ReviewError::Backend(e) | ReviewError::Unavailable(e) => ApiError::unavailable(&e),
            other => ApiError::internal(&other),
        }
    }
}

impl From<commerce::recommend::Error> for ApiError {
    fn from(e: commerce::recommend::Error) -> Self {
        use commerce::recommend::Error as RecommendError;
        match e {
            RecommendError::Validation { field, message } => ApiError::validation(field, message),
            RecommendError::Core(e) => e.into(),
            RecommendError::Orders(e) => e.into(),
            RecommendError::Inventory(e) => e.into(),
            RecommendError::Backend(e) | RecommendError::Unavailable(e) => {
                ApiError::unavailable(&e)
            }
            other => ApiError::internal(&other),
        }
    }
}
