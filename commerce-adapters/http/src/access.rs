//! Who may use each route: one rule per route, in one table. Handlers enforce the
//! rule through [`crate::extract::Caller`]; the table is what tests check every
//! route against (a route without a rule fails them).

use serde::Serialize;

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
    rule("GET", "/v1/account/addresses", Access::Customer),
    rule("POST", "/v1/account/addresses", Access::Customer),
    rule("PUT", "/v1/account/addresses/{id}", Access::Customer),
    rule("DELETE", "/v1/account/addresses/{id}", Access::Customer),
    rule("POST", "/v1/auth/logout", Access::Customer),
    rule("POST", "/v1/auth/logout-everywhere", Access::Customer),
];
