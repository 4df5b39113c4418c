//! The shoppers' HTTP client (hyper, one connection per request so a killed
//! instance costs one request, not a pool) and the history it records: every
//! request, its answer or error, and its timing.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::Value;

/// An answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The body as JSON (`Value::String` when it is not JSON).
    pub body: Value,
    /// Response headers, lower-case names.
    pub headers: Vec<(String, String)>,
}

impl Answer {
    /// The `code` of a JSON error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// One request of the history.
#[derive(Clone, Debug)]
pub struct Event {
    /// Which shopper (or tool) sent it.
    pub client: usize,
    /// Operation name (`add_to_cart`, `checkout`, ...).
    pub op: &'static str,
    /// Which instance answered (index).
    pub instance: usize,
    /// The idempotency key or other correlation id, when any.
    pub key: Option<String>,
    /// When it was sent, since the run started.
    pub at: Duration,
    /// How long it took.
    pub latency: Duration,
    /// The status, or `None` when no answer came (connection refused or cut, timeout).
    pub status: Option<u16>,
    /// The error when no answer came, or the error code of the answer.
    pub error: Option<String>,
    /// The order id the answer named, when any.
    pub order_id: Option<String>,
}

/// The history of a run, shared by every client.
#[derive(Clone, Debug)]
pub struct History {
    started: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl History {
    /// An empty history starting now.
    pub fn new() -> History {
        History {
            started: Instant::now(),
            events: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Appends an event.
    pub fn push(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Default for History {
    fn default() -> Self {
        History::new()
    }
}

/// A request.
#[derive(Clone, Debug, Default)]
pub struct Req {
    /// Method.
    pub method: &'static str,
    /// Path and query.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body: sent as is (JSON unless a test sends something else).
    pub body: Option<Vec<u8>>,
}

impl Req {
    /// A request without body.
    pub fn new(method: &'static str, path: impl Into<String>) -> Req {
        Req {
            method,
            path: path.into(),
            ..Req::default()
        }
    }

    /// With a JSON body.
    #[must_use]
    pub fn json(mut self, body: &Value) -> Req {
        self.body = Some(body.to_string().into_bytes());
        self
    }

    /// With a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// With the bearer session `token`, when given.
    #[must_use]
    pub fn bearer(self, token: Option<&str>) -> Req {
        match token {
            Some(t) => self.header("authorization", &format!("Bearer {t}")),
            None => self,
        }
    }
}

/// Sends `req` to `addr` on a fresh connection, within `timeout`.
pub async fn send(addr: &str, req: &Req, timeout: Duration) -> Result<Answer, String> {
    match tokio::time::timeout(timeout, send_inner(addr, req)).await {
        Ok(r) => r,
        Err(_) => Err(format!("timeout after {timeout:?}")),
    }
}

async fn send_inner(addr: &str, req: &Req) -> Result<Answer, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut builder = hyper::Request::builder()
        .method(req.method)
        .uri(&req.path)
        .header("host", addr);
    if req.body.is_some() {
        builder = builder.header("content-type", "application/json");
    }
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = Full::new(Bytes::from(req.body.clone().unwrap_or_default()));
    let request = builder.body(body).map_err(|e| format!("request: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok(Answer {
        status,
        body,
        headers,
    })
}
