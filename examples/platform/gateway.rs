//! A payment gateway reached over HTTP (`PAYMENT_GATEWAY_URL`): several instances of
//! the platform share one gateway, as they share a real payment provider, so a
//! payment authorized by one instance is found by the recovery pass of another.
//!
//! The protocol is the simulated gateway's own (`commerce-chaos` serves it over a
//! `SimulatedGateway` and injects faults into it): `POST {url}/{operation}` with a
//! JSON body, answering the [`PaymentGateway`] result as JSON with 200, or an error
//! `{"message"}` with 503 (outcome unknown), 404 (unknown payment) or 409
//! (conflict). A connection failure or a timeout is `GatewayUnavailable`: the
//! checkout then looks the payment up by its idempotency key, as with a real
//! provider.

use std::time::Duration;

use async_trait::async_trait;
use commerce::core::Money;
use commerce::orders::{
    AuthorizeOutcome, AuthorizeRequest, Capture, Error, IdempotencyKey, PaymentGateway,
    PaymentMethod, PaymentRecord, PaymentReference, RefundReceipt, RefundRequest, Result,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// How long one gateway call may take before its outcome counts as unknown.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`PaymentGateway`] over HTTP.
pub(crate) struct HttpGateway {
    /// `host:port` of the gateway.
    authority: String,
    /// Path prefix (no trailing slash).
    prefix: String,
}

impl HttpGateway {
    /// A gateway at `url` (`http://host:port[/prefix]`).
    pub(crate) fn new(url: &str) -> std::result::Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("PAYMENT_GATEWAY_URL must start with http://: {url:?}"))?;
        let (authority, prefix) = match rest.split_once('/') {
            Some((a, p)) => (a, format!("/{}", p.trim_end_matches('/'))),
            None => (rest, String::new()),
        };
        if authority.is_empty() {
            return Err(format!("PAYMENT_GATEWAY_URL has no host: {url:?}"));
        }
        Ok(HttpGateway {
            authority: authority.to_owned(),
            prefix: if prefix == "/" { String::new() } else { prefix },
        })
    }

    async fn call<T: DeserializeOwned>(&self, operation: &str, body: Value) -> Result<T> {
        match tokio::time::timeout(CALL_TIMEOUT, self.send(operation, body)).await {
            Ok(result) => result,
            Err(_) => Err(Error::GatewayUnavailable(
                format!("{operation}: no answer within {CALL_TIMEOUT:?}").into(),
            )),
        }
    }

    async fn send<T: DeserializeOwned>(&self, operation: &str, body: Value) -> Result<T> {
        let unavailable = |e: &dyn std::fmt::Display| {
            Error::GatewayUnavailable(format!("{operation}: {e}").into())
        };
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| unavailable(&e))?;
        let io = hyper_util::rt::TokioIo::new(stream);
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| unavailable(&e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let request = hyper::Request::post(format!("{}/{operation}", self.prefix))
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(Error::backend)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unavailable(&e))?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unavailable(&e))?
            .to_bytes();
        if status == 200 {
            return serde_json::from_slice(&bytes).map_err(Error::backend);
        }
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("status {status}"));
        Err(match status {
            404 => Error::not_found("payment", message),
            409 => Error::Conflict(message),
            503 => Error::GatewayUnavailable(format!("{operation}: {message}").into()),
            _ => Error::backend(format!("{operation}: {message}")),
        })
    }
}

/// The method as the gateway reads it (the same tagged form `PaymentMethod`
/// deserializes from). Secrets travel only to the gateway.
fn method_json(method: &PaymentMethod) -> Value {
    match method {
        PaymentMethod::Card {
            number,
            expiry_month,
            expiry_year,
            cvc,
        } => json!({"type": "card", "number": number, "expiry_month": expiry_month,
                    "expiry_year": expiry_year, "cvc": cvc}),
        PaymentMethod::Wallet { provider, token } => {
            json!({"type": "wallet", "provider": provider, "token": token})
        }
        PaymentMethod::GiftCard { code } => json!({"type": "gift_card", "code": code}),
        PaymentMethod::StoreCredit => json!({"type": "store_credit"}),
        PaymentMethod::CashOnDelivery => json!({"type": "cash_on_delivery"}),
        // A method added later: the gateway answers 422 to a type it does not know.
        _ => json!({"type": "unsupported"}),
    }
}

#[async_trait]
impl PaymentGateway for HttpGateway {
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<AuthorizeOutcome> {
        self.call(
            "authorize",
            json!({
                "idempotency_key": request.idempotency_key,
                "amount": request.amount,
                "method": method_json(&request.method),
                "reference": request.reference,
                "customer_id": request.customer_id,
            }),
        )
        .await
    }

    async fn capture(&self, payment: &PaymentReference, amount: Money) -> Result<Capture> {
        self.call(
            "capture",
            json!({"payment_reference": payment, "amount": amount}),
        )
        .await
    }

    async fn void(&self, payment: &PaymentReference) -> Result<()> {
        self.call::<Value>("void", json!({"payment_reference": payment}))
            .await
            .map(|_| ())
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundReceipt> {
        self.call(
            "refund",
            json!({
                "payment_reference": request.payment_reference,
                "idempotency_key": request.idempotency_key,
                "amount": request.amount,
            }),
        )
        .await
    }

    async fn lookup_by_idempotency_key(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<PaymentRecord>> {
        self.call("lookup", json!({"idempotency_key": key})).await
    }
}
