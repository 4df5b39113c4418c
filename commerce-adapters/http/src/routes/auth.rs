//! Accounts over HTTP: register, log in (a session as an HttpOnly cookie and a
//! bearer token; the guest cart sent is merged into the customer's), password
//! change, password reset (request and confirm), profile update.
//!
//! Password hashing (argon2id, tens of milliseconds of CPU on purpose) runs on
//! tokio's blocking pool (the shop's hasher is [`crate::BlockingHasher`], set by
//! `AppState::new`), never on the reactor threads that serve other requests. Logins are rate limited per account (email) and per client
//! address; a refused attempt answers 429 `rate_limited` with `Retry-After`.
//!
//! Queries per request:
//! - register: 2 (customer, credentials) and 1 outbox append;
//! - login: 2 rate-limit hits, 2 reads (customer by email, credentials), 1 session,
//!   1 merge when a guest cart is sent, 1 limit reset;
//! - password change: 2 (read, write), the revoke and a new session;
//! - reset request: 1 limit hit, 1 read, and (token, outbox append) when the email
//!   exists;
//! - reset confirm: 2 (take the token, write) and the revoke;
//! - profile update: 1.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use commerce::cart::{CartKey, CartLimits};
use commerce::core::DomainEvent;
use commerce::core::address::{check_customer_name, normalize_email};
use commerce::core::auth::{RateLimit, SessionToken};
use commerce::core::{CustomerId, Error as CoreError, Role};
use commerce::orders::notification::AccountNotice;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, CART_COOKIE, Caller, SESSION_COOKIE, set_cookie};
use crate::routes::account::Profile;
use crate::state::AppState;

/// Longest email accepted at login and reset (longer cannot be an account: it
/// bounds the rate-limit key).
const MAX_EMAIL_BYTES: usize = 200;

/// The address of the client (the TCP peer when the server was started with
/// `into_make_service_with_connect_info`), for per-address login limits.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

impl ClientAddr {
    fn key(self, what: &str) -> String {
        match self.0 {
            Some(ip) => format!("{what}:address:{ip}"),
            None => format!("{what}:address:unknown"),
        }
    }
}

/// 429 `rate_limited` with `Retry-After` (whole seconds, at least 1).
fn rate_limited(retry_after: Option<chrono::Duration>) -> Response {
    let seconds = retry_after.map_or(1, |d| {
        u64::try_from(d.num_milliseconds()).map_or(1, |ms| ms.div_ceil(1000).max(1))
    });
    let error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many attempts; try again later",
    )
    .with_details(json!({ "retry_after_seconds": seconds }));
    let mut response = error.into_response();
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Records an attempt on each key in turn; the 429 of the first refused, if any.
async fn limit(
    state: &AppState,
    keys: &[(String, RateLimit)],
) -> Result<Option<Response>, ApiError> {
    let now = state.shop.clock().now();
    for (key, limit) in keys {
        let decision = state.shop.login_limits().hit(key, *limit, now).await?;
        if !decision.allowed {
            tracing::warn!(key = %key, "login attempts rate limited");
            return Ok(Some(rate_limited(decision.retry_after)));
        }
    }
    Ok(None)
}

fn checked_email(raw: &str) -> Result<String, ApiError> {
    let email = normalize_email(raw);
    if email.len() > MAX_EMAIL_BYTES {
        return Err(ApiError::validation("email", "is too long"));
    }
    commerce::core::address::check_email(&email)?;
    Ok(email)
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// Email (the login), unique.
    pub email: String,
    /// Name shown on orders and mail.
    pub name: String,
    /// Password, 8 to 128 characters.
    pub password: String,
}

