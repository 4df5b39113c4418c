//! Admins change the pricing tables over the API and the next quote and checkout
//! price with them (in memory; the store's behaviour on PostgreSQL is the
//! `pricing_tables` conformance suite of commerce-postgres). Bad input is a 4xx
//! JSON error that changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use axum::http::{Method, StatusCode};
use commerce::core::Role;
use http_support::{App, As, address, card, checkout_body};
use serde_json::{Value, json};

fn tax(rate: &str) -> Value {
    json!({
        "prices_include_tax": false,
        "rounding": "half_up",
        "rates": [{"country": "US", "region": "CA", "tax_class": "standard",
                   "rate": rate, "name": "CA sales tax"}]
    })
}

fn promotion(code: &str) -> Value {
    json!({"code": code, "discount": {"type": "percentage", "percent": "10"}})
}

async fn version(app: &App, admin: &As) -> u64 {
    let reply = app.get("/v1/admin/pricing", admin).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["version"].as_u64().unwrap()
}

#[tokio::test]
async fn http_admin_promotion_and_tax_apply_to_the_next_quote_and_checkout() {
    let app = App::in_memory();
    let (mug, _) = app.seed("pricing").await;
    let mug = format!("MUG-{}", mug.trim_start_matches("mug-"));
    let (_, admin_bearer) = app.staff("pricing-admin@example.com", Role::Admin).await;
    let admin = As::signed_in(&admin_bearer);
    let (_, bearer) = app.customer("pricing-buyer@example.com").await;
    let me = As::customer(&bearer);
    let added = app
        .post("/v1/cart/items", &me, json!({"sku": mug, "quantity": 2}))
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let quote_body = |codes: Vec<&str>| {
        json!({"shipping_address": address(), "shipping_method": "standard",
               "promo_codes": codes})
    };

    // No tax configured in CA and no promotion yet.
    let quote = app.post("/v1/cart/quote", &me, quote_body(vec![])).await;
    assert_eq!(quote.status, StatusCode::OK, "{}", quote.body);
    assert_eq!(quote.body["cart"]["totals"]["tax_total"]["amount"], "0.00");
    let unknown = app
        .post("/v1/cart/quote", &me, quote_body(vec!["SPRING10"]))
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The admin sets a 10 % CA tax: the next quote has it.
    let v0 = version(&app, &admin).await;
    let changed = app
        .call(
            Method::PUT,
            "/v1/admin/pricing/tax",
            &admin,
            Some(json!({"expected_version": v0, "tax": tax("0.10")})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let v1 = changed.body["version"].as_u64().unwrap();
    assert_eq!(v1, v0 + 1);
    let quote = app.post("/v1/cart/quote", &me, quote_body(vec![])).await;
    // 2 x 12.50 = 25.00 taxed at 10 %.
    assert_eq!(quote.body["cart"]["totals"]["tax_total"]["amount"], "2.50");

    // A stale version is a conflict and changes nothing.
    let stale = app
        .call(
            Method::PUT,
            "/v1/admin/pricing/tax",
            &admin,
            Some(json!({"expected_version": v0, "tax": tax("0.20")})),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert_eq!(stale.code(), "conflict");

    // The admin creates SPRING10: the next checkout with the code gets 10 % off.
    let created = app
        .post(
            "/v1/admin/promotions",
            &admin,
            json!({"expected_version": v1, "promotion": promotion("SPRING10")}),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let v2 = created.body["version"].as_u64().unwrap();
    let mut body = checkout_body(card("4242424242424242"));
    body["promo_codes"] = json!(["spring10"]);
    let order = app
        .post("/v1/checkout", &me.clone().key("pricing-1"), body)
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
    assert_eq!(order.body["totals"]["discount_total"]["amount"], "2.50");
    // Tax on the discounted 22.50.
    assert_eq!(order.body["totals"]["tax_total"]["amount"], "2.25");

    // Deactivated, the code no longer applies.
    let off = app
        .post(
            "/v1/admin/promotions/SPRING10/deactivate",
            &admin,
            json!({"expected_version": v2}),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    app.post("/v1/cart/items", &me, json!({"sku": mug, "quantity": 1}))
        .await;
    let gone = app
        .post("/v1/cart/quote", &me, quote_body(vec!["SPRING10"]))
        .await;
    assert_eq!(
        gone.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        gone.body
    );

    // Shipping methods: the new price is the next quote's.
    let v3 = off.body["version"].as_u64().unwrap();
    let shipping = app
        .call(
            Method::PUT,
            "/v1/admin/pricing/shipping-methods",
            &admin,
            Some(json!({"expected_version": v3, "shipping_methods": [{
                "code": "standard", "name": "Standard",
                "zones": [{"country": "US"}],
                "tiers": [{"max_grams": 1000, "price": {"amount": "4.00", "currency": "USD"}},
                          {"price": {"amount": "9.00", "currency": "USD"}}]
            }]})),
        )
        .await;
    assert_eq!(shipping.status, StatusCode::OK, "{}", shipping.body);
    let quote = app.post("/v1/cart/quote", &me, quote_body(vec![])).await;
    assert_eq!(quote.status, StatusCode::OK, "{}", quote.body);
    assert_eq!(
        quote.body["cart"]["totals"]["shipping_total"]["amount"],
        "4.00"
    );
}

#[tokio::test]
async fn http_bad_pricing_input_is_a_4xx_json_error_and_changes_nothing() {
    let app = App::in_memory();
    let (_, admin_bearer) = app.staff("pricing-bad@example.com", Role::Admin).await;
    let admin = As::signed_in(&admin_bearer);
    let before = app.get("/v1/admin/pricing", &admin).await.body;
    let v = before["version"].as_u64().unwrap();
    let cases: Vec<(Method, &str, Value, StatusCode)> = vec![
        (
            Method::PUT,
            "/v1/admin/pricing/tax",
            json!({"expected_version": v, "tax": tax("0.1"), "bogus": 1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            "/v1/admin/pricing/tax",
            json!({"expected_version": v, "tax": {"prices_include_tax": false, "rates": [
                {"country": "US", "tax_class": "standard", "rate": "0.1", "name": "x", "extra": 1}]}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            "/v1/admin/pricing/tax",
            json!({"expected_version": v, "tax": tax("1.5")}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            "/v1/admin/pricing/tax",
            json!({"expected_version": v, "tax": tax("-0.1")}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            "/v1/admin/pricing/tax",
            json!({"expected_version": v, "tax": tax("ten")}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            "/v1/admin/pricing/shipping-methods",
            json!({"expected_version": v, "shipping_methods": [{
                "code": "eur", "name": "Euro", "zones": [{"country": "US"}],
                "tiers": [{"price": {"amount": "4.00", "currency": "EUR"}}]}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::PUT,
            "/v1/admin/pricing/shipping-methods",
            json!({"expected_version": v, "shipping_methods": [
                {"code": "a", "name": "A", "zones": [{"country": "US"}],
                 "tiers": [{"price": {"amount": "1.00", "currency": "USD"}}]},
                {"code": "a", "name": "A again", "zones": [{"country": "US"}],
                 "tiers": [{"price": {"amount": "1.00", "currency": "USD"}}]}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/v1/admin/promotions",
            json!({"expected_version": v, "promotion": {"code": "BIG",
                   "discount": {"type": "percentage", "percent": "150"}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/v1/admin/promotions",
            json!({"expected_version": v, "promotion": {"code": "LATE",
                   "discount": {"type": "free_shipping"},
                   "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/v1/admin/promotions",
            json!({"expected_version": v, "promotion": {"code": "bad code!",
                   "discount": {"type": "free_shipping"}}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/v1/admin/promotions",
            json!({"expected_version": v, "promotion": {"code": "X",
                   "discount": {"type": "bogus"}}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::PUT,
            "/v1/admin/promotions/NOPE",
            json!({"expected_version": v, "promotion": promotion("NOPE")}),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::POST,
            "/v1/admin/promotions/NOPE/deactivate",
            json!({"expected_version": v}),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (method, path, body, status) in cases {
        let reply = app
            .call(method.clone(), path, &admin, Some(body.clone()))
            .await;
        let what = format!("{method} {path} {body}");
        // Malformed bodies are 400 or 422 as the JSON extractor decides.
        if status == StatusCode::BAD_REQUEST {
            assert!(reply.status.is_client_error(), "{what}: {}", reply.body);
        } else {
            assert_eq!(reply.status, status, "{what}: {}", reply.body);
        }
        assert!(reply.body["code"].is_string(), "{what}: {}", reply.body);
        assert!(reply.body["message"].is_string(), "{what}: {}", reply.body);
        assert!(reply.body["details"].is_object(), "{what}: {}", reply.body);
    }
    assert_eq!(app.get("/v1/admin/pricing", &admin).await.body, before);
}

#[tokio::test]
async fn http_admin_lists_and_searches_customers_in_keyset_pages() {
    let app = App::in_memory();
    let (_, admin_bearer) = app.staff("zz-admin@example.com", Role::Admin).await;
    let admin = As::signed_in(&admin_bearer);
    for email in ["ann@example.com", "Anna@Example.com", "bo@example.com"] {
        app.customer(email).await;
    }
    let first = app
        .get("/v1/admin/customers?email_prefix=AN&limit=1", &admin)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["customers"][0]["email"], "ann@example.com");
    let next = first.body["next"].as_str().unwrap();
    let second = app
        .get(
            &format!("/v1/admin/customers?email_prefix=an&limit=1&after={next}"),
            &admin,
        )
        .await;
    assert_eq!(second.body["customers"][0]["email"], "anna@example.com");
    let all = app.get("/v1/admin/customers", &admin).await;
    assert_eq!(all.body["customers"].as_array().unwrap().len(), 4);
    assert!(all.body["next"].is_null());
    for bad in [
        "/v1/admin/customers?limit=0",
        "/v1/admin/customers?limit=101",
        "/v1/admin/customers?bogus=1",
    ] {
        let reply = app.get(bad, &admin).await;
        assert!(reply.status.is_client_error(), "{bad}: {}", reply.body);
        assert!(reply.body["code"].is_string(), "{bad}: {}", reply.body);
    }
}

#[tokio::test]
async fn http_promotion_usage_limit_is_shown_to_admins_and_answers_422_when_used_up() {
    let app = App::in_memory();
    let (mug, _) = app.seed("limits").await;
    let mug = format!("MUG-{}", mug.trim_start_matches("mug-"));
    let (_, admin_bearer) = app.staff("limits-admin@example.com", Role::Admin).await;
    let admin = As::signed_in(&admin_bearer);
    let v = version(&app, &admin).await;
    let mut rule = promotion("ONCE");
    rule["usage_limit"] = json!(1);
    rule["usage_limit_per_customer"] = json!(1);
    let zero = app
        .post(
            "/v1/admin/promotions",
            &admin,
            json!({"expected_version": v, "promotion": {"code": "NEVER", "usage_limit": 0,
                   "discount": {"type": "free_shipping"}}}),
        )
        .await;
    assert_eq!(
        zero.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        zero.body
    );
    let created = app
        .post(
            "/v1/admin/promotions",
            &admin,
            json!({"expected_version": v, "promotion": rule}),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let shown = &created.body["promotions"][0];
    assert_eq!(shown["usage_limit"], 1);
    assert_eq!(shown["usage_limit_per_customer"], 1);
    assert_eq!(shown["redemptions"], 0);

    let mut buyers = Vec::new();
    for name in ["first", "second"] {
        let (_, bearer) = app.customer(&format!("limits-{name}@example.com")).await;
        let me = As::customer(&bearer);
        let added = app
            .post("/v1/cart/items", &me, json!({"sku": mug, "quantity": 1}))
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        buyers.push(me);
    }
    let mut body = checkout_body(card("4242424242424242"));
    body["promo_codes"] = json!(["once"]);
    let first = app
        .post(
            "/v1/checkout",
            &buyers[0].clone().key("limits-1"),
            body.clone(),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let refused = app
        .post(
            "/v1/checkout",
            &buyers[1].clone().key("limits-2"),
            body.clone(),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.code(), "promotion_exhausted");
    assert_eq!(refused.body["details"]["code"], "ONCE");
    let cart = app.get("/v1/cart", &buyers[1]).await;
    assert_eq!(
        cart.body["lines"].as_array().map(Vec::len),
        Some(1),
        "{}",
        cart.body
    );

    let tables = app.get("/v1/admin/pricing", &admin).await.body;
    assert_eq!(tables["promotions"][0]["redemptions"], 1);

    // Raising the limit lets the second buyer in.
    let mut raised = promotion("ONCE");
    raised["usage_limit"] = json!(2);
    let updated = app
        .call(
            Method::PUT,
            "/v1/admin/promotions/ONCE",
            &admin,
            Some(json!({"expected_version": tables["version"], "promotion": raised})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    let second = app
        .post("/v1/checkout", &buyers[1].clone().key("limits-3"), body)
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let tables = app.get("/v1/admin/pricing", &admin).await.body;
    assert_eq!(tables["promotions"][0]["redemptions"], 2);
}
