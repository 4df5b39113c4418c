//! Typed transitions of the [`Order`] aggregate.
//!
//! Each function takes the order by reference and returns a [`Transitioned`]: the new
//! order and the event(s) the transition emits, to be stored together with
//! [`crate::OrderStore::update`]. On error the order is unchanged (it is never
//! touched). The functions combine the three state machines with the rules that tie
//! them together, checked by [`Order::check_invariants`]:
//!
//! - an order is `Confirmed` only with its payment authorized (or later);
//! - a `Cancelled` order has shipped nothing and holds no money (the payment is
//!   pending, failed, voided or refunded);
//! - goods ship only for a `Confirmed` order; `Completed` needs them delivered (or
//!   returned) and the payment captured;
//! - captured <= authorized, refunded <= captured, shipped <= ordered per SKU.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use commerce_core::{Address, Currency, CustomerId, GuestCartId, Money, Sku};
use commerce_inventory::ReservationId;

use crate::carrier::{CarrierCode, TrackingEvent, TrackingStatus};
use crate::checkout::RequestFingerprint;
use crate::error::{Error, Result};
use crate::event::OrderEvent;
use crate::id::{IdempotencyKey, OrderId, ShipmentId};
use crate::machine::{FulfilmentStatus, OrderStatus, PaymentStatus};
use crate::model::{
    CancelReason, FulfilmentState, Order, OrderLine, OrderTotals, PaymentAction, PaymentFailure,
    PaymentIntent, PaymentState, Refund, Shipment, ShipmentLine, ShippingSnapshot,
};
use crate::payment::{Authorization, Capture, Decline, PaymentMethodSummary, RefundReceipt};

/// The result of a transition: the order after it and the events it emitted.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Transitioned {
    /// The order after the transition (same `version`: the store bumps it).
    pub order: Order,
    /// Events to write with it, in order.
    pub events: Vec<OrderEvent>,
}

impl Transitioned {
    /// No transition yet: `order` as it is, no events (a start for [`Transitioned::then`]).
    pub fn unchanged(order: Order) -> Self {
        Transitioned {
            order,
            events: Vec::new(),
        }
    }

    /// Applies a further transition to the resulting order, keeping all events.
    pub fn then(self, f: impl FnOnce(&Order) -> Result<Transitioned>) -> Result<Transitioned> {
        let mut next = f(&self.order)?;
        let mut events = self.events;
        events.append(&mut next.events);
        Ok(Transitioned {
            order: next.order,
            events,
        })
    }
}

/// Everything needed to place an order (a checkout's snapshot), built with
/// [`NewOrder::new`] and the `with_*` setters and given to [`Order::place`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct NewOrder {
    /// Id of the order.
    pub id: OrderId,
    /// Number shown to people.
    pub number: Option<String>,
    /// The customer; `None` for a guest.
    pub customer_id: Option<CustomerId>,
    /// Contact email.
    pub email: String,
    /// Currency.
    pub currency: Currency,
    /// Lines (SKUs unique, at least one).
    pub lines: Vec<OrderLine>,
    /// Totals.
    pub totals: OrderTotals,
    /// Shipping address.
    pub shipping_address: Address,
    /// Billing address.
    pub billing_address: Address,
    /// Shipping method.
    pub shipping: ShippingSnapshot,
    /// Promotions applied.
    pub promotions: Vec<String>,
    /// Payment method, without secrets.
    pub payment_method: PaymentMethodSummary,
    /// Key of the payment authorization.
    pub payment_idempotency_key: IdempotencyKey,
    /// Reservation that will hold the stock.
    pub reservation_id: ReservationId,
    /// Checkout key (scoped to the buyer).
    pub idempotency_key: IdempotencyKey,
    /// Fingerprint of the checkout request.
    pub request_fingerprint: Option<RequestFingerprint>,
    /// The guest cart of a guest order.
    pub guest_cart: Option<GuestCartId>,
    /// When.
    pub placed_at: DateTime<Utc>,
}

