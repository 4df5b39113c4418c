//! What happens to an order after checkout: read, cancel, ship, deliver, return,
//! refund.
//!
//! Each operation takes the [`Actor`] and checks it against the order
//! ([`crate::access`]): an actor who may not read the order gets `NotFound`; one who
//! may read it but not do this gets `Forbidden`. Each operation loads the order, calls the gateway (idempotently) when money moves,
//! and stores the transition with its events in one version-checked update. A
//! `Conflict` means another writer changed the order first: repeat the call (the
//! gateway calls are keyed, so a repeat never moves money twice).

use commerce_core::{Actor, Money};

use crate::access;
use crate::error::{Error, Result};
use crate::id::{IdempotencyKey, OrderId};
use crate::lifecycle::Transitioned;
use crate::machine::{OrderStatus, PaymentStatus};
use crate::model::{CancelReason, Order, PaymentAction, PaymentIntent, ShipmentLine};
use crate::payment::Capture;
use crate::ports::OrderPage;

use super::{CapturePolicy, Checkout};

impl Checkout {
    pub(super) async fn load(&self, id: OrderId) -> Result<Order> {
        self.orders
            .get(id)
            .await?
            .ok_or_else(|| Error::not_found("order", id))
    }

    /// Loads the order if `actor` may read it; `NotFound` otherwise.
    pub(super) async fn load_for(&self, actor: &Actor, id: OrderId) -> Result<Order> {
        access::readable(actor, self.orders.get(id).await?, id)
    }

    /// The order with `id` as `actor` may see it: its customer, the guest who placed
    /// it, a seller of one of its lines, or staff. Anyone else gets `NotFound`, as for
    /// an unknown id.
    pub async fn order(&self, actor: &Actor, id: OrderId) -> Result<Order> {
        self.load_for(actor, id).await
    }

    /// The orders of the acting customer, newest first, one keyset page at a time.
    /// A guest has no order history (an empty list: they read an order by id);
    /// sellers and staff are `Forbidden` here (their order lists are other calls).
    pub async fn orders_of(&self, actor: &Actor, page: OrderPage) -> Result<Vec<Order>> {
        match actor {
            Actor::Customer(id) => self.orders.list_for_customer(*id, page).await,
            Actor::Guest(_) => Ok(Vec::new()),
            _ => Err(Error::Forbidden("order history is a customer's")),
        }
    }

    /// Captures the whole authorization of `order` at the gateway.
    pub(super) async fn capture_all(&self, order: &Order) -> Result<Capture> {
        let reference =
            order.payment.provider_reference.as_ref().ok_or_else(|| {
                Error::Conflict(format!("order {} has no authorization", order.id))
            })?;
        self.payments
            .capture(reference, order.payment.authorized)
            .await
    }

    /// Cancels an order before anything shipped, for `actor`: its owner (customer, or
    /// the guest who placed it) with [`CancelReason::CustomerRequested`] only, staff
    /// with any reason. Anyone who may not read the order gets `NotFound`; a seller,
    /// or an owner giving another reason, `Forbidden`.
    ///
    /// The cancel is recorded first (a `Cancel` payment intent); then the payment is
    /// looked up at the gateway and whatever it holds is given back, whatever our
    /// record said (a hold voided, money taken refunded), the order cancelled with
    /// `reason`, and the stock returned (an active reservation released; sold stock
    /// restocked, all lines at once; a commit landing meanwhile is restocked). When a
    /// gateway call fails the error is returned and the recorded cancel is finished
    /// by [`Checkout::reconcile`] (or by calling `cancel` again).
    /// `Conflict` once something shipped; `IllegalTransition` for a completed order.
    ///
    /// The stock goes back only after the order update succeeded, and each return is
    /// exactly once in the inventory store (`release`/`restock` are transitions of
    /// the reservation). Cancelling a cancelled order returns it unchanged after
    /// making sure its stock is back, so a retry after a crash between the update and
    /// the stock return finishes the job.
    pub async fn cancel(&self, actor: &Actor, id: OrderId, reason: CancelReason) -> Result<Order> {
        let order = self.load_for(actor, id).await?;
        let allowed = actor.is_admin()
            || (access::is_owner(actor, &order) && reason == CancelReason::CustomerRequested);
        if !allowed {
            return Err(Error::Forbidden(
                "an order is cancelled by its owner (customer requested) or by staff",
            ));
        }
        self.cancel_loaded(order, reason).await
    }

