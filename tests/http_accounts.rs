//! Accounts over HTTP on the embedded default: register, log in (session cookie
//! and bearer, the guest cart merged), rate limits with `Retry-After`, password
//! change and reset (single use, the same answer for an unknown email), profile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use commerce::Shop;
use commerce::core::auth::RateLimit;
use commerce::orders::SimulatedGateway;
use commerce_http::{AppState, HttpConfig};
use http_support::{App, As, Reply};
use serde_json::{Value, json};

fn app_with(config: HttpConfig) -> App {
    let gateway = Arc::new(SimulatedGateway::new());
    let shop = Shop::builder(commerce::default_config())
        .payments(gateway.clone())
        .with_memory_defaults()
        .build()
        .unwrap();
    let state = AppState::new(shop.clone(), config);
    App {
        router: commerce_http::router(state),
        shop,
        gateway,
    }
}

/// A JSON POST from the client address `from`.
async fn post_from(app: &App, path: &str, from: &str, body: Value) -> Reply {
    let addr: SocketAddr = from.parse().unwrap();
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    app.raw(request).await
}

async fn register(app: &App, email: &str, password: &str) -> Reply {
    app.post(
        "/v1/auth/register",
        &As::anonymous(),
        json!({"email": email, "name": "Ada Lovelace", "password": password}),
    )
    .await
}

async fn login(app: &App, who: &As, email: &str, password: &str) -> Reply {
    app.post(
        "/v1/auth/login",
        who,
        json!({"email": email, "password": password}),
    )
    .await
}

fn cookies(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn http_account_journey_register_then_login_merges_the_guest_cart() {
    let app = App::in_memory();
    let (mug, _) = app.seed("acct1").await;
    let _ = mug;
    let reply = register(&app, "Ada@Example.com", "correct horse").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["email"], "ada@example.com");
    assert!(reply.body.get("password").is_none());
    // Shopping as a guest first.
    let cart = app.new_cart().await;
    let added = app
        .post(
            "/v1/cart/items",
            &As::guest(&cart),
            json!({"sku": "MUG-acct1", "quantity": 2}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    // Logging in with the guest cart token merges it.
    let reply = login(&app, &As::guest(&cart), "ADA@example.com", "correct horse").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["cart_merged"], true);
    let token = reply.body["token"].as_str().unwrap().to_owned();
    let set = cookies(&reply);
    assert!(
        set.iter().any(|c| c.starts_with("session=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")),
        "{set:?}"
    );
    assert!(
        set.iter()
            .any(|c| c.starts_with("cart_token=;") && c.contains("Max-Age=0")),
        "{set:?}"
    );
    let customer = As::customer(&token);
    let mine = app.get("/v1/cart", &customer).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["lines"][0]["sku"], "MUG-acct1", "{}", mine.body);
    assert_eq!(mine.body["lines"][0]["quantity"], 2);
    // The guest cart is gone.
    let guest = app.get("/v1/cart", &As::guest(&cart)).await;
    assert_eq!(guest.body["lines"].as_array().map(Vec::len), Some(0));
    // The session cookie works as well as the bearer header.
    let cookie = set.iter().find(|c| c.starts_with("session=")).unwrap();
    let pair = cookie.split(';').next().unwrap();
    let request = Request::builder()
        .uri("/v1/account/profile")
        .header("cookie", pair)
        .body(Body::empty())
        .unwrap();
    let profile = app.raw(request).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.body);
    assert_eq!(profile.body["name"], "Ada Lovelace");
}

