//! Reliability finding 6: a checkout whose payment answer comes too late answers
//! 202 Accepted with a `Location` the same buyer polls (a guest through their cart
//! token, a customer through their session) and a `Retry-After`; a retry of the
//! POST answers the current state; another buyer polling the key gets 404. Driven
//! through the Router with the simulated gateway's late-answer fault (the gateway
//! charges, then the connection drops).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use axum::http::StatusCode;
use commerce::orders::simulated::test_cards;
use commerce::orders::{FaultTiming, GatewayOperation};
use http_support::{App, As, Reply, card, checkout_body};
use serde_json::json;

/// A guest cart token holding one mug of `tag`'s catalog.
async fn cart_with_a_mug(app: &App, tag: &str) -> String {
    let token = app.new_cart().await;
    let added = app
        .post(
            "/v1/cart/items",
            &As::guest(&token),
            json!({"sku": format!("MUG-{tag}"), "quantity": 1}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    token
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The pending order recovered: the gateway did authorize, so it confirms.
async fn recover(app: &App, order_id: &str) {
    let id: commerce::orders::OrderId = order_id.parse().unwrap();
    let order = app.shop.orders().get(id).await.unwrap().unwrap();
    app.shop.checkout().recover_order(order).await.unwrap();
}

#[tokio::test]
async fn http_checkout_pending_guest_gets_202_and_polls_the_outcome_with_its_cart_token() {
    let app = App::in_memory();
    let tag = "pend-guest";
    app.seed(tag).await;
    let token = cart_with_a_mug(&app, tag).await;
    let guest = As::guest(&token).key("late/answer:1");

    app.gateway
        .inject_fault(GatewayOperation::Authorize, FaultTiming::AfterProcessing);
    let placed = app
        .post(
            "/v1/checkout",
            &guest,
            checkout_body(card(test_cards::APPROVED)),
        )
        .await;
    assert_eq!(placed.status, StatusCode::ACCEPTED, "{}", placed.body);
    assert_eq!(placed.body["status"], "pending_payment");
    let location = header(&placed, "location").to_owned();
    assert_eq!(location, "/v1/checkout/late%2Fanswer%3A1");
    assert_eq!(header(&placed, "retry-after"), "2");
    let order_id = placed.body["id"].as_str().unwrap().to_owned();

    // The same guest polls: still pending.
    let polled = app.get(&location, &As::guest(&token)).await;
    assert_eq!(polled.status, StatusCode::ACCEPTED, "{}", polled.body);
    assert_eq!(polled.body["id"], order_id.as_str());
    assert_eq!(header(&polled, "location"), location);
    assert!(polled.headers.contains_key("retry-after"));

    // A retry of the POST with the same key answers the same pending order
    // (no second charge).
    let retried = app
        .post(
            "/v1/checkout",
            &guest,
            checkout_body(card(test_cards::APPROVED)),
        )
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    assert_eq!(retried.body["id"], order_id.as_str());
    assert_eq!(app.gateway.stats().authorize_calls, 1);

    // Another buyer polling the key: 404, as for a key never used.
    let other_token = app.new_cart().await;
    let other = app.get(&location, &As::guest(&other_token)).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.body);
    assert_eq!(other.code(), "not_found");
    let (_, bearer) = app.customer("pend-other@example.com").await;
    let customer = app.get(&location, &As::customer(&bearer)).await;
    assert_eq!(customer.status, StatusCode::NOT_FOUND, "{}", customer.body);
    let anonymous = app.get(&location, &As::anonymous()).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    // The recovery pass confirms it; the guest's next poll says so (200).
    recover(&app, &order_id).await;
    let done = app.get(&location, &As::guest(&token)).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["status"], "confirmed");
    assert!(!done.headers.contains_key("retry-after"));
    // And a retry of the POST now answers the confirmed order.
    let after = app
        .post(
            "/v1/checkout",
            &guest,
            checkout_body(card(test_cards::APPROVED)),
        )
        .await;
    assert_eq!(after.status, StatusCode::CREATED, "{}", after.body);
    assert_eq!(after.body["status"], "confirmed");
    assert_eq!(app.gateway.stats().authorize_calls, 1);
}

#[tokio::test]
async fn http_checkout_pending_customer_polls_the_key_and_a_settled_checkout_is_200() {
    let app = App::in_memory();
    let tag = "pend-cust";
    app.seed(tag).await;
    let (_, bearer) = app.customer("pend-cust@example.com").await;
    let me = As::customer(&bearer);
    let added = app
        .post(
            "/v1/cart/items",
            &me,
            json!({"sku": format!("MUG-{tag}"), "quantity": 1}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);

    app.gateway
        .inject_fault(GatewayOperation::Authorize, FaultTiming::AfterProcessing);
    let placed = app
        .post(
            "/v1/checkout",
            &me.clone().key("cust-late"),
            checkout_body(card(test_cards::APPROVED)),
        )
        .await;
    assert_eq!(placed.status, StatusCode::ACCEPTED, "{}", placed.body);
    let location = header(&placed, "location").to_owned();
    assert_eq!(location, "/v1/checkout/cust%2Dlate");
    let polled = app.get(&location, &me).await;
    assert_eq!(polled.status, StatusCode::ACCEPTED, "{}", polled.body);
    // The customer's own order read agrees.
    let id = placed.body["id"].as_str().unwrap().to_owned();
    let order = app.get(&format!("/v1/orders/{id}"), &me).await;
    assert_eq!(order.body["status"], "pending_payment");

    recover(&app, &id).await;
    let done = app.get(&location, &me).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["status"], "confirmed");
    // An unknown key of this customer: 404.
    let unknown = app.get("/v1/checkout/never-used", &me).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn http_checkout_pending_a_checkout_answered_in_time_is_201_without_location() {
    let app = App::in_memory();
    let tag = "pend-none";
    app.seed(tag).await;
    let token = cart_with_a_mug(&app, tag).await;
    let placed = app
        .post(
            "/v1/checkout",
            &As::guest(&token).key("in-time"),
            checkout_body(card(test_cards::APPROVED)),
        )
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    assert!(!placed.headers.contains_key("location"));
    let polled = app.get("/v1/checkout/in-time", &As::guest(&token)).await;
    assert_eq!(polled.status, StatusCode::OK, "{}", polled.body);
    assert_eq!(polled.body["id"], placed.body["id"]);
}

#[test]
fn http_checkout_pending_the_openapi_document_describes_202_and_the_poll_route() {
    let doc = serde_json::to_value(commerce_http::openapi()).unwrap();
    let post = &doc["paths"]["/v1/checkout"]["post"]["responses"]["202"];
    assert!(post["headers"]["Location"].is_object(), "{post}");
    assert!(post["headers"]["Retry-After"].is_object(), "{post}");
    let poll = &doc["paths"]["/v1/checkout/{key}"]["get"]["responses"];
    for status in ["200", "202", "404"] {
        assert!(
            poll[status].is_object(),
            "GET /v1/checkout/{{key}} lacks {status}"
        );
    }
}