/// Creates a customer account (sign in afterwards with `POST /v1/auth/login`).
#[utoipa::path(post, path = "/v1/auth/register", tag = "account", request_body = RegisterBody,
    responses((status = 201, body = Profile), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<(StatusCode, ApiJson<Profile>), ApiError> {
    let email = checked_email(&body.email)?;
    let name = check_customer_name(&body.name)?;
    let now = state.shop.clock().now();
    let customer = state
        .shop
        .accounts()
        .register(&email, &name, &body.password, now)
        .await?;
    // The welcome mail is a courtesy: the account exists whether or not it leaves.
    let notice = AccountNotice::Welcome {
        customer_id: customer.id,
        email: customer.email.clone(),
        name: customer.name.clone(),
    };
    if let Err(e) = append(&state, &notice, now).await {
        tracing::warn!(error = %e, "welcome notice not queued");
    }
    Ok((StatusCode::CREATED, ApiJson(Profile::from(&customer))))
}

async fn append(
    state: &AppState,
    notice: &AccountNotice,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let envelope = notice.envelope(now)?;
    state.shop.outbox().append(&[envelope]).await?;
    Ok(())
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// A session just opened.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionReply {
    /// The session token: send it as `Authorization: Bearer <token>` (it is also set
    /// as an HttpOnly, SameSite cookie). A secret.
    pub token: String,
    /// The customer signed in.
    pub customer_id: String,
    /// When the session ends unless used again.
    pub expires_at: DateTime<Utc>,
    /// Whether the guest cart sent with the request was merged into the customer's
    /// cart (it is gone after).
    pub cart_merged: bool,
}

/// Opens a session for `customer` and answers it with its cookie (and, when a
/// guest cart was merged, a cookie clearing the guest cart token).
async fn open_session(
    state: &AppState,
    customer: CustomerId,
    role: Role,
    cart_merged: bool,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let ttl = chrono::Duration::from_std(state.config.session_ttl)
        .map_err(|_| ApiError::validation("session_ttl", "too long"))?;
    let session = state
        .shop
        .sessions()
        .create_with_role(customer, role, ttl, state.shop.clock().now())
        .await?;
    let cookie = set_cookie(
        SESSION_COOKIE,
        session.token.as_str(),
        state.config.session_ttl,
        state.config.secure_cookies,
    );
    let mut response = (
        status,
        ApiJson(SessionReply {
            token: session.token.as_str().to_owned(),
            customer_id: customer.to_string(),
            expires_at: session.session.expires_at,
            cart_merged,
        }),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    if cart_merged {
        let clear = set_cookie(
            CART_COOKIE,
            "",
            std::time::Duration::ZERO,
            state.config.secure_cookies,
        );
        if let Ok(v) = HeaderValue::from_str(&clear) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// Signs a customer in: a session token (body and HttpOnly cookie), and the guest
/// cart sent (`X-Cart-Token` or its cookie) merged into the customer's cart.
/// Attempts are limited per account and per client address (429 with
/// `Retry-After`); a wrong password and an unknown email answer the same 401.
#[utoipa::path(post, path = "/v1/auth/login", tag = "account", request_body = LoginBody,
    responses((status = 200, body = SessionReply), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let email = checked_email(&body.email)?;
    let account_key = format!("login:account:{email}");
    let keys = [
        (account_key.clone(), state.config.login_limit_per_account),
        (client.key("login"), state.config.login_limit_per_address),
    ];
    if let Some(refused) = limit(&state, &keys).await? {
        return Ok(refused);
    }
    // The session carries the account's role: staff sign in as staff.
    let (customer, role) = state
        .shop
        .accounts()
        .login_with_role(&email, &body.password)
        .await?;
    if let Err(e) = state.shop.login_limits().reset(&account_key).await {
        tracing::warn!(error = %e, "login limit not reset after a successful login");
    }
    let mut merged = false;
    if let (Some(token), Role::Customer) = (&caller.cart_token, role) {
        // The login stands even if the merge fails: the guest cart stays where it
        // is and `POST /v1/cart/merge` can move it later.
        let now = state.shop.clock().now();
        match state
            .shop
            .carts()
            .merge(
                &CartKey::Guest(token.cart_id()),
                &CartKey::Customer(customer),
                CartLimits::default(),
                now,
            )
            .await
        {
            Ok(_) => merged = true,
            Err(e) => tracing::warn!(error = %e, "guest cart not merged at login"),
        }
    }
    open_session(&state, customer, role, merged, StatusCode::OK).await
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password, 8 to 128 characters.
    pub new_password: String,
}

/// Changes the signed-in customer's password: every session of theirs ends and a
/// new one is answered (token and cookie).
#[utoipa::path(post, path = "/v1/account/password", tag = "account", request_body = PasswordChange,
    responses((status = 200, body = SessionReply), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<Response, ApiError> {
    let customer = caller.customer()?;
    let actor = caller.actor()?;
    state
        .shop
        .accounts()
        .change_password(&actor, &body.current_password, &body.new_password)
        .await?;
    state.shop.sessions().revoke_all(customer).await?;
    open_session(&state, customer, Role::Customer, false, StatusCode::OK).await
}

/// A reset request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// The account's email.
    pub email: String,
}

/// The answer to a reset request, the same whether or not the email has an
/// account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResetRequested {
    /// Always `requested`.
    pub status: String,
    /// What happens next.
    pub message: String,
}

/// Starts a password reset: when an account has the email, a single-use link
/// (expiring in an hour) is mailed to it. The answer is the same either way, so it
/// does not tell whether an account exists. Limited per client address.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "account", request_body = ResetRequest,
    responses((status = 202, body = ResetRequested), (status = 422, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
async fn request_reset(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<Response, ApiError> {
    let email = checked_email(&body.email)?;
    let keys = [(client.key("reset"), state.config.login_limit_per_address)];
    if let Some(refused) = limit(&state, &keys).await? {
        return Ok(refused);
    }
    let now = state.shop.clock().now();
    if let Some(token) = state
        .shop
        .accounts()
        .request_password_reset(&email, now)
        .await?
        && let Some(customer) = state.shop.customers().customer_by_email(&email).await?
    {
        let notice = AccountNotice::PasswordReset {
            customer_id: customer.id,
            email: customer.email,
            name: customer.name,
            reset_url: format!(
                "{}/reset-password?token={}",
                state.config.public_url.trim_end_matches('/'),
                token.as_str()
            ),
        };
        append(&state, &notice, now).await?;
    }
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(ResetRequested {
            status: "requested".to_owned(),
            message: "if an account has this email, a reset link was sent to it".to_owned(),
        }),
    )
        .into_response())
}

/// A reset confirmation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The token of the reset link.
    pub token: String,
    /// The new password, 8 to 128 characters.
    pub new_password: String,
}

/// Sets a new password with the token of a reset link. The token works once and
/// expires; every session of the account ends.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "account",
    request_body = ResetConfirm,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn confirm_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    let token =
        SessionToken::parse(&body.token).map_err(|_| ApiError::from(CoreError::InvalidToken))?;
    let now = state.shop.clock().now();
    let customer = state
        .shop
        .accounts()
        .reset_password(&token, &body.new_password, now)
        .await?;
    state.shop.sessions().revoke_all(customer).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(change_password))
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset))
}
