//! The order aggregate: what was bought, at which prices, where it goes, how it is
//! paid and where its goods are.
//!
//! Everything is a snapshot taken at checkout: later catalog or tax changes never
//! change an order. The three statuses change only through the transition functions
//! in [`crate::lifecycle`], which also emit the [`crate::OrderEvent`]s to store.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use commerce_core::{Address, Currency, CustomerId, GuestCartId, Money, SellerId, Sku};
use commerce_inventory::ReservationId;

use crate::carrier::{CarrierCode, RateQuote, TrackingEvent, TrackingStatus};
use crate::checkout::RequestFingerprint;
use crate::id::{IdempotencyKey, OrderId, RefundId, ShipmentId};
use crate::machine::{FulfilmentStatus, OrderStatus, PaymentStatus};
use crate::payment::{DeclineReason, PaymentMethodSummary, PaymentReference};

/// One line of an order: what was paid for one SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// SKU.
    pub sku: Sku,
    /// Name as shown at checkout ("Product title - Variant").
    pub name: String,
    /// Units ordered, at least 1.
    pub quantity: u32,
    /// Unit price as listed at checkout.
    pub unit_price: Money,
    /// `unit_price * quantity`.
    pub subtotal: Money,
    /// Discount allocated to this line (a positive amount taken off).
    pub discount: Money,
    /// Tax of this line, rounded per line.
    pub tax: Money,
    /// Tax rate applied, as a fraction (`0.0875`).
    #[serde(with = "rust_decimal::serde::str")]
    pub tax_rate: Decimal,
    /// What the line costs: `subtotal - discount`, plus `tax` when prices exclude tax.
    pub total: Money,
    /// Amount of `total` refunded so far (sum of this line's refund allocations).
    pub refunded: Money,
    /// Seller of the line's product, snapshotted at checkout (`None` on orders placed
    /// before sellers were recorded).
    #[serde(default)]
    pub seller_id: Option<SellerId>,
}

/// The order's totals, to the minor unit.
///
/// `grand_total = sum(line.total) + shipping_total`; with tax-exclusive prices that is
/// `subtotal - discount_total + tax_total + shipping_total`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTotals {
    /// Whether the listed prices include tax.
    pub prices_include_tax: bool,
    /// Sum of line subtotals.
    pub subtotal: Money,
    /// Sum of line discounts.
    pub discount_total: Money,
    /// Shipping charged (after shipping discounts; including shipping tax when prices
    /// include tax).
    pub shipping_total: Money,
    /// Tax on shipping (part of `tax_total`).
    pub shipping_tax: Money,
    /// Line taxes plus shipping tax.
    pub tax_total: Money,
    /// What the customer pays.
    pub grand_total: Money,
    /// Amount of the shipping charge refunded so far.
    pub shipping_refunded: Money,
}

/// The shipping method as chosen and priced at checkout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingSnapshot {
    /// Method code, e.g. `standard`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Price charged (equals `OrderTotals::shipping_total`).
    pub price: Money,
    /// The carrier's quote, when the method is a carrier option (`ups:ground`) chosen
    /// by rate shopping; `None` for a zone/weight table method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_rate: Option<RateQuote>,
}

/// A refund: part or all of the captured payment given back, allocated exactly across
/// the lines and shipping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Refund {
    /// Id.
    pub id: RefundId,
    /// Key that made the gateway call idempotent.
    pub idempotency_key: IdempotencyKey,
    /// Amount given back.
    pub amount: Money,
    /// Part of `amount` per order line, in line order; sums with `shipping` to
    /// `amount` exactly.
    pub line_amounts: Vec<Money>,
    /// Part of `amount` taken from the shipping charge.
    pub shipping: Money,
    /// Why.
    pub reason: String,
    /// The gateway's id of the refund.
    pub gateway_reference: String,
    /// When.
    pub refunded_at: DateTime<Utc>,
}

