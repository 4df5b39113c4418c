//! Relay throughput against a raw publish-with-confirms loop through the same client
//! in the same run, end-to-end latency from an order's confirmation to the SMTP
//! sink accepting its mail, mails per second per notification worker (handling one
//! delivery at a time, and several) against raw loops of SMTP sends through the
//! same mailer, and mails per second of the in-process notification runner (one
//! event at a time, and several).
//!
//! ```text
//! cargo bench -p commerce-rabbitmq --bench relay
//! ```
//!
//! Needs the RabbitMQ named by `AMQP_URL` (default
//! amqp://guest:guest@127.0.0.1:5672/%2f). Env: `BENCH_EVENTS` (events per round,
//! default 20000), `BENCH_ROUNDS` (default 3), `BENCH_ORDERS` (orders for the
//! latency part, default 300), `BENCH_MAILS` (mails per worker-rate round, default
//! 400), `BENCH_PART` (`throughput`, `latency`, `workers` or `runner`; all when
//! unset).
//! Targets: relay >= 0.5x the raw loop; p99 < 1 s.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::Connection;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions, QueueDeleteOptions,
    QueuePurgeOptions,
};
use lapin::types::ShortString;

use commerce_core::memory::MemoryOutbox;
use commerce_core::ports::Outbox;
use commerce_core::{DomainEvent, EventEnvelope, EventId, Money};
use commerce_notify::smtp_sink::SmtpSink;
use commerce_notify::{Email, EmailTransport, NotificationHandler, SmtpMailer, Templates};
use commerce_orders::notification::{MemoryDeliveryLog, MemoryPreferenceStore};
use commerce_orders::testkit::checkout::{
    CheckoutAs, cart_with, request, stocked_sku, test_config,
};
use commerce_orders::testkit::{CheckoutFixture, card};
use commerce_orders::{OrderEvent, OrderId, simulated::test_cards};
use commerce_rabbitmq::{OutboxRelay, QueueWorker, Topology, amqp_url, connect, event_properties};

const BATCH: u32 = 500;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sample_events(n: usize) -> Vec<EventEnvelope> {
    let now = chrono::Utc::now();
    (0..n)
        .map(|i| {
            OrderEvent::OrderPlaced {
                order_id: OrderId::new(),
                customer_id: None,
                grand_total: Money::from_minor(1_000 + i as i64, commerce_core::Currency::USD),
                units: 3,
                lines: Vec::new(),
            }
            .envelope(now)
            .unwrap()
        })
        .collect()
}

