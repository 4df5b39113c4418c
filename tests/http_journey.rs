//! The whole journey through the Router, once on the embedded default (in memory)
//! and once on PostgreSQL + Redis: browse, add to a guest cart, merge on login,
//! a declined card (402, stock and cart untouched), check out with each payment
//! method, a retry with the same key, track the order, cancel one, another
//! customer cannot see it; a seller ships, the admin sees the order and refunds
//! part, and the customer sees the refund.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use commerce::Shop;
use commerce::core::{Currency, Money, Role};
use commerce::orders::SimulatedGateway;
use commerce::orders::simulated::test_cards;
use http_support::{App, As, card, checkout_body};
use serde_json::json;

async fn journey(app: App, tag: &str) {
    let (mug_slug, tee_slug) = app.seed(tag).await;
    let mug = format!("MUG-{tag}");

    // Browse.
    let page = app
        .get("/v1/catalog/products?limit=100", &As::anonymous())
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["slug"] == mug_slug.as_str())
    );
    let tee = app
        .get(
            &format!("/v1/catalog/products/{tee_slug}"),
            &As::anonymous(),
        )
        .await;
    assert_eq!(tee.status, StatusCode::OK, "{}", tee.body);
    assert_eq!(tee.body["variants"][0]["stock"], "low");
    assert_eq!(tee.body["variants"][1]["stock"], "out");
    assert_eq!(tee.body["variants"][1]["options"][0]["value"], "M");
    let mug_page = app
        .get(
            &format!("/v1/catalog/products/{mug_slug}"),
            &As::anonymous(),
        )
        .await;
    assert_eq!(mug_page.body["variants"][0]["stock"], "available");
    assert_eq!(
        mug_page.body["images"][0]["url"],
        "/static/products/mug.jpg"
    );
    assert_eq!(mug_page.body["seller"]["slug"], format!("seller-{tag}"));

    // A guest adds two mugs.
    let token = app.new_cart().await;
    let guest = As::guest(&token);
    let cart = app
        .post("/v1/cart/items", &guest, json!({"sku": mug, "quantity": 2}))
        .await;
    assert_eq!(cart.status, StatusCode::OK, "{}", cart.body);
    assert_eq!(cart.body["totals"]["subtotal"]["amount"], "25.00");

    // Logs in (session) and merges the guest cart.
    let (customer_id, bearer) = app.customer(&format!("ada-{tag}@example.com")).await;
    let me = As::customer(&bearer);
    let merged = app
        .call(
            Method::POST,
            "/v1/cart/merge",
            &me.clone().with_cart(&token),
            None,
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    assert_eq!(merged.body["lines"][0]["quantity"], 2);
    let guest_cart = app.get("/v1/cart", &guest).await;
    assert_eq!(guest_cart.body["lines"].as_array().unwrap().len(), 0);

    // A declined card: 402, stock and cart as they were.
    let before = app.available(&mug).await;
    let declined = app
        .post(
            "/v1/checkout",
            &me.clone().key(&format!("declined-{tag}")),
            checkout_body(card(test_cards::DECLINED)),
        )
        .await;
    assert_eq!(
        declined.status,
        StatusCode::PAYMENT_REQUIRED,
        "{}",
        declined.body
    );
    assert_eq!(declined.code(), "payment_declined");
    assert_eq!(app.available(&mug).await, before);
    assert_eq!(
        app.get("/v1/cart", &me).await.body["lines"][0]["quantity"],
        2
    );

    // Without the key: 400.
    let no_key = app
        .post(
            "/v1/checkout",
            &me,
            checkout_body(card(test_cards::APPROVED)),
        )
        .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_key.code(), "idempotency_key_required");

    // Pays by card; the retry with the same key answers the same order.
    let key = format!("card-{tag}");
    let order = app
        .post(
            "/v1/checkout",
            &me.clone().key(&key),
            checkout_body(card(test_cards::APPROVED)),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
    assert_eq!(order.body["totals"]["grand_total"]["amount"], "30.00");
    let retry = app
        .post(
            "/v1/checkout",
            &me.clone().key(&key),
            checkout_body(card(test_cards::APPROVED)),
        )
        .await;
    assert_eq!(retry.body["id"], order.body["id"], "{}", retry.body);
    // The same key with another request is refused, never the old order.
    let mut other = checkout_body(card(test_cards::APPROVED));
    other["shipping_method"] = json!("pickup");
    let reused = app.post("/v1/checkout", &me.clone().key(&key), other).await;
    assert_eq!(
        reused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reused.body
    );
    assert_eq!(reused.code(), "idempotency_key_reused");
    assert_eq!(app.available(&mug).await, before - 2);
    assert_eq!(
        app.get("/v1/cart", &me).await.body["lines"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Every other payment method.
    app.gateway.add_gift_card(
        &format!("GIFT-{tag}"),
        Money::from_minor(10_000, Currency::USD),
    );
    app.gateway
        .set_store_credit(customer_id, Money::from_minor(10_000, Currency::USD));
    let methods = [
        json!({"type": "wallet", "provider": "apple_pay", "token": "tok_ok"}),
        json!({"type": "gift_card", "code": format!("GIFT-{tag}")}),
        json!({"type": "store_credit"}),
        json!({"type": "cash_on_delivery"}),
    ];
    let mut ids = vec![order.body["id"].clone()];
    for (i, method) in methods.into_iter().enumerate() {
        app.post("/v1/cart/items", &me, json!({"sku": mug, "quantity": 1}))
            .await;
        let placed = app
            .post(
                "/v1/checkout",
                &me.clone().key(&format!("m{i}-{tag}")),
                checkout_body(method.clone()),
            )
            .await;
        assert_eq!(
            placed.status,
            StatusCode::CREATED,
            "{method}: {}",
            placed.body
        );
        ids.push(placed.body["id"].clone());
    }

    // Tracks the orders; cancels one; stock comes back.
    let history = app.get("/v1/orders", &me).await;
    assert_eq!(history.status, StatusCode::OK);
    // The declined attempt is in the history too, as a cancelled order.
    let history = history.body.as_array().unwrap();
    assert_eq!(history.len(), ids.len() + 1);
    assert_eq!(
        history
            .iter()
            .filter(|o| o["status"] == "cancelled")
            .count(),
        1
    );
    let first = ids[0].as_str().unwrap();
    let shown = app.get(&format!("/v1/orders/{first}"), &me).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.body["status"], "confirmed");
    let stock_before_cancel = app.available(&mug).await;
    let cancelled = app
        .call(
            Method::POST,
            &format!("/v1/orders/{first}/cancel"),
            &me,
            None,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(app.available(&mug).await, stock_before_cancel + 2);

    // Another customer's order reads as not found; a guest is told to sign in.
    let (_, other) = app.customer(&format!("eve-{tag}@example.com")).await;
    let stolen = app
        .get(&format!("/v1/orders/{first}"), &As::customer(&other))
        .await;
    assert_eq!(stolen.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/v1/orders", &guest).await.status,
        StatusCode::UNAUTHORIZED
    );

    // The seller sees the order lines waiting for them and ships one order with a
    // carrier name and tracking number; another seller reaches none of it.
    let seller = app
        .shop
        .catalog()
        .seller_by_slug(&format!("seller-{tag}"))
        .await
        .unwrap()
        .unwrap();
    let (_, seller_bearer) = app
        .staff(&format!("staff-{tag}@example.com"), Role::Seller(seller.id))
        .await;
    let staff = As::signed_in(&seller_bearer);
    let waiting = app.get("/v1/seller/orders?waiting=true", &staff).await;
    assert_eq!(waiting.status, StatusCode::OK, "{}", waiting.body);
    let shipped_id = ids[1].as_str().unwrap();
    assert!(
        waiting.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == shipped_id && o["lines"][0]["waiting"] == 1)
    );
    let ship_body = json!({
        "lines": [{"sku": mug, "quantity": 1}],
        "carrier": "Acme Post",
        "tracking_number": format!("TRK-{tag}"),
    });
    let (_, rival_bearer) = app
        .staff(
            &format!("rival-{tag}@example.com"),
            Role::Seller(commerce::core::SellerId::new()),
        )
        .await;
    let rival = app
        .post(
            &format!("/v1/seller/orders/{shipped_id}/ship"),
            &As::signed_in(&rival_bearer),
            ship_body.clone(),
        )
        .await;
    assert_eq!(rival.status, StatusCode::NOT_FOUND, "{}", rival.body);
    let shipped = app
        .post(
            &format!("/v1/seller/orders/{shipped_id}/ship"),
            &staff,
            ship_body,
        )
        .await;
    assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.body);
    assert_eq!(shipped.body["lines"][0]["waiting"], 0);
    assert_eq!(shipped.body["fulfilment_status"], "shipped");
    let sales = app.get("/v1/seller/sales", &staff).await;
    assert_eq!(sales.status, StatusCode::OK, "{}", sales.body);
    assert!(sales.body["units"].as_u64().unwrap() >= 4, "{}", sales.body);

    // The admin sees the shipped order and refunds part of it; the customer sees
    // the refund on their order.
    let (_, admin_bearer) = app
        .staff(&format!("admin-{tag}@example.com"), Role::Admin)
        .await;
    let admin = As::signed_in(&admin_bearer);
    let listed = app.get("/v1/admin/orders?limit=100", &admin).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == shipped_id)
    );
    let seen = app
        .get(&format!("/v1/admin/orders/{shipped_id}"), &admin)
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    assert_eq!(
        seen.body["shipments"][0]["tracking_number"],
        format!("TRK-{tag}")
    );
    let refund_body = json!({
        "amount": {"amount": "5.00", "currency": "USD"},
        "reason": "scratched mug",
    });
    let no_key = app
        .post(
            &format!("/v1/admin/orders/{shipped_id}/refunds"),
            &admin,
            refund_body.clone(),
        )
        .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST, "{}", no_key.body);
    for _ in 0..2 {
        // A retry with the same key refunds once.
        let refunded = app
            .post(
                &format!("/v1/admin/orders/{shipped_id}/refunds"),
                &admin.clone().key(&format!("refund-{tag}")),
                refund_body.clone(),
            )
            .await;
        assert_eq!(refunded.status, StatusCode::OK, "{}", refunded.body);
        assert_eq!(refunded.body["refunded"]["amount"], "5.00");
        assert_eq!(refunded.body["payment_status"], "partially_refunded");
    }
    let too_much = app
        .post(
            &format!("/v1/admin/orders/{shipped_id}/refunds"),
            &admin.clone().key(&format!("refund-big-{tag}")),
            json!({"amount": {"amount": "500.00", "currency": "USD"}, "reason": "x"}),
        )
        .await;
    assert!(too_much.status.is_client_error(), "{}", too_much.body);
    let mine = app.get(&format!("/v1/orders/{shipped_id}"), &me).await;
    assert_eq!(mine.body["refunds"][0]["amount"]["amount"], "5.00");
    assert_eq!(mine.body["refunds"][0]["reason"], "scratched mug");
    assert_eq!(
        app.get(&format!("/v1/admin/orders/{shipped_id}"), &staff)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Logging out ends the session.
    let out = app.call(Method::POST, "/v1/auth/logout", &me, None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/v1/orders", &me).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn http_journey_on_the_embedded_default() {
    journey(App::in_memory(), "mem").await;
}

/// A fresh database on the server of `DATABASE_URL`.
async fn fresh_database() -> String {
    use sqlx::Connection;
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {url} is unreachable: {e}\nStart it with:\n    \
             pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        )
    });
    let name = format!("commerce_http_{}", uuid_suffix());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("DATABASE_URL {url} has no database name"),
    }
}

