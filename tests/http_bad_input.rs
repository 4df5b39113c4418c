//! Bad input through the Router: malformed JSON, wrong types, unknown fields,
//! negative or huge quantities, unknown ids, oversized bodies, unicode and
//! injection strings. Each answers a 4xx JSON error with a code, never a 500, and
//! writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_support::{App, As, card, checkout_body};
use serde_json::json;

fn assert_client_error(reply: &http_support::Reply, what: &str) {
    assert!(
        reply.status.is_client_error(),
        "{what}: {} {}",
        reply.status,
        reply.body
    );
    assert!(reply.body["code"].is_string(), "{what}: {}", reply.body);
    assert!(reply.body["message"].is_string(), "{what}: {}", reply.body);
    assert!(reply.body["details"].is_object(), "{what}: {}", reply.body);
}

async fn raw_json(
    app: &App,
    method: Method,
    path: &str,
    who: &As,
    body: &str,
) -> http_support::Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(t) = &who.cart_token {
        request = request.header("x-cart-token", t);
    }
    if let Some(b) = &who.bearer {
        request = request.header("authorization", format!("Bearer {b}"));
    }
    if let Some(k) = &who.idempotency_key {
        request = request.header("idempotency-key", k);
    }
    app.raw(request.body(Body::from(body.to_owned())).unwrap())
        .await
}

#[tokio::test]
async fn http_bad_cart_input_is_a_4xx_json_error_and_writes_nothing() {
    let app = App::in_memory();
    app.seed("bad").await;
    let token = app.new_cart().await;
    let guest = As::guest(&token);
    let cases: Vec<(&str, String, &str)> = vec![
        ("malformed json", "{\"sku\": ".into(), "malformed_json"),
        (
            "wrong type",
            json!({"sku": "MUG-bad", "quantity": "two"}).to_string(),
            "invalid_body",
        ),
        (
            "negative quantity",
            json!({"sku": "MUG-bad", "quantity": -1}).to_string(),
            "invalid_body",
        ),
        (
            "huge quantity",
            json!({"sku": "MUG-bad", "quantity": 1u64 << 40}).to_string(),
            "invalid_body",
        ),
        (
            "quantity over the line limit",
            json!({"sku": "MUG-bad", "quantity": 100}).to_string(),
            "quantity_limit",
        ),
        (
            "zero quantity",
            json!({"sku": "MUG-bad", "quantity": 0}).to_string(),
            "validation_failed",
        ),
        (
            "unknown field",
            json!({"sku": "MUG-bad", "quantity": 1, "price": "0.01"}).to_string(),
            "invalid_body",
        ),
        (
            "missing field",
            json!({"sku": "MUG-bad"}).to_string(),
            "invalid_body",
        ),
        (
            "unknown sku",
            json!({"sku": "NOPE-1", "quantity": 1}).to_string(),
            "unknown_sku",
        ),
        (
            "injection sku",
            json!({"sku": "x'); DROP TABLE carts;--", "quantity": 1}).to_string(),
            "",
        ),
        (
            "unicode sku",
            json!({"sku": "Ünïcödé-😀", "quantity": 1}).to_string(),
            "",
        ),
        (
            "control characters",
            json!({"sku": "A\u{0000}B", "quantity": 1}).to_string(),
            "",
        ),
        ("array body", "[1,2,3]".into(), "invalid_body"),
        ("empty body", String::new(), ""),
    ];
    for (what, body, code) in cases {
        let reply = raw_json(&app, Method::POST, "/v1/cart/items", &guest, &body).await;
        assert_client_error(&reply, what);
        if !code.is_empty() {
            assert_eq!(reply.body["code"], code, "{what}: {}", reply.body);
        }
    }
    let cart = app.get("/v1/cart", &guest).await;
    assert_eq!(
        cart.body["lines"].as_array().unwrap().len(),
        0,
        "{}",
        cart.body
    );
}

#[tokio::test]
async fn http_oversized_body_is_413_json() {
    let app = App::in_memory();
    let token = app.new_cart().await;
    let big = json!({"sku": "A".repeat(64 * 1024), "quantity": 1}).to_string();
    let reply = raw_json(
        &app,
        Method::POST,
        "/v1/cart/items",
        &As::guest(&token),
        &big,
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        reply.body
    );
    assert_eq!(reply.body["code"], "body_too_large");
}

#[tokio::test]
async fn http_bad_checkout_input_leaves_stock_and_cart_alone() {
    let app = App::in_memory();
    app.seed("co").await;
    let (_, bearer) = app.customer("bad-checkout@example.com").await;
    let me = As::customer(&bearer);
    app.post(
        "/v1/cart/items",
        &me,
        json!({"sku": "MUG-co", "quantity": 2}),
    )
    .await;
    let before = app.available("MUG-co").await;
    let mut bad_country = checkout_body(card("4242424242424242"));
    bad_country["shipping_address"]["country"] = json!("XX");
    let mut bad_email = checkout_body(card("4242424242424242"));
    bad_email["email"] = json!("not an email");
    let mut unknown_method = checkout_body(card("4242424242424242"));
    unknown_method["shipping_method"] = json!("teleport");
    let mut extra = checkout_body(card("4242424242424242"));
    extra["customer_id"] = json!("01a22c97-ba10-741c-8340-da3ce9681d28");
    let mut unicode = checkout_body(card("4242424242424242"));
    unicode["shipping_address"]["name"] = json!("\u{202e}<script>alert(1)</script>");
    unicode["shipping_address"]["line1"] = json!("");
    let cases = vec![
        ("bad country", bad_country),
        ("bad email", bad_email),
        ("unknown shipping method", unknown_method),
        ("customer id in the body", extra),
        (
            "payment type unknown",
            checkout_body(json!({"type": "iou"})),
        ),
        ("empty address line", unicode),
        (
            "address missing",
            json!({"email": "a@b.example", "shipping_method": "standard",
                                   "payment_method": {"type": "cash_on_delivery"}}),
        ),
    ];
    for (i, (what, body)) in cases.into_iter().enumerate() {
        let reply = app
            .post("/v1/checkout", &me.clone().key(&format!("bad-{i}")), body)
            .await;
        assert_client_error(&reply, what);
    }
    assert_eq!(app.available("MUG-co").await, before);
    assert_eq!(
        app.get("/v1/cart", &me).await.body["lines"][0]["quantity"],
        2
    );
    assert_eq!(
        app.get("/v1/orders", &me)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn http_unknown_ids_and_routes_are_404_json() {
    let app = App::in_memory();
    let (_, bearer) = app.customer("ids@example.com").await;
    let me = As::customer(&bearer);
    for path in [
        "/v1/catalog/products/no-such-product",
        "/v1/catalog/sellers/nobody",
        "/v1/orders/01a22c97-ba10-741c-8340-da3ce9681d28",
        "/v1/orders/not-a-uuid",
        "/v1/no/such/route",
    ] {
        let reply = app.get(path, &me).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
        assert_eq!(reply.body["code"], "not_found");
    }
    for path in [
        "/v1/catalog/products?limit=0",
        "/v1/catalog/products?limit=100000",
        "/v1/catalog/products?after=not-an-id",
        "/v1/catalog/products?limit=-1",
        "/v1/catalog/products?bogus=1",
    ] {
        let reply = app.get(path, &me).await;
        assert_client_error(&reply, path);
    }
    let cancel = app
        .call(
            Method::POST,
            "/v1/orders/01a22c97-ba10-741c-8340-da3ce9681d28/cancel",
            &me,
            None,
        )
        .await;
    assert_eq!(cancel.status, StatusCode::NOT_FOUND, "{}", cancel.body);
}