/// The order's payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentState {
    /// Status.
    pub status: PaymentStatus,
    /// The method, without secrets.
    pub method: PaymentMethodSummary,
    /// Key of the authorization at the gateway (derived from the checkout key); the
    /// recovery pass looks the payment up by it.
    pub idempotency_key: IdempotencyKey,
    /// Amount held (zero until authorized).
    pub authorized: Money,
    /// Amount taken.
    pub captured: Money,
    /// Amount given back.
    pub refunded: Money,
    /// The gateway's id of the payment, once authorized.
    pub provider_reference: Option<PaymentReference>,
    /// Refunds, oldest first.
    pub refunds: Vec<Refund>,
    /// The decline, when the authorization failed.
    pub failure: Option<PaymentFailure>,
    /// A gateway call decided and not yet seen to finish (recorded before the call,
    /// cleared by the transition that records its outcome); the reconciliation pass
    /// ([`crate::Checkout::reconcile`]) finishes it when it is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<PaymentIntent>,
}

/// What a [`PaymentIntent`] is to do at the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentAction {
    /// Take the whole authorization (per the capture policy).
    Capture,
    /// Give every cent back, whatever our record says (void a hold, refund what was
    /// taken), then cancel the order for `reason`.
    Cancel {
        /// Why the order is cancelled.
        reason: CancelReason,
    },
    /// Refund `amount` with `idempotency_key`.
    Refund {
        /// The refund's key at the gateway.
        idempotency_key: IdempotencyKey,
        /// Amount to give back.
        amount: Money,
        /// Why.
        reason: String,
    },
}

impl PaymentAction {
    /// Snake_case name: `capture`, `cancel`, `refund`.
    pub fn name(&self) -> &'static str {
        match self {
            PaymentAction::Capture => "capture",
            PaymentAction::Cancel { .. } => "cancel",
            PaymentAction::Refund { .. } => "refund",
        }
    }
}

/// A payment action recorded before its gateway call (with a
/// `payment.action_requested` event, in the same update), so that a crash or a lost
/// answer leaves a trace the reconciliation pass follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentIntent {
    /// What to do.
    pub action: PaymentAction,
    /// When it was decided.
    pub requested_at: DateTime<Utc>,
    /// Gateway attempts that failed so far.
    pub attempts: u32,
    /// When the reconciliation pass should (re)try it.
    pub due_at: DateTime<Utc>,
    /// The last failure, for people.
    pub last_error: Option<String>,
}

impl PaymentState {
    /// Captured minus refunded.
    pub fn refundable(&self) -> commerce_core::Result<Money> {
        self.captured.checked_sub(self.refunded)
    }
}

/// Why an authorization failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentFailure {
    /// Machine-readable reason.
    pub reason: DeclineReason,
    /// Message for the shopper.
    pub message: String,
}

/// Units of one SKU in a shipment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentLine {
    /// SKU (must be a line of the order).
    pub sku: Sku,
    /// Units shipped, at least 1.
    pub quantity: u32,
}

/// A parcel sent to the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Shipment {
    /// Id.
    pub id: ShipmentId,
    /// What is in it.
    pub lines: Vec<ShipmentLine>,
    /// Carrier name, e.g. `UPS`.
    pub carrier: Option<String>,
    /// Tracking number.
    pub tracking_number: Option<String>,
    /// When it left.
    pub shipped_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The carrier, when the label was bought through a [`crate::carrier::Carrier`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_code: Option<CarrierCode>,
    /// The carrier's label reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_reference: Option<String>,
    /// Tracking scans received so far, oldest first, each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tracking: Vec<TrackingEvent>,
}

impl Shipment {
    /// The latest scan, if any.
    pub fn last_scan(&self) -> Option<&TrackingEvent> {
        self.tracking.iter().max_by_key(|e| e.occurred_at)
    }

    /// The delivery exceptions reported, oldest first.
    pub fn exceptions(&self) -> impl Iterator<Item = &TrackingEvent> {
        self.tracking
            .iter()
            .filter(|e| e.status == TrackingStatus::Exception)
    }
}

/// The order's goods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FulfilmentState {
    /// Status.
    pub status: FulfilmentStatus,
    /// Shipments, oldest first.
    pub shipments: Vec<Shipment>,
}

