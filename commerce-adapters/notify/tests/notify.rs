//! The notification handler over a real SMTP conversation (a sink on loopback),
//! the in-memory channels, preferences and the dedupe.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use commerce_core::testkit::fixtures::us_address;
use commerce_core::worker::RunnerConfig;
use commerce_core::{CustomerId, EventEnvelope};
use commerce_notify::smtp_sink::SmtpSink;
use commerce_notify::{
    Accepted, Email, EmailTransport, EventHandler, MemoryMailbox, MemorySms, NotificationHandler,
    NotifyError, SmtpMailer, Templates, outbox_runner,
};
use commerce_orders::carrier::{
    Carrier, CarrierCode, CarrierSet, Parcel, ServiceLevel, SimulatedCarrier, TrackingStatus,
};
use commerce_orders::notification::{
    Channel, DeliveryLog, MemoryDeliveryLog, MemoryPreferenceStore, MessageContext,
    NotificationKind, PreferenceStore,
};
use commerce_orders::testkit::checkout::{
    CheckoutAs, cart_with, request, stocked_sku, test_config,
};
use commerce_orders::testkit::{CheckoutFixture, card};
use commerce_orders::{Checkout, Order, ShipmentLine, simulated::test_cards};

struct World {
    f: CheckoutFixture,
    checkout: Checkout,
    prefs: Arc<MemoryPreferenceStore>,
    log: Arc<MemoryDeliveryLog>,
    carrier: Arc<SimulatedCarrier>,
}

fn world() -> World {
    let f = CheckoutFixture::in_memory();
    let carrier = Arc::new(SimulatedCarrier::new(CarrierCode::Ups, 11, f.clock.clone()));
    let checkout = f.checkout(test_config()).with_carriers(CarrierSet::new(
        vec![carrier.clone() as Arc<dyn Carrier>],
        us_address("CA"),
    ));
    World {
        f,
        checkout,
        prefs: Arc::new(MemoryPreferenceStore::new()),
        log: Arc::new(MemoryDeliveryLog::new()),
        carrier,
    }
}

impl World {
    fn handler(&self, email: Arc<dyn EmailTransport>) -> NotificationHandler {
        NotificationHandler::new(
            self.f.orders.clone(),
            self.prefs.clone(),
            self.log.clone(),
            email,
            Templates::new("Test Shop").unwrap(),
            "shop@example.com",
        )
    }

    async fn order(&self, customer: Option<CustomerId>) -> Order {
        let sku = stocked_sku(&self.f, "12.50", 10).await;
        let cart = cart_with(&self.f, customer, &[(&sku, 3)]).await;
        self.checkout
            .checkout_as(&request(cart, customer, card(test_cards::APPROVED)))
            .await
            .unwrap()
    }

    /// The outbox events of `order` with `topic`.
    async fn events(&self, order: &Order, topic: &str) -> Vec<EventEnvelope> {
        let group = format!("test-{}", uuid_like());
        self.f
            .outbox
            .claim(&group, 1_000, Duration::from_secs(60))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .filter(|e| e.aggregate_id == order.id.to_string() && e.topic == topic)
            .collect()
    }
}

fn uuid_like() -> String {
    commerce_core::EventId::new().to_string()
}

#[test]
fn notify_templates_render_every_kind_and_escape_only_html() {
    let templates = Templates::new("Tom & Jerry's <Shop>").unwrap();
    for kind in NotificationKind::ALL {
        let mut ctx = MessageContext::new(kind, "Ada <b>");
        ctx.order_number = Some("AB12-CD34".into());
        ctx.grand_total = Some("10.00 USD".into());
        ctx.reset_url = Some("https://shop.example/reset?t=x&y=1".into());
        ctx.refund_amount = Some("5.00 USD".into());
        let r = templates.render(kind, &ctx).unwrap();
        assert!(
            !r.subject.is_empty() && !r.subject.contains('\n'),
            "{kind:?}: {:?}",
            r.subject
        );
        assert!(r.text.contains("Hello Ada <b>,"), "{kind:?}: {}", r.text);
        assert!(
            r.html.contains("Hello Ada &lt;b&gt;,"),
            "{kind:?}: {}",
            r.html
        );
        assert!(r.html.contains("<html>"));
        assert!(!r.sms.is_empty() && !r.push.is_empty());
        assert!(r.text.contains("Tom & Jerry's <Shop>"));
    }
}