/// Events per second of the relay draining an outbox of `events`.
async fn relay_round(conn: &Connection, t: &Topology, events: &[EventEnvelope]) -> f64 {
    let outbox = Arc::new(MemoryOutbox::new());
    outbox.push(events.to_vec());
    let relay = OutboxRelay::new(conn, outbox.clone() as Arc<dyn Outbox>, t)
        .await
        .unwrap()
        .with_batch(BATCH);
    let start = Instant::now();
    let mut relayed = 0;
    while relayed < events.len() {
        relayed += relay.relay_once().await.unwrap();
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}

/// Events per second of a raw loop: the same bodies, published in batches of the
/// same size without waiting, then every confirm awaited (the best this client does).
async fn raw_round(conn: &Connection, t: &Topology, events: &[EventEnvelope]) -> f64 {
    let ch = conn.create_channel().await.unwrap();
    ch.confirm_select(ConfirmSelectOptions::default())
        .await
        .unwrap();
    let bodies: Vec<(Vec<u8>, &EventEnvelope)> = events
        .iter()
        .map(|e| (serde_json::to_vec(e).unwrap(), e))
        .collect();
    let start = Instant::now();
    for chunk in bodies.chunks(BATCH as usize) {
        let mut pending = Vec::with_capacity(chunk.len());
        for (body, e) in chunk {
            pending.push(
                ch.basic_publish(
                    ShortString::from(t.exchange.as_str()),
                    ShortString::from(e.topic.as_str()),
                    BasicPublishOptions::default(),
                    body,
                    event_properties(e),
                )
                .await
                .unwrap(),
            );
        }
        for p in pending {
            assert!(p.await.unwrap().is_ack());
        }
    }
    events.len() as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
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

async fn throughput(conn: &Connection) {
    let n = env_usize("BENCH_EVENTS", 20_000);
    let rounds = env_usize("BENCH_ROUNDS", 3);
    let id = EventId::new();
    let t = Topology::new(format!("bench.relay.{id}"), format!("bench.relay.{id}.q"));
    let events = sample_events(n);
    t.declare(&conn.create_channel().await.unwrap())
        .await
        .unwrap();
    println!(
        "relay throughput: {n} events per round, batches of {BATCH}, persistent, one durable queue bound"
    );
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let raw = raw_round(conn, &t, &events).await;
        let relay = relay_round(conn, &t, &events).await;
        let ch = conn.create_channel().await.unwrap();
        ch.queue_purge(t.queue.as_str().into(), QueuePurgeOptions::default())
            .await
            .unwrap();
        let ratio = relay / raw;
        ratios.push(ratio);
        println!(
            "  round {round}: relay {relay:>8.0} events/s   raw publish+confirm {raw:>8.0} events/s   ratio {ratio:.2}"
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "  median ratio relay/raw: {:.2} (target >= 0.5)",
        ratios[ratios.len() / 2]
    );
    cleanup(conn, &t).await;
}

async fn latency(conn: &Connection) {
    let orders = env_usize("BENCH_ORDERS", 300);
    let id = EventId::new();
    let t = Topology::notifications();
    let t = Topology {
        exchange: format!("bench.e2e.{id}"),
        queue: format!("bench.e2e.{id}.q"),
        ..t
    };
    let f = CheckoutFixture::in_memory();
    let checkout = f.checkout(test_config());
    let sink = SmtpSink::start().await.unwrap();
    let handler = Arc::new(NotificationHandler::new(
        f.orders.clone(),
        Arc::new(MemoryPreferenceStore::new()),
        Arc::new(MemoryDeliveryLog::new()),
        Arc::new(SmtpMailer::from_url(&sink.url()).unwrap()),
        Templates::new("Bench Shop").unwrap(),
        "shop@example.com",
    ));
    let relay = Arc::new(OutboxRelay::new(conn, f.outbox.clone(), &t).await.unwrap());
    let worker = QueueWorker::new(conn, t.clone(), handler).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let relay_task = {
        let relay = relay.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            relay
                .run(Duration::from_millis(2), async move {
                    let _ = stop.changed().await;
                })
                .await;
        })
    };
    let worker_task = {
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            worker
                .run(async move {
                    let _ = stop.changed().await;
                })
                .await
                .unwrap();
        })
    };
    let sku = stocked_sku(&f, "9.99", 1_000_000).await;
    let mut latencies = Vec::with_capacity(orders);
    for i in 0..orders {
        let cart = cart_with(&f, None, &[(&sku, 2)]).await;
        checkout
            .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
            .await
            .unwrap();
        let confirmed = Instant::now();
        assert_eq!(sink.wait_for(i + 1, Duration::from_secs(10)).await, i + 1);
        let accepted = sink.received()[i].accepted_at;
        latencies.push(accepted.saturating_duration_since(confirmed));
    }
    stop_tx.send(true).unwrap();
    relay_task.await.unwrap();
    worker_task.await.unwrap();
    latencies.sort();
    println!(
        "end to end (order confirmed -> SMTP sink accepted), {orders} orders one after another, relay polling every 2 ms:"
    );
    println!(
        "  p50 {:.1} ms   p99 {:.1} ms   max {:.1} ms (target p99 < 1000 ms)",
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    cleanup(conn, &t).await;
}

