//! What every page shares: the visitor (who is browsing, their cart cookie, their
//! CSRF token), templates, form posts with CSRF checks, HTML errors and money
//! formatting.

use std::sync::OnceLock;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use commerce::cart::CartKey;
use commerce::core::actor::{Actor, GuestCartToken};
use commerce::core::{CustomerId, Money, SellerId};
use minijinja::Environment;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::extract::{CART_COOKIE, Caller, SESSION_COOKIE, cookie, set_cookie};
use crate::state::AppState;

/// Name of the hidden form field carrying the CSRF token.
pub(super) const CSRF_FIELD: &str = "_csrf";

/// The CSRF token of a visitor: the SHA-256 of their cart cookie and session
/// cookie (both secret, HttpOnly). A page from another site can neither read the
/// cookies nor the token, so it cannot forge a form post; the token changes when
/// the visitor signs in or out.
pub fn csrf_token(cart_token: &str, session: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(b"commerce-csrf\0");
    h.update(cart_token.as_bytes());
    h.update(b"\0");
    h.update(session.unwrap_or("").as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two strings in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Who is browsing: the API's [`Caller`] (a signed-in account or the guest of the
/// cart cookie), the cart cookie (every visitor has one after their first page)
/// and the CSRF token their forms carry.
#[derive(Clone, Debug)]
pub struct Visitor {
    /// The caller as the API sees it.
    pub caller: Caller,
    /// The guest cart token of the cookie.
    pub cart_token: GuestCartToken,
    /// The token forms carry.
    pub csrf: String,
}

impl Visitor {
    /// The actor: the signed-in account, else the guest of the cart cookie.
    pub fn actor(&self) -> Actor {
        self.caller
            .actor
            .unwrap_or_else(|| Actor::guest(&self.cart_token))
    }

    /// The cart of a shopper: the customer's own, else the guest cart. `None` for
    /// staff (they shop with a customer account).
    pub fn cart_key(&self) -> Option<CartKey> {
        match self.actor() {
            Actor::Customer(id) => Some(CartKey::Customer(id)),
            Actor::Guest(id) => Some(CartKey::Guest(id)),
            _ => None,
        }
    }

    /// The signed-in customer, if any.
    pub fn customer(&self) -> Option<CustomerId> {
        self.actor().customer_id()
    }

    /// The seller acting, if any.
    pub fn seller(&self) -> Option<SellerId> {
        self.actor().seller_id()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, PageError> {
        parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .ok_or_else(|| PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "no visitor"))
    }
}

/// Middleware of every page: establishes the [`Visitor`]. A visitor without a
/// (well-formed) cart cookie gets a new one; a session that ended is dropped (the
/// page is shown signed out and the cookie cleared) instead of failing the page.
pub(super) async fn visitor(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let mut set_cookies = Vec::new();
    let existing = cookie(&parts.headers, CART_COOKIE).and_then(|c| GuestCartToken::parse(c).ok());
    let cart_token = match existing {
        Some(t) => t,
        None => match GuestCartToken::generate() {
            Ok(t) => {
                set_cookies.push(set_cookie(
                    CART_COOKIE,
                    t.as_str(),
                    state.config.cart_ttl,
                    state.config.secure_cookies,
                ));
                t
            }
            Err(e) => return PageError::from(e).into_response(),
        },
    };
    // The API's caller, from the cookies as they will be from now on.
    let session_raw = cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned);
    let mut cookies = format!("{CART_COOKIE}={}", cart_token.as_str());
    if let Some(s) = &session_raw {
        cookies.push_str(&format!("; {SESSION_COOKIE}={s}"));
    }
    let mut probe = parts.clone();
    probe.headers.remove(header::AUTHORIZATION);
    probe.headers.remove(crate::extract::CART_HEADER);
    if let Ok(v) = HeaderValue::from_str(&cookies) {
        probe.headers.insert(header::COOKIE, v);
    }
    let caller = match Caller::from_request_parts(&mut probe, &state).await {
        Ok(c) => c,
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            set_cookies.push(clear_cookie(SESSION_COOKIE));
            Caller {
                actor: Some(Actor::guest(&cart_token)),
                account: None,
                session: None,
                cart_token: Some(cart_token.clone()),
            }
        }
        Err(e) => return PageError::from(e).into_response(),
    };
    let session = caller.session.as_ref().map(|s| s.as_str().to_owned());
    let csrf = csrf_token(cart_token.as_str(), session.as_deref());
    parts.extensions.insert(Visitor {
        caller,
        cart_token,
        csrf,
    });
    let mut response = next.run(Request::from_parts(parts, body)).await;
    for c in set_cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// A `Set-Cookie` value ending cookie `name`.
pub(super) fn clear_cookie(name: &str) -> String {
    format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// A form post (`application/x-www-form-urlencoded`) whose CSRF token was checked:
/// 403 when it is missing or wrong, 400 when the form does not parse.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        let visitor = req
            .extensions()
            .get::<Visitor>()
            .cloned()
            .ok_or_else(|| PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "no visitor"))?;
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| PageError::new(StatusCode::BAD_REQUEST, "The form could not be read."))?;
        let sent = pairs
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !same(sent, &visitor.csrf) {
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This form expired or came from another site. Go back, reload the page and try again.",
            ));
        }
        let value = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("The form is incomplete: {e}."),
            )
        })?;
        Ok(CsrfForm(value))
    }
}