#[tokio::test]
async fn notify_confirmed_order_sends_one_email_with_the_right_totals() {
    let w = world();
    let sink = SmtpSink::start().await.unwrap();
    let handler = w.handler(Arc::new(SmtpMailer::from_url(&sink.url()).unwrap()));
    let order = w.order(None).await;
    let confirmed = w.events(&order, "order.confirmed").await;
    assert_eq!(confirmed.len(), 1);
    let outcome = handler.handle(&confirmed[0]).await.unwrap();
    assert_eq!(
        outcome.sent,
        vec![(Channel::Email, "shopper@example.com".to_owned())]
    );
    assert_eq!(sink.wait_for(1, Duration::from_secs(5)).await, 1);
    let mail = &sink.received()[0];
    assert_eq!(mail.to, vec!["shopper@example.com".to_owned()]);
    let number = order.number.clone().unwrap();
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some(format!("Order {number} confirmed").as_str())
    );
    let total = format!("Total: {} USD", order.totals.grand_total.amount());
    assert!(mail.data.contains(&total), "{total} not in {}", mail.data);
    let sub = format!("Subtotal: {} USD", order.totals.subtotal.amount());
    assert!(mail.data.contains(&sub));
    let ship = format!("Shipping: {} USD", order.totals.shipping_total.amount());
    assert!(mail.data.contains(&ship));
    assert!(mail.data.contains("multipart/alternative"));
    assert!(mail.data.contains("text/html"));
    // Other events of the order notify nothing or something else: no second mail.
    for e in w.events(&order, "payment.captured").await {
        handler.handle(&e).await.unwrap();
    }
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn notify_redelivered_event_sends_nothing_more() {
    let w = world();
    let sink = SmtpSink::start().await.unwrap();
    let handler = w.handler(Arc::new(SmtpMailer::from_url(&sink.url()).unwrap()));
    let order = w.order(None).await;
    let event = w.events(&order, "order.confirmed").await.remove(0);
    handler.handle(&event).await.unwrap();
    // Redelivered, and handled by a second worker with the same log.
    let again = handler.handle(&event).await.unwrap();
    assert!(again.sent.is_empty());
    assert_eq!(again.duplicates, 1);
    let other_worker = w.handler(Arc::new(SmtpMailer::from_url(&sink.url()).unwrap()));
    assert!(other_worker.handle(&event).await.unwrap().sent.is_empty());
    sink.wait_for(2, Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn notify_rejected_mail_frees_its_key_and_the_retry_sends_once() {
    let w = world();
    let sink = SmtpSink::start().await.unwrap();
    sink.reject_all(true);
    let handler = w.handler(Arc::new(SmtpMailer::from_url(&sink.url()).unwrap()));
    let order = w.order(None).await;
    let event = w.events(&order, "order.confirmed").await.remove(0);
    let err = handler.handle(&event).await.unwrap_err();
    assert!(matches!(err, NotifyError::NotSent { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(w.log.is_empty(), "nothing sent, nothing recorded");
    sink.reject_all(false);
    assert_eq!(handler.handle(&event).await.unwrap().sent.len(), 1);
    assert!(handler.handle(&event).await.unwrap().sent.is_empty());
    assert_eq!(sink.count(), 1);
}

/// A transport whose first send ends with an unknown outcome (the server may have
/// taken it).
#[derive(Default)]
struct LostReply {
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl EmailTransport for LostReply {
    async fn send(&self, _email: &Email) -> commerce_notify::Result<Accepted> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(NotifyError::Unknown {
            channel: "email",
            message: "connection lost after DATA".into(),
        })
    }
}

#[tokio::test]
async fn notify_unknown_outcome_is_never_resent_and_is_listed_for_an_operator() {
    let w = world();
    let transport = Arc::new(LostReply::default());
    let handler = w.handler(transport.clone());
    let order = w.order(None).await;
    let event = w.events(&order, "order.confirmed").await.remove(0);
    assert_eq!(handler.handle(&event).await.unwrap().unknown, 1);
    assert_eq!(handler.handle(&event).await.unwrap().duplicates, 1);
    assert_eq!(transport.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    let stale = w.log.stale_claims(chrono::Utc::now(), 10).await.unwrap();
    assert_eq!(stale.len(), 1);
}

#[tokio::test]
async fn notify_sms_opt_out_is_honoured() {
    let w = world();
    let mailbox = Arc::new(MemoryMailbox::new());
    let sms = Arc::new(MemorySms::new());
    let handler = w.handler(mailbox.clone()).with_sms(sms.clone());
    let opted_in = CustomerId::new();
    let opted_out = CustomerId::new();
    for c in [opted_in, opted_out] {
        w.prefs
            .set_contact(c, Some("+14155550100".into()), None)
            .await
            .unwrap();
    }
    w.prefs
        .choose(
            opted_out,
            NotificationKind::OutForDelivery,
            Channel::Sms,
            false,
        )
        .await
        .unwrap();
    for customer in [opted_in, opted_out] {
        let order = w.order(Some(customer)).await;
        let lines: Vec<ShipmentLine> = order
            .lines
            .iter()
            .map(|l| ShipmentLine {
                sku: l.sku.clone(),
                quantity: l.quantity,
            })
            .collect();
        let shipped = w
            .checkout
            .ship_with_carrier(
                &commerce_core::Actor::Admin,
                order.id,
                &lines,
                CarrierCode::Ups,
                ServiceLevel::Ground,
                Parcel::standard_box(900),
            )
            .await
            .unwrap();
        let number = shipped.fulfilment.shipments[0]
            .tracking_number
            .clone()
            .unwrap();
        let out: Vec<_> = w
            .carrier
            .full_timeline(&number)
            .unwrap()
            .into_iter()
            .filter(|e| e.status == TrackingStatus::OutForDelivery)
            .collect();
        w.checkout.apply_tracking(order.id, &out).await.unwrap();
        let event = w
            .events(&order, "fulfilment.out_for_delivery")
            .await
            .remove(0);
        let outcome = handler.handle(&event).await.unwrap();
        let channels: Vec<Channel> = outcome.sent.iter().map(|(c, _)| *c).collect();
        if customer == opted_in {
            assert_eq!(channels, vec![Channel::Email, Channel::Sms]);
        } else {
            assert_eq!(channels, vec![Channel::Email]);
        }
    }
    let texts = sms.messages();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].body.contains("out for delivery"));
    assert_eq!(mailbox.len(), 2);
}

#[tokio::test]
async fn notify_in_process_runner_reads_the_outbox() {
    let w = world();
    let mailbox = Arc::new(MemoryMailbox::new());
    let handler = Arc::new(w.handler(mailbox.clone()));
    let runner = outbox_runner(
        w.f.outbox.clone(),
        handler,
        "notifications",
        RunnerConfig::default(),
    );
    let order = w.order(None).await;
    let pass = runner.run_once().await.unwrap();
    assert!(pass.handled >= 3, "{pass:?}");
    let mails = mailbox.messages_to("shopper@example.com");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject.contains(order.number.as_deref().unwrap()));
    // A second pass finds nothing new and sends nothing.
    assert_eq!(runner.run_once().await.unwrap().handled, 0);
    assert_eq!(mailbox.len(), 1);
}

#[tokio::test]
async fn notify_in_process_runner_sets_aside_an_event_that_always_fails() {
    let w = world();
    let sink = SmtpSink::start().await.unwrap();
    sink.reject_all(true);
    let handler = Arc::new(w.handler(Arc::new(SmtpMailer::from_url(&sink.url()).unwrap())));
    let config = RunnerConfig::default()
        .with_max_attempts(3)
        .with_lease(Duration::from_millis(1));
    let runner = outbox_runner(w.f.outbox.clone(), handler, "notifications", config);
    let order = w.order(None).await;
    let mut dead = 0;
    for _ in 0..10 {
        w.f.clock.advance(chrono::Duration::seconds(1));
        dead += runner.run_once().await.unwrap().parked;
    }
    assert_eq!(dead, 1);
    let parked = runner.parked();
    assert_eq!(parked[0].event.topic, "order.confirmed");
    assert_eq!(parked[0].event.aggregate_id, order.id.to_string());
    assert!(!parked[0].error.is_empty());
}

#[tokio::test]
async fn notify_sms_and_push_go_through_http_providers_on_loopback() {
    use commerce_notify::SimulatedProviders;
    use commerce_notify::{PushTransport, SmsTransport};

    let providers = SimulatedProviders::start().await.unwrap();
    let sms = providers.sms("+15005550006");
    let accepted = sms
        .send(&commerce_notify::Sms {
            to: "+14155550100".into(),
            body: "Order AB12 is out for delivery today.".into(),
        })
        .await
        .unwrap();
    assert!(accepted.provider_id.unwrap().starts_with("SM"));
    let push = providers.push("shop");
    let accepted = push
        .send(&commerce_notify::Push {
            token: "device-1".into(),
            title: "Order AB12 shipped".into(),
            body: "On its way".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        accepted.provider_id.as_deref(),
        Some("projects/shop/messages/1")
    );
    assert_eq!(providers.sms_received()[0].to, "+14155550100");
    assert_eq!(
        providers.push_received()[0].title.as_deref(),
        Some("Order AB12 shipped")
    );

    // Wrong credentials and bad numbers are refused: nothing sent, retryable.
    let bad = commerce_notify::TwilioSms::new(
        providers.base_url(),
        SimulatedProviders::ACCOUNT,
        "wrong",
        "+1",
    );
    let err = bad
        .send(&commerce_notify::Sms {
            to: "+14155550100".into(),
            body: "x".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, NotifyError::NotSent { .. }) && err.is_retryable(),
        "{err:?}"
    );
    let err = sms
        .send(&commerce_notify::Sms {
            to: "0800".into(),
            body: "x".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, NotifyError::NotSent { .. }), "{err:?}");
    assert_eq!(providers.sms_received().len(), 1);

    // The handler sends through them like any channel.
    let w = world();
    let customer = CustomerId::new();
    w.prefs
        .set_contact(
            customer,
            Some("+14155550199".into()),
            Some("device-9".into()),
        )
        .await
        .unwrap();
    let handler = w
        .handler(Arc::new(MemoryMailbox::new()))
        .with_sms(Arc::new(sms))
        .with_push(Arc::new(push));
    let order = w.order(Some(customer)).await;
    let lines: Vec<ShipmentLine> = order
        .lines
        .iter()
        .map(|l| ShipmentLine {
            sku: l.sku.clone(),
            quantity: l.quantity,
        })
        .collect();
    w.checkout
        .ship_with_carrier(
            &commerce_core::Actor::Admin,
            order.id,
            &lines,
            CarrierCode::Ups,
            ServiceLevel::Express,
            Parcel::standard_box(500),
        )
        .await
        .unwrap();
    let shipped = w.events(&order, "fulfilment.shipped").await.remove(0);
    let outcome = handler.handle(&shipped).await.unwrap();
    assert_eq!(outcome.sent.len(), 3, "{outcome:?}");
    assert_eq!(providers.sms_received().len(), 2);
    assert!(providers.sms_received()[1].body.contains("ups.com"));
    assert_eq!(providers.push_received().len(), 2);
}