/// Mails per second of `senders` concurrent raw loops of `SmtpMailer::send` (the
/// transport's ceiling), `n` mails in all, to a fresh sink.
async fn raw_smtp_rate(senders: usize, n: usize) -> f64 {
    let sink = SmtpSink::start().await.unwrap();
    let mailer = Arc::new(SmtpMailer::from_url(&sink.url()).unwrap());
    let text = "Your order is confirmed.\n".repeat(40);
    let html = format!(
        "<html><body>{}</body></html>",
        "<p>Your order is confirmed.</p>".repeat(60)
    );
    let start = Instant::now();
    let tasks: Vec<_> = (0..senders)
        .map(|s| {
            let (mailer, text, html) = (mailer.clone(), text.clone(), html.clone());
            tokio::spawn(async move {
                for i in (s..n).step_by(senders) {
                    mailer
                        .send(&Email {
                            to: format!("buyer{i}@example.com"),
                            from: "shop@example.com".to_owned(),
                            subject: format!("Order {i} confirmed"),
                            text: text.clone(),
                            html: html.clone(),
                            message_id: format!("raw-{i}@bench"),
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Mails per second of `workers` queue workers draining `n` order-confirmed events
/// already on the queue, each handling up to `concurrency` deliveries at once (each:
/// claim in the delivery log, render, one SMTP conversation, mark sent, ack).
async fn worker_rate(conn: &Connection, workers: usize, concurrency: usize, n: usize) -> f64 {
    let id = EventId::new();
    let t = Topology {
        exchange: format!("bench.workers.{id}"),
        queue: format!("bench.workers.{id}.q"),
        ..Topology::notifications()
    };
    let f = CheckoutFixture::in_memory();
    let checkout = f.checkout(test_config());
    let sink = SmtpSink::start().await.unwrap();
    let handler = Arc::new(NotificationHandler::new(
        f.orders.clone(),
        Arc::new(MemoryPreferenceStore::new()),
        Arc::new(MemoryDeliveryLog::new()),
        Arc::new(SmtpMailer::from_url(&sink.url()).unwrap()),
        Templates::new("Bench Shop").unwrap(),
        "shop@example.com",
    ));
    let sku = stocked_sku(&f, "9.99", 1_000_000).await;
    for _ in 0..n {
        let cart = cart_with(&f, None, &[(&sku, 2)]).await;
        checkout
            .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
            .await
            .unwrap();
    }
    // Every event of the orders on the queue first (the notification queue binds
    // order.#, payment.#: about 4 events per order, one of which mails).
    let relay = OutboxRelay::new(conn, f.outbox.clone(), &t).await.unwrap();
    while relay.relay_once().await.unwrap() > 0 {}
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let start = Instant::now();
    for _ in 0..workers {
        let worker = QueueWorker::new(conn, t.clone(), handler.clone())
            .await
            .unwrap()
            .with_concurrency(concurrency);
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            worker
                .run(async move {
                    let _ = stop.changed().await;
                })
                .await
                .unwrap();
        }));
    }
    assert_eq!(sink.wait_for(n, Duration::from_secs(600)).await, n);
    let last = sink.received().iter().map(|m| m.accepted_at).max().unwrap();
    let rate = n as f64 / last.saturating_duration_since(start).as_secs_f64();
    stop_tx.send(true).unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    cleanup(conn, &t).await;
    rate
}

async fn workers(conn: &Connection) {
    let n = env_usize("BENCH_MAILS", 400);
    println!(
        "notification workers: {n} order-confirmed mails queued, then drained; baseline: raw SmtpMailer::send loops to a loopback sink"
    );
    for (workers, concurrency) in [(1, 1), (4, 1), (1, 8), (4, 8)] {
        let senders = workers * concurrency;
        let raw = raw_smtp_rate(senders, n).await;
        let rate = worker_rate(conn, workers, concurrency, n).await;
        println!(
            "  {workers} worker(s) x {concurrency} at once: {rate:>7.1} mails/s ({:.1} per worker)   raw SMTP, {senders} sender(s): {raw:>7.1} mails/s   ratio {:.2}",
            rate / workers as f64,
            rate / raw
        );
    }
}

/// Mails per second of the in-process notification runner draining the outbox of
/// `n` confirmed orders (about four events each, one of which mails), handling up
/// to `concurrency` events at once.
async fn runner_rate(concurrency: usize, n: usize) -> f64 {
    let f = CheckoutFixture::in_memory();
    let checkout = f.checkout(test_config());
    let sink = SmtpSink::start().await.unwrap();
    let handler = Arc::new(NotificationHandler::new(
        f.orders.clone(),
        Arc::new(MemoryPreferenceStore::new()),
        Arc::new(MemoryDeliveryLog::new()),
        Arc::new(SmtpMailer::from_url(&sink.url()).unwrap()),
        Templates::new("Bench Shop").unwrap(),
        "shop@example.com",
    ));
    let sku = stocked_sku(&f, "9.99", 1_000_000).await;
    for _ in 0..n {
        let cart = cart_with(&f, None, &[(&sku, 2)]).await;
        checkout
            .checkout_as(&request(cart, None, card(test_cards::APPROVED)))
            .await
            .unwrap();
    }
    let runner = commerce_core::worker::Runner::new(
        f.outbox.clone(),
        Arc::new(
            commerce_notify::NotificationConsumer::new(handler, "notifications")
                .with_concurrency(concurrency),
        ),
        commerce_notify::runner_config(),
    );
    let start = Instant::now();
    while runner.run_once().await.unwrap().handled > 0 {}
    assert_eq!(sink.count(), n);
    n as f64 / start.elapsed().as_secs_f64()
}

async fn runner(_conn: &Connection) {
    let n = env_usize("BENCH_MAILS", 400);
    println!(
        "in-process notification runner: the outbox of {n} confirmed orders drained (batches of 100)"
    );
    for concurrency in [1, 8] {
        let rate = runner_rate(concurrency, n).await;
        println!("  {concurrency} at once: {rate:>7.1} mails/s");
    }
}

#[tokio::main]
async fn main() {
    let conn = match connect(&amqp_url()).await {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }
    let part = std::env::var("BENCH_PART").unwrap_or_default();
    if part.is_empty() || part == "throughput" {
        throughput(&conn).await;
    }
    if part.is_empty() || part == "latency" {
        latency(&conn).await;
    }
    if part.is_empty() || part == "workers" {
        workers(&conn).await;
    }
    if part.is_empty() || part == "runner" {
        runner(&conn).await;
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at end: {}", load.trim());
    }
}