fn uuid_suffix() -> String {
    commerce::core::CustomerId::new()
        .to_string()
        .replace('-', "")[20..]
        .to_owned()
}

#[tokio::test]
async fn http_journey_on_postgres_and_redis() {
    use commerce::redis::{
        KeyPrefix, RedisCartStore, RedisConnection, RedisRateLimiter, RedisSessionStore,
    };
    let stores = commerce::postgres::PgStores::connect(&fresh_database().await)
        .await
        .unwrap();
    stores.migrate().await.unwrap();
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let conn = RedisConnection::connect(&redis_url).await.unwrap_or_else(|e| {
        panic!("Redis at {redis_url} is unreachable: {e}\nStart it with:\n    redis-server --daemonize yes")
    });
    let prefix = KeyPrefix::new(format!("t{}", uuid_suffix())).unwrap();
    let gateway = Arc::new(SimulatedGateway::new());
    let shop = Shop::builder(commerce::default_config())
        .postgres(&stores)
        .carts(Arc::new(RedisCartStore::new(conn.clone(), prefix.clone())))
        .sessions(Arc::new(RedisSessionStore::new(
            conn.clone(),
            prefix.clone(),
        )))
        .login_limits(Arc::new(RedisRateLimiter::new(conn, prefix)))
        .payments(gateway.clone())
        .build()
        .unwrap();
    journey(App::over(shop, gateway), "pg").await;
}
