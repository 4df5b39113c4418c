//! Carriers, tracking and notification settings over HTTP: the cart priced for an
//! address with carrier options, checkout with a carrier option, the tracking page
//! (its owner only), the signed carrier webhook (a bad signature is 401; delivered
//! twice moves the order once), notification preferences and the demo mailbox.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use commerce::Shop;
use commerce::core::{Actor, Sku};
use commerce::orders::carrier::webhook;
use commerce::orders::{
    CarrierCode, CarrierSet, OrderId, Parcel, ServiceLevel, ShipmentLine, SimulatedCarrier,
    SimulatedGateway, simulated::test_cards,
};
use commerce_http::{AppState, HttpConfig, MailMessage, Mailbox, WebhookSecret};
use http_support::{App, As, Reply, address, card, checkout_body};
use serde_json::json;

const SECRET: &[u8] = b"test-webhook-secret";

struct FixedMailbox(Vec<MailMessage>);

impl Mailbox for FixedMailbox {
    fn latest(&self, limit: usize) -> Vec<MailMessage> {
        self.0.iter().rev().take(limit).cloned().collect()
    }
}

/// An in-memory shop whose only carrier is a simulated UPS the test holds, served
/// with the webhook secret and (optionally) a mailbox.
fn app_with(mailbox: Option<Arc<dyn Mailbox>>) -> (App, Arc<SimulatedCarrier>) {
    let gateway = Arc::new(SimulatedGateway::new());
    let clock: Arc<dyn commerce::core::Clock> = Arc::new(commerce::core::SystemClock);
    let ups = Arc::new(SimulatedCarrier::new(CarrierCode::Ups, 7, clock.clone()));
    let shop = Shop::builder(commerce::default_config())
        .payments(gateway.clone())
        .clock(clock)
        .with_carriers(CarrierSet::new(
            vec![ups.clone()],
            commerce::default_warehouse(),
        ))
        .with_memory_defaults()
        .build()
        .unwrap();
    let mut state = AppState::new(
        shop.clone(),
        HttpConfig::default().with_carrier_webhook_secret(WebhookSecret::new(SECRET)),
    );
    if let Some(m) = mailbox {
        state = state.with_mailbox(m);
    }
    let app = App {
        router: commerce_http::router(state),
        shop,
        gateway,
    };
    (app, ups)
}

async fn webhook(app: &App, carrier: &str, body: &[u8], signature: Option<&str>) -> Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/v1/carriers/{carrier}/webhook"))
        .header("content-type", "application/json");
    if let Some(s) = signature {
        request = request.header(webhook::SIGNATURE_HEADER, s);
    }
    app.raw(request.body(Body::from(body.to_vec())).unwrap())
        .await
}

