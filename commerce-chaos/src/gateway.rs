//! The payment gateway every instance shares: a [`SimulatedGateway`] served over
//! HTTP (the protocol of the example's `PAYMENT_GATEWAY_URL` client), with fault
//! injection and a ledger of every key it saw, so the checker can compare what was
//! charged with the orders.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use commerce::core::{CustomerId, Money};
use commerce_orders::{
    AuthorizeRequest, Error, FaultTiming, GatewayOperation, GatewayStats, IdempotencyKey,
    PaymentGateway, PaymentMethod, PaymentRecord, PaymentReference, RefundRequest,
    SimulatedGateway,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Result;

#[derive(Default)]
struct Ledger {
    keys: BTreeSet<IdempotencyKey>,
    /// Delay added to each call (a slow provider; over the client's timeout it is a
    /// timeout).
    delay: Duration,
}

/// The shared gateway: a handle to inject faults and read what happened.
#[derive(Clone)]
pub struct SharedGateway {
    inner: Arc<SimulatedGateway>,
    ledger: Arc<Mutex<Ledger>>,
    url: String,
}

impl std::fmt::Debug for SharedGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedGateway")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl SharedGateway {
    /// Serves a new gateway on a spare loopback port (a task of this runtime).
    pub async fn start() -> Result<SharedGateway> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let gateway = SharedGateway {
            inner: Arc::new(SimulatedGateway::new()),
            ledger: Arc::new(Mutex::new(Ledger::default())),
            url,
        };
        let app = Router::new()
            .route("/authorize", post(authorize))
            .route("/capture", post(capture))
            .route("/void", post(void))
            .route("/refund", post(refund))
            .route("/lookup", post(lookup))
            .with_state(gateway.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(gateway)
    }

    /// Its URL, for `PAYMENT_GATEWAY_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the next call of `op` fail before or after doing its work.
    pub fn inject_fault(&self, op: GatewayOperation, timing: FaultTiming) {
        self.inner.inject_fault(op, timing);
    }

    /// Removes the faults not used yet.
    pub fn clear_faults(&self) {
        self.inner.clear_faults();
    }

    /// Delays every call by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        self.ledger().delay = delay;
    }

    /// What the gateway did.
    pub fn stats(&self) -> GatewayStats {
        self.inner.stats()
    }

    /// Every payment authorized or declined so far, as it is now.
    pub async fn payments(&self) -> Result<Vec<PaymentRecord>> {
        let keys: Vec<IdempotencyKey> = self.ledger().keys.iter().cloned().collect();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(record) = self.inner.lookup_by_idempotency_key(&key).await? {
                out.push(record);
            }
        }
        Ok(out)
    }

    async fn pause(&self) {
        let delay = self.ledger().delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
}

fn answer(result: std::result::Result<Value, Error>) -> Response {
    match result {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(e) => {
            let status = match &e {
                Error::GatewayUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                Error::NotFound { .. } => StatusCode::NOT_FOUND,
                Error::Conflict(_) | Error::RefundExceedsCaptured { .. } => StatusCode::CONFLICT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (status, Json(json!({"message": e.to_string()}))).into_response()
        }
    }
}

fn to_value<T: serde::Serialize>(v: T) -> std::result::Result<Value, Error> {
    serde_json::to_value(v).map_err(Error::backend)
}

#[derive(Deserialize)]
struct AuthorizeBody {
    idempotency_key: IdempotencyKey,
    amount: Money,
    method: PaymentMethod,
    reference: String,
    customer_id: Option<CustomerId>,
}

async fn authorize(State(g): State<SharedGateway>, Json(b): Json<AuthorizeBody>) -> Response {
    g.pause().await;
    g.ledger().keys.insert(b.idempotency_key.clone());
    let request = AuthorizeRequest::new(b.idempotency_key, b.amount, b.method, b.reference)
        .for_customer(b.customer_id);
    answer(g.inner.authorize(&request).await.and_then(to_value))
}

#[derive(Deserialize)]
struct CaptureBody {
    payment_reference: PaymentReference,
    amount: Option<Money>,
}

async fn capture(State(g): State<SharedGateway>, Json(b): Json<CaptureBody>) -> Response {
    g.pause().await;
    let Some(amount) = b.amount else {
        return answer(Err(Error::validation("amount", "required")));
    };
    answer(
        g.inner
            .capture(&b.payment_reference, amount)
            .await
            .and_then(to_value),
    )
}

async fn void(State(g): State<SharedGateway>, Json(b): Json<CaptureBody>) -> Response {
    g.pause().await;
    answer(g.inner.void(&b.payment_reference).await.map(|()| json!({})))
}

#[derive(Deserialize)]
struct RefundBody {
    payment_reference: PaymentReference,
    idempotency_key: IdempotencyKey,
    amount: Money,
}

async fn refund(State(g): State<SharedGateway>, Json(b): Json<RefundBody>) -> Response {
    g.pause().await;
    let request = RefundRequest::new(b.payment_reference, b.idempotency_key, b.amount);
    answer(g.inner.refund(&request).await.and_then(to_value))
}

#[derive(Deserialize)]
struct LookupBody {
    idempotency_key: IdempotencyKey,
}

async fn lookup(State(g): State<SharedGateway>, Json(b): Json<LookupBody>) -> Response {
    g.pause().await;
    answer(
        g.inner
            .lookup_by_idempotency_key(&b.idempotency_key)
            .await
            .and_then(to_value),
    )
}
