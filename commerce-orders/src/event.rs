//! Events of orders, payments and fulfilment, written to the outbox in the same
//! transaction as the change they describe.

use serde::{Deserialize, Serialize};

use commerce_core::{CustomerId, DomainEvent, Money, Sku};

use crate::carrier::{CarrierCode, TrackingStatus};
use crate::id::{OrderId, RefundId, ShipmentId};
use crate::machine::{FulfilmentStatus, PaymentStatus};
use crate::model::{CancelReason, PaymentAction, ShipmentLine};
use crate::payment::{DeclineReason, PaymentMethodKind};

/// One line of a placed order as the `order.placed` event carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PlacedLine {
    /// The SKU.
    pub sku: Sku,
    /// Units.
    pub quantity: u32,
    /// What the customer pays for the line (after discounts, with its tax).
    pub total: Money,
}

/// Something that happened to an order. Every state transition emits one.
///
/// Topics (stable): `order.placed`, `order.confirmed`, `order.completed`,
/// `order.cancelled`, `payment.authorized`, `payment.failed`, `payment.captured`,
/// `payment.voided`, `payment.refunded`, `fulfilment.partially_shipped`,
/// `fulfilment.shipped`, `fulfilment.delivered`, `fulfilment.returned`,
/// `payment.action_requested`, `payment.action_failing` (for admins: a capture,
/// cancel or refund keeps failing at the gateway),
/// `fulfilment.out_for_delivery`, `fulfilment.exception`,
/// `fulfilment.tracking_updated` (other scans).
/// The aggregate is always the order (`aggregate_type` `order`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OrderEvent {
    /// An order was placed (pending payment).
    OrderPlaced {
        /// The order.
        order_id: OrderId,
        /// Its customer, if signed in.
        customer_id: Option<CustomerId>,
        /// What the customer pays.
        grand_total: Money,
        /// Units over all lines.
        units: u64,
        /// What was ordered (analytics counts units and revenue per product from it).
        /// Empty in events written before it existed.
        #[serde(default)]
        lines: Vec<PlacedLine>,
    },
    /// Payment authorized and stock sold: the order will be shipped.
    OrderConfirmed {
        /// The order.
        order_id: OrderId,
    },
    /// Delivered and paid.
    OrderCompleted {
        /// The order.
        order_id: OrderId,
    },
    /// Cancelled.
    OrderCancelled {
        /// The order.
        order_id: OrderId,
        /// Why.
        reason: CancelReason,
    },
    /// The gateway holds the amount.
    PaymentAuthorized {
        /// The order.
        order_id: OrderId,
        /// Amount held.
        amount: Money,
        /// Method kind.
        method: PaymentMethodKind,
    },
    /// The authorization was declined.
    PaymentFailed {
        /// The order.
        order_id: OrderId,
        /// Why.
        reason: DeclineReason,
    },
    /// The amount was taken.
    PaymentCaptured {
        /// The order.
        order_id: OrderId,
        /// Amount taken.
        amount: Money,
    },
    /// The hold was cancelled.
    PaymentVoided {
        /// The order.
        order_id: OrderId,
        /// Amount that was held.
        amount: Money,
    },
    /// Part or all of the payment was given back.
    PaymentRefunded {
        /// The order.
        order_id: OrderId,
        /// The refund.
        refund_id: RefundId,
        /// Amount of this refund.
        amount: Money,
        /// Total refunded so far.
        total_refunded: Money,
        /// Payment status after it (`partially_refunded` or `refunded`).
        status: PaymentStatus,
    },
    /// A shipment left.
    Shipped {
        /// The order.
        order_id: OrderId,
        /// The shipment.
        shipment_id: ShipmentId,
        /// What is in it.
        lines: Vec<ShipmentLine>,
        /// Tracking number.
        tracking_number: Option<String>,
        /// Fulfilment status after it (`partially_shipped` or `shipped`).
        status: FulfilmentStatus,
    },
    /// A gateway call (capture, cancel, refund) was decided and recorded before it
    /// is made; the recorded outcome follows (or the reconciliation pass finishes it).
    PaymentActionRequested {
        /// The order.
        order_id: OrderId,
        /// What is to be done.
        action: PaymentAction,
    },
    /// A payment action failed again at the gateway and keeps failing: someone should
    /// look (an authorization not captured expires at the provider).
    PaymentActionFailing {
        /// The order.
        order_id: OrderId,
        /// The action.
        action: PaymentAction,
        /// Attempts that failed so far.
        attempts: u32,
        /// The last failure.
        error: String,
    },
    /// Every unit was delivered.
    Delivered {
        /// The order.
        order_id: OrderId,
    },
    /// The goods came back.
    Returned {
        /// The order.
        order_id: OrderId,
    },
    /// A carrier reported a new scan of one of the order's parcels.
    TrackingUpdated {
        /// The order.
        order_id: OrderId,
        /// The shipment.
        shipment_id: ShipmentId,
        /// The carrier.
        carrier: CarrierCode,
        /// The parcel.
        tracking_number: String,
        /// What the scan says.
        status: TrackingStatus,
        /// The carrier's words.
        description: String,
    },
}

