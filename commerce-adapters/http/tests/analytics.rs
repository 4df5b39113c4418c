//! The admin analytics routes: admins only, in the OpenAPI document, and the chart
//! and CSV shapes they serve.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use commerce::Shop;
use commerce::analytics::{Analytics, DashboardOptions, DateRange};
use commerce_http::{AppState, HttpConfig, router};

fn app(shop: Shop) -> axum::Router {
    router(AppState::new(shop, HttpConfig::default()))
}

async fn get(app: axum::Router, uri: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::get(uri);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn web_admin_analytics_routes_refuse_anonymous_and_customers() {
    let shop = Shop::in_memory();
    let customer = commerce::core::CustomerId::new();
    let session = shop
        .sessions()
        .create(customer, chrono::Duration::minutes(10), shop.clock().now())
        .await
        .unwrap();
    let cookie = format!("session={}", session.token.as_str());
    for uri in [
        "/v1/admin/analytics",
        "/v1/admin/analytics/csv/daily",
        "/v1/admin/analytics/charts/revenue",
    ] {
        let (status, body) = get(app(shop.clone()), uri, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}: {body}");
        let (status, body) = get(app(shop.clone()), uri, Some(&cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}: {body}");
        assert!(body.contains("\"code\":\"forbidden\""));
    }
}

#[tokio::test]
async fn web_admin_analytics_routes_are_documented() {
    let doc = serde_json::to_value(commerce_http::openapi()).unwrap();
    for path in [
        "/v1/admin/analytics",
        "/v1/admin/analytics/csv/{figure}",
        "/v1/admin/analytics/charts/{chart}",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} missing");
    }
}

#[tokio::test]
async fn web_admin_analytics_draws_every_chart_of_an_empty_shop() {
    let shop = Shop::in_memory();
    let today = shop.clock().now().date_naive();
    let d = Analytics::dashboard(
        &shop.analytics(),
        DateRange::new(today, today).unwrap(),
        DashboardOptions::default(),
    )
    .await
    .unwrap();
    for name in commerce_http::routes::analytics::CHARTS {
        let svg = commerce_http::routes::analytics::draw(&d, name, None).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("role=\"img\""),
            "{name}"
        );
    }
    assert!(commerce_http::routes::analytics::draw(&d, "nope", None).is_none());
}
