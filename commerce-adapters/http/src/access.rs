//! Who may use each route: one rule per route, in one table. Handlers enforce the
//! rule through [`crate::extract::Caller`]; the table is what tests check every
//! route against (a route without a rule fails them).

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use commerce::core::Actor;
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Anyone.
    Public,
    /// A shopper: a guest holding a cart token, or a signed-in customer.
    Shopper,
    /// A signed-in customer.
    Customer,
    /// Any signed-in account: a customer, a seller's staff or an admin.
    SignedIn,
    /// A seller.
    Seller,
    /// Shop staff.
    Admin,
}

/// A route and its rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteRule {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path as in the OpenAPI document (`/v1/orders/{id}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

const fn rule(method: &'static str, path: &'static str, access: Access) -> RouteRule {
    RouteRule {
        method,
        path,
        access,
    }
}

/// Every route of the API with its rule.
pub const ROUTES: &[RouteRule] = &[
    rule("GET", "/health", Access::Public),
    rule("GET", "/ready", Access::Public),
    rule("GET", "/workers", Access::Public),
    rule("GET", "/v1/catalog/categories", Access::Public),
    rule("GET", "/v1/catalog/products", Access::Public),
    rule("GET", "/v1/catalog/products/{slug}", Access::Public),
    rule("GET", "/v1/catalog/sellers/{slug}", Access::Public),
    rule("GET", "/v1/catalog/search", Access::Public),
    rule("GET", "/v1/catalog/suggest", Access::Public),
    rule("POST", "/v1/cart", Access::Public),
    rule("GET", "/v1/cart", Access::Shopper),
    rule("DELETE", "/v1/cart", Access::Shopper),
    rule("POST", "/v1/cart/items", Access::Shopper),
    rule("PUT", "/v1/cart/items/{sku}", Access::Shopper),
    rule("DELETE", "/v1/cart/items/{sku}", Access::Shopper),
    rule("POST", "/v1/cart/merge", Access::Customer),
    rule("POST", "/v1/checkout", Access::Shopper),
    rule("GET", "/v1/orders", Access::Customer),
    rule("GET", "/v1/orders/{id}", Access::Customer),
    rule("POST", "/v1/orders/{id}/cancel", Access::Customer),
    rule("GET", "/v1/account/profile", Access::Customer),
    rule("PUT", "/v1/account/profile", Access::Customer),
    rule("POST", "/v1/account/password", Access::Customer),
    rule("POST", "/v1/auth/register", Access::Public),
    rule("POST", "/v1/auth/login", Access::Public),
    rule("POST", "/v1/auth/password-reset", Access::Public),
    rule("POST", "/v1/auth/password-reset/confirm", Access::Public),
    rule("GET", "/v1/account/addresses", Access::Customer),
    rule("POST", "/v1/account/addresses", Access::Customer),
    rule("PUT", "/v1/account/addresses/{id}", Access::Customer),
    rule("DELETE", "/v1/account/addresses/{id}", Access::Customer),
    rule("POST", "/v1/auth/logout", Access::SignedIn),
    rule("POST", "/v1/auth/logout-everywhere", Access::SignedIn),
    rule("GET", "/v1/seller/products", Access::Seller),
    rule("POST", "/v1/seller/products", Access::Seller),
    rule("PUT", "/v1/seller/products/{id}", Access::Seller),
    rule(
        "POST",
        "/v1/seller/products/{id}/deactivate",
        Access::Seller,
    ),
    rule("PUT", "/v1/seller/skus/{sku}/price", Access::Seller),
    rule("POST", "/v1/seller/skus/{sku}/stock", Access::Seller),
    rule("GET", "/v1/seller/orders", Access::Seller),
    rule("POST", "/v1/seller/orders/{id}/ship", Access::Seller),
    rule("GET", "/v1/seller/sales", Access::Seller),
    rule("GET", "/v1/admin/orders", Access::Admin),
    rule("GET", "/v1/admin/orders/{id}", Access::Admin),
    rule("POST", "/v1/admin/orders/{id}/cancel", Access::Admin),
    rule("POST", "/v1/admin/orders/{id}/refunds", Access::Admin),
    rule("GET", "/v1/admin/customers/{id}", Access::Admin),
    rule("GET", "/v1/admin/categories", Access::Admin),
    rule("POST", "/v1/admin/products/{id}/deactivate", Access::Admin),
    rule("GET", "/v1/admin/tables", Access::Admin),
    rule("GET", "/v1/admin/customers", Access::Admin),
    rule("GET", "/v1/admin/pricing", Access::Admin),
    rule("PUT", "/v1/admin/pricing/tax", Access::Admin),
    rule("PUT", "/v1/admin/pricing/shipping-methods", Access::Admin),
    rule("POST", "/v1/admin/promotions", Access::Admin),
    rule("PUT", "/v1/admin/promotions/{code}", Access::Admin),
    rule(
        "POST",
        "/v1/admin/promotions/{code}/deactivate",
        Access::Admin,
    ),
    rule("POST", "/v1/admin/categories", Access::Admin),
    rule("POST", "/v1/admin/categories/{id}/rename", Access::Admin),
    rule("POST", "/v1/admin/categories/{id}/move", Access::Admin),
    rule("GET", "/v1/admin/products", Access::Admin),
    rule(
        "POST",
        "/v1/admin/sellers/{seller_id}/products",
        Access::Admin,
    ),
    rule("PUT", "/v1/admin/products/{id}", Access::Admin),
    rule("GET", "/v1/admin/reviews", Access::Admin),
    rule("GET", "/v1/admin/analytics", Access::Admin),
    rule("GET", "/v1/admin/analytics/csv/{figure}", Access::Admin),
    rule("GET", "/v1/admin/analytics/charts/{chart}", Access::Admin),
    // Reviews and ratings (issue 10).
    rule("GET", "/v1/catalog/products/{slug}/reviews", Access::Public),
    rule(
        "POST",
        "/v1/catalog/products/{slug}/reviews",
        Access::Customer,
    ),
    rule("GET", "/v1/catalog/products/{slug}/rating", Access::Public),
    rule("PUT", "/v1/reviews/{id}", Access::Customer),
    rule("DELETE", "/v1/reviews/{id}", Access::Customer),
    rule("POST", "/v1/reviews/{id}/report", Access::Customer),
    rule("POST", "/v1/reviews/{id}/helpful", Access::Customer),
    rule("GET", "/v1/account/reviews", Access::Customer),
    rule("POST", "/v1/seller/reviews/{id}/hide", Access::Seller),
    rule("POST", "/v1/seller/reviews/{id}/restore", Access::Seller),
    rule("POST", "/v1/admin/reviews/{id}/hide", Access::Admin),
    rule("POST", "/v1/admin/reviews/{id}/restore", Access::Admin),
    // Recommendations (issue 10).
    rule(
        "GET",
        "/v1/catalog/products/{slug}/bought-together",
        Access::Public,
    ),
    rule("GET", "/v1/catalog/products/{slug}/similar", Access::Public),
    rule("GET", "/v1/catalog/popular", Access::Public),
    rule("GET", "/v1/cart/bought-together", Access::Shopper),
    rule("GET", "/v1/recommendations/for-you", Access::Customer),
    rule("POST", "/v1/cart/quote", Access::Shopper),
    rule("GET", "/v1/orders/{id}/tracking", Access::Customer),
    // Authenticated by the carrier's signature over the body (401 otherwise).
    rule("POST", "/v1/carriers/{carrier}/webhook", Access::Public),
    rule(
        "GET",
        "/v1/account/notification-preferences",
        Access::Customer,
    ),
    rule(
        "PUT",
        "/v1/account/notification-preferences",
        Access::Customer,
    ),
    // The demo's in-memory mailbox; 404 unless the shop runs without SMTP.
    rule("GET", "/v1/dev/mailbox", Access::Public),
];

