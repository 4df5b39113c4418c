//! Authorization over the route list: every route of the OpenAPI document has a
//! rule in `commerce_http::access::ROUTES` (and every rule a route), and for every
//! route each role that must be refused is refused, before any body is read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use axum::http::{Method, StatusCode};
use commerce::core::{Role, SellerId};
use commerce_http::access::{Access, ROUTES};
use http_support::{App, As};
use serde_json::json;

/// (method, path) of every operation in the OpenAPI document.
fn documented() -> Vec<(String, String)> {
    let doc = serde_json::to_value(commerce_http::openapi()).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                out.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn http_every_route_has_an_access_rule_and_every_rule_a_route() {
    let mut rules: Vec<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    rules.sort();
    let routes = documented();
    let unruled: Vec<_> = routes.iter().filter(|r| !rules.contains(r)).collect();
    assert!(
        unruled.is_empty(),
        "routes without an access rule: {unruled:?}"
    );
    let stale: Vec<_> = rules.iter().filter(|r| !routes.contains(r)).collect();
    assert!(stale.is_empty(), "rules without a route: {stale:?}");
}

fn concrete(path: &str) -> String {
    path.replace("{slug}", "some-slug")
        .replace("{sku}", "SKU-1")
        .replace("{id}", "01a22c97-ba10-741c-8340-da3ce9681d28")
        .replace("{code}", "SPRING10")
}

#[tokio::test]
async fn http_each_route_refuses_the_roles_its_rule_excludes() {
    let app = App::in_memory();
    let token = app.new_cart().await;
    let (_, bearer) = app.customer("auth@example.com").await;
    let (_, seller_bearer) = app
        .staff("seller-auth@example.com", Role::Seller(SellerId::new()))
        .await;
    let (_, admin_bearer) = app.staff("admin-auth@example.com", Role::Admin).await;
    let anonymous = As::anonymous();
    let guest = As::guest(&token);
    let customer = As::customer(&bearer);
    let seller = As::signed_in(&seller_bearer);
    let admin = As::signed_in(&admin_bearer);
    for rule in ROUTES {
        let method = Method::from_bytes(rule.method.as_bytes()).unwrap();
        let path = concrete(rule.path);
        // Who must be refused, with what status: every role the rule excludes
        // (anonymous callers, guests, customers, a seller's staff, admins).
        let refused: Vec<(&str, &As, StatusCode)> = match rule.access {
            Access::Public => vec![],
            Access::Shopper => vec![
                ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
                ("seller", &seller, StatusCode::FORBIDDEN),
                ("admin", &admin, StatusCode::FORBIDDEN),
            ],
            Access::Customer => vec![
                ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
                ("guest", &guest, StatusCode::UNAUTHORIZED),
                ("seller", &seller, StatusCode::FORBIDDEN),
                ("admin", &admin, StatusCode::FORBIDDEN),
            ],
            Access::SignedIn => vec![
                ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
                ("guest", &guest, StatusCode::UNAUTHORIZED),
            ],
            Access::Seller => vec![
                ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
                ("guest", &guest, StatusCode::UNAUTHORIZED),
                ("customer", &customer, StatusCode::FORBIDDEN),
                ("admin", &admin, StatusCode::FORBIDDEN),
            ],
            Access::Admin => vec![
                ("anonymous", &anonymous, StatusCode::UNAUTHORIZED),
                ("guest", &guest, StatusCode::UNAUTHORIZED),
                ("customer", &customer, StatusCode::FORBIDDEN),
                ("seller", &seller, StatusCode::FORBIDDEN),
            ],
        };
        for (role, who, status) in refused {
            // A body that would be invalid: the refusal must come first.
            let body = matches!(rule.method, "POST" | "PUT").then(|| json!({"bogus": true}));
            let reply = app
                .call(method.clone(), &path, &who.clone().key("k-1"), body)
                .await;
            assert_eq!(
                reply.status, status,
                "{} {} as {role}: {}",
                rule.method, rule.path, reply.body
            );
            assert!(
                reply.body["code"].is_string(),
                "{} {}: {}",
                rule.method,
                rule.path,
                reply.body
            );
        }
    }
}

/// A staff login acts as its role: the seller's staff reach seller routes, admins
/// admin routes, and neither shops with a customer's cart or orders; both log out.
#[tokio::test]
async fn http_staff_sessions_act_as_their_role() {
    let app = App::in_memory();
    let (_, seller_bearer) = app
        .staff("seller-role@example.com", Role::Seller(SellerId::new()))
        .await;
    let (_, admin_bearer) = app.staff("admin-role@example.com", Role::Admin).await;
    let seller = As::signed_in(&seller_bearer);
    let admin = As::signed_in(&admin_bearer);
    assert_eq!(
        app.get("/v1/admin/analytics", &admin).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v1/admin/analytics", &seller).await.status,
        StatusCode::FORBIDDEN
    );
    for who in [&seller, &admin] {
        assert_eq!(
            app.get("/v1/orders", who).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(app.get("/v1/cart", who).await.status, StatusCode::FORBIDDEN);
        let out = app.call(Method::POST, "/v1/auth/logout", who, None).await;
        assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.body);
        assert_eq!(
            app.get("/v1/admin/analytics", who).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn http_staff_login_over_the_api_opens_a_staff_session() {
    let app = App::in_memory();
    app.staff("admin-login@example.com", Role::Admin).await;
    let out = app
        .post(
            "/v1/auth/login",
            &As::anonymous(),
            serde_json::json!({"email": "admin-login@example.com", "password": "staff password"}),
        )
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    let token = out.body["token"].as_str().unwrap().to_owned();
    let admin = As::signed_in(&token);
    assert_eq!(
        app.get("/v1/admin/analytics", &admin).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/v1/orders", &admin).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn http_a_forged_or_ended_session_is_refused_not_read_as_anonymous() {
    let app = App::in_memory();
    let forged = As::customer(&"ab".repeat(32));
    assert_eq!(
        app.get("/v1/catalog/categories", &forged).await.status,
        StatusCode::UNAUTHORIZED
    );
    let garbage = As::customer("not-a-token");
    assert_eq!(
        app.get("/v1/cart", &garbage).await.status,
        StatusCode::UNAUTHORIZED
    );
    let bad_cart = As::guest("zz");
    assert_eq!(
        app.get("/v1/cart", &bad_cart).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