impl NewOrder {
    /// Order `id`, placed at `placed_at` under the checkout key `idempotency_key`
    /// (scoped to the buyer) with contact `email`: these `lines` and `totals`, shipped
    /// to `shipping_address` by `shipping`, paid with `payment_method`. (Every
    /// argument has its own type, so they cannot be swapped unnoticed.)
    ///
    /// The rest is derived as checkout derives it: the currency is that of
    /// `totals.grand_total`, the billing address is the shipping address, the
    /// reservation holding the stock has the order's id
    /// ([`ReservationId::from_uuid`]), and the payment authorization's key is
    /// `idempotency_key.derive("authorize")`. A guest order without a number,
    /// promotions, request fingerprint or guest cart until the `with_*` setters say
    /// otherwise. Nothing else is checked here: [`Order::place`] checks the snapshot.
    ///
    /// # Errors
    /// A validation error when `idempotency_key` is too long to derive the payment
    /// key from ([`IdempotencyKey::derive`]).
    #[allow(clippy::too_many_arguments)] // the required parts of a snapshot, one type each
    pub fn new(
        id: OrderId,
        idempotency_key: IdempotencyKey,
        email: impl Into<String>,
        lines: Vec<OrderLine>,
        totals: OrderTotals,
        shipping_address: Address,
        shipping: ShippingSnapshot,
        payment_method: PaymentMethodSummary,
        placed_at: DateTime<Utc>,
    ) -> Result<Self> {
        Ok(NewOrder {
            id,
            number: None,
            customer_id: None,
            email: email.into(),
            currency: totals.grand_total.currency(),
            lines,
            totals,
            billing_address: shipping_address.clone(),
            shipping_address,
            shipping,
            promotions: Vec::new(),
            payment_method,
            payment_idempotency_key: idempotency_key.derive("authorize")?,
            reservation_id: ReservationId::from_uuid(id.as_uuid()),
            idempotency_key,
            request_fingerprint: None,
            guest_cart: None,
            placed_at,
        })
    }

    /// With this number shown to people.
    #[must_use]
    pub fn with_number(mut self, number: impl Into<String>) -> Self {
        self.number = Some(number.into());
        self
    }

    /// Placed by this customer (`None`: a guest).
    #[must_use]
    pub fn with_customer(mut self, customer_id: impl Into<Option<CustomerId>>) -> Self {
        self.customer_id = customer_id.into();
        self
    }

    /// With this billing address (`None`: the shipping address, the default).
    #[must_use]
    pub fn with_billing_address(mut self, address: impl Into<Option<Address>>) -> Self {
        self.billing_address = address
            .into()
            .unwrap_or_else(|| self.shipping_address.clone());
        self
    }

    /// With these codes of the promotions that applied.
    #[must_use]
    pub fn with_promotions(mut self, codes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.promotions = codes.into_iter().map(Into::into).collect();
        self
    }

    /// With the fingerprint of the checkout request, kept beside its key.
    #[must_use]
    pub fn with_request_fingerprint(
        mut self,
        fingerprint: impl Into<Option<RequestFingerprint>>,
    ) -> Self {
        self.request_fingerprint = fingerprint.into();
        self
    }

    /// Placed from this guest cart (a guest order; its holder may read it).
    #[must_use]
    pub fn with_guest_cart(mut self, guest_cart: impl Into<Option<GuestCartId>>) -> Self {
        self.guest_cart = guest_cart.into();
        self
    }
}

fn conflict(msg: impl Into<String>) -> Error {
    Error::Conflict(msg.into())
}

fn same_currency(expected: Currency, m: &Money, field: &'static str) -> Result<()> {
    if m.currency() != expected {
        return Err(Error::Core(commerce_core::Error::CurrencyMismatch {
            expected,
            found: m.currency(),
        }));
    }
    if !m.is_rounded() || m.is_negative() {
        return Err(Error::validation(
            field,
            format!("{m} is not a non-negative amount in minor units"),
        ));
    }
    Ok(())
}

