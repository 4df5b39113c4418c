//! The three state machines of an order: [`OrderStatus`], [`PaymentStatus`] and
//! [`FulfilmentStatus`].
//!
//! Each machine lists its legal transitions in one `can_become` table; every typed
//! transition function (`OrderStatus::confirm`, `PaymentStatus::capture`, ...) goes
//! through it and fails with [`Error::IllegalTransition`] naming the machine, the
//! current state and the state asked for. The [`crate::Order`] aggregate combines the
//! three and emits an [`crate::OrderEvent`] for every transition.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which of the three machines a state belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Machine {
    /// [`OrderStatus`].
    Order,
    /// [`PaymentStatus`].
    Payment,
    /// [`FulfilmentStatus`].
    Fulfilment,
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Machine::Order => "order status",
            Machine::Payment => "payment status",
            Machine::Fulfilment => "fulfilment status",
        })
    }
}

/// A state of one of the three machines; carried by [`Error::IllegalTransition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "machine", content = "state", rename_all = "snake_case")]
pub enum MachineState {
    /// An order status.
    Order(OrderStatus),
    /// A payment status.
    Payment(PaymentStatus),
    /// A fulfilment status.
    Fulfilment(FulfilmentStatus),
}

impl MachineState {
    /// The machine the state belongs to.
    pub fn machine(&self) -> Machine {
        match self {
            MachineState::Order(_) => Machine::Order,
            MachineState::Payment(_) => Machine::Payment,
            MachineState::Fulfilment(_) => Machine::Fulfilment,
        }
    }

    /// The state's snake_case name, e.g. `pending_payment`.
    pub fn name(&self) -> &'static str {
        match self {
            MachineState::Order(s) => s.as_str(),
            MachineState::Payment(s) => s.as_str(),
            MachineState::Fulfilment(s) => s.as_str(),
        }
    }
}

impl fmt::Display for MachineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A state machine: a finite set of states and a table of legal transitions.
pub trait StateMachine: Copy + Eq + fmt::Debug + 'static {
    /// Every state, in declaration order.
    const ALL: &'static [Self];
    /// The state the machine starts in.
    const INITIAL: Self;
    /// Whether `self -> to` is a legal transition. Self-loops are legal only where
    /// listed (a second partial shipment, a second partial refund).
    fn can_become(self, to: Self) -> bool;
    /// Wraps the state for error reporting.
    fn state(self) -> MachineState;
    /// True when no transition leaves the state.
    fn is_final(self) -> bool {
        !Self::ALL.iter().any(|&to| self.can_become(to))
    }
    /// `to` when `self -> to` is legal, else [`Error::IllegalTransition`].
    fn transition(self, to: Self) -> Result<Self> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(Error::IllegalTransition {
                from: self.state(),
                to: to.state(),
            })
        }
    }
}

/// Where an order is in its life.
///
/// ```text
/// PendingPayment -> Confirmed -> Completed
///        \              \
///         `-> Cancelled <-'
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OrderStatus {
    /// Placed; stock is being reserved and payment authorized.
    PendingPayment,
    /// Paid (authorized) and its stock sold; to be shipped.
    Confirmed,
    /// Delivered and paid; nothing left to do (returns and refunds may still follow).
    Completed,
    /// Cancelled before shipment; stock given back, no money held.
    Cancelled,
}

impl OrderStatus {
    /// Snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }
    /// `PendingPayment -> Confirmed`.
    pub fn confirm(self) -> Result<Self> {
        self.transition(OrderStatus::Confirmed)
    }
    /// `Confirmed -> Completed`.
    pub fn complete(self) -> Result<Self> {
        self.transition(OrderStatus::Completed)
    }
    /// `PendingPayment | Confirmed -> Cancelled`.
    pub fn cancel(self) -> Result<Self> {
        self.transition(OrderStatus::Cancelled)
    }
}

impl StateMachine for OrderStatus {
    const ALL: &'static [Self] = &[
        OrderStatus::PendingPayment,
        OrderStatus::Confirmed,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ];
    const INITIAL: Self = OrderStatus::PendingPayment;
    fn can_become(self, to: Self) -> bool {
        use OrderStatus::*;
        matches!(
            (self, to),
            (PendingPayment, Confirmed)
                | (PendingPayment, Cancelled)
                | (Confirmed, Completed)
                | (Confirmed, Cancelled)
        )
    }
    fn state(self) -> MachineState {
        MachineState::Order(self)
    }
}

/// Where the order's payment is.
///
/// ```text
/// Pending -> Authorized -> Captured -> PartiallyRefunded -> Refunded
///    |           |             `---------------------------^
///    v           v
///  Failed      Voided
/// ```
/// `PartiallyRefunded -> PartiallyRefunded` is legal (another partial refund).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentStatus {
    /// Not authorized yet.
    Pending,
    /// Funds held by the gateway, not taken.
    Authorized,
    /// Funds taken.
    Captured,
    /// Part of the captured amount given back.
    PartiallyRefunded,
    /// All of the captured amount given back.
    Refunded,
    /// The authorization was cancelled; nothing was taken.
    Voided,
    /// The authorization was declined; nothing is held.
    Failed,
}

