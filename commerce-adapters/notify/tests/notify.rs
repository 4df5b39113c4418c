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
    NotifyError, Sms, SmsTransport, SmtpMailer, Templates, outbox_runner,
};
use commerce_orders::carrier::{
    Carrier, CarrierCode, CarrierSet, Parcel, ServiceLevel, SimulatedCarrier, TrackingStatus,
};
use commerce_orders::notification::{
    Channel, Claim, DeliveryKey, DeliveryLog, DeliveryState, MemoryDeliveryLog,
    MemoryPreferenceStore, MessageContext, NotificationKind, PreferenceStore,
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

    /// Ships every line of `order` with UPS (`level`, a box of `grams`), as the admin.
    async fn ship_all(&self, order: &Order, level: ServiceLevel, grams: u32) -> Order {
        let lines: Vec<ShipmentLine> = order
            .lines
            .iter()
            .map(|l| ShipmentLine {
                sku: l.sku.clone(),
                quantity: l.quantity,
            })
            .collect();
        self.checkout
            .ship_with_carrier(
                &commerce_core::Actor::Admin,
                order.id,
                &lines,
                CarrierCode::Ups,
                level,
                Parcel::standard_box(grams),
            )
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

/// On a channel whose resends are not deduplicated (an integrator's transport
/// says nothing: the default), an unknown outcome is never resent.
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
    // However old the claim gets.
    let handler = handler.with_clock(w.f.clock.clone());
    w.f.clock.advance(chrono::Duration::hours(1));
    assert_eq!(handler.handle(&event).await.unwrap().duplicates, 1);
    assert_eq!(transport.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// The key of the confirmation mail of `event` to the fixture's shopper.
fn mail_key(event: &EventEnvelope) -> DeliveryKey {
    DeliveryKey::new(event.id, Channel::Email, "shopper@example.com")
}

/// A process killed between the delivery log's claim and the SMTP answer: the
/// claim is written, nothing sent, nothing marked. The event redelivered while
/// the claim is younger than `resend_after` fails retryably (it must come back,
/// not be acknowledged with the mail unsent); after it, the mail is taken over and
/// sent once, with the Message-ID the first send had.
#[tokio::test]
async fn notify_mail_cut_by_a_crash_is_sent_once_after_resend_after() {
    let w = world();
    let sink = SmtpSink::start().await.unwrap();
    let mailer = SmtpMailer::from_url(&sink.url()).unwrap();
    assert!(mailer.resends_are_deduplicated());
    let handler = w
        .handler(Arc::new(mailer))
        .with_clock(w.f.clock.clone())
        .with_resend_after(Duration::from_secs(30));
    let order = w.order(None).await;
    let event = w.events(&order, "order.confirmed").await.remove(0);
    // The crashed worker's claim.
    let claimed_at = commerce_core::Clock::now(w.f.clock.as_ref());
    assert_eq!(
        w.log.claim(&mail_key(&event), claimed_at).await.unwrap(),
        Claim::Claimed
    );

    // Redelivered at once, and 29 s later: not yet, retry.
    for wait in [0, 29] {
        w.f.clock.advance(chrono::Duration::seconds(wait));
        let err = handler.handle(&event).await.unwrap_err();
        assert!(
            matches!(&err, NotifyError::InFlight { channel: "email", claimed_at: at, .. } if *at == claimed_at),
            "{err:?}"
        );
        assert!(err.is_retryable());
    }
    assert_eq!(sink.wait_for(1, Duration::from_millis(200)).await, 0);

    // 30 s after the claim: taken over and sent.
    w.f.clock.advance(chrono::Duration::seconds(1));
    let outcome = handler.handle(&event).await.unwrap();
    assert_eq!(
        outcome.sent,
        vec![(Channel::Email, "shopper@example.com".to_owned())]
    );
    assert_eq!(outcome.resent, 1);
    assert_eq!(sink.wait_for(1, Duration::from_secs(5)).await, 1);
    let id = sink.received()[0].header("Message-ID").unwrap();
    assert!(
        id.starts_with(&format!("<{}.", event.id)) && id.ends_with("@commerce>"),
        "{id}"
    );
    let record = w.log.get(&mail_key(&event)).await.unwrap().unwrap();
    assert_eq!((record.state, record.resends), (DeliveryState::Sent, 1));

    // Redelivered again, much later: sent already.
    w.f.clock.advance(chrono::Duration::minutes(10));
    assert_eq!(handler.handle(&event).await.unwrap().duplicates, 1);
    sink.wait_for(2, Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 1);
}

/// A mailbox whose first reply is lost: the mail arrived, the sender cannot know.
struct LostFirstReply {
    mailbox: Arc<MemoryMailbox>,
    calls: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl EmailTransport for LostFirstReply {
    async fn send(&self, email: &Email) -> commerce_notify::Result<Accepted> {
        let accepted = self.mailbox.send(email).await?;
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return Err(NotifyError::Unknown {
                channel: "email",
                message: "connection lost after DATA".into(),
            });
        }
        Ok(accepted)
    }

    fn resends_are_deduplicated(&self) -> bool {
        true
    }
}

/// On a deduplicating channel an unknown outcome keeps its claim and asks for the
/// event again; after `resend_after` the same message (same Message-ID) is sent
/// again, and the mailbox shows it once.
#[tokio::test]
async fn notify_unknown_outcome_on_email_is_resent_with_the_same_message_id() {
    let w = world();
    let mailbox = Arc::new(MemoryMailbox::new());
    let transport = Arc::new(LostFirstReply {
        mailbox: mailbox.clone(),
        calls: Default::default(),
    });
    let handler = w
        .handler(transport.clone())
        .with_clock(w.f.clock.clone())
        .with_resend_after(Duration::from_secs(5));
    let order = w.order(None).await;
    let event = w.events(&order, "order.confirmed").await.remove(0);
    let err = handler.handle(&event).await.unwrap_err();
    assert!(matches!(err, NotifyError::InFlight { .. }) && err.is_retryable());
    let record = w.log.get(&mail_key(&event)).await.unwrap().unwrap();
    assert_eq!(record.state, DeliveryState::Claimed, "the claim is kept");
    // Too early.
    w.f.clock.advance(chrono::Duration::seconds(4));
    assert!(handler.handle(&event).await.is_err());
    w.f.clock.advance(chrono::Duration::seconds(1));
    let outcome = handler.handle(&event).await.unwrap();
    assert_eq!((outcome.sent.len(), outcome.resent), (1, 1));
    assert_eq!(transport.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(mailbox.deliveries(), 2, "sent twice");
    assert_eq!(mailbox.len(), 1, "shown once");
    assert!(
        mailbox.messages()[0]
            .message_id
            .starts_with(&event.id.to_string())
    );
}

/// A mailbox that holds each send until the test lets it through.
struct Gated {
    mailbox: Arc<MemoryMailbox>,
    entered: tokio::sync::Notify,
    open: tokio::sync::Semaphore,
}

#[async_trait]
impl EmailTransport for Gated {
    async fn send(&self, email: &Email) -> commerce_notify::Result<Accepted> {
        self.entered.notify_one();
        self.open.acquire().await.unwrap().forget();
        self.mailbox.send(email).await
    }

    fn resends_are_deduplicated(&self) -> bool {
        true
    }
}

/// Two workers meeting one stale claim: the first takes it over and sends; the
/// second, arriving while that send runs, finds a fresh claim and is told to come
/// back (and then finds it sent).
#[tokio::test]
async fn notify_two_workers_take_over_a_stale_claim_once() {
    let w = world();
    let mailbox = Arc::new(MemoryMailbox::new());
    let gated = Arc::new(Gated {
        mailbox: mailbox.clone(),
        entered: tokio::sync::Notify::new(),
        open: tokio::sync::Semaphore::new(0),
    });
    let a = w.handler(gated.clone()).with_clock(w.f.clock.clone());
    let b = w.handler(gated.clone()).with_clock(w.f.clock.clone());
    let order = w.order(None).await;
    let event = w.events(&order, "order.confirmed").await.remove(0);
    let claimed_at = commerce_core::Clock::now(w.f.clock.as_ref());
    w.log.claim(&mail_key(&event), claimed_at).await.unwrap();
    w.f.clock.advance(chrono::Duration::seconds(31));
    let first = tokio::spawn({
        let event = event.clone();
        async move { a.handle(&event).await }
    });
    gated.entered.notified().await;
    let err = b.handle(&event).await.unwrap_err();
    assert!(
        matches!(&err, NotifyError::InFlight { claimed_at: at, .. } if *at > claimed_at),
        "{err:?}"
    );
    gated.open.add_permits(1);
    let outcome = first.await.unwrap().unwrap();
    assert_eq!((outcome.sent.len(), outcome.resent), (1, 1));
    assert_eq!(b.handle(&event).await.unwrap().duplicates, 1);
    assert_eq!(mailbox.deliveries(), 1);
}

/// SMS is not deduplicated downstream: a text cut by a crash (claimed, never
/// sent) or with an unknown outcome is never sent again, however old its claim,
/// while the mail of the same event is.
#[tokio::test]
async fn notify_sms_is_never_resent_after_a_crash_or_an_unknown_outcome() {
    #[derive(Default)]
    struct LostSms {
        calls: std::sync::atomic::AtomicUsize,
    }
    #[async_trait]
    impl SmsTransport for LostSms {
        async fn send(&self, _sms: &Sms) -> commerce_notify::Result<Accepted> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(NotifyError::Unknown {
                channel: "sms",
                message: "no answer".into(),
            })
        }
    }

    let w = world();
    let mailbox = Arc::new(MemoryMailbox::new());
    let sms = Arc::new(MemorySms::new());
    assert!(!sms.resends_are_deduplicated());
    let lost = Arc::new(LostSms::default());
    let customer = CustomerId::new();
    w.prefs
        .set_contact(customer, Some("+14155550100".into()), None)
        .await
        .unwrap();
    let order = w.order(Some(customer)).await;
    w.ship_all(&order, ServiceLevel::Ground, 900).await;
    let shipped = w.events(&order, "fulfilment.shipped").await.remove(0);

    // A crash after both claims of the shipped event: mail and text claimed.
    let now = commerce_core::Clock::now(w.f.clock.as_ref());
    let text_key = DeliveryKey::new(shipped.id, Channel::Sms, "+14155550100");
    w.log.claim(&mail_key(&shipped), now).await.unwrap();
    w.log.claim(&text_key, now).await.unwrap();
    let handler = w
        .handler(mailbox.clone())
        .with_sms(sms.clone())
        .with_clock(w.f.clock.clone());
    assert!(matches!(
        handler.handle(&shipped).await,
        Err(NotifyError::InFlight {
            channel: "email",
            ..
        })
    ));
    w.f.clock.advance(chrono::Duration::hours(1));
    let outcome = handler.handle(&shipped).await.unwrap();
    assert_eq!(
        outcome.sent,
        vec![(Channel::Email, "shopper@example.com".to_owned())]
    );
    assert_eq!(
        outcome.duplicates, 1,
        "the text counts as sent by its claimer"
    );
    assert!(sms.messages().is_empty());
    assert_eq!(mailbox.len(), 1);

    // An unknown outcome of a text: kept, never resent, the event done.
    let out = w.order(Some(customer)).await;
    w.ship_all(&out, ServiceLevel::Ground, 900).await;
    let shipped = w.events(&out, "fulfilment.shipped").await.remove(0);
    let handler = w
        .handler(mailbox.clone())
        .with_sms(lost.clone())
        .with_clock(w.f.clock.clone());
    let outcome = handler.handle(&shipped).await.unwrap();
    assert_eq!((outcome.sent.len(), outcome.unknown), (1, 1));
    w.f.clock.advance(chrono::Duration::hours(1));
    let outcome = handler.handle(&shipped).await.unwrap();
    assert_eq!((outcome.sent.len(), outcome.duplicates), (0, 2));
    assert_eq!(lost.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// The in-process runner brings an event whose mail is in flight back after its
/// backoff (without parking it) until the claim is taken over.
#[tokio::test]
async fn notify_in_process_runner_retries_a_mail_in_flight_until_it_is_taken_over() {
    let w = world();
    let mailbox = Arc::new(MemoryMailbox::new());
    let handler = Arc::new(
        w.handler(mailbox.clone())
            .with_clock(w.f.clock.clone())
            .with_resend_after(Duration::from_secs(30)),
    );
    let runner = outbox_runner(
        w.f.outbox.clone(),
        handler,
        "notifications",
        commerce_notify::runner_config(),
    );
    let order = w.order(None).await;
    let event = w.events(&order, "order.confirmed").await.remove(0);
    w.log
        .claim(
            &mail_key(&event),
            commerce_core::Clock::now(w.f.clock.as_ref()),
        )
        .await
        .unwrap();
    // Every retry waits its backoff (1, 2, 4, 8, 16 s: 31 s in all): none parks it.
    let mut waited = Duration::ZERO;
    let mut passes = 0;
    while mailbox.is_empty() {
        let pass = runner.run_once().await.unwrap();
        assert_eq!(pass.parked, 0, "{pass:?}");
        passes += 1;
        assert!(passes < 20);
        if let Some(wait) = pass.retry_in {
            waited += wait;
            w.f.clock.advance(chrono::Duration::from_std(wait).unwrap());
        }
    }
    assert!(waited >= Duration::from_secs(30), "{waited:?}");
    assert!(runner.parked().is_empty());
    assert_eq!(mailbox.messages_to("shopper@example.com").len(), 1);
    assert!(commerce_notify::runner::retry_span() >= 2 * commerce_notify::DEFAULT_RESEND_AFTER);
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
        let shipped = w.ship_all(&order, ServiceLevel::Ground, 900).await;
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
    use commerce_notify::PushTransport;
    use commerce_notify::SimulatedProviders;

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
    w.ship_all(&order, ServiceLevel::Express, 500).await;
    let shipped = w.events(&order, "fulfilment.shipped").await.remove(0);
    let outcome = handler.handle(&shipped).await.unwrap();
    assert_eq!(outcome.sent.len(), 3, "{outcome:?}");
    assert_eq!(providers.sms_received().len(), 2);
    assert!(providers.sms_received()[1].body.contains("ups.com"));
    assert_eq!(providers.push_received().len(), 2);
}

/// A mailbox that takes 20 ms per send, counts the sends under way at once, and
/// refuses the first send whose subject contains `refuse_once` (nothing sent).
struct Slow {
    mailbox: Arc<MemoryMailbox>,
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
    refuse_once: std::sync::Mutex<Option<String>>,
}

impl Slow {
    fn new(mailbox: Arc<MemoryMailbox>, refuse_once: Option<String>) -> Self {
        Slow {
            mailbox,
            now: Default::default(),
            most: Default::default(),
            refuse_once: std::sync::Mutex::new(refuse_once),
        }
    }
}

#[async_trait]
impl EmailTransport for Slow {
    async fn send(&self, email: &Email) -> commerce_notify::Result<Accepted> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.now.fetch_sub(1, SeqCst);
        {
            let mut refuse = self.refuse_once.lock().unwrap();
            if refuse.as_deref().is_some_and(|s| email.subject.contains(s)) {
                *refuse = None;
                return Err(NotifyError::NotSent {
                    channel: "email",
                    message: "421 try again later".into(),
                });
            }
        }
        self.mailbox.send(email).await
    }

    fn resends_are_deduplicated(&self) -> bool {
        true
    }
}

/// The in-process runner handles a batch's events several at a time (at most the
/// consumer's concurrency), each order's mail once.
#[tokio::test]
async fn notify_in_process_runner_sends_several_at_once_each_once() {
    let w = world();
    let mailbox = Arc::new(MemoryMailbox::new());
    let slow = Arc::new(Slow::new(mailbox.clone(), None));
    let runner = outbox_runner(
        w.f.outbox.clone(),
        Arc::new(w.handler(slow.clone())),
        "notifications",
        commerce_notify::runner_config(),
    );
    let mut numbers = Vec::new();
    for _ in 0..24 {
        numbers.push(w.order(None).await.number.unwrap());
    }
    let mut handled = 0;
    loop {
        let pass = runner.run_once().await.unwrap();
        assert_eq!(pass.retry_in, None, "{pass:?}");
        if pass.handled == 0 {
            break;
        }
        handled += pass.handled;
    }
    assert!(handled >= 24 * 3, "{handled}");
    let most = slow.most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (2..=commerce_notify::runner::DEFAULT_CONCURRENCY).contains(&most),
        "{most} sends at once"
    );
    assert_eq!((mailbox.len(), mailbox.deliveries()), (24, 24));
    for number in &numbers {
        let n = mailbox
            .messages()
            .iter()
            .filter(|m| m.subject.contains(number.as_str()))
            .count();
        assert_eq!(n, 1, "{number}");
    }
}

/// A failure in the middle of a concurrent batch: the events before it are
/// acknowledged, the failed one is retried, and the events after it that were
/// handled meanwhile are handled again without a second send.
#[tokio::test]
async fn notify_in_process_runner_failure_in_a_batch_sends_nothing_twice() {
    let w = world();
    let mailbox = Arc::new(MemoryMailbox::new());
    let mut orders = Vec::new();
    for _ in 0..12 {
        orders.push(w.order(None).await);
    }
    let refused = orders[5].number.clone().unwrap();
    let slow = Arc::new(Slow::new(mailbox.clone(), Some(refused.clone())));
    let runner = outbox_runner(
        w.f.outbox.clone(),
        Arc::new(w.handler(slow.clone())),
        "notifications",
        commerce_notify::runner_config(),
    );
    let first = runner.run_once().await.unwrap();
    assert!(first.retry_in.is_some(), "{first:?}");
    assert!(
        first.handled > 0,
        "the events before the failure are acknowledged"
    );
    assert!(
        !mailbox
            .messages()
            .iter()
            .any(|m| m.subject.contains(refused.as_str()))
    );
    let mut passes = 0;
    while runner.run_once().await.unwrap().handled > 0 {
        passes += 1;
        assert!(passes < 10);
    }
    assert!(runner.parked().is_empty());
    assert_eq!((mailbox.len(), mailbox.deliveries()), (12, 12));
    for order in &orders {
        let number = order.number.as_deref().unwrap();
        assert_eq!(
            mailbox
                .messages()
                .iter()
                .filter(|m| m.subject.contains(number))
                .count(),
            1,
            "{number}"
        );
    }
}