impl OrderEvent {
    /// The order the event is about.
    pub fn order_id(&self) -> OrderId {
        match self {
            OrderEvent::OrderPlaced { order_id, .. }
            | OrderEvent::OrderConfirmed { order_id }
            | OrderEvent::OrderCompleted { order_id }
            | OrderEvent::OrderCancelled { order_id, .. }
            | OrderEvent::PaymentAuthorized { order_id, .. }
            | OrderEvent::PaymentFailed { order_id, .. }
            | OrderEvent::PaymentCaptured { order_id, .. }
            | OrderEvent::PaymentVoided { order_id, .. }
            | OrderEvent::PaymentRefunded { order_id, .. }
            | OrderEvent::Shipped { order_id, .. }
            | OrderEvent::PaymentActionRequested { order_id, .. }
            | OrderEvent::PaymentActionFailing { order_id, .. }
            | OrderEvent::Delivered { order_id }
            | OrderEvent::Returned { order_id }
            | OrderEvent::TrackingUpdated { order_id, .. } => *order_id,
        }
    }
}

impl DomainEvent for OrderEvent {
    fn topic(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced { .. } => "order.placed",
            OrderEvent::OrderConfirmed { .. } => "order.confirmed",
            OrderEvent::OrderCompleted { .. } => "order.completed",
            OrderEvent::OrderCancelled { .. } => "order.cancelled",
            OrderEvent::PaymentAuthorized { .. } => "payment.authorized",
            OrderEvent::PaymentFailed { .. } => "payment.failed",
            OrderEvent::PaymentCaptured { .. } => "payment.captured",
            OrderEvent::PaymentVoided { .. } => "payment.voided",
            OrderEvent::PaymentRefunded { .. } => "payment.refunded",
            OrderEvent::Shipped {
                status: FulfilmentStatus::PartiallyShipped,
                ..
            } => "fulfilment.partially_shipped",
            OrderEvent::Shipped { .. } => "fulfilment.shipped",
            OrderEvent::Delivered { .. } => "fulfilment.delivered",
            OrderEvent::PaymentActionRequested { .. } => "payment.action_requested",
            OrderEvent::PaymentActionFailing { .. } => "payment.action_failing",
            OrderEvent::Returned { .. } => "fulfilment.returned",
            OrderEvent::TrackingUpdated {
                status: TrackingStatus::OutForDelivery,
                ..
            } => "fulfilment.out_for_delivery",
            OrderEvent::TrackingUpdated {
                status: TrackingStatus::Exception,
                ..
            } => "fulfilment.exception",
            OrderEvent::TrackingUpdated { .. } => "fulfilment.tracking_updated",
        }
    }
    fn aggregate_type(&self) -> &'static str {
        "order"
    }
    fn aggregate_id(&self) -> String {
        self.order_id().to_string()
    }
}
