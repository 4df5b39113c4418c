//! What a message may show: the data its templates render.

use serde::Serialize;

use crate::carrier::CarrierCode;
use crate::event::OrderEvent;
use crate::model::Order;

use super::{AccountNotice, NotificationKind};

/// One order line as a message shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LineContext {
    /// Name as bought.
    pub name: String,
    /// Units.
    pub quantity: u32,
    /// Line total, formatted with its currency (`19.99 USD`).
    pub total: String,
}

/// The data of one message, for its templates. Amounts are formatted strings (never
/// floats).
///
/// Built by [`MessageContext::for_order`] or [`MessageContext::for_account`]; a
/// template test starts from [`MessageContext::new`] and sets the fields it needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MessageContext {
    /// The kind (template name).
    pub kind: String,
    /// Name to greet.
    pub name: String,
    /// Order number, for order messages.
    pub order_number: Option<String>,
    /// Order id, for links.
    pub order_id: Option<String>,
    /// Lines of the order.
    pub lines: Vec<LineContext>,
    /// Sum of line subtotals.
    pub subtotal: Option<String>,
    /// Discounts.
    pub discount_total: Option<String>,
    /// Shipping.
    pub shipping_total: Option<String>,
    /// Tax.
    pub tax_total: Option<String>,
    /// What was paid.
    pub grand_total: Option<String>,
    /// Shipping method name.
    pub shipping_method: Option<String>,
    /// Carrier name.
    pub carrier: Option<String>,
    /// Tracking number.
    pub tracking_number: Option<String>,
    /// Carrier tracking link.
    pub tracking_url: Option<String>,
    /// Why the order was cancelled or the payment failed.
    pub reason: Option<String>,
    /// Amount refunded by this refund.
    pub refund_amount: Option<String>,
    /// Password reset link.
    pub reset_url: Option<String>,
}

fn money(m: commerce_core::Money) -> String {
    format!("{} {}", m.amount(), m.currency().code())
}

impl MessageContext {
    /// A context of `kind` greeting `name`, every other field empty.
    pub fn new(kind: NotificationKind, name: impl Into<String>) -> Self {
        MessageContext {
            kind: kind.as_str().to_owned(),
            name: name.into(),
            ..MessageContext::default()
        }
    }

    /// The context of an order notification of `kind`, from the order and the event
    /// that caused it (`event` may be `None` when unavailable).
    pub fn for_order(kind: NotificationKind, order: &Order, event: Option<&OrderEvent>) -> Self {
        let name = order.shipping_address.name.clone();
        let mut ctx = MessageContext {
            kind: kind.as_str().to_owned(),
            name,
            order_number: Some(order.number.clone().unwrap_or_else(|| order.id.to_string())),
            order_id: Some(order.id.to_string()),
            lines: order
                .lines
                .iter()
                .map(|l| LineContext {
                    name: l.name.clone(),
                    quantity: l.quantity,
                    total: money(l.total),
                })
                .collect(),
            subtotal: Some(money(order.totals.subtotal)),
            discount_total: Some(money(order.totals.discount_total)),
            shipping_total: Some(money(order.totals.shipping_total)),
            tax_total: Some(money(order.totals.tax_total)),
            grand_total: Some(money(order.totals.grand_total)),
            shipping_method: Some(order.shipping.name.clone()),
            ..MessageContext::default()
        };
        match event {
            Some(OrderEvent::Shipped {
                tracking_number,
                shipment_id,
                ..
            }) => {
                let shipment = order
                    .fulfilment
                    .shipments
                    .iter()
                    .find(|s| s.id == *shipment_id);
                ctx.tracking_number = tracking_number.clone();
                ctx.carrier = shipment.and_then(|s| s.carrier.clone());
                ctx.tracking_url = shipment
                    .and_then(|s| s.carrier_code)
                    .zip(tracking_number.as_deref())
                    .map(|(c, n)| c.tracking_url(n));
            }
            Some(OrderEvent::TrackingUpdated {
                carrier,
                tracking_number,
                ..
            }) => {
                ctx.carrier = Some(carrier.display_name().to_owned());
                ctx.tracking_url = Some(CarrierCode::tracking_url(*carrier, tracking_number));
                ctx.tracking_number = Some(tracking_number.clone());
            }
            Some(OrderEvent::OrderCancelled { reason, .. }) => {
                ctx.reason = Some(reason.to_string());
            }
            Some(OrderEvent::PaymentFailed { .. }) => {
                ctx.reason = order.payment.failure.as_ref().map(|f| f.message.clone());
            }
            Some(OrderEvent::PaymentRefunded { amount, .. }) => {
                ctx.refund_amount = Some(money(*amount));
            }
            _ => {}
        }
        if ctx.tracking_number.is_none()
            && let Some(s) = order.fulfilment.shipments.last()
        {
            ctx.tracking_number = s.tracking_number.clone();
            ctx.carrier = s.carrier.clone();
            ctx.tracking_url = s
                .carrier_code
                .zip(s.tracking_number.as_deref())
                .map(|(c, n)| c.tracking_url(n));
        }
        ctx
    }

    /// The context of an account notification.
    pub fn for_account(notice: &AccountNotice) -> Self {
        match notice {
            AccountNotice::Welcome { name, .. } => MessageContext {
                kind: NotificationKind::Welcome.as_str().to_owned(),
                name: name.clone(),
                ..MessageContext::default()
            },
            AccountNotice::PasswordReset {
                name, reset_url, ..
            } => MessageContext {
                kind: NotificationKind::PasswordReset.as_str().to_owned(),
                name: name.clone(),
                reset_url: Some(reset_url.clone()),
                ..MessageContext::default()
            },
        }
    }
}
