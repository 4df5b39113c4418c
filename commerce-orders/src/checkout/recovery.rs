//! The recovery pass: finishes or undoes checkouts interrupted at any step.

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::id::OrderId;
use crate::lifecycle::Transitioned;
use crate::machine::{OrderStatus, PaymentStatus};
use crate::model::{CancelReason, Order};
use crate::payment::GatewayPaymentStatus;

use super::Checkout;
use super::config::before;

/// What the recovery pass did with one order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecoveryOutcome {
    /// The payment had been authorized: the order is now confirmed.
    Confirmed,
    /// The checkout never got a payment (or it was declined, or the stock is gone):
    /// the stock is released, any hold voided, the order cancelled.
    Cancelled(CancelReason),
    /// The order was no longer pending (someone else finished it).
    AlreadyResolved,
}

/// What one [`Checkout::recover`] call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryReport {
    /// Orders finished.
    pub confirmed: Vec<OrderId>,
    /// Orders undone.
    pub cancelled: Vec<OrderId>,
    /// Orders that could not be resolved now (gateway or store down); they stay
    /// pending (or keep their payment action) and the next pass tries again.
    pub failed: Vec<(OrderId, String)>,
    /// Orders whose recorded payment action (capture, cancel, refund) the
    /// reconciliation part of the pass finished ([`Checkout::reconcile`]).
    pub reconciled: Vec<OrderId>,
}

impl Checkout {
    /// Resolves up to [`super::CheckoutConfig::recovery_batch`] orders stuck in
    /// `PendingPayment` since before `now - recovery_grace`, oldest first. Run it
    /// periodically (e.g. every minute) from any number of processes: every step is
    /// idempotent and the final order update is version-checked.
    ///
    /// For each order the payment is looked up by its idempotency key:
    /// - authorized (or captured): the reservation is committed (re-reserved under a
    ///   new id when it was released or expired; when the stock is gone the payment
    ///   is voided and the order cancelled with `ReservationExpired`), the order is
    ///   confirmed — no second charge, ever;
    /// - declined: the stock is released and the order cancelled with the decline;
    /// - unknown to the gateway, voided or refunded: the stock is released and the
    ///   order cancelled as `Abandoned`.
    ///
    /// Then it reconciles payments ([`Checkout::reconcile`]): every capture, cancel
    /// or refund recorded and not seen to finish, when due, for confirmed orders as
    /// much as pending ones. A failure of one order never stops the pass.
    pub async fn recover(&self, now: DateTime<Utc>) -> Result<RecoveryReport> {
        let cutoff = before(now, self.config.recovery_grace, "recovery_grace")?;
        let stuck = self
            .orders
            .list_recoverable(cutoff, self.config.recovery_batch)
            .await?;
        let mut report = RecoveryReport::default();
        for order in stuck {
            let id = order.id;
            match self.recover_order(order).await {
                Ok(RecoveryOutcome::Confirmed) => report.confirmed.push(id),
                Ok(RecoveryOutcome::Cancelled(_)) => report.cancelled.push(id),
                Ok(RecoveryOutcome::AlreadyResolved) => {}
                Err(e) => report.failed.push((id, e.to_string())),
            }
        }
        let reconciled = self.reconcile(now).await?;
        report.reconciled = reconciled.settled;
        report.failed.extend(reconciled.failed);
        Ok(report)
    }

    /// Resolves one pending order now, whatever its age (see [`Checkout::recover`]).
    pub async fn recover_order(&self, order: Order) -> Result<RecoveryOutcome> {
        if order.status != OrderStatus::PendingPayment {
            return Ok(RecoveryOutcome::AlreadyResolved);
        }
        let now = self.clock.now();
        let record = self
            .payments
            .lookup_by_idempotency_key(&order.payment.idempotency_key)
            .await?;
        let Some(record) = record else {
            return self.cancelled(self.fail(order, CancelReason::Abandoned, None).await);
        };
        if let Some(decline) = &record.decline {
            let reason = CancelReason::PaymentDeclined {
                reason: decline.reason,
                message: decline.message.clone(),
            };
            return self.cancelled(self.fail(order, reason, Some(decline)).await);
        }
        let Some(auth) = record.authorization(now) else {
            return self.cancelled(self.fail(order, CancelReason::Abandoned, None).await);
        };
        match record.status {
            GatewayPaymentStatus::Authorized | GatewayPaymentStatus::Captured => {
                match self.finish(order, &auth, None, false).await {
                    Ok(o) if o.status == OrderStatus::Confirmed => Ok(RecoveryOutcome::Confirmed),
                    Ok(o) => Ok(o
                        .cancel_reason
                        .map_or(RecoveryOutcome::AlreadyResolved, RecoveryOutcome::Cancelled)),
                    Err(e) => self.cancelled(e),
                }
            }
            GatewayPaymentStatus::Voided => {
                // Voided by an undo that crashed before cancelling: record it, cancel.
                let now = self.clock.now();
                let mut t = Transitioned::unchanged(order.clone());
                if t.order.payment.status == PaymentStatus::Pending {
                    t = t.then(|o| o.record_authorization(&auth, now))?;
                }
                t = t.then(|o| o.record_void(now))?;
                let voided = self.store(&order, t).await?;
                self.cancelled(self.fail(voided, CancelReason::Abandoned, None).await)
            }
            GatewayPaymentStatus::Refunded | GatewayPaymentStatus::Declined => {
                self.cancelled(self.fail(order, CancelReason::Abandoned, None).await)
            }
        }
    }

    /// Maps the error `fail` returns: `CheckoutFailed` means the cancel happened.
    fn cancelled(&self, e: Error) -> Result<RecoveryOutcome> {
        match e {
            Error::CheckoutFailed { reason, .. } => Ok(RecoveryOutcome::Cancelled(reason)),
            other => Err(other),
        }
    }
}
