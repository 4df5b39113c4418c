//! Payment actions that agree with the gateway, whatever fails.
//!
//! Every capture, cancel and refund is first recorded on the order as a
//! [`PaymentIntent`] (with a `payment.action_requested` event, in one version-checked
//! update), then sent to the gateway with a key that makes it idempotent, then its
//! outcome is recorded (clearing the intent, with its events, in one update). A
//! crash or a lost answer anywhere leaves the intent; [`Checkout::reconcile`] (run by
//! [`Checkout::recover`]) finishes every intent that is due: it looks the payment up
//! by its idempotency key and records what the gateway did, or makes the call again
//! (the same key never moves money twice). A call that keeps failing is retried with
//! backoff ([`super::PaymentRetry`]) and surfaces as `payment.action_failing`.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::id::{IdempotencyKey, OrderId};
use crate::lifecycle::Transitioned;
use crate::machine::{OrderStatus, PaymentStatus};
use crate::model::{CancelReason, Order, PaymentAction};
use crate::payment::{Capture, GatewayPaymentStatus, RefundRequest};

use super::Checkout;
use super::config::after;

impl Checkout {
    /// Finishes up to [`super::CheckoutConfig::recovery_batch`] payment actions due
    /// at `now` (captures, cancels, refunds recorded and not seen to finish),
    /// earliest due first. Returns the orders settled and those whose action failed
    /// again (rescheduled with backoff). Safe to run from any number of workers.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<ReconcileReport> {
        let due = self
            .orders
            .list_payment_actions_due(now, self.config.recovery_batch)
            .await?;
        let mut report = ReconcileReport::default();
        for order in due {
            let id = order.id;
            match self.settle_payment_action(order).await {
                Ok(_) => report.settled.push(id),
                Err(e) => report.failed.push((id, e.to_string())),
            }
        }
        Ok(report)
    }

    /// Finishes the payment action recorded on `order`, now, whatever its due time.
    /// Returns the order as stored after it (unchanged when none is pending).
    pub async fn settle_payment_action(&self, order: Order) -> Result<Order> {
        let Some(intent) = order.payment.intent.clone() else {
            return Ok(order);
        };
        match intent.action {
            PaymentAction::Capture => self.settle_capture(order).await,
            PaymentAction::Cancel { reason } => self.settle_cancel(order, reason).await,
            PaymentAction::Refund {
                idempotency_key,
                amount,
                reason,
            } => {
                self.settle_refund(order, idempotency_key, amount, &reason)
                    .await
            }
        }
    }

    /// Records `action` on `order` (stored with its event) before its gateway call.
    pub(super) async fn request_action(
        &self,
        order: &Order,
        action: PaymentAction,
    ) -> Result<Order> {
        let now = self.clock.now();
        let due = after(now, self.config.payment_retry.first_delay, "payment_retry")?;
        let t = order.request_payment_action(action, due, now)?;
        if t.events.is_empty() {
            return Ok(t.order);
        }
        self.store(order, t).await
    }

    /// Stores that the pending action of `order` failed with `error` (rescheduled
    /// with backoff; an event once it keeps failing) and returns `error`.
    pub(super) async fn action_failed(&self, order: &Order, error: Error) -> Error {
        let now = self.clock.now();
        let attempts = order.payment.intent.as_ref().map_or(0, |i| i.attempts);
        let retry = &self.config.payment_retry;
        let due = after(now, retry.delay(attempts), "payment_retry").unwrap_or(now);
        let recorded = order
            .record_payment_action_failure(&error.to_string(), due, retry.alert_after, now)
            .map(|t| self.store(order, t));
        if let Ok(store) = recorded {
            // Best effort: when this update is lost the intent is still due and the
            // next pass tries again.
            let _ = store.await;
        }
        error
    }

    /// Captures the whole authorization (idempotent by payment at the gateway) and
    /// records it; on failure the intent stays, rescheduled.
    pub(super) async fn settle_capture(&self, order: Order) -> Result<Order> {
        if order.payment.status != PaymentStatus::Authorized
            || order.status != OrderStatus::Confirmed
        {
            // Captured meanwhile (or the order went elsewhere): nothing to capture.
            return self.drop_intent(order).await;
        }
        let Some(reference) = order.payment.provider_reference.clone() else {
            return Err(Error::Conflict(format!(
                "order {} has no authorization",
                order.id
            )));
        };
        match self
            .payments
            .capture(&reference, order.payment.authorized)
            .await
        {
            Ok(capture) => {
                let t = order.record_capture(&capture, self.clock.now())?;
                self.store(&order, t).await
            }
            Err(e) => Err(self.action_failed(&order, e).await),
        }
    }

    /// Clears an intent that has nothing left to do (no event: the outcome was
    /// recorded by whoever finished it).
    async fn drop_intent(&self, order: Order) -> Result<Order> {
        let mut t = Transitioned::unchanged(order.clone());
        t.order.payment.intent = None;
        self.store(&order, t).await
    }

    /// Gives back every cent the gateway holds or took for `order` (void when only
    /// held, refund when taken, whatever our record says), then cancels it for
    /// `reason` and returns its stock. The order carries its `Cancel` intent.
    pub(super) async fn settle_cancel(&self, order: Order, reason: CancelReason) -> Result<Order> {
        if order.status == OrderStatus::Cancelled {
            return self.stock_returned(order).await;
        }
        let now = self.clock.now();
        let record = match self
            .payments
            .lookup_by_idempotency_key(&order.payment.idempotency_key)
            .await
        {
            Ok(record) => record,
            Err(e) => return Err(self.action_failed(&order, e).await),
        };
        let mut t = Transitioned::unchanged(order.clone());
        let authorization = record.as_ref().and_then(|r| r.authorization(now));
        if let (Some(record), Some(auth)) = (&record, authorization) {
            if t.order.payment.status == PaymentStatus::Pending {
                t = t.then(|o| o.record_authorization(&auth, now))?;
            }
            let taken = matches!(
                record.status,
                GatewayPaymentStatus::Captured | GatewayPaymentStatus::Refunded
            );
            if taken && t.order.payment.status == PaymentStatus::Authorized {
                let capture = Capture {
                    payment_reference: auth.payment_reference.clone(),
                    amount: record.captured,
                    captured_at: now,
                };
                t = t.then(|o| o.capture_unchecked(&capture, now))?;
            }
            if t.order.payment.status == PaymentStatus::Authorized {
                if let Err(e) = self.payments.void(&auth.payment_reference).await {
                    return Err(self.action_failed(&order, e).await);
                }
                t = t.then(|o| o.cancel_voiding(reason.clone(), now))?;
            }
            let left = t.order.payment.refundable()?;
            if t.order.payment.status.was_captured() && !left.is_zero() && !left.is_negative() {
                let key = order.idempotency_key.derive("cancel-refund")?;
                let receipt = match self
                    .payments
                    .refund(&RefundRequest::new(
                        auth.payment_reference.clone(),
                        key.clone(),
                        left,
                    ))
                    .await
                {
                    Ok(receipt) => receipt,
                    Err(e) => return Err(self.action_failed(&order, e).await),
                };
                t = t.then(|o| o.record_refund(&receipt, key, "order cancelled", now))?;
            }
        }
        if t.order.status != OrderStatus::Cancelled {
            t = t.then(|o| o.cancel(reason.clone(), now))?;
        }
        let cancelled = match self.store(&order, t).await {
            Ok(cancelled) => cancelled,
            Err(e) if e.is_conflict() => {
                // Another worker settled it first: theirs is the outcome.
                let current = self.load_order(order.id).await?;
                if current.status != OrderStatus::Cancelled {
                    return Err(e);
                }
                current
            }
            Err(e) => return Err(e),
        };
        self.stock_returned(cancelled).await
    }

    /// Returns the stock of a cancelled order, then clears its `Cancel` intent: the
    /// cancel is over only once both happened (a crash between them leaves the
    /// intent, and the next pass returns the stock, exactly once).
    async fn stock_returned(&self, cancelled: Order) -> Result<Order> {
        if let Err(e) = self.return_stock(&cancelled).await {
            return Err(self.action_failed(&cancelled, e).await);
        }
        if cancelled.payment.intent.is_none() {
            return Ok(cancelled);
        }
        self.drop_intent(cancelled).await
    }

    /// Makes the refund recorded as intended (idempotent by its key) and records it.
    pub(super) async fn settle_refund(
        &self,
        order: Order,
        key: IdempotencyKey,
        amount: commerce_core::Money,
        reason: &str,
    ) -> Result<Order> {
        let Some(reference) = order.payment.provider_reference.clone() else {
            return self.drop_intent(order).await;
        };
        let receipt = match self
            .payments
            .refund(&RefundRequest::new(reference, key.clone(), amount))
            .await
        {
            Ok(receipt) => receipt,
            Err(e) => return Err(self.action_failed(&order, e).await),
        };
        let t = order.record_refund(&receipt, key, reason, self.clock.now())?;
        self.store(&order, t).await
    }

    pub(super) async fn load_order(&self, id: OrderId) -> Result<Order> {
        self.orders
            .get(id)
            .await?
            .ok_or_else(|| Error::not_found("order", id))
    }
}

/// What one [`Checkout::reconcile`] call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReconcileReport {
    /// Orders whose payment action finished.
    pub settled: Vec<OrderId>,
    /// Orders whose payment action failed again (rescheduled), with why.
    pub failed: Vec<(OrderId, String)>,
}