/// Why an order was cancelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CancelReason {
    /// Not enough stock to reserve every line.
    OutOfStock {
        /// The SKU that was short.
        sku: Sku,
        /// Units asked for.
        requested: u64,
        /// Units available.
        available: u64,
    },
    /// The payment was declined.
    PaymentDeclined {
        /// Machine-readable reason.
        reason: DeclineReason,
        /// Message for the shopper.
        message: String,
    },
    /// The reservation expired before the payment went through, and the stock could
    /// not be reserved again.
    ReservationExpired,
    /// The checkout was interrupted and never reached the gateway; the recovery pass
    /// undid it.
    Abandoned,
    /// The customer asked for it.
    CustomerRequested,
    /// The shop cancelled it, for the reason given.
    Merchant {
        /// Why.
        note: String,
    },
}

impl std::fmt::Display for CancelReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CancelReason::OutOfStock {
                sku,
                requested,
                available,
            } => write!(
                f,
                "out of stock: {sku} (requested {requested}, available {available})"
            ),
            CancelReason::PaymentDeclined { message, .. } => {
                write!(f, "payment declined: {message}")
            }
            CancelReason::ReservationExpired => f.write_str("stock reservation expired"),
            CancelReason::Abandoned => f.write_str("checkout abandoned"),
            CancelReason::CustomerRequested => f.write_str("cancelled by the customer"),
            CancelReason::Merchant { note } => write!(f, "cancelled by the shop: {note}"),
        }
    }
}

/// An order.
///
/// Stores persist every field. `version` is for optimistic concurrency: a store bumps
/// it by one on every successful [`crate::OrderStore::update`]; an order just placed
/// has version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Id.
    pub id: OrderId,
    /// Number shown to people (e.g. `A1B2-C3D4`), derived from the id at checkout.
    /// Stores keep it as given.
    pub number: Option<String>,
    /// The customer; `None` for a guest checkout.
    pub customer_id: Option<CustomerId>,
    /// Contact email (lower-cased).
    pub email: String,
    /// Currency of every amount on the order.
    pub currency: Currency,
    /// Lines, one per SKU, in cart order.
    pub lines: Vec<OrderLine>,
    /// Totals.
    pub totals: OrderTotals,
    /// Where the goods go.
    pub shipping_address: Address,
    /// Where the invoice goes.
    pub billing_address: Address,
    /// The shipping method chosen.
    pub shipping: ShippingSnapshot,
    /// Codes of the promotions that applied.
    pub promotions: Vec<String>,
    /// Order status.
    pub status: OrderStatus,
    /// Payment.
    pub payment: PaymentState,
    /// Fulfilment.
    pub fulfilment: FulfilmentState,
    /// The inventory reservation holding (then selling) the order's stock.
    pub reservation_id: ReservationId,
    /// The checkout's idempotency key, scoped to the buyer
    /// ([`IdempotencyKey::scoped`]): unique across orders.
    pub idempotency_key: IdempotencyKey,
    /// The fingerprint of the checkout request, kept beside the key: a repeat of the
    /// key with another request is [`crate::Error::IdempotencyKeyReused`].
    #[serde(default)]
    pub request_fingerprint: Option<RequestFingerprint>,
    /// The guest cart a guest order was placed from (its holder may read the order);
    /// `None` for a customer's order.
    #[serde(default)]
    pub guest_cart: Option<GuestCartId>,
    /// Why it was cancelled, when cancelled.
    pub cancel_reason: Option<CancelReason>,
    /// When it was placed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic concurrency version (1 when placed, +1 per update).
    pub version: u64,
}

impl Order {
    /// Units of `sku` shipped so far.
    pub fn shipped_quantity(&self, sku: &Sku) -> u32 {
        self.fulfilment
            .shipments
            .iter()
            .flat_map(|s| s.lines.iter())
            .filter(|l| &l.sku == sku)
            .map(|l| l.quantity)
            .sum()
    }

    /// Units of `sku` ordered (0 when not on the order).
    pub fn ordered_quantity(&self, sku: &Sku) -> u32 {
        self.lines
            .iter()
            .filter(|l| &l.sku == sku)
            .map(|l| l.quantity)
            .sum()
    }

    /// True when no unit has left the warehouse.
    pub fn nothing_shipped(&self) -> bool {
        self.fulfilment.shipments.is_empty()
    }
}