impl PaymentStatus {
    /// Snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Captured => "captured",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::Voided => "voided",
            PaymentStatus::Failed => "failed",
        }
    }
    /// `Pending -> Authorized`.
    pub fn authorize(self) -> Result<Self> {
        self.transition(PaymentStatus::Authorized)
    }
    /// `Pending -> Failed`.
    pub fn fail(self) -> Result<Self> {
        self.transition(PaymentStatus::Failed)
    }
    /// `Authorized -> Captured`.
    pub fn capture(self) -> Result<Self> {
        self.transition(PaymentStatus::Captured)
    }
    /// `Authorized -> Voided`.
    pub fn void(self) -> Result<Self> {
        self.transition(PaymentStatus::Voided)
    }
    /// `Captured | PartiallyRefunded -> PartiallyRefunded` (`fully == false`) or
    /// `-> Refunded` (`fully == true`).
    pub fn refund(self, fully: bool) -> Result<Self> {
        self.transition(if fully {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::PartiallyRefunded
        })
    }
    /// True while the gateway holds or has taken money that was not given back
    /// (`Authorized`, `Captured`, `PartiallyRefunded`).
    pub fn holds_money(self) -> bool {
        matches!(
            self,
            PaymentStatus::Authorized | PaymentStatus::Captured | PaymentStatus::PartiallyRefunded
        )
    }
    /// True once funds were taken (`Captured`, `PartiallyRefunded`, `Refunded`).
    pub fn was_captured(self) -> bool {
        matches!(
            self,
            PaymentStatus::Captured | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded
        )
    }
}

impl StateMachine for PaymentStatus {
    const ALL: &'static [Self] = &[
        PaymentStatus::Pending,
        PaymentStatus::Authorized,
        PaymentStatus::Captured,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
        PaymentStatus::Voided,
        PaymentStatus::Failed,
    ];
    const INITIAL: Self = PaymentStatus::Pending;
    fn can_become(self, to: Self) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, to),
            (Pending, Authorized)
                | (Pending, Failed)
                | (Authorized, Captured)
                | (Authorized, Voided)
                | (Captured, PartiallyRefunded)
                | (Captured, Refunded)
                | (PartiallyRefunded, PartiallyRefunded)
                | (PartiallyRefunded, Refunded)
        )
    }
    fn state(self) -> MachineState {
        MachineState::Payment(self)
    }
}

/// Where the order's goods are.
///
/// ```text
/// Unfulfilled -> PartiallyShipped -> Shipped -> Delivered -> Returned
///      `-------------------------------^          `-> Returned
/// ```
/// `PartiallyShipped -> PartiallyShipped` is legal (another partial shipment);
/// `Shipped -> Returned` covers a parcel returned to sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FulfilmentStatus {
    /// Nothing shipped.
    Unfulfilled,
    /// Some units shipped, some not.
    PartiallyShipped,
    /// Every unit shipped.
    Shipped,
    /// Every unit delivered.
    Delivered,
    /// The goods came back.
    Returned,
}

impl FulfilmentStatus {
    /// Snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            FulfilmentStatus::Unfulfilled => "unfulfilled",
            FulfilmentStatus::PartiallyShipped => "partially_shipped",
            FulfilmentStatus::Shipped => "shipped",
            FulfilmentStatus::Delivered => "delivered",
            FulfilmentStatus::Returned => "returned",
        }
    }
    /// `Unfulfilled | PartiallyShipped -> PartiallyShipped` (`complete == false`) or
    /// `-> Shipped` (`complete == true`).
    pub fn ship(self, complete: bool) -> Result<Self> {
        self.transition(if complete {
            FulfilmentStatus::Shipped
        } else {
            FulfilmentStatus::PartiallyShipped
        })
    }
    /// `Shipped -> Delivered`.
    pub fn deliver(self) -> Result<Self> {
        self.transition(FulfilmentStatus::Delivered)
    }
    /// `Shipped | Delivered -> Returned`.
    pub fn mark_returned(self) -> Result<Self> {
        self.transition(FulfilmentStatus::Returned)
    }
}

impl StateMachine for FulfilmentStatus {
    const ALL: &'static [Self] = &[
        FulfilmentStatus::Unfulfilled,
        FulfilmentStatus::PartiallyShipped,
        FulfilmentStatus::Shipped,
        FulfilmentStatus::Delivered,
        FulfilmentStatus::Returned,
    ];
    const INITIAL: Self = FulfilmentStatus::Unfulfilled;
    fn can_become(self, to: Self) -> bool {
        use FulfilmentStatus::*;
        matches!(
            (self, to),
            (Unfulfilled, PartiallyShipped)
                | (Unfulfilled, Shipped)
                | (PartiallyShipped, PartiallyShipped)
                | (PartiallyShipped, Shipped)
                | (Shipped, Delivered)
                | (Shipped, Returned)
                | (Delivered, Returned)
        )
    }
    fn state(self) -> MachineState {
        MachineState::Fulfilment(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn illegal_transitions_name_the_machine() {
        let err = OrderStatus::Cancelled.confirm().unwrap_err();
        match err {
            Error::IllegalTransition { from, to } => {
                assert_eq!(from, MachineState::Order(OrderStatus::Cancelled));
                assert_eq!(to, MachineState::Order(OrderStatus::Confirmed));
                assert_eq!(from.machine(), Machine::Order);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            PaymentStatus::Pending.capture().unwrap_err().to_string(),
            "illegal payment status transition from pending to captured"
        );
    }

    #[test]
    fn final_states() {
        assert!(OrderStatus::Cancelled.is_final());
        assert!(OrderStatus::Completed.is_final());
        assert!(!OrderStatus::Confirmed.is_final());
        for s in [
            PaymentStatus::Refunded,
            PaymentStatus::Voided,
            PaymentStatus::Failed,
        ] {
            assert!(s.is_final());
        }
        assert!(FulfilmentStatus::Returned.is_final());
        assert!(!FulfilmentStatus::Delivered.is_final());
    }
}