impl Order {
    /// Places an order: `PendingPayment`, payment `Pending`, `Unfulfilled`,
    /// version 1. Emits `OrderPlaced`.
    ///
    /// Checks the snapshot: at least one line, unique SKUs, quantities of at least 1,
    /// every amount in the order currency and in minor units, and
    /// `grand_total == sum(line totals) + shipping_total`.
    pub fn place(new: NewOrder) -> Result<Transitioned> {
        if new.lines.is_empty() {
            return Err(Error::EmptyCart);
        }
        let c = new.currency;
        let mut skus: Vec<&Sku> = new.lines.iter().map(|l| &l.sku).collect();
        skus.sort();
        if skus.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::validation("lines", "duplicate sku"));
        }
        for l in &new.lines {
            if l.quantity == 0 {
                return Err(Error::validation(
                    "quantity",
                    format!("{} has quantity 0", l.sku),
                ));
            }
            for (m, f) in [
                (&l.unit_price, "unit_price"),
                (&l.subtotal, "subtotal"),
                (&l.discount, "discount"),
                (&l.tax, "tax"),
                (&l.total, "total"),
                (&l.refunded, "refunded"),
            ] {
                same_currency(c, m, f)?;
            }
        }
        let t = &new.totals;
        for (m, f) in [
            (&t.subtotal, "subtotal"),
            (&t.discount_total, "discount_total"),
            (&t.shipping_total, "shipping_total"),
            (&t.shipping_tax, "shipping_tax"),
            (&t.tax_total, "tax_total"),
            (&t.grand_total, "grand_total"),
            (&t.shipping_refunded, "shipping_refunded"),
            (&new.shipping.price, "shipping.price"),
        ] {
            same_currency(c, m, f)?;
        }
        let expected =
            Money::sum(c, new.lines.iter().map(|l| l.total))?.checked_add(t.shipping_total)?;
        if expected != t.grand_total {
            return Err(Error::validation(
                "grand_total",
                format!(
                    "{} is not the lines plus shipping ({expected})",
                    t.grand_total
                ),
            ));
        }
        let zero = Money::zero(c);
        let order = Order {
            id: new.id,
            number: new.number,
            customer_id: new.customer_id,
            email: new.email,
            currency: c,
            lines: new.lines,
            totals: new.totals,
            shipping_address: new.shipping_address,
            billing_address: new.billing_address,
            shipping: new.shipping,
            promotions: new.promotions,
            status: OrderStatus::PendingPayment,
            payment: PaymentState {
                status: PaymentStatus::Pending,
                method: new.payment_method,
                idempotency_key: new.payment_idempotency_key,
                authorized: zero,
                captured: zero,
                refunded: zero,
                provider_reference: None,
                refunds: Vec::new(),
                failure: None,
                intent: None,
            },
            fulfilment: FulfilmentState {
                status: FulfilmentStatus::Unfulfilled,
                shipments: Vec::new(),
            },
            reservation_id: new.reservation_id,
            idempotency_key: new.idempotency_key,
            request_fingerprint: new.request_fingerprint,
            guest_cart: new.guest_cart,
            cancel_reason: None,
            created_at: new.placed_at,
            updated_at: new.placed_at,
            version: 1,
        };
        let events = vec![OrderEvent::OrderPlaced {
            order_id: order.id,
            customer_id: order.customer_id,
            grand_total: order.totals.grand_total,
            units: order.lines.iter().map(|l| u64::from(l.quantity)).sum(),
            lines: order
                .lines
                .iter()
                .map(|l| crate::event::PlacedLine {
                    sku: l.sku.clone(),
                    quantity: l.quantity,
                    total: l.total,
                })
                .collect(),
        }];
        Ok(Transitioned { order, events })
    }

    fn changed(&self, now: DateTime<Utc>) -> Order {
        let mut o = self.clone();
        o.updated_at = now.max(self.updated_at);
        o
    }

    /// Payment `Pending -> Authorized` with the gateway's authorization, which must be
    /// for the grand total. Only while `PendingPayment`. Emits `PaymentAuthorized`.
    pub fn record_authorization(
        &self,
        auth: &Authorization,
        now: DateTime<Utc>,
    ) -> Result<Transitioned> {
        let status = self.payment.status.authorize()?;
        if self.status != OrderStatus::PendingPayment {
            return Err(conflict(format!(
                "order {} is {}, not pending payment",
                self.id,
                self.status.as_str()
            )));
        }
        if auth.amount != self.totals.grand_total {
            return Err(conflict(format!(
                "authorization of {} does not match the grand total {}",
                auth.amount, self.totals.grand_total
            )));
        }
        let mut o = self.changed(now);
        o.payment.status = status;
        o.payment.authorized = auth.amount;
        o.payment.provider_reference = Some(auth.payment_reference.clone());
        let events = vec![OrderEvent::PaymentAuthorized {
            order_id: o.id,
            amount: auth.amount,
            method: o.payment.method.kind,
        }];
        Ok(Transitioned { order: o, events })
    }

    /// Payment `Pending -> Failed` with the gateway's decline. Only while
    /// `PendingPayment`. Emits `PaymentFailed`.
    pub fn record_decline(&self, decline: &Decline, now: DateTime<Utc>) -> Result<Transitioned> {
        let status = self.payment.status.fail()?;
        if self.status != OrderStatus::PendingPayment {
            return Err(conflict(format!(
                "order {} is {}, not pending payment",
                self.id,
                self.status.as_str()
            )));
        }
        let mut o = self.changed(now);
        o.payment.status = status;
        o.payment.failure = Some(PaymentFailure {
            reason: decline.reason,
            message: decline.message.clone(),
        });
        let events = vec![OrderEvent::PaymentFailed {
            order_id: o.id,
            reason: decline.reason,
        }];
        Ok(Transitioned { order: o, events })
    }

    /// Order `PendingPayment -> Confirmed` (stock sold, payment authorized). The
    /// payment must be authorized or captured. Emits `OrderConfirmed`.
    pub fn confirm(&self, now: DateTime<Utc>) -> Result<Transitioned> {
        let status = self.status.confirm()?;
        if !matches!(
            self.payment.status,
            PaymentStatus::Authorized | PaymentStatus::Captured
        ) {
            return Err(conflict(format!(
                "order {} cannot be confirmed with payment {}",
                self.id,
                self.payment.status.as_str()
            )));
        }
        let mut o = self.changed(now);
        o.status = status;
        let events = vec![OrderEvent::OrderConfirmed { order_id: o.id }];
        Ok(Transitioned { order: o, events })
    }

    /// Payment `Authorized -> Captured` with the gateway's capture (at most the
    /// authorized amount), for a `Confirmed` order. Emits `PaymentCaptured`.
    pub fn record_capture(&self, capture: &Capture, now: DateTime<Utc>) -> Result<Transitioned> {
        if self.status != OrderStatus::Confirmed {
            return Err(conflict(format!(
                "order {} is {}: only confirmed orders are captured",
                self.id,
                self.status.as_str()
            )));
        }
        self.capture_unchecked(capture, now)
    }

    /// Records a capture the gateway made whatever the order status: a cancel found
    /// the money taken (a checkout's capture whose answer was lost) and refunds it
    /// next. Clears a pending capture intent.
    pub(crate) fn capture_unchecked(
        &self,
        capture: &Capture,
        now: DateTime<Utc>,
    ) -> Result<Transitioned> {
        let status = self.payment.status.capture()?;
        if capture
            .amount
            .checked_cmp(&self.payment.authorized)?
            .is_gt()
            || capture.amount.is_negative()
        {
            return Err(conflict(format!(
                "capture of {} exceeds the authorized {}",
                capture.amount, self.payment.authorized
            )));
        }
        let mut o = self.changed(now);
        o.payment.status = status;
        o.payment.captured = capture.amount;
        if matches!(
            o.payment.intent.as_ref().map(|i| &i.action),
            Some(PaymentAction::Capture)
        ) {
            o.payment.intent = None;
        }
        let events = vec![OrderEvent::PaymentCaptured {
            order_id: o.id,
            amount: capture.amount,
        }];
        Ok(Transitioned { order: o, events })
    }

    /// Payment `Authorized -> Voided` while the order is `PendingPayment` (a
    /// checkout being undone; cancel it next). A confirmed order's hold is voided
    /// with [`Order::cancel_voiding`]. Emits `PaymentVoided`.
    pub fn record_void(&self, now: DateTime<Utc>) -> Result<Transitioned> {
        if self.status != OrderStatus::PendingPayment {
            return Err(conflict(format!(
                "order {} is {}: void its payment by cancelling it",
                self.id,
                self.status.as_str()
            )));
        }
        self.void_unchecked(now)
    }

    /// Cancels an order whose payment is only authorized: payment `Authorized ->
    /// Voided` and order `PendingPayment | Confirmed -> Cancelled` in one transition.
    /// Emits `PaymentVoided` and `OrderCancelled`.
    pub fn cancel_voiding(&self, reason: CancelReason, now: DateTime<Utc>) -> Result<Transitioned> {
        self.status.cancel()?;
        self.void_unchecked(now)?.then(|o| o.cancel(reason, now))
    }

    fn void_unchecked(&self, now: DateTime<Utc>) -> Result<Transitioned> {
        let status = self.payment.status.void()?;
        let mut o = self.changed(now);
        o.payment.status = status;
        let events = vec![OrderEvent::PaymentVoided {
            order_id: o.id,
            amount: o.payment.authorized,
        }];
        Ok(Transitioned { order: o, events })
    }

    /// Records that `action` is to be done at the gateway, due at `due_at` for the
    /// reconciliation pass; call the gateway after this is stored. Emits
    /// `PaymentActionRequested`. Asking again for the action already pending changes
    /// nothing (no event). `Conflict` when another action is pending, or for an order
    /// that is cancelled or completed.
    pub fn request_payment_action(
        &self,
        action: PaymentAction,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Transitioned> {
        if let Some(pending) = &self.payment.intent {
            if pending.action == action {
                return Ok(Transitioned::unchanged(self.clone()));
            }
            // A cancel supersedes a capture not made yet (and refunds one made).
            let supersedes = matches!(
                (&pending.action, &action),
                (PaymentAction::Capture, PaymentAction::Cancel { .. })
            );
            if !supersedes {
                return Err(conflict(format!(
                    "order {} has a pending payment {}",
                    self.id,
                    pending.action.name()
                )));
            }
        }
        if matches!(self.status, OrderStatus::Cancelled | OrderStatus::Completed)
            && !matches!(action, PaymentAction::Refund { .. })
        {
            return Err(conflict(format!(
                "order {} is {}",
                self.id,
                self.status.as_str()
            )));
        }
        let mut o = self.changed(now);
        o.payment.intent = Some(PaymentIntent {
            action: action.clone(),
            requested_at: now,
            attempts: 0,
            due_at,
            last_error: None,
        });
        let events = vec![OrderEvent::PaymentActionRequested {
            order_id: o.id,
            action,
        }];
        Ok(Transitioned { order: o, events })
    }

    /// Records that the pending payment action failed at the gateway (`error`), to
    /// be tried again at `due_at`. From the `alert_after`-th failed attempt on, emits
    /// `PaymentActionFailing` (for admins); before, no event. `Conflict` when no
    /// action is pending.
    pub fn record_payment_action_failure(
        &self,
        error: &str,
        due_at: DateTime<Utc>,
        alert_after: u32,
        now: DateTime<Utc>,
    ) -> Result<Transitioned> {
        let mut o = self.changed(now);
        let intent =
            o.payment.intent.as_mut().ok_or_else(|| {
                conflict(format!("order {} has no pending payment action", self.id))
            })?;
        intent.attempts = intent.attempts.saturating_add(1);
        intent.due_at = due_at;
        intent.last_error = Some(error.to_owned());
        let events = if intent.attempts >= alert_after {
            vec![OrderEvent::PaymentActionFailing {
                order_id: o.id,
                action: intent.action.clone(),
                attempts: intent.attempts,
                error: error.to_owned(),
            }]
        } else {
            Vec::new()
        };
        Ok(Transitioned { order: o, events })
    }

    /// Splits a refund of `amount` across the lines and the shipping charge in
    /// proportion to what is left to refund of each, exactly (the parts sum to
    /// `amount`; no part exceeds what is left of its line). Returns the parts per
    /// line, in line order, and the shipping part.
    ///
    /// Errors: `RefundExceedsCaptured` when `amount` exceeds captured minus refunded;
    /// `Validation` for a non-positive amount or one not in minor units.
    pub fn plan_refund(&self, amount: Money) -> Result<(Vec<Money>, Money)> {
        same_currency(self.currency, &amount, "amount")?;
        if amount.is_zero() {
            return Err(Error::validation("amount", "a refund must be positive"));
        }
        let refundable = self.payment.refundable()?;
        if amount.checked_cmp(&refundable)?.is_gt() {
            return Err(Error::RefundExceedsCaptured {
                requested: amount,
                refundable,
            });
        }
        let mut weights: Vec<Decimal> = Vec::with_capacity(self.lines.len() + 1);
        for l in &self.lines {
            weights.push(l.total.checked_sub(l.refunded)?.amount().max(Decimal::ZERO));
        }
        weights.push(
            self.totals
                .shipping_total
                .checked_sub(self.totals.shipping_refunded)?
                .amount()
                .max(Decimal::ZERO),
        );
        if weights.iter().all(|w| w.is_zero()) {
            return Err(Error::RefundExceedsCaptured {
                requested: amount,
                refundable: Money::zero(self.currency),
            });
        }
        let mut parts = amount.allocate(&weights)?;
        let shipping = parts.pop().unwrap_or(Money::zero(self.currency));
        Ok((parts, shipping))
    }

    /// Records a refund the gateway made: payment `Captured | PartiallyRefunded ->
    /// PartiallyRefunded | Refunded` (refunded when nothing captured is left), the
    /// amount allocated across lines and shipping with [`Order::plan_refund`].
    /// Emits `PaymentRefunded`.
    pub fn record_refund(
        &self,
        receipt: &RefundReceipt,
        idempotency_key: IdempotencyKey,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<Transitioned> {
        let (line_amounts, shipping) = self.plan_refund(receipt.amount)?;
        let refunded = self.payment.refunded.checked_add(receipt.amount)?;
        let fully = refunded == self.payment.captured;
        let status = self.payment.status.refund(fully)?;
        let mut o = self.changed(now);
        for (line, part) in o.lines.iter_mut().zip(&line_amounts) {
            line.refunded = line.refunded.checked_add(*part)?;
        }
        o.totals.shipping_refunded = o.totals.shipping_refunded.checked_add(shipping)?;
        o.payment.status = status;
        o.payment.refunded = refunded;
        if matches!(
            o.payment.intent.as_ref().map(|i| &i.action),
            Some(PaymentAction::Refund { idempotency_key: k, .. }) if *k == idempotency_key
        ) {
            o.payment.intent = None;
        }
        let refund = Refund {
            id: crate::id::RefundId::new(),
            idempotency_key,
            amount: receipt.amount,
            line_amounts,
            shipping,
            reason: reason.into(),
            gateway_reference: receipt.refund_reference.clone(),
            refunded_at: now,
        };
        let events = vec![OrderEvent::PaymentRefunded {
            order_id: o.id,
            refund_id: refund.id,
            amount: refund.amount,
            total_refunded: refunded,
            status,
        }];
        o.payment.refunds.push(refund);
        Ok(Transitioned { order: o, events })
    }

    /// Order `PendingPayment | Confirmed -> Cancelled` for `reason`. Nothing may have
    /// shipped and no money may be held (void or refund first). Emits
    /// `OrderCancelled`.
    pub fn cancel(&self, reason: CancelReason, now: DateTime<Utc>) -> Result<Transitioned> {
        let status = self.status.cancel()?;
        if !self.nothing_shipped() {
            return Err(conflict(format!(
                "order {} has shipments; return it instead",
                self.id
            )));
        }
        if self.payment.status.holds_money() {
            return Err(conflict(format!(
                "order {} still holds its payment ({}): void or refund it first",
                self.id,
                self.payment.status.as_str()
            )));
        }
        let mut o = self.changed(now);
        o.status = status;
        o.cancel_reason = Some(reason.clone());
        // A cancelled order holds no money: nothing is left to do at the gateway. A
        // `Cancel` intent stays until the stock is back (the canceller clears it),
        // so a crash between this update and the stock return leaves a trace.
        if !matches!(
            o.payment.intent.as_ref().map(|i| &i.action),
            Some(PaymentAction::Cancel { .. })
        ) {
            o.payment.intent = None;
        }
        let events = vec![OrderEvent::OrderCancelled {
            order_id: o.id,
            reason,
        }];
        Ok(Transitioned { order: o, events })
    }

    /// Records a shipment of `lines` (fulfilment `Unfulfilled | PartiallyShipped ->
    /// PartiallyShipped | Shipped`, shipped when every unit has left). Only for a
    /// `Confirmed` order; each SKU must be on the order and not shipped beyond its
    /// quantity (`ShipmentExceedsOrder`). Emits `Shipped`.
    pub fn ship(
        &self,
        lines: &[ShipmentLine],
        carrier: Option<String>,
        tracking_number: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Transitioned> {
        if self.status != OrderStatus::Confirmed {
            return Err(conflict(format!(
                "order {} is {}, not confirmed",
                self.id,
                self.status.as_str()
            )));
        }
        if lines.is_empty() {
            return Err(Error::validation(
                "lines",
                "a shipment needs at least one line",
            ));
        }
        let mut merged: Vec<ShipmentLine> = Vec::new();
        for l in lines {
            if l.quantity == 0 {
                return Err(Error::validation(
                    "quantity",
                    format!("{} has quantity 0", l.sku),
                ));
            }
            match merged.iter_mut().find(|m| m.sku == l.sku) {
                Some(m) => {
                    m.quantity = m
                        .quantity
                        .checked_add(l.quantity)
                        .ok_or_else(|| Error::validation("quantity", "too many units"))?;
                }
                None => merged.push(l.clone()),
            }
        }
        for m in &merged {
            let ordered = self.ordered_quantity(&m.sku);
            if ordered == 0 {
                return Err(Error::not_found("order line", &m.sku));
            }
            let remaining = ordered.saturating_sub(self.shipped_quantity(&m.sku));
            if m.quantity > remaining {
                return Err(Error::ShipmentExceedsOrder {
                    sku: m.sku.clone(),
                    requested: m.quantity,
                    remaining,
                });
            }
        }
        let complete = self.lines.iter().all(|l| {
            let shipped = self.shipped_quantity(&l.sku)
                + merged
                    .iter()
                    .filter(|m| m.sku == l.sku)
                    .map(|m| m.quantity)
                    .sum::<u32>();
            shipped >= l.quantity
        });
        let status = self.fulfilment.status.ship(complete)?;
        let mut o = self.changed(now);
        let shipment = Shipment {
            id: ShipmentId::new(),
            lines: merged,
            carrier,
            tracking_number,
            shipped_at: now,
            delivered_at: None,
            carrier_code: None,
            label_reference: None,
            tracking: Vec::new(),
        };
        let events = vec![OrderEvent::Shipped {
            order_id: o.id,
            shipment_id: shipment.id,
            lines: shipment.lines.clone(),
            tracking_number: shipment.tracking_number.clone(),
            status,
        }];
        o.fulfilment.status = status;
        o.fulfilment.shipments.push(shipment);
        Ok(Transitioned { order: o, events })
    }

    /// Fulfilment `Shipped -> Delivered`; stamps every shipment not yet delivered.
    /// Emits `Delivered`.
    pub fn deliver(&self, now: DateTime<Utc>) -> Result<Transitioned> {
        let status = self.fulfilment.status.deliver()?;
        let mut o = self.changed(now);
        o.fulfilment.status = status;
        for s in &mut o.fulfilment.shipments {
            s.delivered_at.get_or_insert(now);
        }
        let events = vec![OrderEvent::Delivered { order_id: o.id }];
        Ok(Transitioned { order: o, events })
    }

    /// Fulfilment `Shipped | Delivered -> Returned`. Emits `Returned`.
    pub fn mark_returned(&self, now: DateTime<Utc>) -> Result<Transitioned> {
        let status = self.fulfilment.status.mark_returned()?;
        let mut o = self.changed(now);
        o.fulfilment.status = status;
        let events = vec![OrderEvent::Returned { order_id: o.id }];
        Ok(Transitioned { order: o, events })
    }

    /// Order `Confirmed -> Completed`: the goods were delivered (or returned) and the
    /// payment captured. Emits `OrderCompleted`.
    pub fn complete(&self, now: DateTime<Utc>) -> Result<Transitioned> {
        let status = self.status.complete()?;
        if !matches!(
            self.fulfilment.status,
            FulfilmentStatus::Delivered | FulfilmentStatus::Returned
        ) {
            return Err(conflict(format!(
                "order {} cannot complete while {}",
                self.id,
                self.fulfilment.status.as_str()
            )));
        }
        if !self.payment.status.was_captured() {
            return Err(conflict(format!(
                "order {} cannot complete with payment {}",
                self.id,
                self.payment.status.as_str()
            )));
        }
        let mut o = self.changed(now);
        o.status = status;
        let events = vec![OrderEvent::OrderCompleted { order_id: o.id }];
        Ok(Transitioned { order: o, events })
    }

    /// Records the carrier label of the latest shipment (bought through a
    /// [`crate::carrier::Carrier`]). No event: the `Shipped` event of the shipment
    /// already names its tracking number.
    pub fn attach_label(
        &self,
        shipment_id: ShipmentId,
        carrier: CarrierCode,
        label_reference: String,
        now: DateTime<Utc>,
    ) -> Result<Transitioned> {
        let mut o = self.changed(now);
        let shipment = o
            .fulfilment
            .shipments
            .iter_mut()
            .find(|s| s.id == shipment_id)
            .ok_or_else(|| Error::not_found("shipment", shipment_id))?;
        shipment.carrier_code = Some(carrier);
        shipment.label_reference = Some(label_reference);
        Ok(Transitioned {
            order: o,
            events: Vec::new(),
        })
    }

    /// Records carrier scans of the order's parcels. A scan already recorded (same
    /// parcel, status and time) is ignored, so a webhook delivered twice changes
    /// nothing the second time. Each new scan emits `TrackingUpdated`; a `Delivered`
    /// scan stamps its shipment, and when every shipment is delivered the fulfilment
    /// moves `Shipped -> Delivered` (emitting `Delivered`) exactly once, however often
    /// the scan arrives. An `Exception` scan is recorded on its shipment (see
    /// [`crate::Shipment::exceptions`]). A scan of a parcel not on the order is
    /// `NotFound`. Returns the order unchanged, with no events, when nothing is new.
    pub fn record_tracking(
        &self,
        scans: &[TrackingEvent],
        now: DateTime<Utc>,
    ) -> Result<Transitioned> {
        let mut o = self.clone();
        let mut events = Vec::new();
        for scan in scans {
            let shipment = o
                .fulfilment
                .shipments
                .iter_mut()
                .find(|s| s.tracking_number.as_deref() == Some(scan.tracking_number.as_str()))
                .ok_or_else(|| Error::not_found("tracking number", &scan.tracking_number))?;
            let known = shipment.tracking.iter().any(|e| {
                e.status == scan.status
                    && e.occurred_at == scan.occurred_at
                    && e.carrier == scan.carrier
            });
            if known {
                continue;
            }
            shipment.tracking.push(scan.clone());
            shipment.tracking.sort_by_key(|e| e.occurred_at);
            if scan.status == TrackingStatus::Delivered {
                shipment.delivered_at.get_or_insert(scan.occurred_at);
            }
            events.push(OrderEvent::TrackingUpdated {
                order_id: o.id,
                shipment_id: shipment.id,
                carrier: scan.carrier,
                tracking_number: scan.tracking_number.clone(),
                status: scan.status,
                description: scan.description.clone(),
            });
        }
        if events.is_empty() {
            return Ok(Transitioned::unchanged(self.clone()));
        }
        o.updated_at = now.max(self.updated_at);
        let all_delivered = o
            .fulfilment
            .shipments
            .iter()
            .all(|s| s.delivered_at.is_some());
        if all_delivered && o.fulfilment.status == FulfilmentStatus::Shipped {
            o.fulfilment.status = o.fulfilment.status.deliver()?;
            events.push(OrderEvent::Delivered { order_id: o.id });
        }
        Ok(Transitioned { order: o, events })
    }

    /// Checks the rules that tie the three machines and the amounts together (see the
    /// module documentation). Every state reachable through the transition functions
    /// passes; a `Conflict` names the first rule broken.
    pub fn check_invariants(&self) -> Result<()> {
        use FulfilmentStatus as F;
        use OrderStatus as O;
        use PaymentStatus as P;
        let p = self.payment.status;
        let f = self.fulfilment.status;
        let ok = match self.status {
            O::PendingPayment => {
                matches!(p, P::Pending | P::Authorized | P::Failed | P::Voided)
                    && f == F::Unfulfilled
            }
            O::Confirmed => matches!(
                p,
                P::Authorized | P::Captured | P::PartiallyRefunded | P::Refunded
            ),
            O::Completed => p.was_captured() && matches!(f, F::Delivered | F::Returned),
            O::Cancelled => {
                matches!(p, P::Pending | P::Failed | P::Voided | P::Refunded) && f == F::Unfulfilled
            }
        };
        if !ok {
            return Err(conflict(format!(
                "order {} is {} with payment {} and fulfilment {}",
                self.id,
                self.status.as_str(),
                p.as_str(),
                f.as_str()
            )));
        }
        if (f == F::Unfulfilled) != self.fulfilment.shipments.is_empty() {
            return Err(conflict("fulfilment status disagrees with the shipments"));
        }
        for l in &self.lines {
            if self.shipped_quantity(&l.sku) > l.quantity {
                return Err(conflict(format!("{} shipped beyond its quantity", l.sku)));
            }
            if l.refunded.checked_cmp(&l.total)?.is_gt() {
                return Err(conflict(format!("{} refunded beyond its total", l.sku)));
            }
        }
        let pay = &self.payment;
        if pay.captured.checked_cmp(&pay.authorized)?.is_gt()
            || pay.refunded.checked_cmp(&pay.captured)?.is_gt()
            || Money::sum(self.currency, pay.refunds.iter().map(|r| r.amount))? != pay.refunded
        {
            return Err(conflict("payment amounts disagree"));
        }
        Ok(())
    }
}
