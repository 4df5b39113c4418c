//! The admin's pricing pages without a browser: `/admin/pricing` edits the tax
//! table and a shipping tier through the same service as the JSON routes (the next
//! quote prices with them), `/admin/promotions` lists promotions with their limits
//! and redemptions, creates and deactivates them; a stale form is refused; only
//! admins get the pages and their forms.
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
use commerce::core::Role;
use commerce_http::pages::csrf_token;
use commerce_http::{AppState, HttpConfig};

const TOKEN: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
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

/// A signed-in cookie for a new account with `role`, and its CSRF token.
async fn cookie(shop: &Shop, email: &str, role: Option<Role>) -> (String, String) {
    let now = shop.clock().now();
    match role {
        Some(role) => {
            shop.accounts()
                .create_staff(None, email, "Staff", "staff password 1", role, now)
                .await
                .unwrap();
        }
        None => {
            shop.accounts()
                .register(email, "Cleo Customer", "staff password 1", now)
                .await
                .unwrap();
        }
    }
    let session = shop
        .accounts()
        .sign_in(
            shop.sessions().as_ref(),
            email,
            "staff password 1",
            chrono::Duration::hours(1),
            now,
        )
        .await
        .unwrap();
    let token = session.token.as_str().to_owned();
    (
        format!("cart_token={TOKEN}; session={token}"),
        csrf_token(TOKEN, Some(&token)),
    )
}

async fn version(shop: &Shop) -> String {
    shop.pricing_tables()
        .fresh()
        .await
        .unwrap()
        .version
        .to_string()
}

