//! The relay and the queue worker against the real RabbitMQ (`AMQP_URL`, default
//! amqp://guest:guest@127.0.0.1:5672/%2f) and a real SMTP conversation with a sink
//! on loopback. Each test declares its own exchange and queues.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, ExchangeDeleteOptions,
    QueueDeleteOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection};

use commerce_core::{EventEnvelope, EventId};
use commerce_notify::smtp_sink::SmtpSink;
use commerce_notify::{EventHandler, NotificationHandler, Outcome, SmtpMailer, Templates};
use commerce_orders::notification::{MemoryDeliveryLog, MemoryPreferenceStore};
use commerce_orders::testkit::checkout::{
    CheckoutAs, cart_with, request, stocked_sku, test_config,
};
use commerce_orders::testkit::{CheckoutFixture, card};
use commerce_orders::{Order, simulated::test_cards};
use commerce_rabbitmq::{
    Disposition, OutboxRelay, QueueWorker, RabbitError, Topology, amqp_url, connect,
};

async fn broker() -> Connection {
    match connect(&amqp_url()).await {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn topology(name: &str) -> Topology {
    let id = EventId::new();
    Topology::new(format!("test.{name}.{id}"), format!("test.{name}.{id}.q"))
        .with_retries(3, Duration::from_millis(50))
}

async fn cleanup(conn: &Connection, t: &Topology) {
    let ch = conn.create_channel().await.unwrap();
    let mut queues = vec![t.queue.clone(), t.dead_letter_queue()];
    queues.extend((1..t.max_attempts).map(|a| t.retry_queue(a)));
    for q in queues {
        let _ = ch
            .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    let _ = ch
        .exchange_delete(t.exchange.as_str().into(), ExchangeDeleteOptions::default())
        .await;
}

async fn queue_len(ch: &Channel, queue: &str) -> u32 {
    ch.queue_declare(
        queue.into(),
        lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap()
    .message_count()
}

struct Shop {
    f: CheckoutFixture,
    log: Arc<MemoryDeliveryLog>,
}

impl Shop {
    fn new() -> Self {
        Shop {
            f: CheckoutFixture::in_memory(),
            log: Arc::new(MemoryDeliveryLog::new()),
        }
    }

    fn handler(&self, sink: &SmtpSink) -> Arc<NotificationHandler> {
        Arc::new(NotificationHandler::new(
            self.f.orders.clone(),
            Arc::new(MemoryPreferenceStore::new()),
            self.log.clone(),
            Arc::new(SmtpMailer::from_url(&sink.url()).unwrap()),
            Templates::new("Test Shop").unwrap(),
            "shop@example.com",
        ))
    }

    async fn order(&self) -> Order {
        let sku = stocked_sku(&self.f, "8.25", 10).await;
        let cart = cart_with(&self.f, None, &[(&sku, 4)]).await;
        self.f
            .checkout(test_config())
            .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
            .await
            .unwrap()
    }

    async fn confirmed_event(&self, order: &Order) -> EventEnvelope {
        let group = format!("peek-{}", EventId::new());
        self.f
            .outbox
            .claim(&group, 1_000, Duration::from_secs(60))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .find(|e| e.aggregate_id == order.id.to_string() && e.topic == "order.confirmed")
            .unwrap()
    }
}

fn spawn_worker(
    worker: QueueWorker,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (stop, task)
}

#[tokio::test]
async fn relay_missing_broker_fails_with_the_command_to_start_it() {
    let err = connect("amqp://guest:secret@127.0.0.1:1/%2f")
        .await
        .unwrap_err();
    assert!(matches!(err, RabbitError::Unreachable { .. }));
    let message = err.to_string();
    assert!(message.contains("rabbitmq-server -detached"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}

#[tokio::test]
async fn relay_publishes_with_confirms_and_acks_the_outbox_after() {
    let conn = broker().await;
    let t = topology("publish");
    let shop = Shop::new();
    let relay = OutboxRelay::new(&conn, shop.f.outbox.clone(), &t)
        .await
        .unwrap()
        .with_consumer(&t.queue);
    shop.order().await;
    let outboxed = shop
        .f
        .outbox
        .claim(
            &format!("count-{}", EventId::new()),
            1_000,
            Duration::from_secs(1),
        )
        .await
        .unwrap()
        .len();
    assert!(outboxed >= 4);
    assert_eq!(relay.relay_once().await.unwrap(), outboxed);
    // Acknowledged: nothing left to relay.
    assert_eq!(relay.relay_once().await.unwrap(), 0);
    let ch = conn.create_channel().await.unwrap();
    assert_eq!(queue_len(&ch, &t.queue).await as usize, outboxed);
    // Messages are persistent JSON envelopes keyed by their event id.
    let got = ch
        .basic_get(t.queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
        .unwrap();
    let event: EventEnvelope = serde_json::from_slice(&got.delivery.data).unwrap();
    assert_eq!(got.delivery.routing_key.as_str(), event.topic);
    assert_eq!(got.delivery.properties.delivery_mode(), &Some(2));
    assert_eq!(
        got.delivery
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.to_string()),
        Some(event.id.to_string())
    );
    cleanup(&conn, &t).await;
}

#[tokio::test]
async fn relay_confirmed_order_sends_one_email_with_the_right_totals() {
    let conn = broker().await;
    let t = topology("e2e");
    let shop = Shop::new();
    let sink = SmtpSink::start().await.unwrap();
    let relay = OutboxRelay::new(&conn, shop.f.outbox.clone(), &t)
        .await
        .unwrap()
        .with_consumer(&t.queue);
    let worker = QueueWorker::new(&conn, t.clone(), shop.handler(&sink))
        .await
        .unwrap();
    let (stop, task) = spawn_worker(worker);
    let order = shop.order().await;
    relay.relay_once().await.unwrap();
    assert_eq!(sink.wait_for(1, Duration::from_secs(10)).await, 1);
    // Give the worker time to (not) send a second one.
    assert_eq!(sink.wait_for(2, Duration::from_millis(300)).await, 1);
    let mail = &sink.received()[0];
    assert!(
        mail.data
            .contains(&format!("Total: {} USD", order.totals.grand_total.amount()))
    );
    assert!(
        mail.data
            .contains(&format!("Tax: {} USD", order.totals.tax_total.amount()))
    );
    stop.send(()).unwrap();
    task.await.unwrap();
    cleanup(&conn, &t).await;
}

#[tokio::test]
async fn relay_redelivered_message_sends_nothing_more() {
    let conn = broker().await;
    let t = topology("redeliver");
    let shop = Shop::new();
    let sink = SmtpSink::start().await.unwrap();
    let relay = OutboxRelay::new(&conn, shop.f.outbox.clone(), &t)
        .await
        .unwrap();
    let worker = QueueWorker::new(&conn, t.clone(), shop.handler(&sink))
        .await
        .unwrap();
    let (stop, task) = spawn_worker(worker);
    let order = shop.order().await;
    let event = shop.confirmed_event(&order).await;
    // The same event published three times (a relay that crashed before its ack,
    // twice).
    for _ in 0..3 {
        relay
            .publish_confirmed(std::slice::from_ref(&event))
            .await
            .unwrap();
    }
    assert_eq!(sink.wait_for(1, Duration::from_secs(10)).await, 1);
    let ch = conn.create_channel().await.unwrap();
    for _ in 0..100 {
        if queue_len(&ch, &t.queue).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sink.wait_for(2, Duration::from_millis(300)).await, 1);
    stop.send(()).unwrap();
    task.await.unwrap();
    cleanup(&conn, &t).await;
}

#[tokio::test]
async fn relay_worker_killed_between_send_and_ack_does_not_send_twice() {
    let conn = broker().await;
    let t = topology("killed");
    let shop = Shop::new();
    let sink = SmtpSink::start().await.unwrap();
    let relay = OutboxRelay::new(&conn, shop.f.outbox.clone(), &t)
        .await
        .unwrap();
    let order = shop.order().await;
    let event = shop.confirmed_event(&order).await;
    relay
        .publish_confirmed(std::slice::from_ref(&event))
        .await
        .unwrap();

    // A worker on its own connection takes the message, sends the mail, and dies
    // before acknowledging it (its connection goes away).
    {
        let doomed = broker().await;
        let ch = doomed.create_channel().await.unwrap();
        let mut consumer = ch
            .basic_consume(
                ShortString::from(t.queue.as_str()),
                ShortString::from("doomed"),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let delivery = futures::StreamExt::next(&mut consumer)
            .await
            .unwrap()
            .unwrap();
        let got: EventEnvelope = serde_json::from_slice(&delivery.data).unwrap();
        let outcome = shop.handler(&sink).handle(&got).await.unwrap();
        assert_eq!(outcome.sent.len(), 1);
        doomed.close(320, "killed".into()).await.unwrap();
    }
    assert_eq!(sink.count(), 1);

    // The broker redelivers to the next worker, which sends nothing and acks.
    let worker = QueueWorker::new(&conn, t.clone(), shop.handler(&sink))
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let redelivered = ch
        .basic_get(t.queue.as_str().into(), BasicGetOptions::default())
        .await
        .unwrap()
        .expect("the unacked message comes back");
    assert!(redelivered.delivery.redelivered);
    // Hand it to the worker as its consumer would.
    assert_eq!(
        worker.process(&redelivered.delivery).await.unwrap(),
        Disposition::Done
    );
    assert_eq!(queue_len(&ch, &t.queue).await, 0);
    assert_eq!(sink.wait_for(2, Duration::from_millis(300)).await, 1);
    cleanup(&conn, &t).await;
}

#[tokio::test]
async fn relay_message_that_always_fails_ends_in_the_dead_letter_queue() {
    let conn = broker().await;
    let t = topology("dlq");
    let shop = Shop::new();
    let sink = SmtpSink::start().await.unwrap();
    sink.reject_all(true);
    let relay = OutboxRelay::new(&conn, shop.f.outbox.clone(), &t)
        .await
        .unwrap();
    let worker = QueueWorker::new(&conn, t.clone(), shop.handler(&sink))
        .await
        .unwrap();
    let (stop, task) = spawn_worker(worker);
    let order = shop.order().await;
    let event = shop.confirmed_event(&order).await;
    relay
        .publish_confirmed(std::slice::from_ref(&event))
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    let dlq = t.dead_letter_queue();
    let mut waited = 0;
    while queue_len(&ch, &dlq).await == 0 && waited < 200 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        waited += 1;
    }
    let dead = ch
        .basic_get(dlq.as_str().into(), BasicGetOptions::default())
        .await
        .unwrap()
        .expect("a dead-lettered message");
    let dead_event: EventEnvelope = serde_json::from_slice(&dead.delivery.data).unwrap();
    assert_eq!(dead_event.id, event.id);
    let headers = dead.delivery.properties.headers().clone().unwrap();
    assert_eq!(
        headers.inner().get("x-attempts"),
        Some(&lapin::types::AMQPValue::LongUInt(t.max_attempts))
    );
    dead.delivery
        .acker
        .ack(BasicAckOptions::default())
        .await
        .unwrap();
    assert_eq!(queue_len(&ch, &t.queue).await, 0);
    assert_eq!(sink.count(), 0);
    // Nothing recorded as sent: an operator can replay the dead letter once the
    // mail server takes mail again.
    assert!(shop.log.is_empty());
    stop.send(()).unwrap();
    task.await.unwrap();
    cleanup(&conn, &t).await;
}

/// A handler counting the events it handles at once.
struct Counting {
    inner: Arc<NotificationHandler>,
    now: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl EventHandler for Counting {
    async fn handle(&self, event: &EventEnvelope) -> commerce_notify::Result<Outcome> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        let outcome = self.inner.handle(event).await;
        self.now.fetch_sub(1, SeqCst);
        outcome
    }
}

#[tokio::test]
async fn relay_worker_handles_several_deliveries_at_once_each_mail_once() {
    let conn = broker().await;
    let t = topology("concurrent");
    let shop = Shop::new();
    let sink = SmtpSink::start().await.unwrap();
    let relay = OutboxRelay::new(&conn, shop.f.outbox.clone(), &t)
        .await
        .unwrap();
    for _ in 0..12 {
        shop.order().await;
    }
    while relay.relay_once().await.unwrap() > 0 {}
    let counting = Arc::new(Counting {
        inner: shop.handler(&sink),
        now: Default::default(),
        most: Default::default(),
    });
    let worker = QueueWorker::new(&conn, t.clone(), counting.clone())
        .await
        .unwrap()
        .with_concurrency(4);
    assert_eq!(worker.concurrency(), 4);
    let (stop, task) = spawn_worker(worker);
    assert_eq!(sink.wait_for(12, Duration::from_secs(20)).await, 12);
    let ch = conn.create_channel().await.unwrap();
    for _ in 0..200 {
        if queue_len(&ch, &t.queue).await == 0
            && counting.now.load(std::sync::atomic::Ordering::SeqCst) == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(queue_len(&ch, &t.queue).await, 0, "every delivery acked");
    assert_eq!(sink.wait_for(13, Duration::from_millis(300)).await, 12);
    let most = counting.most.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=4).contains(&most), "{most} at once");
    let mut subjects: Vec<String> = sink
        .received()
        .iter()
        .map(|m| m.header("Subject").unwrap())
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 12, "one mail per order");
    stop.send(()).unwrap();
    task.await.unwrap();
    cleanup(&conn, &t).await;
}

/// A worker killed between the delivery log's claim and the SMTP answer: the
/// message comes back to another worker, which sends it through the retry queues
/// (the mail is in flight) until the claim is older than `resend_after`, then
/// takes it over and sends it once, same Message-ID, nothing dead-lettered.
#[tokio::test]
async fn relay_mail_cut_by_a_crash_is_retried_until_taken_over_not_dead_lettered() {
    let conn = broker().await;
    let id = EventId::new();
    // The notification budget, scaled down: 8 attempts, 100 ms doubling.
    let t = Topology::new(
        format!("test.inflight.{id}"),
        format!("test.inflight.{id}.q"),
    )
    .with_retries(8, Duration::from_millis(100));
    let shop = Shop::new();
    let sink = SmtpSink::start().await.unwrap();
    let relay = OutboxRelay::new(&conn, shop.f.outbox.clone(), &t)
        .await
        .unwrap();
    let order = shop.order().await;
    let event = shop.confirmed_event(&order).await;
    // The crashed worker's claim, made just now.
    let key = commerce_orders::notification::DeliveryKey::new(
        event.id,
        commerce_orders::notification::Channel::Email,
        &order.email,
    );
    commerce_orders::notification::DeliveryLog::claim(shop.log.as_ref(), &key, chrono::Utc::now())
        .await
        .unwrap();
    let handler = Arc::new(
        NotificationHandler::clone(&shop.handler(&sink))
            .with_resend_after(Duration::from_millis(500)),
    );
    let worker = QueueWorker::new(&conn, t.clone(), handler).await.unwrap();
    let (stop, task) = spawn_worker(worker);
    relay
        .publish_confirmed(std::slice::from_ref(&event))
        .await
        .unwrap();
    assert_eq!(sink.wait_for(1, Duration::from_secs(20)).await, 1);
    let mail = &sink.received()[0];
    let message_id = mail.header("Message-ID").unwrap();
    assert!(
        message_id.starts_with(&format!("<{}.", event.id)),
        "{message_id}"
    );
    let record = commerce_orders::notification::DeliveryLog::get(shop.log.as_ref(), &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.resends, 1);
    assert_eq!(sink.wait_for(2, Duration::from_millis(300)).await, 1);
    let ch = conn.create_channel().await.unwrap();
    assert_eq!(queue_len(&ch, &t.dead_letter_queue()).await, 0);
    stop.send(()).unwrap();
    task.await.unwrap();
    cleanup(&conn, &t).await;
}

/// A TCP proxy to the broker that can cut every connection through it and refuse
/// new ones for a while: what the relay and the workers see of a broker restart,
/// without restarting the broker other tests use.
struct CuttableProxy {
    addr: std::net::SocketAddr,
    down: Arc<std::sync::atomic::AtomicBool>,
    links: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl CuttableProxy {
    async fn to(upstream: String) -> CuttableProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let links = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (d, l) = (down.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if d.load(std::sync::atomic::Ordering::SeqCst) {
                    // The broker is "down": the connection is dropped at once.
                    continue;
                }
                let upstream = upstream.clone();
                l.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        CuttableProxy {
            addr,
            down,
            links,
            accept,
        }
    }

    /// `url` (the broker's) pointing at the proxy instead.
    fn url(&self, url: &str) -> String {
        let (head, rest) = url.split_once('@').unwrap();
        let path = rest.find('/').map_or("", |i| &rest[i..]);
        format!("{head}@{}{path}", self.addr)
    }

    /// Cuts every connection (their sockets closed, as when the broker dies) and
    /// refuses new ones until [`CuttableProxy::restore`].
    fn cut(&self) {
        self.down.store(true, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// The broker's `host:port` from `url`.
fn broker_addr(url: &str) -> String {
    let rest = url.split_once('@').map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap().to_owned()
}

/// Regression (the chaos harness's RabbitMQ restart, docs/reliability.md): the
/// relay and the queue workers of the example never reconnected after a broker
/// restart, so notifications stopped for good (298 confirmed orders without their
/// mail, the relay's outbox group thousands of events behind). On a `Broker` they
/// reconnect: every order confirmed before, during and after the outage gets its
/// mail, once.
#[tokio::test]
async fn relay_and_worker_on_a_broker_go_on_after_the_connection_is_cut() {
    let conn = broker().await;
    let t = topology("cut");
    let shop = Shop::new();
    let sink = SmtpSink::start().await.unwrap();
    let proxy = CuttableProxy::to(broker_addr(&amqp_url())).await;
    let via_proxy = Arc::new(
        commerce_rabbitmq::Broker::connect(proxy.url(&amqp_url()))
            .await
            .unwrap(),
    );
    let relay = OutboxRelay::on_broker(via_proxy.clone(), shop.f.outbox.clone(), &t)
        .await
        .unwrap()
        .with_consumer(&t.queue);
    // A relay on a bare connection through the proxy: it does not come back.
    let bare = connect(&proxy.url(&amqp_url())).await.unwrap();
    let bare_relay = OutboxRelay::new(&bare, shop.f.outbox.clone(), &t)
        .await
        .unwrap()
        .with_consumer(&format!("{}-bare", t.queue));
    let reports = Arc::new(std::sync::Mutex::new(Vec::<Result<(), String>>::new()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = {
        let (broker, t, handler, reports) = (
            via_proxy.clone(),
            t.clone(),
            shop.handler(&sink),
            reports.clone(),
        );
        tokio::spawn(async move {
            QueueWorker::run_reconnecting(
                &broker,
                t,
                handler,
                Duration::from_millis(100),
                async {
                    let _ = stopped.await;
                },
                |r| reports.lock().unwrap().push(r.map_err(|e| e.to_string())),
            )
            .await;
        })
    };

    shop.order().await;
    assert!(relay.relay_once().await.unwrap() > 0);
    assert_eq!(sink.wait_for(1, Duration::from_secs(10)).await, 1);

    // The broker goes away: the relay's pass fails and keeps its events.
    proxy.cut();
    shop.order().await;
    let mut failed = false;
    for _ in 0..50 {
        if relay.relay_once().await.is_err() {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(failed, "a pass while the broker is away fails");
    shop.order().await;

    // Back: the next passes reconnect and relay both orders' events.
    proxy.restore();
    let mut relayed = 0;
    for _ in 0..100 {
        if let Ok(n) = relay.relay_once().await
            && n > 0
        {
            relayed += n;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(relayed > 0, "the relay reconnected");
    assert_eq!(
        sink.wait_for(3, Duration::from_secs(15)).await,
        3,
        "worker: {:?}",
        reports.lock().unwrap()
    );
    // Nothing twice.
    assert_eq!(sink.wait_for(4, Duration::from_millis(500)).await, 3);
    let reports = reports.lock().unwrap().clone();
    assert!(
        reports.iter().filter(|r| r.is_ok()).count() >= 2,
        "the worker consumed, and consumed again after the cut: {reports:?}"
    );
    assert!(reports.iter().any(Result::is_err), "{reports:?}");

    // The relay on a bare connection says it is closed for good.
    let err = bare_relay.relay_once().await.unwrap_err();
    assert!(
        matches!(err, RabbitError::Closed(_) | RabbitError::Amqp(_)),
        "{err}"
    );

    stop.send(()).unwrap();
    worker.await.unwrap();
    cleanup(&conn, &t).await;
}
