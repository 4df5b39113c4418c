//! The web pages without a browser: every visitor gets a cart cookie, form posts
//! without the visitor's CSRF token are refused, the core journey works with plain
//! form posts and redirects (no script), staff pages send the anonymous to sign in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use commerce::Shop;
use commerce::core::{Currency, Money, Product, ProductStatus, SellerId, Sku, Variant};
use commerce::inventory::{AdjustmentReason, LocationCode, StockAdjustment};
use commerce_http::pages::{csrf_token, placeholder_svg};
use commerce_http::{AppState, HttpConfig};

struct Page {
    status: StatusCode,
    body: String,
    location: Option<String>,
    cookies: Vec<String>,
}

async fn send(app: &axum::Router, req: Request<Body>) -> Page {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        location,
        cookies,
    }
}

fn get(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn post(uri: &str, cookie: &str, form: &[(&str, &str)]) -> Request<Body> {
    Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(form).unwrap()))
        .unwrap()
}

async fn shop_with_a_product() -> Shop {
    let shop = Shop::in_memory();
    let now = shop.clock().now();
    let product = Product::builder(SellerId::new(), "Blue Mug", "blue-mug")
        .description("A mug, blue.")
        .status(ProductStatus::Active)
        .variant(
            Variant::builder(
                Sku::new("MUG-BLUE").unwrap(),
                Money::from_minor(1250, Currency::USD),
            )
            .name("Blue mug"),
        )
        .build()
        .unwrap();
    shop.catalog().upsert_product(&product).await.unwrap();
    shop.inventory()
        .adjust(
            &StockAdjustment {
                sku: Sku::new("MUG-BLUE").unwrap(),
                location: LocationCode::default_location(),
                delta: 3,
                reason: AdjustmentReason::Received,
                note: None,
            },
            now,
        )
        .await
        .unwrap();
    shop
}

fn app(shop: &Shop) -> axum::Router {
    let state = AppState::new(shop.clone(), HttpConfig::default());
    commerce_http::router(state.clone()).merge(commerce_http::pages::router(state))
}

const TOKEN: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

#[tokio::test]
async fn web_first_page_sets_a_cart_cookie_and_the_layout() {
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let page = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.cookies.iter().any(|c| c.starts_with("cart_token=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")),
        "{:?}",
        page.cookies
    );
    assert!(page.body.contains("<html lang=\"en\">"));
    assert!(page.body.contains("Blue Mug"), "catalog fallback lists it");
    // A visitor who already has a cart cookie keeps it.
    let again = send(&app, get("/", &format!("cart_token={TOKEN}"))).await;
    assert!(again.cookies.iter().all(|c| !c.starts_with("cart_token=")));
}

#[tokio::test]
async fn web_form_post_without_the_csrf_token_is_refused() {
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let cookie = format!("cart_token={TOKEN}");
    for token in ["", "0000", &csrf_token(TOKEN, Some("another-session"))] {
        let page = send(
            &app,
            post(
                "/cart/add",
                &cookie,
                &[("_csrf", token), ("sku", "MUG-BLUE"), ("quantity", "1")],
            ),
        )
        .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "token {token:?}");
    }
    assert!(
        shop.carts()
            .cart(&commerce::cart::CartKey::Guest(
                commerce::core::actor::GuestCartToken::parse(TOKEN)
                    .unwrap()
                    .cart_id()
            ))
            .await
            .unwrap()
            .is_none(),
        "a refused post changed the cart"
    );
}