#[tokio::test]
async fn http_account_register_refuses_taken_email_and_bad_input() {
    let app = App::in_memory();
    assert_eq!(
        register(&app, "bob@example.com", "long enough")
            .await
            .status,
        StatusCode::CREATED
    );
    let taken = register(&app, "BOB@example.com", "long enough").await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.body);
    assert_eq!(taken.code(), "conflict");
    for (body, code) in [
        (
            json!({"email": "not-an-email", "name": "B", "password": "long enough"}),
            "validation_failed",
        ),
        (
            json!({"email": "c@example.com", "name": "B", "password": "short"}),
            "validation_failed",
        ),
        (
            json!({"email": "c@example.com", "name": " ", "password": "long enough"}),
            "validation_failed",
        ),
        (
            json!({"email": "c@example.com", "name": "B", "password": "x".repeat(129)}),
            "validation_failed",
        ),
        (
            json!({"email": "c@example.com", "name": "B", "password": "long enough", "role": "admin"}),
            "invalid_body",
        ),
        (
            json!({"email": 5, "name": "B", "password": "long enough"}),
            "invalid_body",
        ),
    ] {
        let reply = app
            .post("/v1/auth/register", &As::anonymous(), body.clone())
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.code(), code, "{body}");
    }
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from("{\"email\": "))
        .unwrap();
    let reply = app.raw(request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.code(), "malformed_json");
}

#[tokio::test]
async fn http_account_wrong_password_and_unknown_email_answer_the_same_401() {
    let app = App::in_memory();
    register(&app, "eve@example.com", "long enough").await;
    let wrong = login(&app, &As::anonymous(), "eve@example.com", "not the one").await;
    let unknown = login(&app, &As::anonymous(), "nobody@example.com", "long enough").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.code(), "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.status, unknown.status);
}

