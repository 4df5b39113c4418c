//! Parcels: the tracking page of an order for its owner, and the carriers' signed
//! tracking webhook.
//!
//! Queries per request: tracking 1 (the order, read only if it is the caller's);
//! while a carrier parcel is on its way, plus one tracking request per parcel to its
//! carrier and, when there are new scans, one read and one write of the order.
//! Webhook: per order named in the body, one read and (new scans only) one write;
//! nothing before the signature is checked.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use commerce::orders::carrier::webhook;
use commerce::orders::{
    CarrierCode, FulfilmentStatus, Order, OrderId, OrderTracking, RateQuote, TrackingEvent,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::routes::catalog::parse_id;
use crate::state::AppState;
use crate::views::MoneyView;

fn code_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// One scan of a parcel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScanView {
    /// `label_created`, `picked_up`, `in_transit`, `out_for_delivery`, `delivered`
    /// or `exception`.
    pub status: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// Where.
    pub location: String,
    /// The carrier's words.
    pub description: String,
}

impl From<&TrackingEvent> for ScanView {
    fn from(e: &TrackingEvent) -> Self {
        ScanView {
            status: e.status.as_str().to_owned(),
            occurred_at: e.occurred_at,
            location: e.location.clone(),
            description: e.description.clone(),
        }
    }
}

/// One parcel of the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParcelView {
    /// Shipment id.
    pub shipment_id: String,
    /// Carrier code (`fedex`, `ups`, `dhl`) when the label was bought through one.
    pub carrier: Option<String>,
    /// Carrier name as shown.
    pub carrier_name: Option<String>,
    /// Tracking number.
    pub tracking_number: Option<String>,
    /// The carrier's own tracking page.
    pub tracking_url: Option<String>,
    /// Latest scan status (none before the first scan).
    pub status: Option<String>,
    /// Scans, oldest first.
    pub events: Vec<ScanView>,
    /// The latest delivery exception, to show prominently.
    pub exception: Option<ScanView>,
    /// When it left.
    pub shipped_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The carrier option chosen at checkout, as snapshotted on the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CarrierRateView {
    /// Carrier code.
    pub carrier: String,
    /// Service level (`ground`, `express`, `overnight`).
    pub service: String,
    /// Price paid.
    pub price: MoneyView,
    /// Business days in transit quoted.
    pub transit_days: u32,
}

impl From<&RateQuote> for CarrierRateView {
    fn from(q: &RateQuote) -> Self {
        CarrierRateView {
            carrier: q.carrier.as_str().to_owned(),
            service: q.service.as_str().to_owned(),
            price: q.price.into(),
            transit_days: q.transit_days,
        }
    }
}

/// The tracking page of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrackingView {
    /// Order id.
    pub order_id: String,
    /// Order number.
    pub number: Option<String>,
    /// Fulfilment status (`unfulfilled`, `partially_shipped`, `shipped`,
    /// `delivered`, `returned`).
    pub fulfilment_status: String,
    /// The carrier option chosen at checkout, if it was one.
    pub carrier_rate: Option<CarrierRateView>,
    /// Parcels, oldest first.
    pub parcels: Vec<ParcelView>,
}

impl From<&OrderTracking> for TrackingView {
    fn from(t: &OrderTracking) -> Self {
        TrackingView {
            order_id: t.order_id.to_string(),
            number: t.number.clone(),
            fulfilment_status: code_of(&t.fulfilment),
            carrier_rate: t.carrier_rate.as_ref().map(CarrierRateView::from),
            parcels: t
                .shipments
                .iter()
                .map(|s| ParcelView {
                    shipment_id: s.shipment_id.to_string(),
                    carrier: s.carrier.map(|c| c.as_str().to_owned()),
                    carrier_name: s.carrier_name.clone(),
                    tracking_number: s.tracking_number.clone(),
                    tracking_url: s.tracking_url.clone(),
                    status: s.status.map(|st| st.as_str().to_owned()),
                    events: s.events.iter().map(ScanView::from).collect(),
                    exception: s.exception.as_ref().map(ScanView::from),
                    shipped_at: s.shipped_at,
                    delivered_at: s.delivered_at,
                })
                .collect(),
        }
    }
}

/// Whether a parcel of the order is still on its way with a carrier the shop can ask.
fn in_transit_with_carrier(t: &OrderTracking) -> bool {
    matches!(
        t.fulfilment,
        FulfilmentStatus::PartiallyShipped | FulfilmentStatus::Shipped
    ) && t
        .shipments
        .iter()
        .any(|s| s.carrier.is_some() && s.delivered_at.is_none())
}

