//! Extractors: JSON bodies, paths and queries whose rejections are [`ApiError`]s,
//! and the [`Caller`]: who is acting, from the session (cookie or bearer header)
//! and the guest cart token.

use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use commerce::cart::CartKey;
use commerce::core::actor::{Actor, GuestCartToken};
use commerce::core::auth::SessionToken;
use commerce::core::{CustomerId, SellerId};

use crate::error::ApiError;
use crate::state::AppState;

/// Name of the session cookie (HttpOnly, SameSite=Lax).
pub const SESSION_COOKIE: &str = "session";
/// Name of the guest cart cookie (HttpOnly, SameSite=Lax).
pub const CART_COOKIE: &str = "cart_token";
/// Header carrying the guest cart token for clients without cookies.
pub const CART_HEADER: &str = "x-cart-token";
/// Header carrying the idempotency key of a checkout.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// A JSON body. Malformed JSON is 400 `malformed_json`; a wrong type, a missing or
/// unknown field (bodies are `deny_unknown_fields`) is 422 `invalid_body`; a body
/// over the limit 413 `body_too_large`.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> axum::response::IntoResponse for ApiJson<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a malformed id is 400 `invalid_path`.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters; an unknown or malformed one is 400 `invalid_query`.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The value of cookie `name` in `headers`, if sent.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Who is calling: the actor established from the session and the guest cart
/// token, never from a body. Handlers ask it for what their route requires
/// ([`Caller::customer`], [`Caller::cart`], ...), which answers 401 or 403.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The actor: the session's (a customer, a seller or an admin, by the role the
    /// account signed in with) when a valid session was sent, else a guest when a
    /// cart token was sent, else `None` (anonymous).
    pub actor: Option<Actor>,
    /// The session token sent, when valid.
    pub session: Option<SessionToken>,
    /// The signed-in account (a customer's or staff's), when a valid session was
    /// sent: what "log out everywhere" ends the sessions of.
    pub account: Option<CustomerId>,
    /// The guest cart token sent, when well formed.
    pub cart_token: Option<GuestCartToken>,
}

impl Caller {
    /// The signed-in customer; 401 for an anonymous caller or a guest, 403 for
    /// staff or a seller.
    pub fn customer(&self) -> Result<CustomerId, ApiError> {
        match self.actor {
            Some(Actor::Customer(id)) => Ok(id),
            None | Some(Actor::Guest(_)) => Err(ApiError::unauthenticated()),
            Some(_) => Err(ApiError::forbidden()),
        }
    }

    /// The seller acting; 401 when anonymous, 403 for any other role.
    pub fn seller(&self) -> Result<SellerId, ApiError> {
        match self.actor {
            Some(Actor::Seller(id)) => Ok(id),
            None | Some(Actor::Guest(_)) => Err(ApiError::unauthenticated()),
            Some(_) => Err(ApiError::forbidden()),
        }
    }

    /// Shop staff; 401 when anonymous, 403 for any other role.
    pub fn admin(&self) -> Result<(), ApiError> {
        match self.actor {
            Some(Actor::Admin) => Ok(()),
            None | Some(Actor::Guest(_)) => Err(ApiError::unauthenticated()),
            Some(_) => Err(ApiError::forbidden()),
        }
    }

    /// The cart of the caller: a signed-in customer's own cart, or the guest cart
    /// of the token sent. 401 when neither; 403 for staff and sellers (they shop
    /// with a customer account).
    pub fn cart(&self) -> Result<CartKey, ApiError> {
        match self.actor {
            Some(Actor::Customer(id)) => Ok(CartKey::Customer(id)),
            Some(Actor::Guest(id)) => Ok(CartKey::Guest(id)),
            None => Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "send a cart token (POST /v1/cart creates one) or sign in",
            )),
            Some(_) => Err(ApiError::forbidden()),
        }
    }

    /// The signed-in account, whatever its role; 401 without a session.
    pub fn account(&self) -> Result<CustomerId, ApiError> {
        self.account.ok_or_else(ApiError::unauthenticated)
    }

    /// The actor, or 401.
    pub fn actor(&self) -> Result<Actor, ApiError> {
        self.actor.ok_or_else(ApiError::unauthenticated)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Established once per request by the access middleware.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let headers = &parts.headers;
        let cart_token = match headers
            .get(CART_HEADER)
            .and_then(|v| v.to_str().ok())
            .or_else(|| cookie(headers, CART_COOKIE))
        {
            Some(raw) => Some(GuestCartToken::parse(raw).map_err(ApiError::from)?),
            None => None,
        };
        let mut actor = cart_token.as_ref().map(Actor::guest);
        let mut session = None;
        let mut account = None;
        if let Some(raw) = bearer(headers).or_else(|| cookie(headers, SESSION_COOKIE)) {
            // A malformed or unknown session is refused outright rather than read
            // as anonymous, so a client learns its session ended.
            let token = SessionToken::parse(raw).map_err(|_| ApiError::unauthenticated())?;
            let now = state.shop.clock().now();
            let found = state
                .shop
                .sessions()
                .session(&token, now)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(ApiError::unauthenticated)?;
            // The role the session was opened with: a customer, a seller's staff
            // (acting for the seller) or an admin.
            actor = Some(found.actor());
            account = Some(found.customer_id);
            session = Some(token);
        }
        Ok(Caller {
            actor,
            session,
            account,
            cart_token,
        })
    }
}

/// The `Idempotency-Key` header a checkout requires: 400 `idempotency_key_required`
/// when absent, 422 when malformed.
#[derive(Debug, Clone)]
pub struct IdempotencyKeyHeader(pub commerce::orders::IdempotencyKey);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts
            .headers
            .get(IDEMPOTENCY_HEADER)
            .ok_or_else(|| {
                ApiError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    "idempotency_key_required",
                    "send an Idempotency-Key header, the same on every retry",
                )
            })?
            .to_str()
            .map_err(|_| ApiError::validation("idempotency_key", "must be visible ASCII"))?;
        Ok(IdempotencyKeyHeader(
            commerce::orders::IdempotencyKey::new(raw).map_err(ApiError::from)?,
        ))
    }
}

/// A `Set-Cookie` value for `name` = `value`: HttpOnly, SameSite=Lax, Path=/,
/// `Secure` when `secure`, expiring after `max_age`.
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}