#[tokio::test]
async fn web_guest_buys_with_forms_only() {
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    let cookie = format!("cart_token={TOKEN}");
    let csrf = csrf_token(TOKEN, None);
    let product = send(&app, get("/p/blue-mug", &cookie)).await;
    assert_eq!(product.status, StatusCode::OK);
    assert!(product.body.contains("Only 3 left"), "{}", product.body);
    assert!(product.body.contains(&csrf), "forms carry the token");
    let added = send(
        &app,
        post(
            "/cart/add",
            &cookie,
            &[
                ("_csrf", &csrf),
                ("sku", "MUG-BLUE"),
                ("quantity", "2"),
                ("back", "/p/blue-mug?added=1"),
            ],
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert_eq!(added.location.as_deref(), Some("/p/blue-mug?added=1"));
    // Another site as `back` is not followed.
    let elsewhere = send(
        &app,
        post(
            "/cart/add",
            &cookie,
            &[
                ("_csrf", &csrf),
                ("sku", "MUG-BLUE"),
                ("back", "//evil.example/"),
            ],
        ),
    )
    .await;
    assert_eq!(elsewhere.location.as_deref(), Some("/cart"));
    let cart = send(&app, get("/cart", &cookie)).await;
    assert!(cart.body.contains("$37.50"), "{}", cart.body);
    assert!(cart.body.contains("Standard shipping"));
    let checkout = send(&app, get("/checkout", &cookie)).await;
    assert!(checkout.body.contains("4242424242424242"));
    let key = "page-test-key-1";
    let form = [
        ("_csrf", csrf.as_str()),
        ("key", key),
        ("email", "guest@example.com"),
        ("name", "Grace Guest"),
        ("line1", "1 Main St"),
        ("city", "Springfield"),
        ("region", "IL"),
        ("postal_code", "62701"),
        ("country", "US"),
        ("shipping_method", "standard"),
        ("payment", "card"),
        ("card_number", "4000 0000 0000 0002"),
        ("card_expiry", "12/39"),
        ("card_cvc", "123"),
    ];
    // A declined card shows the form again with the reason, and a new key.
    let declined = send(&app, post("/checkout", &cookie, &form)).await;
    assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
    assert!(
        declined.body.contains("role=\"alert\""),
        "{}",
        declined.body
    );
    assert!(
        declined.body.contains("Grace Guest"),
        "the form keeps its values"
    );
    let mut approved = form;
    approved[1] = ("key", "page-test-key-2");
    approved[11] = ("card_number", "4242424242424242");
    let placed = send(&app, post("/checkout", &cookie, &approved)).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let to = placed.location.unwrap();
    assert!(
        to.starts_with("/orders/") && to.ends_with("?placed=1"),
        "{to}"
    );
    // Posting the same attempt again (a double click) gives the same order.
    let again = send(&app, post("/checkout", &cookie, &approved)).await;
    assert_eq!(again.location.as_deref(), Some(to.as_str()));
    let confirmation = send(&app, get(&to, &cookie)).await;
    assert_eq!(confirmation.status, StatusCode::OK);
    assert!(confirmation.body.contains("your order is placed"));
    assert!(confirmation.body.contains("$42.50"), "total with shipping");
    // Another visitor does not see it.
    let other = "b".repeat(64);
    let stranger = send(&app, get(&to, &format!("cart_token={other}"))).await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn web_staff_pages_send_the_anonymous_to_sign_in_and_refuse_customers() {
    let shop = shop_with_a_product().await;
    let app = app(&shop);
    for path in ["/seller", "/admin"] {
        let page = send(&app, get(path, &format!("cart_token={TOKEN}"))).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(page.location.unwrap().starts_with("/signin?next="));
    }
    let customer = shop
        .accounts()
        .register("c@example.com", "C", "long enough pw", shop.clock().now())
        .await
        .unwrap();
    let session = shop
        .sessions()
        .create(customer.id, chrono::Duration::hours(1), shop.clock().now())
        .await
        .unwrap();
    let cookie = format!("cart_token={TOKEN}; session={}", session.token.as_str());
    for path in ["/seller", "/admin"] {
        let page = send(&app, get(path, &cookie)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    // A session that ended shows the page signed out and clears the cookie.
    shop.sessions().revoke(&session.token).await.unwrap();
    let page = send(&app, get("/", &cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.cookies.iter().any(|c| c.starts_with("session=;")));
}

#[test]
fn web_placeholder_art_is_stable_svg_with_escaped_text() {
    let a = placeholder_svg("blue-mug");
    assert_eq!(a, placeholder_svg("blue-mug"));
    assert_ne!(a, placeholder_svg("red-mug"));
    assert!(a.starts_with("<svg") && a.contains(">BM<"));
    assert!(!placeholder_svg("<x>-\"y").contains("<x>"));
}