#[tokio::test]
async fn http_account_login_is_rate_limited_per_account_with_retry_after() {
    let app = App::in_memory();
    register(&app, "mallory@example.com", "long enough").await;
    for _ in 0..5 {
        let reply = login(&app, &As::anonymous(), "mallory@example.com", "guess guess").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now, with when to come back.
    let reply = login(&app, &As::anonymous(), "Mallory@example.com", "long enough").await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert_eq!(reply.code(), "rate_limited");
    let retry: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // Another account is not affected.
    register(&app, "trent@example.com", "long enough").await;
    let other = login(&app, &As::anonymous(), "trent@example.com", "long enough").await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
}

#[tokio::test]
async fn http_account_login_is_rate_limited_per_client_address() {
    let per_account = RateLimit::new(100, chrono::Duration::minutes(15)).unwrap();
    let per_address = RateLimit::new(3, chrono::Duration::minutes(15)).unwrap();
    let app = app_with(HttpConfig::default().with_login_limits(per_account, per_address));
    register(&app, "victim@example.com", "long enough").await;
    // One address trying many accounts.
    for i in 0..3 {
        let reply = post_from(
            &app,
            "/v1/auth/login",
            "203.0.113.7:5000",
            json!({"email": format!("user{i}@example.com"), "password": "guess guess"}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    }
    let refused = post_from(
        &app,
        "/v1/auth/login",
        "203.0.113.7:5001",
        json!({"email": "victim@example.com", "password": "long enough"}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
    // Another address signs in.
    let ok = post_from(
        &app,
        "/v1/auth/login",
        "198.51.100.1:5000",
        json!({"email": "victim@example.com", "password": "long enough"}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
}

#[tokio::test]
async fn http_account_password_change_ends_every_other_session() {
    let app = App::in_memory();
    register(&app, "carol@example.com", "first password").await;
    let a = login(
        &app,
        &As::anonymous(),
        "carol@example.com",
        "first password",
    )
    .await;
    let b = login(
        &app,
        &As::anonymous(),
        "carol@example.com",
        "first password",
    )
    .await;
    let (a, b) = (
        a.body["token"].as_str().unwrap().to_owned(),
        b.body["token"].as_str().unwrap().to_owned(),
    );
    let wrong = app
        .post(
            "/v1/account/password",
            &As::customer(&a),
            json!({"current_password": "nope nope", "new_password": "second password"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.code(), "invalid_credentials");
    let changed = app
        .post(
            "/v1/account/password",
            &As::customer(&a),
            json!({"current_password": "first password", "new_password": "second password"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let fresh = changed.body["token"].as_str().unwrap().to_owned();
    for old in [&a, &b] {
        assert_eq!(
            app.get("/v1/account/profile", &As::customer(old))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.get("/v1/account/profile", &As::customer(&fresh))
            .await
            .status,
        StatusCode::OK
    );
    let old = login(
        &app,
        &As::anonymous(),
        "carol@example.com",
        "first password",
    )
    .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = login(
        &app,
        &As::anonymous(),
        "carol@example.com",
        "second password",
    )
    .await;
    assert_eq!(new.status, StatusCode::OK);
}

/// The reset link queued for `email` in the outbox (what the mail worker sends).
async fn reset_token(app: &App, group: &str, email: &str) -> Option<String> {
    let entries = app
        .shop
        .outbox()
        .claim(group, 1000, Duration::from_secs(60))
        .await
        .unwrap();
    if let Some(last) = entries.last() {
        app.shop.outbox().ack(group, last.seq).await.unwrap();
    }
    entries
        .iter()
        .rev()
        .filter(|e| e.event.topic == "account.password_reset")
        .filter(|e| e.event.payload["email"] == email)
        .filter_map(|e| e.event.payload["reset_url"].as_str())
        .filter_map(|url| url.split_once("token=").map(|(_, t)| t.to_owned()))
        .next()
}

#[tokio::test]
async fn http_account_password_reset_is_single_use_and_does_not_tell_who_exists() {
    let app = App::in_memory();
    register(&app, "dave@example.com", "first password").await;
    let session = login(&app, &As::anonymous(), "dave@example.com", "first password").await;
    let session = session.body["token"].as_str().unwrap().to_owned();
    let known = app
        .post(
            "/v1/auth/password-reset",
            &As::anonymous(),
            json!({"email": "dave@example.com"}),
        )
        .await;
    let unknown = app
        .post(
            "/v1/auth/password-reset",
            &As::anonymous(),
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(known.status, StatusCode::ACCEPTED, "{}", known.body);
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    assert_eq!(
        reset_token(&app, "t-reset", "nobody@example.com").await,
        None
    );
    let token = reset_token(&app, "t-reset-2", "dave@example.com")
        .await
        .expect("a reset link was queued");
    // A bad password keeps the token for another try.
    let weak = app
        .post(
            "/v1/auth/password-reset/confirm",
            &As::anonymous(),
            json!({"token": token, "new_password": "short"}),
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let confirmed = app
        .post(
            "/v1/auth/password-reset/confirm",
            &As::anonymous(),
            json!({"token": token, "new_password": "brand new password"}),
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::NO_CONTENT,
        "{}",
        confirmed.body
    );
    let again = app
        .post(
            "/v1/auth/password-reset/confirm",
            &As::anonymous(),
            json!({"token": token, "new_password": "another password"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.code(), "invalid_token");
    let forged = app
        .post(
            "/v1/auth/password-reset/confirm",
            &As::anonymous(),
            json!({"token": "nope", "new_password": "another password"}),
        )
        .await;
    assert_eq!(forged.code(), "invalid_token");
    // The reset ended the old session; the new password signs in.
    assert_eq!(
        app.get("/v1/account/profile", &As::customer(&session))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let new = login(
        &app,
        &As::anonymous(),
        "dave@example.com",
        "brand new password",
    )
    .await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
}

#[tokio::test]
async fn http_account_profile_update_changes_the_name_only_of_the_caller() {
    let app = App::in_memory();
    register(&app, "erin@example.com", "long enough").await;
    let token = login(&app, &As::anonymous(), "erin@example.com", "long enough").await;
    let me = As::customer(token.body["token"].as_str().unwrap());
    let updated = app
        .call(
            Method::PUT,
            "/v1/account/profile",
            &me,
            Some(json!({"name": "  Erin Q "})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["name"], "Erin Q");
    assert_eq!(updated.body["email"], "erin@example.com");
    for body in [
        json!({"name": ""}),
        json!({"name": "x".repeat(201)}),
        json!({"name": "Erin", "email": "other@example.com"}),
    ] {
        let reply = app
            .call(Method::PUT, "/v1/account/profile", &me, Some(body.clone()))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
    }
    assert_eq!(
        app.get("/v1/account/profile", &me).await.body["name"],
        "Erin Q"
    );
}