    async fn cancel_loaded(&self, order: Order, reason: CancelReason) -> Result<Order> {
        if order.status == OrderStatus::Cancelled {
            return self.settle_cancel(order, reason).await;
        }
        order.status.cancel()?;
        if !order.nothing_shipped() {
            return Err(Error::Conflict(format!(
                "order {} has shipments: return it instead",
                order.id
            )));
        }
        // Recorded before any gateway call: from here on the cancel ends in a final
        // state, now or in the reconciliation pass.
        let order = match &order.payment.intent {
            Some(intent) if matches!(intent.action, PaymentAction::Cancel { .. }) => order,
            _ => {
                self.request_action(&order, PaymentAction::Cancel { reason })
                    .await?
            }
        };
        let reason = match &order.payment.intent {
            Some(PaymentIntent {
                action: PaymentAction::Cancel { reason },
                ..
            }) => reason.clone(),
            _ => return Err(Error::Conflict(format!("order {} changed", order.id))),
        };
        self.settle_cancel(order, reason).await
    }

    /// Records a shipment of `lines` (partial shipments by line quantities), by staff
    /// or by the seller of every line shipped. With [`CapturePolicy::OnShipment`] the
    /// authorization is captured first.
    pub async fn ship(
        &self,
        actor: &Actor,
        id: OrderId,
        lines: &[ShipmentLine],
        carrier: Option<String>,
        tracking_number: Option<String>,
    ) -> Result<Order> {
        let order = self.load_for(actor, id).await?;
        access::check_ship(actor, &order, lines)?;
        let now = self.clock.now();
        // Check the shipment before any money moves.
        order.ship(lines, carrier.clone(), tracking_number.clone(), now)?;
        let mut t = Transitioned::unchanged(order.clone());
        if self.config.capture == CapturePolicy::OnShipment
            && order.payment.status == PaymentStatus::Authorized
            && !order.payment.method.kind.captures_on_delivery()
        {
            let capture = self.capture_all(&order).await?;
            t = t.then(|o| o.record_capture(&capture, now))?;
        }
        t = t.then(|o| o.ship(lines, carrier, tracking_number, now))?;
        self.store(&order, t).await
    }

    /// Records delivery of a shipped order (staff, or the seller of all its lines);
    /// captures a payment still authorized (cash on delivery) and completes the order.
    pub async fn deliver(&self, actor: &Actor, id: OrderId) -> Result<Order> {
        let order = self.load_for(actor, id).await?;
        access::check_deliver(actor, &order)?;
        let now = self.clock.now();
        let mut t = order.deliver(now)?;
        if t.order.payment.status == PaymentStatus::Authorized {
            let capture = self.capture_all(&order).await?;
            t = t.then(|o| o.record_capture(&capture, now))?;
        }
        if t.order.payment.status.was_captured() {
            t = t.then(|o| o.complete(now))?;
        }
        self.store(&order, t).await
    }

    /// Records that the goods came back (restocking them is a warehouse decision:
    /// use `InventoryStore::adjust` with `Restock`); refund with [`Checkout::refund`].
    /// Staff only.
    pub async fn mark_returned(&self, actor: &Actor, id: OrderId) -> Result<Order> {
        let order = self.load_for(actor, id).await?;
        access::check_staff(actor, "only staff record returns")?;
        let t = order.mark_returned(self.clock.now())?;
        self.store(&order, t).await
    }

    /// Gives back `amount` of the captured payment, allocated exactly across the
    /// lines and shipping in proportion to what is left of each
    /// ([`Order::plan_refund`]). Idempotent by `key`: a key already recorded on the
    /// order returns the order unchanged; a repeat after a crash gets the same gateway
    /// refund back. Staff only.
    pub async fn refund(
        &self,
        actor: &Actor,
        id: OrderId,
        amount: Money,
        key: IdempotencyKey,
        reason: &str,
    ) -> Result<Order> {
        let order = self.load_for(actor, id).await?;
        access::check_staff(actor, "only staff refund orders")?;
        if order
            .payment
            .refunds
            .iter()
            .any(|r| r.idempotency_key == key)
        {
            return Ok(order);
        }
        if let Some(PaymentIntent {
            action:
                PaymentAction::Refund {
                    idempotency_key,
                    amount,
                    reason,
                },
            ..
        }) = order.payment.intent.clone()
            && idempotency_key == key
        {
            // The same refund, interrupted: finish it.
            return self
                .settle_refund(order, idempotency_key, amount, &reason)
                .await;
        }
        order.plan_refund(amount)?;
        if order.payment.provider_reference.is_none() {
            return Err(Error::Conflict(format!(
                "order {} has no captured payment",
                order.id
            )));
        }
        let action = PaymentAction::Refund {
            idempotency_key: key.clone(),
            amount,
            reason: reason.to_owned(),
        };
        let order = self.request_action(&order, action).await?;
        self.settle_refund(order, key, amount, reason).await
    }
}
