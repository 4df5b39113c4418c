//! SMS and push over HTTP providers: a Twilio-shaped SMS API and an FCM-shaped push
//! API, and simulated providers of both ([`SimulatedProviders`]) that a test or the
//! example runs on loopback.
//!
//! - SMS: `POST {base}/2010-04-01/Accounts/{account}/Messages.json`, form body `To`,
//!   `From`, `Body`, HTTP basic auth `account:token`; `201` with `{"sid": ...}`.
//! - Push: `POST {base}/v1/projects/{project}/messages:send`, JSON
//!   `{"message": {"token", "notification": {"title", "body"}}}`, bearer token;
//!   `200` with `{"name": ...}`.
//!
//! A `4xx`/`5xx` answer, or a refused connection, is [`NotifyError::NotSent`]; a
//! connection lost after the request was written is [`NotifyError::Unknown`]. This
//! build speaks plain HTTP (`http://` base URLs): put a TLS-terminating proxy in
//! front of the real providers, or add a TLS connector.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;

use crate::channel::{Accepted, Push, PushTransport, Sms, SmsTransport};
use crate::error::{NotifyError, Result};

/// `http://host:port` split into the address to connect to and the Host header.
fn authority(base: &str) -> Result<String> {
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| NotifyError::Config(format!("{base:?}: only http:// is supported")))?;
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() {
        return Err(NotifyError::Config(format!("{base:?} has no host")));
    }
    Ok(if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    })
}

/// One HTTP/1.1 request on a new connection; the status and body of the answer.
async fn request(
    channel: &'static str,
    base: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<(StatusCode, Bytes)> {
    let authority = authority(base)?;
    let not_sent = |message: String| NotifyError::NotSent { channel, message };
    let stream = TcpStream::connect(&authority)
        .await
        .map_err(|e| not_sent(format!("connect {authority}: {e}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| not_sent(e.to_string()))?;
    let driver = tokio::spawn(connection);
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("host", &authority);
    for (k, v) in headers {
        builder = builder.header(*k, v);
    }
    let req = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| not_sent(e.to_string()))?;
    // From here on the request may have reached the provider.
    let unknown = |message: String| NotifyError::Unknown { channel, message };
    let response = sender
        .send_request(req)
        .await
        .map_err(|e| unknown(e.to_string()))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| unknown(e.to_string()))?
        .to_bytes();
    driver.abort();
    if !status.is_success() {
        return Err(not_sent(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body)
        )));
    }
    Ok((status, body))
}

/// SMS through a Twilio-shaped API.
#[derive(Clone, Debug)]
pub struct TwilioSms {
    base: String,
    account: String,
    token: String,
    from: String,
}

impl TwilioSms {
    /// A sender for `base` (`http://host:port`), account `account` with `token`,
    /// sending from number `from`.
    pub fn new(base: &str, account: &str, token: &str, from: &str) -> Self {
        TwilioSms {
            base: base.trim_end_matches('/').to_owned(),
            account: account.to_owned(),
            token: token.to_owned(),
            from: from.to_owned(),
        }
    }
}

#[async_trait]
impl SmsTransport for TwilioSms {
    async fn send(&self, sms: &Sms) -> Result<Accepted> {
        let body = serde_urlencoded::to_string([
            ("To", sms.to.as_str()),
            ("From", self.from.as_str()),
            ("Body", sms.body.as_str()),
        ])
        .map_err(|e| NotifyError::NotSent {
            channel: "sms",
            message: e.to_string(),
        })?;
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.account, self.token));
        let (_, answer) = request(
            "sms",
            &self.base,
            &format!("/2010-04-01/Accounts/{}/Messages.json", self.account),
            &[
                ("authorization", format!("Basic {auth}")),
                (
                    "content-type",
                    "application/x-www-form-urlencoded".to_owned(),
                ),
            ],
            body.into_bytes(),
        )
        .await?;
        let sid = serde_json::from_slice::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| v.get("sid").and_then(|s| s.as_str()).map(str::to_owned));
        Ok(Accepted { provider_id: sid })
    }
}

/// Push through an FCM-shaped API.
///
/// Resends are **not** deduplicated ([`PushTransport::resends_are_deduplicated`]
/// stays `false`, so an unknown outcome is never resent): FCM has no idempotency
/// key, its `collapse_key` only collapses messages still queued for an offline
/// device, and a notification `tag` (Android) / `apns-collapse-id` (iOS) only
/// replaces a notification still shown in the tray: one the user already dismissed
/// or opened would come back, and the device alerts again.
#[derive(Clone, Debug)]
pub struct FcmPush {
    base: String,
    project: String,
    bearer: String,
}

impl FcmPush {
    /// A sender for `base` (`http://host:port`), project `project`, authorised with
    /// bearer token `bearer`.
    pub fn new(base: &str, project: &str, bearer: &str) -> Self {
        FcmPush {
            base: base.trim_end_matches('/').to_owned(),
            project: project.to_owned(),
            bearer: bearer.to_owned(),
        }
    }
}

