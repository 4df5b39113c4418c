//! The stored pricing tables end to end on PostgreSQL + Redis: the admin changes a
//! tax rate and a shipping method's price through the API of one instance; that
//! instance's next checkout charges them; a second instance (another `Shop` and
//! Router on the same database) still prices from its cached copy until its
//! `PricingCacheConsumer` handles the change (at most `DEFAULT_MAX_AGE`, 30 s, in
//! any case), then charges the new ones. The consumer's pass runs explicitly here,
//! so the test does not wait.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use commerce::Shop;
use commerce::core::Role;
use commerce::core::worker::{RunnerConfig, drain};
use commerce::orders::SimulatedGateway;
use commerce::redis::{
    KeyPrefix, RedisCartStore, RedisConnection, RedisRateLimiter, RedisSessionStore,
};
use http_support::{App, As, address, card, checkout_body};
use serde_json::{Value, json};

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
    let name = format!("commerce_pricing_{}", suffix());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("DATABASE_URL {url} has no database name"),
    }
}

fn suffix() -> String {
    commerce::core::CustomerId::new()
        .to_string()
        .replace('-', "")[20..]
        .to_owned()
}

/// Two instances (shops and routers) over one database and one Redis namespace.
async fn two_instances() -> (App, App) {
    let stores = commerce::postgres::PgStores::connect(&fresh_database().await)
        .await
        .unwrap();
    stores.migrate().await.unwrap();
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let conn = RedisConnection::connect(&redis_url).await.unwrap_or_else(|e| {
        panic!("Redis at {redis_url} is unreachable: {e}\nStart it with:\n    redis-server --daemonize yes")
    });
    let prefix = KeyPrefix::new(format!("p{}", suffix())).unwrap();
    let instance = || {
        let gateway = Arc::new(SimulatedGateway::new());
        let shop = Shop::builder(commerce::default_config())
            .postgres(&stores)
            .carts(Arc::new(RedisCartStore::new(conn.clone(), prefix.clone())))
            .sessions(Arc::new(RedisSessionStore::new(
                conn.clone(),
                prefix.clone(),
            )))
            .login_limits(Arc::new(RedisRateLimiter::new(
                conn.clone(),
                prefix.clone(),
            )))
            .payments(gateway.clone())
            .build()
            .unwrap();
        App::over(shop, gateway)
    };
    (instance(), instance())
}

fn totals(reply: &Value) -> (String, String) {
    let t = &reply["totals"];
    (
        t["tax_total"]["amount"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        t["shipping_total"]["amount"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn buy(app: &App, who: &As, sku: &str, key: &str) -> (String, String) {
    let added = app
        .post("/v1/cart/items", who, json!({"sku": sku, "quantity": 1}))
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let order = app
        .post(
            "/v1/checkout",
            &who.clone().key(key),
            checkout_body(card("4242424242424242")),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
    totals(&order.body)
}

#[tokio::test]
async fn http_stored_pricing_tables_reach_every_instance_on_postgres() {
    let (a, b) = two_instances().await;
    let (mug, _) = a.seed("pg-pricing").await;
    let mug = format!("MUG-{}", mug.trim_start_matches("mug-"));
    let (_, admin_bearer) = a.staff("pg-pricing-admin@example.com", Role::Admin).await;
    let admin = As::signed_in(&admin_bearer);
    let (_, first) = a.customer("pg-pricing-a@example.com").await;
    let (_, second) = a.customer("pg-pricing-b@example.com").await;
    let (on_a, on_b) = (As::customer(&first), As::customer(&second));

    // Instance B prices once with the configured tables (and caches them).
    b.post("/v1/cart/items", &on_b, json!({"sku": mug, "quantity": 1}))
        .await;
    let quote = b
        .post(
            "/v1/cart/quote",
            &on_b,
            json!({"shipping_address": address(), "shipping_method": "standard"}),
        )
        .await;
    assert_eq!(quote.status, StatusCode::OK, "{}", quote.body);
    let before = totals(&quote.body["cart"]);
    assert_eq!(before.0, "0.00", "no CA tax configured");

    // The admin changes the CA tax and the standard shipping price on A.
    let v = a.get("/v1/admin/pricing", &admin).await.body["version"]
        .as_u64()
        .unwrap();
    let tax = a
        .call(
            Method::PUT,
            "/v1/admin/pricing/tax",
            &admin,
            Some(json!({"expected_version": v, "tax": {
                "prices_include_tax": false,
                "rates": [{"country": "US", "region": "CA", "tax_class": "standard",
                           "rate": "0.10", "name": "CA sales tax"}]}})),
        )
        .await;
    assert_eq!(tax.status, StatusCode::OK, "{}", tax.body);
    let shipping = a
        .call(
            Method::PUT,
            "/v1/admin/pricing/shipping-methods",
            &admin,
            Some(json!({"expected_version": v + 1, "shipping_methods": [{
                "code": "standard", "name": "Standard",
                "zones": [{"country": "US"}],
                "tiers": [{"price": {"amount": "4.00", "currency": "USD"}}]}]})),
        )
        .await;
    assert_eq!(shipping.status, StatusCode::OK, "{}", shipping.body);

    // A's next checkout charges them: 10 % of 12.50, and 4.00 shipping.
    let expected = ("1.25".to_owned(), "4.00".to_owned());
    assert_eq!(buy(&a, &on_a, &mug, "pg-pricing-a").await, expected);

    // B still has its cached copy...
    let stale = b
        .post(
            "/v1/cart/quote",
            &on_b,
            json!({"shipping_address": address(), "shipping_method": "standard"}),
        )
        .await;
    assert_eq!(
        totals(&stale.body["cart"]),
        before,
        "B's cache is within its bound"
    );
    // ...until its cache consumer handles the change (what B's worker does).
    let handled = drain(
        b.shop.outbox().as_ref(),
        &b.shop.pricing_cache_consumer("b"),
        RunnerConfig::default(),
    )
    .await
    .unwrap();
    assert!(handled >= 2, "the two changes reached B ({handled} events)");
    let order = b
        .post(
            "/v1/checkout",
            &on_b.clone().key("pg-pricing-b"),
            checkout_body(card("4242424242424242")),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.body);
    assert_eq!(totals(&order.body), expected);
}