/// The rule of `method path` (`path` as matched, `/v1/orders/{id}`), if any.
pub fn rule_of(method: &str, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .map(|r| r.access)
}

/// Whether `actor` (None: anonymous) may use a route with rule `access`: `Ok`, or
/// the 401/403 to answer.
pub fn check(access: Access, actor: Option<&Actor>) -> Result<(), ApiError> {
    let allowed = matches!(
        (access, actor),
        (Access::Public, _)
            | (Access::Shopper, Some(Actor::Guest(_) | Actor::Customer(_)))
            | (Access::Customer, Some(Actor::Customer(_)))
            | (
                Access::SignedIn,
                Some(Actor::Customer(_) | Actor::Seller(_) | Actor::Admin)
            )
            | (Access::Seller, Some(Actor::Seller(_)))
            | (Access::Admin, Some(Actor::Admin))
    );
    match (allowed, actor) {
        (true, _) => Ok(()),
        (false, None | Some(Actor::Guest(_))) => Err(ApiError::unauthenticated()),
        (false, Some(_)) => Err(ApiError::forbidden()),
    }
}

/// Middleware enforcing [`ROUTES`] before any handler runs (so a refused caller
/// learns nothing from body validation): establishes the [`Caller`], checks the
/// route's rule and hands the caller to the handler. A route without a rule is
/// refused with 403 (deny by default).
pub async fn enforce(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match Caller::from_request_parts(&mut parts, &state).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let rule = matched.and_then(|m| rule_of(parts.method.as_str(), m.as_str()));
    let Some(access) = rule else {
        tracing::error!(method = %parts.method, path = %parts.uri.path(), "route without an access rule refused");
        return ApiError::forbidden().into_response();
    };
    if let Err(e) = check(access, caller.actor.as_ref()) {
        return e.into_response();
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}