/// A failed page: an HTML page with the status and a message for people.
#[derive(Debug)]
pub struct PageError {
    /// Status.
    pub status: StatusCode,
    /// What to tell the visitor.
    pub message: String,
}

impl PageError {
    /// An error page with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        PageError {
            status,
            message: message.into(),
        }
    }

    /// 404 for `what`.
    pub fn not_found(what: &str) -> Self {
        PageError::new(
            StatusCode::NOT_FOUND,
            format!("That {what} does not exist."),
        )
    }
}

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(e: E) -> Self {
        let e: ApiError = e.into();
        PageError::new(e.status, e.body.message)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::UNAUTHORIZED => "Sign in needed",
            s if s.is_server_error() => "Something went wrong",
            _ => "That did not work",
        };
        let body = render_with(
            "error.html",
            json!({ "title": title, "message": self.message, "status": self.status.as_u16() }),
        )
        .unwrap_or_else(|_| format!("<h1>{title}</h1>"));
        (self.status, Html(body)).into_response()
    }
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("listing.html", include_str!("../../templates/listing.html")),
    ("product.html", include_str!("../../templates/product.html")),
    ("cart.html", include_str!("../../templates/cart.html")),
    (
        "checkout.html",
        include_str!("../../templates/checkout.html"),
    ),
    ("order.html", include_str!("../../templates/order.html")),
    ("account.html", include_str!("../../templates/account.html")),
    ("signin.html", include_str!("../../templates/signin.html")),
    ("signup.html", include_str!("../../templates/signup.html")),
    ("reset.html", include_str!("../../templates/reset.html")),
    ("seller.html", include_str!("../../templates/seller.html")),
    (
        "seller_product.html",
        include_str!("../../templates/seller_product.html"),
    ),
    (
        "seller_orders.html",
        include_str!("../../templates/seller_orders.html"),
    ),
    (
        "ship_fields.html",
        include_str!("../../templates/ship_fields.html"),
    ),
    ("admin.html", include_str!("../../templates/admin.html")),
    (
        "admin_nav.html",
        include_str!("../../templates/admin_nav.html"),
    ),
    (
        "admin_pricing.html",
        include_str!("../../templates/admin_pricing.html"),
    ),
    (
        "admin_promotions.html",
        include_str!("../../templates/admin_promotions.html"),
    ),
    (
        "admin_reviews.html",
        include_str!("../../templates/admin_reviews.html"),
    ),
    (
        "admin_orders.html",
        include_str!("../../templates/admin_orders.html"),
    ),
    (
        "admin_order.html",
        include_str!("../../templates/admin_order.html"),
    ),
    (
        "admin_catalog.html",
        include_str!("../../templates/admin_catalog.html"),
    ),
    (
        "admin_product.html",
        include_str!("../../templates/admin_product.html"),
    ),
    (
        "admin_customers.html",
        include_str!("../../templates/admin_customers.html"),
    ),
    (
        "admin_customer.html",
        include_str!("../../templates/admin_customer.html"),
    ),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "template does not compile");
            }
        }
        env
    })
}

fn render_with(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    env()
        .get_template(name)?
        .render(minijinja::Value::from(minijinja::value::Serde(ctx)))
}

/// Renders template `name` for `visitor` with `ctx` (an object) and the layout's
/// data (who is signed in, the CSRF token, the cart's size).
pub(super) async fn page(
    state: &AppState,
    visitor: &Visitor,
    name: &str,
    mut ctx: Value,
) -> Result<Response, PageError> {
    let actor = visitor.actor();
    let cart_count = match visitor.cart_key() {
        Some(key) => state
            .shop
            .carts()
            .cart(&key)
            .await?
            .map_or(0, |c| c.lines.iter().map(|l| l.quantity).sum::<u32>()),
        None => 0,
    };
    let role = match actor {
        Actor::Customer(_) => "customer",
        Actor::Seller(_) => "seller",
        Actor::Admin => "admin",
        _ => "guest",
    };
    if let Value::Object(map) = &mut ctx {
        map.insert("csrf".into(), json!(visitor.csrf));
        map.insert("role".into(), json!(role));
        map.insert("cart_count".into(), json!(cart_count));
    }
    let body = render_with(name, ctx).map_err(|e| {
        tracing::error!(template = name, error = %e, "template failed");
        PageError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "This page could not be drawn.",
        )
    })?;
    Ok(Html(body).into_response())
}

/// A redirect after a form post (303: the browser follows with GET).
pub(super) fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// `m` for people: `$12.50`, `€3.00`, `1,200 JPY`-style codes for others.
pub(super) fn money(m: Money) -> String {
    let mut amount = m.amount();
    let units = m.currency().minor_units();
    if m.is_rounded() {
        amount.rescale(units);
    }
    let text = amount.to_string();
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let number = if frac.is_empty() {
        grouped
    } else {
        format!("{grouped}.{frac}")
    };
    match m.currency().code() {
        "USD" => format!("{neg}${number}"),
        "EUR" => format!("{neg}€{number}"),
        "GBP" => format!("{neg}£{number}"),
        code => format!("{neg}{number} {code}"),
    }
}

/// A status name (`partially_shipped`) for people (`Partially shipped`).
pub(super) fn humanize(name: &str) -> String {
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The name of a serialized enum value (`"partially_shipped"`).
pub(super) fn name_of<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}
