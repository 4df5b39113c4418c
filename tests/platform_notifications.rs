//! Notifications wired as the example wires them, on the real services: the shop on
//! PostgreSQL (preferences and delivery log included), `Shop::notification_handler`
//! behind the RabbitMQ relay and a queue worker, mail over SMTP to a sink the test
//! starts. A confirmed order mails once with its totals; the customer's SMS opt-out
//! set over HTTP is honoured for the shipment; the same events read again by the
//! in-process runner send nothing more.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod http_support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use commerce::Shop;
use commerce::core::{Actor, Sku};
use commerce::notify::smtp_sink::SmtpSink;
use commerce::notify::{EventHandler, MemorySms, SmtpMailer, outbox_runner};
use commerce::orders::{
    CarrierCode, Parcel, ServiceLevel, ShipmentLine, SimulatedGateway, simulated::test_cards,
};
use commerce_rabbitmq::{OutboxRelay, QueueWorker, Topology};
use http_support::{App, As, card, checkout_body};
use serde_json::json;

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
    let name = format!(
        "commerce_notify_{}",
        &commerce::core::CustomerId::new()
            .to_string()
            .replace('-', "")[20..]
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap();
    match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("DATABASE_URL {url} has no database name"),
    }
}

#[tokio::test]
async fn platform_notifications_on_postgres_and_rabbitmq_mail_once_and_honour_sms_opt_out() {
    let stores = commerce::postgres::PgStores::connect(&fresh_database().await)
        .await
        .unwrap();
    stores.migrate().await.unwrap();
    let gateway = Arc::new(SimulatedGateway::new());
    let shop = Shop::builder(commerce::default_config())
        .postgres(&stores)
        .payments(gateway.clone())
        .with_memory_defaults()
        .build()
        .unwrap();
    let app = App::over(shop.clone(), gateway);
    app.seed("ntf").await;
    let (_, bearer) = app.customer("ada@example.com").await;
    let me = As::customer(&bearer);

    // No SMS when shipped, to a phone the customer gave (default: on).
    let prefs = app
        .call(
            Method::PUT,
            "/v1/account/notification-preferences",
            &me,
            Some(json!({
                "choices": [{"kind": "shipped", "channel": "sms", "enabled": false}],
                "contact": {"phone": "+14155550100"}
            })),
        )
        .await;
    assert_eq!(prefs.status, StatusCode::OK, "{}", prefs.body);

    // The broker and the mail sink, wired as the example does.
    let url = commerce_rabbitmq::amqp_url();
    let conn = commerce_rabbitmq::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id = commerce::core::EventId::new();
    let topology = Topology {
        exchange: format!("test.platform.{id}"),
        queue: format!("test.platform.{id}.q"),
        ..Topology::notifications()
    };
    let sink = SmtpSink::start().await.unwrap();
    let sms = Arc::new(MemorySms::new());
    let handler: Arc<dyn EventHandler> = Arc::new(
        shop.notification_handler(
            Arc::new(SmtpMailer::from_url(&sink.url()).unwrap()),
            "shop@example.com",
        )
        .unwrap()
        .with_sms(sms.clone()),
    );
    let relay = OutboxRelay::new(&conn, shop.outbox().clone(), &topology)
        .await
        .unwrap();
    let worker = QueueWorker::new(&conn, topology.clone(), handler.clone())
        .await
        .unwrap();
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        worker
            .run(async move {
                let _ = stop_rx.changed().await;
            })
            .await
            .unwrap();
    });

    // A checkout over HTTP with a carrier option, then the label.
    app.post(
        "/v1/cart/items",
        &me,
        json!({"sku": "MUG-ntf", "quantity": 3}),
    )
    .await;
    let mut body = checkout_body(card(test_cards::APPROVED));
    body["shipping_method"] = json!("fedex:ground");
    body["shipping_address"]["phone"] = json!("+14155550100");
    let placed = app
        .post("/v1/checkout", &me.clone().key("ntf-1"), body)
        .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.body);
    let order_id = placed.body["id"].as_str().unwrap().parse().unwrap();
    let total = placed.body["totals"]["grand_total"]["amount"]
        .as_str()
        .unwrap()
        .to_owned();
    let shipped = shop
        .checkout()
        .ship_with_carrier(
            &Actor::Admin,
            order_id,
            &[ShipmentLine {
                sku: Sku::new("MUG-ntf").unwrap(),
                quantity: 3,
            }],
            CarrierCode::Fedex,
            ServiceLevel::Ground,
            Parcel::standard_box(900),
        )
        .await
        .unwrap();
    let tracking = shipped.fulfilment.shipments[0]
        .tracking_number
        .clone()
        .unwrap();
    while relay.relay_once().await.unwrap() > 0 {}

    // Confirmed and shipped: one mail each; no SMS.
    assert_eq!(sink.wait_for(2, Duration::from_secs(20)).await, 2);
    assert_eq!(sink.wait_for(3, Duration::from_millis(500)).await, 2);
    let mails = sink.received();
    let confirmed = mails
        .iter()
        .find(|m| m.data.contains(&format!("Total: {total} USD")))
        .unwrap_or_else(|| panic!("no confirmation with total {total}"));
    assert_eq!(confirmed.to, ["ada@example.com"]);
    assert!(mails.iter().any(|m| m.data.contains(&tracking)));
    assert!(sms.messages().is_empty(), "{:?}", sms.messages());

    // The same events again, read by the in-process runner: nothing more is sent
    // (the delivery log on PostgreSQL dedupes).
    let runner = outbox_runner(
        shop.outbox().clone(),
        handler,
        "test-second-reader",
        commerce::core::RunnerConfig::default(),
    );
    runner.drain().await.unwrap();
    assert_eq!(sink.wait_for(3, Duration::from_millis(300)).await, 2);

    stop_tx.send(true).unwrap();
    task.await.unwrap();
    let ch = conn.create_channel().await.unwrap();
    let mut queues = vec![topology.queue.clone(), topology.dead_letter_queue()];
    queues.extend((1..topology.max_attempts).map(|a| topology.retry_queue(a)));
    for q in queues {
        let _ = ch.queue_delete(q.as_str().into(), Default::default()).await;
    }
    let _ = ch
        .exchange_delete(topology.exchange.as_str().into(), Default::default())
        .await;
}