#[tokio::test]
async fn web_admin_pricing_page_edits_tax_and_shipping() {
    let shop = Shop::in_memory();
    let state = AppState::new(shop.clone(), HttpConfig::default());
    let app = commerce_http::router(state.clone()).merge(commerce_http::pages::router(state));
    let (admin, csrf) = cookie(&shop, "pricing-admin@example.com", Some(Role::Admin)).await;

    let (status, body) = send(&app, get("/admin/pricing", &admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("href=\"/admin/promotions\""),
        "in the admin nav"
    );
    assert!(body.contains("Shipping methods"));

    let v = version(&shop).await;
    let set = [
        ("_csrf", csrf.as_str()),
        ("expected_version", v.as_str()),
        ("action", "set"),
        ("country", "US"),
        ("region", "ca"),
        ("tax_class", "standard"),
        ("percent", "7.25"),
        ("name", "CA sales tax"),
    ];
    let forged = send(&app, post("/admin/pricing/tax-rates", &admin, &set[1..])).await;
    assert_eq!(forged.0, StatusCode::FORBIDDEN);
    let (status, _) = send(&app, post("/admin/pricing/tax-rates", &admin, &set)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let tables = shop.pricing_tables().fresh().await.unwrap();
    let rate = tables
        .tax
        .rates
        .iter()
        .find(|r| r.name == "CA sales tax")
        .unwrap();
    assert_eq!(rate.rate.to_string(), "0.0725");
    assert_eq!(rate.region.as_deref(), Some("CA"));
    let (_, body) = send(&app, get("/admin/pricing?done=tax", &admin)).await;
    assert!(body.contains("7.25 %"), "{body}");
    assert!(body.contains("Tax table saved"));

    // The same version again is stale: refused, nothing changed.
    let (status, _) = send(&app, post("/admin/pricing/tax-rates", &admin, &set)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(shop.pricing_tables().fresh().await.unwrap(), tables);

    let method = tables.shipping_methods[0].code.clone();
    let v = version(&shop).await;
    let (status, _) = send(
        &app,
        post(
            "/admin/pricing/shipping-tiers",
            &admin,
            &[
                ("_csrf", csrf.as_str()),
                ("expected_version", v.as_str()),
                ("method", method.as_str()),
                ("tier", "0"),
                ("price", "3.33"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let tables = shop.pricing_tables().fresh().await.unwrap();
    assert_eq!(
        tables.shipping_methods[0].tiers[0]
            .price
            .amount()
            .to_string(),
        "3.33"
    );
    let bad = send(
        &app,
        post(
            "/admin/pricing/shipping-tiers",
            &admin,
            &[
                ("_csrf", csrf.as_str()),
                ("expected_version", tables.version.to_string().as_str()),
                ("method", method.as_str()),
                ("tier", "0"),
                ("price", "cheap"),
            ],
        ),
    )
    .await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY);

    // Removing the rate.
    let v = version(&shop).await;
    let (status, _) = send(
        &app,
        post(
            "/admin/pricing/tax-rates",
            &admin,
            &[
                ("_csrf", csrf.as_str()),
                ("expected_version", v.as_str()),
                ("action", "remove"),
                ("country", "US"),
                ("region", "CA"),
                ("tax_class", "standard"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let tables = shop.pricing_tables().fresh().await.unwrap();
    assert!(tables.tax.rates.iter().all(|r| r.name != "CA sales tax"));
}

#[tokio::test]
async fn web_admin_promotions_page_lists_limits_creates_and_deactivates() {
    let shop = Shop::in_memory();
    let state = AppState::new(shop.clone(), HttpConfig::default());
    let app = commerce_http::router(state.clone()).merge(commerce_http::pages::router(state));
    let (admin, csrf) = cookie(&shop, "promo-admin@example.com", Some(Role::Admin)).await;

    let v = version(&shop).await;
    let create = [
        ("_csrf", csrf.as_str()),
        ("expected_version", v.as_str()),
        ("code", "WEB20"),
        ("kind", "percentage"),
        ("value", "20"),
        ("usage_limit", "50"),
        ("usage_limit_per_customer", "1"),
    ];
    let (status, body) = send(&app, post("/admin/promotions", &admin, &create)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let tables = shop.pricing_tables().fresh().await.unwrap();
    let rule = tables.promotion("WEB20").unwrap();
    assert_eq!(
        (rule.usage_limit, rule.usage_limit_per_customer),
        (Some(50), Some(1))
    );
    let (status, body) = send(&app, get("/admin/promotions?done=created", &admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<strong>WEB20</strong>"), "{body}");
    assert!(body.contains("20 % off"));
    assert!(
        body.contains(">50<") && body.contains(">0<"),
        "limit and redemptions"
    );
    assert!(body.contains("/admin/promotions/WEB20/deactivate"));

    let mut bad = create;
    bad[1].1 = "999";
    bad[2].1 = "OTHER";
    bad[5].1 = "lots";
    let (status, _) = send(&app, post("/admin/promotions", &admin, &bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let v = version(&shop).await;
    let (status, _) = send(
        &app,
        post(
            "/admin/promotions/WEB20/deactivate",
            &admin,
            &[("_csrf", csrf.as_str()), ("expected_version", v.as_str())],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        !shop
            .pricing_tables()
            .fresh()
            .await
            .unwrap()
            .promotion("WEB20")
            .unwrap()
            .active
    );
    let (_, body) = send(&app, get("/admin/promotions", &admin)).await;
    assert!(body.contains("Inactive"));
    assert!(!body.contains("/admin/promotions/WEB20/deactivate"));

    // Sellers and customers are refused pages and forms; the anonymous sign in.
    let (seller, seller_csrf) = cookie(
        &shop,
        "promo-seller@example.com",
        Some(Role::Seller(commerce::core::SellerId::new())),
    )
    .await;
    let (customer, customer_csrf) = cookie(&shop, "promo-customer@example.com", None).await;
    let v = version(&shop).await;
    for (who, token) in [(&seller, &seller_csrf), (&customer, &customer_csrf)] {
        for path in ["/admin/pricing", "/admin/promotions"] {
            assert_eq!(send(&app, get(path, who)).await.0, StatusCode::FORBIDDEN);
        }
        let form = [
            ("_csrf", token.as_str()),
            ("expected_version", v.as_str()),
            ("code", "SNEAKY"),
            ("kind", "free_shipping"),
        ];
        assert_eq!(
            send(&app, post("/admin/promotions", who, &form)).await.0,
            StatusCode::FORBIDDEN
        );
    }
    let anonymous = send(
        &app,
        get("/admin/promotions", &format!("cart_token={TOKEN}")),
    )
    .await;
    assert_eq!(anonymous.0, StatusCode::SEE_OTHER);
    assert!(
        shop.pricing_tables()
            .fresh()
            .await
            .unwrap()
            .promotion("SNEAKY")
            .is_none()
    );
}
