//! Sign up, sign in, sign out, password reset, and the customer's account page
//! (orders, address book).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use commerce::cart::{CartKey, CartLimits};
use commerce::core::DomainEvent;
use commerce::core::auth::{NewSession, SessionToken};
use commerce::core::{Actor, AddressId, CountryCode, CustomerId, SavedAddress};
use commerce::orders::OrderPage;
use commerce::orders::notification::AccountNotice;
use serde::Deserialize;
use serde_json::json;

use super::support::{
    CsrfForm, PageError, Visitor, clear_cookie, humanize, money, name_of, page, see_other,
};
use crate::extract::{SESSION_COOKIE, set_cookie};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
    reset: Option<String>,
}

fn local_next(next: Option<&str>) -> Option<String> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .map(str::to_owned)
}

/// The sign-in form.
pub(super) async fn signin_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    page(
        &state,
        &visitor,
        "signin.html",
        json!({
            "title": "Sign in",
            "next": local_next(q.next.as_deref()),
            "notice": q.reset.is_some().then_some("Your password was changed: sign in with the new one."),
        }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct SigninForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// Answers a redirect setting the cookie of `session` (by its role: a customer to
/// their account, seller staff to the console, an admin to the dashboard); a
/// customer's guest cart moves into their own cart.
async fn open_session(
    state: &AppState,
    visitor: &Visitor,
    session: NewSession,
    next: Option<String>,
) -> Result<Response, PageError> {
    let shop = &state.shop;
    let now = shop.clock().now();
    let actor = session.session.actor();
    if let Actor::Customer(id) = actor {
        let guest = CartKey::Guest(visitor.cart_token.cart_id());
        if shop.carts().cart(&guest).await?.is_some() {
            shop.carts()
                .merge(&guest, &CartKey::Customer(id), CartLimits::default(), now)
                .await?;
        }
    }
    let default = match actor {
        Actor::Seller(_) => "/seller",
        Actor::Admin => "/admin",
        _ => "/account",
    };
    let mut response = see_other(&next.unwrap_or_else(|| default.to_owned()));
    let cookie = set_cookie(
        SESSION_COOKIE,
        session.token.as_str(),
        state.config.session_ttl,
        state.config.secure_cookies,
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

fn session_ttl(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.config.session_ttl)
        .unwrap_or_else(|_| chrono::Duration::days(30))
}

/// Signs in with email and password (attempts per email are rate limited).
pub(super) async fn signin(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<SigninForm>,
) -> Result<Response, PageError> {
    let shop = &state.shop;
    let now = shop.clock().now();
    let next = local_next(form.next.as_deref());
    // The same per-account limit as the API's login route (one budget for both).
    let email: String = form.email.trim().to_lowercase().chars().take(200).collect();
    let key = format!("login:account:{email}");
    let decision = shop
        .login_limits()
        .hit(&key, state.config.login_limit_per_account, now)
        .await?;
    let failure = if !decision.allowed {
        Some((
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts: wait a few minutes and try again.",
        ))
    } else {
        match shop
            .accounts()
            .sign_in(
                shop.sessions().as_ref(),
                &form.email,
                &form.password,
                session_ttl(&state),
                now,
            )
            .await
        {
            Ok(session) => {
                if let Err(e) = shop.login_limits().reset(&key).await {
                    tracing::warn!(error = %e, "login limit not reset after a successful login");
                }
                return open_session(&state, &visitor, session, next).await;
            }
            Err(commerce::core::Error::InvalidCredentials) => Some((
                StatusCode::UNAUTHORIZED,
                "That email and password do not match an account.",
            )),
            Err(e) => return Err(e.into()),
        }
    };
    let (status, message) = failure.unwrap_or((StatusCode::UNAUTHORIZED, ""));
    let mut response = page(
        &state,
        &visitor,
        "signin.html",
        json!({ "title": "Sign in", "error": message, "email": form.email, "next": next }),
    )
    .await?;
    *response.status_mut() = status;
    Ok(response)
}

/// The sign-up form.
pub(super) async fn signup_page(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    page(
        &state,
        &visitor,
        "signup.html",
        json!({ "title": "Create an account" }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct SignupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Creates a customer account and signs it in.
pub(super) async fn signup(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<Response, PageError> {
    let now = state.shop.clock().now();
    let error = if form.name.trim().is_empty() {
        "Tell us your name.".to_owned()
    } else {
        match state
            .shop
            .accounts()
            .register(&form.email, &form.name, &form.password, now)
            .await
        {
            Ok(customer) => {
                let session = state
                    .shop
                    .sessions()
                    .create(customer.id, session_ttl(&state), now)
                    .await?;
                return open_session(&state, &visitor, session, None).await;
            }
            Err(commerce::core::Error::Conflict(_)) => {
                "An account with that email exists: sign in instead.".to_owned()
            }
            Err(commerce::core::Error::Validation { field, message }) => {
                format!("{}: {message}.", humanize(field))
            }
            Err(e) => return Err(e.into()),
        }
    };
    let mut response = page(
        &state,
        &visitor,
        "signup.html",
        json!({ "title": "Create an account", "error": error, "name": form.name, "email": form.email }),
    )
    .await?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// Ends the session and clears its cookie.
pub(super) async fn signout(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    if let Some(token) = &visitor.caller.session {
        state.shop.sessions().revoke(token).await?;
    }
    let mut response = see_other("/");
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(SESSION_COOKIE)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// The "forgot your password" form.
pub(super) async fn reset_page(
    State(state): State<AppState>,
    visitor: Visitor,
) -> Result<Response, PageError> {
    page(
        &state,
        &visitor,
        "reset.html",
        json!({ "title": "Reset your password", "step": "request" }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct ResetRequestForm {
    #[serde(default)]
    email: String,
}

/// Starts a reset: the same answer whether or not the email has an account. The
/// link (`{public_url}/reset-password?token=...`, as the API's reset route sends)
/// goes out by mail through the outbox and the notification workers.
pub(super) async fn reset_request(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<ResetRequestForm>,
) -> Result<Response, PageError> {
    let now = state.shop.clock().now();
    let email = form.email.trim().to_lowercase();
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
        state.shop.outbox().append(&[notice.envelope(now)?]).await?;
    }
    page(
        &state,
        &visitor,
        "reset.html",
        json!({ "title": "Reset your password", "step": "sent", "email": form.email }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The new-password form of a reset link.
pub(super) async fn reset_token_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(TokenQuery { token }): Query<TokenQuery>,
) -> Result<Response, PageError> {
    page(
        &state,
        &visitor,
        "reset.html",
        json!({ "title": "Choose a new password", "step": "choose", "token": token }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct NewPasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// Sets the new password with a reset token (used up).
pub(super) async fn reset_password(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<NewPasswordForm>,
) -> Result<Response, PageError> {
    let token = form.token.clone();
    let now = state.shop.clock().now();
    let parsed = SessionToken::parse(&token).map_err(|_| {
        PageError::new(
            StatusCode::NOT_FOUND,
            "This reset link is not valid: ask for a new one.",
        )
    })?;
    let error = match state
        .shop
        .accounts()
        .reset_password(&parsed, &form.password, now)
        .await
    {
        Ok(_) => return Ok(see_other("/signin?reset=1")),
        Err(commerce::core::Error::InvalidToken) => {
            "This reset link was used or has expired: ask for a new one.".to_owned()
        }
        Err(commerce::core::Error::Validation { message, .. }) => format!("Password: {message}."),
        Err(e) => return Err(e.into()),
    };
    let mut response = page(
        &state,
        &visitor,
        "reset.html",
        json!({ "title": "Choose a new password", "step": "choose", "token": token, "error": error }),
    )
    .await?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

fn signin_first(path: &str) -> Response {
    let qs = serde_urlencoded::to_string([("next", path)]).unwrap_or_default();
    see_other(&format!("/signin?{qs}"))
}

/// The account page: profile, orders, addresses.
pub(super) async fn account(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let Some(id) = visitor.customer() else {
        return Ok(match visitor.actor() {
            Actor::Seller(_) => see_other("/seller"),
            Actor::Admin => see_other("/admin"),
            _ => signin_first("/account"),
        });
    };
    let shop = &state.shop;
    let customer = shop
        .customers()
        .customer(id)
        .await?
        .ok_or_else(|| PageError::not_found("account"))?;
    let orders = shop
        .orders()
        .list_for_customer(
            id,
            OrderPage {
                before: None,
                limit: 20,
            },
        )
        .await?;
    let addresses = shop.customers().addresses(id).await?;
    let notifications = super::preferences::view(&state, id).await?;
    page(
        &state,
        &visitor,
        "account.html",
        json!({
            "title": "Your account",
            "notifications": notifications,
            "saved": q.get("saved"),
            "customer": { "name": customer.name, "email": customer.email },
            "orders": orders.iter().map(|o| json!({
                "id": o.id.to_string(),
                "number": o.number.clone().unwrap_or_else(|| o.id.to_string()),
                "placed": o.created_at.format("%b %e, %Y").to_string(),
                "status": humanize(o.status.as_str()),
                "fulfilment": humanize(&name_of(&o.fulfilment.status)),
                "total": money(o.totals.grand_total),
            })).collect::<Vec<_>>(),
            "addresses": addresses.iter().map(|a| json!({
                "id": a.id.to_string(),
                "lines": ([
                    Some(a.address.name.clone()), Some(a.address.line1.clone()), a.address.line2.clone(),
                    Some(format!("{} {} {}", a.address.city, a.address.region.clone().unwrap_or_default(), a.address.postal_code)),
                    Some(a.address.country.as_str().to_owned()),
                ].into_iter().flatten().collect::<Vec<_>>()),
                "default_shipping": a.is_default_shipping,
            })).collect::<Vec<_>>(),
        }),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct AddressForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    default_shipping: Option<String>,
}

fn customer_of(visitor: &Visitor) -> Result<CustomerId, PageError> {
    visitor.customer().ok_or_else(|| {
        PageError::new(
            StatusCode::UNAUTHORIZED,
            "Sign in with a customer account first.",
        )
    })
}

/// Adds an address to the book.
pub(super) async fn add_address(
    State(state): State<AppState>,
    visitor: Visitor,
    CsrfForm(form): CsrfForm<AddressForm>,
) -> Result<Response, PageError> {
    let customer = customer_of(&visitor)?;
    let opt = |s: &str| {
        let t = s.trim();
        (!t.is_empty()).then(|| t.to_owned())
    };
    let mut address = commerce::core::Address::new(
        form.name.trim(),
        form.line1.trim(),
        form.city.trim(),
        form.postal_code.trim(),
        CountryCode::new(form.country.trim())?,
    );
    address.line2 = opt(&form.line2);
    address.region = opt(&form.region);
    address.phone = opt(&form.phone);
    address.validate()?;
    state
        .shop
        .customers()
        .save_address(&SavedAddress {
            id: AddressId::new(),
            customer_id: customer,
            address,
            is_default_shipping: form.default_shipping.is_some(),
            is_default_billing: false,
        })
        .await?;
    Ok(see_other("/account#addresses"))
}

/// Deletes an address of the book.
pub(super) async fn delete_address(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let customer = customer_of(&visitor)?;
    let id: AddressId = id.parse().map_err(|_| PageError::not_found("address"))?;
    state.shop.customers().delete_address(customer, id).await?;
    Ok(see_other("/account#addresses"))
}
