//! The example itself, started as a process (`cargo run --example platform`): it
//! answers health, serves the OpenAPI document, a guest checkout through it
//! succeeds, every worker shows its lag at `/workers`, and SIGTERM stops it
//! cleanly after finishing the requests in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP/1.1 request (Connection: close); status and JSON body.
async fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        text.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(&body);
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status: u16 = response[9..12].parse().unwrap();
    let (head, payload) = response.split_once("\r\n\r\n").unwrap();
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // Join the chunks (sizes in hex on their own lines).
        let mut out = String::new();
        let mut rest = payload;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        payload.to_owned()
    };
    (
        status,
        serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
    )
}

#[tokio::test]
async fn http_example_serves_health_openapi_and_a_checkout() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut child = Command::new(cargo)
        .args([
            "run",
            "--quiet",
            "--example",
            "platform",
            "--",
            "--bind",
            "127.0.0.1:0",
        ])
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start cargo run --example platform");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    // Building the example may take a while on a cold tree.
    let addr = rx
        .recv_timeout(Duration::from_secs(600))
        .expect("the platform printed its URL");

    let (status, health) = request(&addr, "GET", "/health", &[], None).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, doc) = request(&addr, "GET", "/openapi.json", &[], None).await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/v1/checkout"]["post"].is_object());

    // Search answers from the index the indexer worker fed from the outbox.
    let mut searched = Value::Null;
    for _ in 0..50 {
        let (status, found) = request(
            &addr,
            "GET",
            "/v1/catalog/search?q=shirt&limit=3",
            &[],
            None,
        )
        .await;
        assert_eq!(status, 200, "{found}");
        searched = found;
        if searched["total"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(searched["total"].as_u64().unwrap() > 0, "{searched}");

    // The demo reviews' ratings reach the index through the outbox after its
    // reindex (a pruner pass at start once deleted those events unread).
    let mut rated = Value::Null;
    for _ in 0..50 {
        let (_, found) = request(&addr, "GET", "/v1/catalog/search?q=&limit=1", &[], None).await;
        rated = found["facets"]["ratings_at_least"].clone();
        if rated[0].as_u64().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        rated[0].as_u64().unwrap_or(0) > 0,
        "no rated product in the index: {rated}"
    );

    // A guest buys a variant with stock.
    let (_, page) = request(&addr, "GET", "/v1/catalog/products?limit=50", &[], None).await;
    let mut sku = None;
    for item in page["items"].as_array().unwrap() {
        let slug = item["slug"].as_str().unwrap();
        let (_, product) = request(
            &addr,
            "GET",
            &format!("/v1/catalog/products/{slug}"),
            &[],
            None,
        )
        .await;
        sku = product["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["stock"] == "available")
            .map(|v| v["sku"].as_str().unwrap().to_owned());
        if sku.is_some() {
            break;
        }
    }
    let sku = sku.expect("a variant in stock among the first products");
    let (status, cart) = request(&addr, "POST", "/v1/cart", &[], None).await;
    assert_eq!(status, 201);
    let token = cart["cart_token"].as_str().unwrap().to_owned();
    let (status, _) = request(
        &addr,
        "POST",
        "/v1/cart/items",
        &[("X-Cart-Token", &token)],
        Some(json!({"sku": sku, "quantity": 1})),
    )
    .await;
    assert_eq!(status, 200);
    let body = json!({
        "email": "buyer@example.com",
        "shipping_address": {"name": "B", "line1": "1 Main St", "city": "Austin", "region": "TX",
                             "postal_code": "73301", "country": "US"},
        "shipping_method": "standard",
        "payment_method": {"type": "card", "number": "4242424242424242", "expiry_month": 12,
                           "expiry_year": 2030, "cvc": "123"}
    });
    let (status, order) = request(
        &addr,
        "POST",
        "/v1/checkout",
        &[
            ("X-Cart-Token", &token),
            ("Idempotency-Key", "process-test-1"),
        ],
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["status"], "confirmed");

    // Every worker reports its lag; the outbox consumers with the age of their
    // oldest pending event.
    let mut workers = Value::Null;
    for _ in 0..50 {
        let (_, w) = request(&addr, "GET", "/workers", &[], None).await;
        workers = w;
        let names: Vec<&str> = workers
            .as_array()
            .map(|a| a.iter().filter_map(|w| w["name"].as_str()).collect())
            .unwrap_or_default();
        if [
            "cache_invalidation",
            "search_indexer",
            "analytics_rollups",
            "expiry_sweeper",
        ]
        .iter()
        .all(|n| names.contains(n))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for w in workers.as_array().unwrap() {
        // RabbitMQ's queue workers (with AMQP_URL) read a queue, not the outbox:
        // their backlog is the queue's depth, which they do not report.
        let reads_the_outbox = !w["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("notification_worker_"));
        if reads_the_outbox {
            assert!(w["lag"].is_u64(), "{w}");
        }
        assert!(w["failures"].is_u64(), "{w}");
        if ["cache_invalidation", "search_indexer", "analytics_rollups"]
            .contains(&w["name"].as_str().unwrap())
        {
            assert!(w["oldest_pending_age_ms"].is_u64(), "{w}");
        }
    }

    // Requests in flight when SIGTERM arrives are finished: registrations (each
    // hashes a password for tens of milliseconds on the blocking pool) sent just
    // before the signal all get their answer.
    let in_flight: Vec<_> = (0..12)
        .map(|i| {
            let addr = addr.clone();
            tokio::spawn(async move {
                request(
                    &addr,
                    "POST",
                    "/v1/auth/register",
                    &[],
                    Some(
                        json!({"email": format!("late{i}@example.com"), "name": "Late",
                                "password": "long enough"}),
                    ),
                )
                .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;

    // SIGTERM: the server finishes and exits successfully.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the platform did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for reply in in_flight {
        let (status, body) = reply.await.unwrap();
        assert_eq!(status, 201, "a request in flight at SIGTERM: {body}");
    }
}
