//! The web pages: storefront, account, seller console and admin dashboard, rendered
//! on the server from the same [`commerce::Shop`] the JSON API uses.
//!
//! Templates (minijinja) and the one stylesheet and script are compiled into the
//! binary; there is no Node build step. The core journey (browse, search, cart,
//! checkout, order tracking, sign in) works without JavaScript: every change is a
//! form POST answered with a redirect. A small script adds search suggestions and
//! adding to the cart without a reload.
//!
//! The pages use the API's cookies (`session`, `cart_token`): every visitor gets a
//! guest cart cookie on their first page. Form posts carry a CSRF token tied to
//! those cookies ([`csrf_token`]); a post without the right token is refused (403).
//!
//! Mount [`router`] beside [`crate::router`]:
//!
//! ```no_run
//! # fn app(state: commerce_http::AppState) -> axum::Router {
//! commerce_http::router(state.clone()).merge(commerce_http::pages::router(state))
//! # }
//! ```

mod account;
mod admin;
mod admin_catalog;
mod admin_customers;
mod admin_orders;
mod admin_pricing;
mod admin_reviews;
mod art;
mod preferences;
mod seller;
mod shopping;
mod storefront;
mod support;

use axum::Router;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;

use crate::state::AppState;

pub use art::placeholder_svg;
pub use support::{CsrfForm, PageError, Visitor, csrf_token};

/// The pages, with their state, ready to merge beside [`crate::router`].
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    Router::new()
        .route("/", get(storefront::home))
        .route("/c/{slug}", get(storefront::category))
        .route("/search", get(storefront::search))
        .route("/p/{slug}", get(storefront::product))
        .route("/cart", get(shopping::cart))
        .route("/cart/add", post(shopping::add))
        .route("/cart/update", post(shopping::update))
        .route(
            "/checkout",
            get(shopping::checkout_page).post(shopping::checkout),
        )
        .route("/orders/{id}", get(shopping::order))
        .route("/orders/{id}/cancel", post(shopping::cancel))
        .route("/account", get(account::account))
        .route("/account/addresses", post(account::add_address))
        .route("/account/notifications", post(preferences::save))
        .route(
            "/account/addresses/{id}/delete",
            post(account::delete_address),
        )
        .route("/signup", get(account::signup_page).post(account::signup))
        .route("/signin", get(account::signin_page).post(account::signin))
        .route("/signout", post(account::signout))
        .route(
            "/reset",
            get(account::reset_page).post(account::reset_request),
        )
        .route(
            "/reset-password",
            get(account::reset_token_page).post(account::reset_password),
        )
        .route("/seller", get(seller::console))
        .route("/seller/products/new", get(seller::new_product))
        .route("/seller/products", post(seller::create_product))
        .route(
            "/seller/products/{id}",
            get(seller::edit_product).post(seller::update_product),
        )
        .route("/seller/products/{id}/stock", post(seller::adjust_stock))
        .route("/seller/orders", get(seller::orders))
        .route("/seller/orders/{id}/ship", post(seller::ship))
        .route("/seller/products/{id}/deactivate", post(seller::deactivate))
        .route("/admin", get(admin::dashboard))
        .route("/admin/orders", get(admin_orders::list))
        .route("/admin/orders/{id}", get(admin_orders::detail))
        .route("/admin/orders/{id}/cancel", post(admin_orders::cancel))
        .route("/admin/orders/{id}/refund", post(admin_orders::refund))
        .route("/admin/customers", get(admin_customers::list))
        .route("/admin/customers/{id}", get(admin_customers::detail))
        .route("/admin/catalog", get(admin_catalog::catalog))
        .route(
            "/admin/catalog/categories",
            post(admin_catalog::create_category),
        )
        .route(
            "/admin/catalog/categories/{id}/rename",
            post(admin_catalog::rename_category),
        )
        .route(
            "/admin/catalog/categories/{id}/move",
            post(admin_catalog::move_category),
        )
        .route(
            "/admin/catalog/products/{id}",
            get(admin_catalog::edit_product).post(admin_catalog::update_product),
        )
        .route(
            "/admin/catalog/products/{id}/deactivate",
            post(admin_catalog::deactivate_product),
        )
        .route("/admin/pricing", get(admin_pricing::pricing))
        .route("/admin/pricing/tax-rates", post(admin_pricing::tax_rate))
        .route(
            "/admin/pricing/shipping-tiers",
            post(admin_pricing::tier_price),
        )
        .route(
            "/admin/promotions",
            get(admin_pricing::promotions).post(admin_pricing::create_promotion),
        )
        .route(
            "/admin/promotions/{code}/deactivate",
            post(admin_pricing::deactivate_promotion),
        )
        .route("/admin/reviews", get(admin_reviews::queue))
        .route("/admin/reviews/{id}/hide", post(admin_reviews::hide))
        .route("/admin/reviews/{id}/restore", post(admin_reviews::restore))
        .route("/assets/shop.css", get(art::stylesheet))
        .route("/assets/shop.js", get(art::script))
        .route("/art/{file}", get(art::placeholder))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            support::visitor,
        ))
        .layer(RequestBodyLimitLayer::new(limit))
        .with_state(state)
}