/// A customer with a mug in the cart who checked out with `ups:ground`; returns
/// their bearer token and the order id.
async fn ordered_with_ups(app: &App, tag: &str) -> (String, OrderId) {
    app.seed(tag).await;
    let (_, bearer) = app.customer(&format!("{tag}@example.com")).await;
    let me = As::customer(&bearer);
    let added = app
        .post(
            "/v1/cart/items",
            &me,
            json!({"sku": format!("MUG-{tag}"), "quantity": 2}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let mut body = checkout_body(card(test_cards::APPROVED));
    body["shipping_method"] = json!("ups:ground");
    let placed = app
        .post("/v1/checkout", &me.clone().key(&format!("k-{tag}")), body)
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    assert_eq!(placed.body["shipping"]["carrier"], "ups");
    assert_eq!(placed.body["shipping"]["service"], "ground");
    let id = placed.body["id"].as_str().unwrap().parse().unwrap();
    (bearer, id)
}

async fn ship_with_ups(app: &App, id: OrderId, tag: &str) -> String {
    let order = app
        .shop
        .checkout()
        .ship_with_carrier(
            &Actor::Admin,
            id,
            &[ShipmentLine {
                sku: Sku::new(format!("MUG-{tag}")).unwrap(),
                quantity: 2,
            }],
            CarrierCode::Ups,
            ServiceLevel::Ground,
            Parcel::standard_box(600),
        )
        .await
        .unwrap();
    order.fulfilment.shipments[0]
        .tracking_number
        .clone()
        .unwrap()
}

/// `fulfilment.delivered` events of `order` in the outbox so far.
async fn delivered_events(app: &App, order: OrderId) -> usize {
    let group = format!("test-{}", OrderId::new());
    let mut count = 0;
    loop {
        let batch = app
            .shop
            .outbox()
            .claim(&group, 500, Duration::from_secs(30))
            .await
            .unwrap();
        let Some(last) = batch.last().map(|e| e.seq) else {
            return count;
        };
        count += batch
            .iter()
            .filter(|e| {
                e.event.topic == "fulfilment.delivered" && e.event.aggregate_id == order.to_string()
            })
            .count();
        app.shop.outbox().ack(&group, last).await.unwrap();
    }
}

#[tokio::test]
async fn http_carriers_quote_offers_table_and_carrier_options_marked() {
    let (app, _) = app_with(None);
    app.seed("quote").await;
    let token = app.new_cart().await;
    let guest = As::guest(&token);
    app.post(
        "/v1/cart/items",
        &guest,
        json!({"sku": "MUG-quote", "quantity": 1}),
    )
    .await;
    let reply = app
        .post(
            "/v1/cart/quote",
            &guest,
            json!({"shipping_address": address()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let options = reply.body["shipping_options"].as_array().unwrap();
    let codes: Vec<&str> = options
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"standard"), "{codes:?}");
    assert!(codes.contains(&"ups:ground"), "{codes:?}");
    assert_eq!(options.iter().filter(|o| o["cheapest"] == true).count(), 1);
    assert_eq!(options.iter().filter(|o| o["fastest"] == true).count(), 1);
    // Cheapest first; the fastest has the fewest transit days.
    assert_eq!(options[0]["cheapest"], true);
    let fastest = options.iter().find(|o| o["fastest"] == true).unwrap();
    let min_days = options
        .iter()
        .filter_map(|o| o["transit_days"].as_u64())
        .min()
        .unwrap();
    assert_eq!(fastest["transit_days"].as_u64(), Some(min_days));
    assert_eq!(
        reply.body["cart"]["totals"]["shipping_total"]["amount"],
        "0.00"
    );

    // Chosen: the totals carry that option's price.
    let ups = options.iter().find(|o| o["code"] == "ups:ground").unwrap();
    let chosen = app
        .post(
            "/v1/cart/quote",
            &guest,
            json!({"shipping_address": address(), "shipping_method": "ups:ground"}),
        )
        .await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.body);
    assert_eq!(
        chosen.body["cart"]["totals"]["shipping_total"],
        ups["price"]
    );
    let unknown = app
        .post(
            "/v1/cart/quote",
            &guest,
            json!({"shipping_address": address(), "shipping_method": "dhl:teleport"}),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
}

#[tokio::test]
async fn http_carriers_webhook_with_a_bad_signature_is_401_and_tracking_is_404_for_another_customer()
 {
    let (app, ups) = app_with(None);
    let (owner, id) = ordered_with_ups(&app, "trk").await;
    let number = ship_with_ups(&app, id, "trk").await;
    let timeline = ups.full_timeline(&number).unwrap();
    let body = ups.webhook_body(&timeline).unwrap();

    // Bad, missing or other-secret signatures: 401, nothing applied.
    let wrong = webhook::sign(b"another-secret", &body).unwrap();
    for signature in [Some("sha256=00"), None, Some(wrong.as_str())] {
        let reply = webhook(&app, "ups", &body, signature).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        assert_eq!(reply.code(), "invalid_signature");
    }
    let order = app.shop.orders().get(id).await.unwrap().unwrap();
    assert!(order.fulfilment.shipments[0].tracking.is_empty());

    // The tracking page is the owner's: another customer gets 404, a guest 401.
    let (_, other) = app.customer("someone-else@example.com").await;
    let path = format!("/v1/orders/{id}/tracking");
    let theirs = app.get(&path, &As::customer(&other)).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.body);
    let token = app.new_cart().await;
    assert_eq!(
        app.get(&path, &As::guest(&token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let mine = app.get(&path, &As::customer(&owner)).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["parcels"][0]["tracking_number"], number.as_str());
    assert_eq!(mine.body["parcels"][0]["carrier"], "ups");
    assert_eq!(mine.body["carrier_rate"]["carrier"], "ups");
}

#[tokio::test]
async fn http_carriers_delivered_webhook_twice_moves_the_order_once() {
    let (app, ups) = app_with(None);
    let (owner, id) = ordered_with_ups(&app, "twice").await;
    let number = ship_with_ups(&app, id, "twice").await;
    let body = ups
        .webhook_body(&ups.full_timeline(&number).unwrap())
        .unwrap();
    let signature = webhook::sign(SECRET, &body).unwrap();
    for _ in 0..2 {
        let reply = webhook(&app, "ups", &body, Some(&signature)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["orders"][0]["fulfilment_status"], "delivered");
    }
    assert_eq!(delivered_events(&app, id).await, 1);
    let page = app
        .get(&format!("/v1/orders/{id}/tracking"), &As::customer(&owner))
        .await;
    assert_eq!(page.body["fulfilment_status"], "delivered");
    assert_eq!(page.body["parcels"][0]["status"], "delivered");
    // A body for another carrier's route is refused, as is an unknown carrier.
    let dhl = webhook(&app, "dhl", &body, Some(&signature)).await;
    assert_eq!(dhl.status, StatusCode::NOT_FOUND, "{}", dhl.body);
    let fedex = webhook(&app, "nope", &body, Some(&signature)).await;
    assert_eq!(fedex.status, StatusCode::NOT_FOUND, "{}", fedex.body);
}

#[tokio::test]
async fn http_carriers_notification_preferences_per_kind_and_channel() {
    let (app, _) = app_with(None);
    let (_, bearer) = app.customer("prefs@example.com").await;
    let me = As::customer(&bearer);
    let path = "/v1/account/notification-preferences";
    let before = app.get(path, &me).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    let find = |body: &serde_json::Value, kind: &str, channel: &str| {
        body["preferences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["kind"] == kind && p["channel"] == channel)
            .cloned()
            .unwrap()
    };
    assert_eq!(find(&before.body, "shipped", "sms")["enabled"], true);
    assert_eq!(
        find(&before.body, "order_confirmed", "email")["locked"],
        true
    );

    let put = app
        .call(
            Method::PUT,
            path,
            &me,
            Some(json!({
                "choices": [{"kind": "shipped", "channel": "sms", "enabled": false},
                            {"kind": "welcome", "channel": "email", "enabled": false}],
                "contact": {"phone": "+14155550100"}
            })),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(find(&put.body, "shipped", "sms")["enabled"], false);
    assert_eq!(find(&put.body, "welcome", "email")["enabled"], false);
    assert_eq!(put.body["phone"], "+14155550100");

    // Transactional mail stays on; a bad phone or a duplicate choice is refused and
    // nothing of the request is stored.
    for body in [
        json!({"choices": [{"kind": "order_confirmed", "channel": "email", "enabled": false}]}),
        json!({"choices": [{"kind": "shipped", "channel": "sms", "enabled": true}], "contact": {"phone": "555"}}),
        json!({"choices": [{"kind": "shipped", "channel": "push", "enabled": true},
                           {"kind": "shipped", "channel": "push", "enabled": false}]}),
        json!({"choices": [{"kind": "teleported", "channel": "sms", "enabled": true}]}),
    ] {
        let refused = app.call(Method::PUT, path, &me, Some(body)).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
    }
    let after = app.get(path, &me).await;
    assert_eq!(find(&after.body, "shipped", "sms")["enabled"], false);
    assert_eq!(after.body["phone"], "+14155550100");
}

#[tokio::test]
async fn http_carriers_mailbox_is_shown_only_when_in_memory() {
    let (without, _) = app_with(None);
    let reply = without.get("/v1/dev/mailbox", &As::anonymous()).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);

    let mail = |to: &str, subject: &str| MailMessage {
        message_id: format!("{subject}@test"),
        to: to.to_owned(),
        from: "shop@example.com".to_owned(),
        subject: subject.to_owned(),
        text: "text".to_owned(),
        html: "<p>html</p>".to_owned(),
    };
    let mailbox = FixedMailbox(vec![
        mail("a@example.com", "first"),
        mail("b@example.com", "second"),
    ]);
    let (with, _) = app_with(Some(Arc::new(mailbox)));
    let all = with.get("/v1/dev/mailbox", &As::anonymous()).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body[0]["subject"], "second");
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    let to_a = with
        .get("/v1/dev/mailbox?to=A@example.com", &As::anonymous())
        .await;
    assert_eq!(to_a.body.as_array().unwrap().len(), 1);
    assert_eq!(to_a.body[0]["subject"], "first");
}