#[async_trait]
impl PushTransport for FcmPush {
    async fn send(&self, push: &Push) -> Result<Accepted> {
        let body = json!({
            "message": {
                "token": push.token,
                "notification": { "title": push.title, "body": push.body },
            }
        });
        let (_, answer) = request(
            "push",
            &self.base,
            &format!("/v1/projects/{}/messages:send", self.project),
            &[
                ("authorization", format!("Bearer {}", self.bearer)),
                ("content-type", "application/json".to_owned()),
            ],
            body.to_string().into_bytes(),
        )
        .await?;
        let name = serde_json::from_slice::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| v.get("name").and_then(|s| s.as_str()).map(str::to_owned));
        Ok(Accepted { provider_id: name })
    }
}

/// A message a simulated provider accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMessage {
    /// Phone number or device token.
    pub to: String,
    /// Title (push only).
    pub title: Option<String>,
    /// Body.
    pub body: String,
}

#[derive(Debug, Default)]
struct Received {
    sms: Vec<ProviderMessage>,
    push: Vec<ProviderMessage>,
}

#[derive(Clone, Debug)]
struct Credentials {
    account: String,
    token: String,
    bearer: String,
    received: Arc<Mutex<Received>>,
}

fn lock(m: &Mutex<Received>) -> MutexGuard<'_, Received> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SmsForm {
    to: String,
    #[allow(dead_code)]
    from: String,
    body: String,
}

#[derive(Deserialize)]
struct FcmBody {
    message: FcmMessage,
}

#[derive(Deserialize)]
struct FcmMessage {
    token: String,
    notification: FcmNotification,
}

#[derive(Deserialize)]
struct FcmNotification {
    title: String,
    body: String,
}

async fn twilio(
    State(c): State<Credentials>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(form): Form<SmsForm>,
) -> (StatusCode, Json<serde_json::Value>) {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.account, c.token))
    );
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if !authorised || account != c.account {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "code": 20003 })));
    }
    if !form.to.starts_with('+') {
        return (StatusCode::BAD_REQUEST, Json(json!({ "code": 21211 })));
    }
    let n = {
        let mut r = lock(&c.received);
        r.sms.push(ProviderMessage {
            to: form.to,
            title: None,
            body: form.body,
        });
        r.sms.len()
    };
    (
        StatusCode::CREATED,
        Json(json!({ "sid": format!("SM{n:032}"), "status": "queued" })),
    )
}

async fn fcm(
    State(c): State<Credentials>,
    Path(project): Path<String>,
    headers: HeaderMap,
    Json(body): Json<FcmBody>,
) -> (StatusCode, Json<serde_json::Value>) {
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", c.bearer));
    if !authorised {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "UNAUTHENTICATED" })),
        );
    }
    let n = {
        let mut r = lock(&c.received);
        r.push.push(ProviderMessage {
            to: body.message.token,
            title: Some(body.message.notification.title),
            body: body.message.notification.body,
        });
        r.push.len()
    };
    let project = project
        .trim_end_matches(":send")
        .trim_end_matches("/messages");
    (
        StatusCode::OK,
        Json(json!({ "name": format!("projects/{project}/messages/{n}") })),
    )
}

/// Simulated Twilio-shaped and FCM-shaped providers on one loopback port; stops when
/// dropped.
#[derive(Debug)]
pub struct SimulatedProviders {
    base: String,
    credentials: Credentials,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SimulatedProviders {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SimulatedProviders {
    /// Account id, auth token and bearer token the simulated providers accept.
    pub const ACCOUNT: &'static str = "AC-simulated";
    /// The SMS auth token.
    pub const TOKEN: &'static str = "sms-token";
    /// The push bearer token.
    pub const BEARER: &'static str = "push-token";

    /// Starts both providers on `127.0.0.1` at a free port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let credentials = Credentials {
            account: Self::ACCOUNT.to_owned(),
            token: Self::TOKEN.to_owned(),
            bearer: Self::BEARER.to_owned(),
            received: Arc::new(Mutex::new(Received::default())),
        };
        let app = Router::new()
            .route("/2010-04-01/Accounts/{account}/Messages.json", post(twilio))
            .route("/v1/projects/{project}/messages:send", post(fcm))
            .with_state(credentials.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(SimulatedProviders {
            base,
            credentials,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// An SMS sender with the right credentials.
    pub fn sms(&self, from: &str) -> TwilioSms {
        TwilioSms::new(&self.base, Self::ACCOUNT, Self::TOKEN, from)
    }

    /// A push sender with the right credentials.
    pub fn push(&self, project: &str) -> FcmPush {
        FcmPush::new(&self.base, project, Self::BEARER)
    }

    /// Text messages accepted, oldest first.
    pub fn sms_received(&self) -> Vec<ProviderMessage> {
        lock(&self.credentials.received).sms.clone()
    }

    /// Push notifications accepted, oldest first.
    pub fn push_received(&self) -> Vec<ProviderMessage> {
        lock(&self.credentials.received).push.clone()
    }
}