/// The tracking page of one of the caller's orders: fulfilment status, the carrier
/// option chosen, and every parcel's scans (asked of the carrier first while a
/// parcel is on its way). Another customer's order answers 404.
#[utoipa::path(get, path = "/v1/orders/{id}/tracking", tag = "orders",
    params(("id" = String, Path, description = "Order id")), responses(
    (status = 200, body = TrackingView), (status = 401, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn order_tracking(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<TrackingView>, ApiError> {
    let customer = caller.customer()?;
    let id = parse_id::<OrderId>("id", &id).map_err(|_| ApiError::not_found("order"))?;
    let checkout = state.shop.checkout();
    let mut tracking = checkout.tracking_for_customer(id, customer).await?;
    if in_transit_with_carrier(&tracking) && checkout.carriers().is_some() {
        // The order is the caller's (checked above); a carrier that does not answer
        // leaves the scans we have.
        match checkout.refresh_tracking(id).await {
            Ok(order) => tracking = OrderTracking::of(&order),
            Err(e) => tracing::warn!(order = %id, error = %e, "tracking refresh failed"),
        }
    }
    Ok(ApiJson(TrackingView::from(&tracking)))
}

/// What a webhook changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookReceipt {
    /// Scans in the body.
    pub scans: usize,
    /// The orders they belong to, with their fulfilment status after.
    pub orders: Vec<WebhookOrder>,
}

/// An order a webhook touched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookOrder {
    /// Order id.
    pub order_id: String,
    /// Fulfilment status after the scans.
    pub fulfilment_status: String,
}

impl From<&Order> for WebhookOrder {
    fn from(o: &Order) -> Self {
        WebhookOrder {
            order_id: o.id.to_string(),
            fulfilment_status: code_of(&o.fulfilment.status),
        }
    }
}

/// The body of a tracking webhook as the shop's carriers (the simulated ones) send
/// it: the OpenAPI schema of `POST /v1/carriers/{carrier}/webhook`; the carrier's
/// port parses the raw, signed bytes.
#[derive(Debug, serde::Deserialize, ToSchema)]
pub struct TrackingWebhookBody {
    /// The carrier sending it (`fedex`, `ups`, `dhl`).
    pub carrier: String,
    /// Its scans.
    pub events: Vec<TrackingWebhookEvent>,
}

/// One scan in a tracking webhook.
#[derive(Debug, serde::Deserialize, ToSchema)]
pub struct TrackingWebhookEvent {
    /// The carrier.
    pub carrier: String,
    /// The parcel.
    pub tracking_number: String,
    /// The order id the label was bought for.
    pub reference: String,
    /// `label_created`, `picked_up`, `in_transit`, `out_for_delivery`,
    /// `delivered` or `exception`.
    pub status: String,
    /// When.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// Where.
    pub location: String,
    /// The carrier's words.
    pub description: String,
}

/// A carrier's tracking webhook. The body is signed with the secret shared with the
/// carrier: header `X-Carrier-Signature: sha256=<hex HMAC-SHA256 of the body>`; a
/// missing or wrong signature is 401 and nothing is read. Scans already recorded
/// change nothing (a delivered scan sent twice moves the order once).
#[utoipa::path(post, path = "/v1/carriers/{carrier}/webhook", tag = "carriers",
    params(("carrier" = String, Path, description = "fedex, ups or dhl"),
           ("X-Carrier-Signature" = String, Header, description = "sha256=<hex HMAC-SHA256 of the raw body>")),
    request_body(content = TrackingWebhookBody, description = "The carrier's tracking events"),
    responses((status = 200, body = WebhookReceipt), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
async fn carrier_webhook(
    State(state): State<AppState>,
    ApiPath(carrier): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ApiJson<WebhookReceipt>, ApiError> {
    // The signature first: an unsigned caller learns nothing, not even which
    // carriers exist.
    let secret = state
        .config
        .carrier_webhook_secret
        .as_ref()
        .ok_or(commerce::orders::Error::InvalidSignature)?;
    let signature = headers
        .get(webhook::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok());
    webhook::verify(secret.expose(), &body, signature)?;
    let code = CarrierCode::parse(&carrier).map_err(|_| ApiError::not_found("carrier"))?;
    let checkout = state.shop.checkout();
    let port = checkout
        .carriers()
        .and_then(|c| c.carrier(code))
        .ok_or_else(|| ApiError::not_found("carrier"))?;
    let scans = port.parse_webhook(&body)?;
    let orders = checkout.apply_webhook(&scans).await?;
    Ok(ApiJson(WebhookReceipt {
        scans: scans.len(),
        orders: orders.iter().map(WebhookOrder::from).collect(),
    }))
}

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(order_tracking))
        .routes(routes!(carrier_webhook))
}
