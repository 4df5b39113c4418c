//! [`SimulatedGateway`]: an exact, in-memory [`PaymentGateway`] with test card
//! numbers, wallets, gift cards and store credit with balances, cash on delivery, and
//! (feature `testkit`) fault injection for recovery tests. Feature `simulated`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};

use commerce_core::{Clock, CustomerId, Money, SystemClock};

use crate::error::{Error, Result};
use crate::id::IdempotencyKey;
use crate::payment::{
    Authorization, AuthorizeOutcome, AuthorizeRequest, Capture, Decline, DeclineReason,
    GatewayPaymentStatus, PaymentGateway, PaymentMethod, PaymentRecord, PaymentReference,
    RefundReceipt, RefundRequest,
};

/// Test card numbers of the [`SimulatedGateway`]. Any other Luhn-valid number of 12
/// to 19 digits with a future expiry is approved.
pub mod test_cards {
    /// Approved.
    pub const APPROVED: &str = "4242424242424242";
    /// Declined by the issuer ([`crate::DeclineReason::Declined`]).
    pub const DECLINED: &str = "4000000000000002";
    /// Declined for insufficient funds.
    pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
    /// Declined as expired ([`crate::DeclineReason::InvalidDetails`]).
    pub const EXPIRED: &str = "4000000000000069";
}

/// Wallet tokens starting with this prefix are declined by the [`SimulatedGateway`].
pub const DECLINED_WALLET_TOKEN_PREFIX: &str = "tok_decline";

#[cfg(feature = "testkit")]
pub use faults::{FaultTiming, GatewayOperation};
#[cfg(not(feature = "testkit"))]
use faults::{FaultTiming, GatewayOperation};

/// Fault injection: public with feature `testkit`, inert (never injected) without.
#[cfg_attr(not(feature = "testkit"), allow(unreachable_pub, dead_code))]
mod faults {
    #[cfg(doc)]
    use crate::payment::PaymentGateway;

    /// An operation of the gateway, for fault injection.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum GatewayOperation {
        /// [`PaymentGateway::authorize`].
        Authorize,
        /// [`PaymentGateway::capture`].
        Capture,
        /// [`PaymentGateway::void`].
        Void,
        /// [`PaymentGateway::refund`].
        Refund,
        /// [`PaymentGateway::lookup_by_idempotency_key`].
        Lookup,
    }

    /// When an injected fault strikes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum FaultTiming {
        /// The call fails with `GatewayUnavailable` before doing anything.
        BeforeProcessing,
        /// The call does its work (holds, charges, refunds) and then fails with
        /// `GatewayUnavailable`, as when the connection drops before the answer arrives:
        /// the caller cannot know the money moved.
        AfterProcessing,
    }
}

/// Counts of what the gateway did, for assertions such as "one charge".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GatewayStats {
    /// `authorize` calls received (retries included).
    pub authorize_calls: u64,
    /// Authorizations granted: distinct holds on a method. A retried key never adds one.
    pub authorizations: u64,
    /// Declines given (distinct keys).
    pub declines: u64,
    /// Captures performed.
    pub captures: u64,
    /// Voids performed.
    pub voids: u64,
    /// Refunds paid out (distinct refund keys).
    pub refunds: u64,
}

/// A balance (gift card or store credit) and the part of it held by authorizations.
#[derive(Clone, Copy, Debug)]
struct Balance {
    balance: Money,
    held: Money,
}

#[derive(Clone, Debug)]
struct Payment {
    record: PaymentRecord,
    /// Balance account charged, for gift cards and store credit.
    account: Option<String>,
    authorized_at: DateTime<Utc>,
    capture: Option<Capture>,
}

#[derive(Clone, Debug)]
struct StoredRefund {
    payment: PaymentReference,
    receipt: RefundReceipt,
}

#[derive(Debug, Default)]
struct State {
    payments: HashMap<IdempotencyKey, Payment>,
    by_reference: HashMap<PaymentReference, IdempotencyKey>,
    refunds: HashMap<IdempotencyKey, StoredRefund>,
    balances: HashMap<String, Balance>,
    faults: Vec<(GatewayOperation, FaultTiming)>,
    stats: GatewayStats,
    next_id: u64,
}

impl State {
    /// Takes the first injected fault for `op`, if any.
    fn take_fault(&mut self, op: GatewayOperation) -> Option<FaultTiming> {
        let i = self.faults.iter().position(|(o, _)| *o == op)?;
        Some(self.faults.remove(i).1)
    }

    fn payment_mut(&mut self, reference: &PaymentReference) -> Result<&mut Payment> {
        let key = self
            .by_reference
            .get(reference)
            .ok_or_else(|| Error::not_found("payment", reference))?;
        self.payments
            .get_mut(key)
            .ok_or_else(|| Error::not_found("payment", reference))
    }
}

/// An in-memory payment gateway that behaves like a real one, exactly:
///
/// - **idempotent**: an `authorize` key seen before returns the first outcome and
///   never holds again; a refund key seen before returns the first refund;
/// - **cards**: Luhn-checked, 12 to 19 digits, a future expiry, 3 or 4 digit CVC;
///   see [`test_cards`] for numbers that decline;
/// - **wallets**: any non-empty token, except those starting with
///   [`DECLINED_WALLET_TOKEN_PREFIX`];
/// - **gift cards and store credit**: balances set with
///   [`SimulatedGateway::add_gift_card`] / [`SimulatedGateway::set_store_credit`];
///   an authorization holds the amount (declined with `InsufficientFunds` when the
///   unheld balance is short), capture takes it, void releases it, refund puts it
///   back;
/// - **cash on delivery**: authorized without funds, captured on delivery;
/// - **fault injection** (feature `testkit`): `SimulatedGateway::inject_fault` makes
///   the next call of an operation fail before or after doing its work.
#[derive(Debug)]
pub struct SimulatedGateway {
    state: Mutex<State>,
    clock: Arc<dyn Clock>,
}

impl Default for SimulatedGateway {
    fn default() -> Self {
        SimulatedGateway::new()
    }
}

fn unavailable(op: GatewayOperation) -> Error {
    Error::gateway_unavailable(format!("simulated gateway fault during {op:?}"))
}

fn decline(reason: DeclineReason, message: &str) -> Decline {
    Decline {
        reason,
        message: message.to_owned(),
    }
}

/// True when `digits` passes the Luhn check.
fn luhn_valid(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl SimulatedGateway {
    /// A gateway on the system clock.
    pub fn new() -> Self {
        SimulatedGateway::with_clock(Arc::new(SystemClock))
    }

    /// A gateway stamping its records with `clock` (and checking card expiry by it).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        SimulatedGateway {
            state: Mutex::new(State::default()),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every operation checks first and changes state last, so a poisoned lock
        // holds consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds (or replaces) a gift card with `balance`.
    pub fn add_gift_card(&self, code: &str, balance: Money) {
        self.lock().balances.insert(
            format!("gift:{code}"),
            Balance {
                balance,
                held: Money::zero(balance.currency()),
            },
        );
    }

    /// Sets the store credit of a customer.
    pub fn set_store_credit(&self, customer_id: CustomerId, balance: Money) {
        self.lock().balances.insert(
            format!("credit:{customer_id}"),
            Balance {
                balance,
                held: Money::zero(balance.currency()),
            },
        );
    }

    /// The balance of a gift card (held amounts included); `None` when unknown.
    pub fn gift_card_balance(&self, code: &str) -> Option<Money> {
        self.lock()
            .balances
            .get(&format!("gift:{code}"))
            .map(|b| b.balance)
    }

    /// The store credit of a customer (held amounts included); `None` when unset.
    pub fn store_credit(&self, customer_id: CustomerId) -> Option<Money> {
        self.lock()
            .balances
            .get(&format!("credit:{customer_id}"))
            .map(|b| b.balance)
    }

    /// Makes the next call of `op` fail with `GatewayUnavailable`, before or after
    /// doing its work. Faults queue up and are used once each. Feature `testkit`.
    #[cfg(feature = "testkit")]
    pub fn inject_fault(&self, op: GatewayOperation, timing: FaultTiming) {
        self.lock().faults.push((op, timing));
    }

    /// Removes every injected fault not used yet. Feature `testkit`.
    #[cfg(feature = "testkit")]
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// What the gateway has done so far.
    pub fn stats(&self) -> GatewayStats {
        self.lock().stats
    }

    /// Checks the method and returns the balance account it draws on, or a decline.
    fn check_method(
        &self,
        state: &State,
        request: &AuthorizeRequest,
        amount: Money,
    ) -> std::result::Result<Option<String>, Decline> {
        match &request.method {
            PaymentMethod::Card {
                number,
                expiry_month,
                expiry_year,
                cvc,
            } => {
                let compact: String = number.chars().filter(|c| !c.is_whitespace()).collect();
                let digits: Option<Vec<u32>> = compact.chars().map(|c| c.to_digit(10)).collect();
                let Some(digits) = digits.filter(|d| (12..=19).contains(&d.len())) else {
                    return Err(decline(
                        DeclineReason::InvalidDetails,
                        "invalid card number",
                    ));
                };
                if !luhn_valid(&digits) {
                    return Err(decline(
                        DeclineReason::InvalidDetails,
                        "invalid card number",
                    ));
                }
                if !(1..=12).contains(expiry_month) {
                    return Err(decline(
                        DeclineReason::InvalidDetails,
                        "invalid expiry month",
                    ));
                }
                let now = self.clock.now();
                let expires = (i32::from(*expiry_year), u32::from(*expiry_month));
                if expires < (now.year(), now.month()) || compact == test_cards::EXPIRED {
                    return Err(decline(DeclineReason::InvalidDetails, "card expired"));
                }
                if !(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(decline(
                        DeclineReason::InvalidDetails,
                        "invalid card verification code",
                    ));
                }
                match compact.as_str() {
                    test_cards::DECLINED => Err(decline(DeclineReason::Declined, "card declined")),
                    test_cards::INSUFFICIENT_FUNDS => Err(decline(
                        DeclineReason::InsufficientFunds,
                        "insufficient funds",
                    )),
                    _ => Ok(None),
                }
            }
            PaymentMethod::Wallet { token, .. } => {
                if token.trim().is_empty() {
                    Err(decline(
                        DeclineReason::InvalidDetails,
                        "missing wallet token",
                    ))
                } else if token.starts_with(DECLINED_WALLET_TOKEN_PREFIX) {
                    Err(decline(DeclineReason::Declined, "wallet payment declined"))
                } else {
                    Ok(None)
                }
            }
            PaymentMethod::GiftCard { code } => {
                let account = format!("gift:{code}");
                let Some(balance) = state.balances.get(&account) else {
                    return Err(decline(DeclineReason::InvalidDetails, "unknown gift card"));
                };
                Self::check_balance(balance, amount)?;
                Ok(Some(account))
            }
            PaymentMethod::StoreCredit => {
                let Some(customer_id) = request.customer_id else {
                    return Err(decline(
                        DeclineReason::InvalidDetails,
                        "store credit needs a signed-in customer",
                    ));
                };
                let account = format!("credit:{customer_id}");
                let Some(balance) = state.balances.get(&account) else {
                    return Err(decline(DeclineReason::InsufficientFunds, "no store credit"));
                };
                Self::check_balance(balance, amount)?;
                Ok(Some(account))
            }
            PaymentMethod::CashOnDelivery => Ok(None),
        }
    }

    fn check_balance(balance: &Balance, amount: Money) -> std::result::Result<(), Decline> {
        if balance.balance.currency() != amount.currency() {
            return Err(decline(
                DeclineReason::CurrencyNotSupported,
                "balance is in another currency",
            ));
        }
        let unheld = balance
            .balance
            .checked_sub(balance.held)
            .map_err(|_| decline(DeclineReason::Declined, "balance unavailable"))?;
        if unheld.amount() < amount.amount() {
            return Err(decline(
                DeclineReason::InsufficientFunds,
                "insufficient balance",
            ));
        }
        Ok(())
    }

    fn adjust_balance(
        state: &mut State,
        account: Option<&String>,
        f: impl FnOnce(&mut Balance) -> Result<()>,
    ) -> Result<()> {
        if let Some(balance) = account.and_then(|a| state.balances.get_mut(a)) {
            let mut next = *balance;
            f(&mut next)?;
            *balance = next;
        }
        Ok(())
    }
}

#[async_trait]
impl PaymentGateway for SimulatedGateway {
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<AuthorizeOutcome> {
        let mut state = self.lock();
        state.stats.authorize_calls += 1;
        let fault = state.take_fault(GatewayOperation::Authorize);
        if fault == Some(FaultTiming::BeforeProcessing) {
            return Err(unavailable(GatewayOperation::Authorize));
        }
        let amount = request.amount;
        if let Some(existing) = state.payments.get(&request.idempotency_key) {
            let same = existing.record.decline.is_some() || existing.record.authorized == amount;
            if !same {
                return Err(Error::Conflict(format!(
                    "idempotency key {} was used for {}",
                    request.idempotency_key, existing.record.authorized
                )));
            }
            let outcome = match (
                &existing.record.decline,
                existing.record.authorization(existing.authorized_at),
            ) {
                (Some(d), _) => AuthorizeOutcome::Declined(d.clone()),
                (None, Some(auth)) => AuthorizeOutcome::Authorized(auth),
                (None, None) => {
                    return Err(Error::backend(
                        "simulated payment without reference or decline",
                    ));
                }
            };
            return match fault {
                Some(_) => Err(unavailable(GatewayOperation::Authorize)),
                None => Ok(outcome),
            };
        }
        if amount.is_negative() || amount.is_zero() || !amount.is_rounded() {
            return Err(Error::validation(
                "amount",
                format!("{amount} is not a positive amount in minor units"),
            ));
        }
        let now = self.clock.now();
        let zero = Money::zero(amount.currency());
        let summary = request.method.summary();
        let outcome = match self.check_method(&state, request, amount) {
            Err(d) => {
                state.stats.declines += 1;
                state.payments.insert(
                    request.idempotency_key.clone(),
                    Payment {
                        record: PaymentRecord {
                            idempotency_key: request.idempotency_key.clone(),
                            payment_reference: None,
                            status: GatewayPaymentStatus::Declined,
                            authorized: zero,
                            captured: zero,
                            refunded: zero,
                            method: summary,
                            decline: Some(d.clone()),
                        },
                        account: None,
                        authorized_at: now,
                        capture: None,
                    },
                );
                AuthorizeOutcome::Declined(d)
            }
            Ok(account) => {
                state.next_id += 1;
                let reference = PaymentReference(format!("sim_pay_{:08}", state.next_id));
                Self::adjust_balance(&mut state, account.as_ref(), |b| {
                    b.held = b.held.checked_add(amount)?;
                    Ok(())
                })?;
                state.stats.authorizations += 1;
                state
                    .by_reference
                    .insert(reference.clone(), request.idempotency_key.clone());
                let auth = Authorization {
                    payment_reference: reference.clone(),
                    amount,
                    method: summary.clone(),
                    authorized_at: now,
                };
                state.payments.insert(
                    request.idempotency_key.clone(),
                    Payment {
                        record: PaymentRecord {
                            idempotency_key: request.idempotency_key.clone(),
                            payment_reference: Some(reference),
                            status: GatewayPaymentStatus::Authorized,
                            authorized: amount,
                            captured: zero,
                            refunded: zero,
                            method: summary,
                            decline: None,
                        },
                        account,
                        authorized_at: now,
                        capture: None,
                    },
                );
                AuthorizeOutcome::Authorized(auth)
            }
        };
        match fault {
            Some(_) => Err(unavailable(GatewayOperation::Authorize)),
            None => Ok(outcome),
        }
    }

    async fn capture(&self, payment: &PaymentReference, amount: Money) -> Result<Capture> {
        let mut state = self.lock();
        let fault = state.take_fault(GatewayOperation::Capture);
        if fault == Some(FaultTiming::BeforeProcessing) {
            return Err(unavailable(GatewayOperation::Capture));
        }
        let now = self.clock.now();
        let p = state.payment_mut(payment)?;
        let capture = match (p.record.status, &p.capture) {
            (GatewayPaymentStatus::Captured | GatewayPaymentStatus::Refunded, Some(c)) => {
                if c.amount != amount {
                    return Err(Error::Conflict(format!(
                        "payment {payment} was captured for {}",
                        c.amount
                    )));
                }
                c.clone()
            }
            (GatewayPaymentStatus::Authorized, _) => {
                if amount.checked_cmp(&p.record.authorized)?.is_gt() || amount.is_negative() {
                    return Err(Error::Conflict(format!(
                        "cannot capture {amount} of an authorization of {}",
                        p.record.authorized
                    )));
                }
                let authorized = p.record.authorized;
                let account = p.account.clone();
                let capture = Capture {
                    payment_reference: payment.clone(),
                    amount,
                    captured_at: now,
                };
                p.record.status = GatewayPaymentStatus::Captured;
                p.record.captured = amount;
                p.capture = Some(capture.clone());
                Self::adjust_balance(&mut state, account.as_ref(), |b| {
                    b.held = b.held.checked_sub(authorized)?;
                    b.balance = b.balance.checked_sub(amount)?;
                    Ok(())
                })?;
                state.stats.captures += 1;
                capture
            }
            (status, _) => {
                return Err(Error::Conflict(format!(
                    "payment {payment} is {status:?}, cannot capture"
                )));
            }
        };
        match fault {
            Some(_) => Err(unavailable(GatewayOperation::Capture)),
            None => Ok(capture),
        }
    }

    async fn void(&self, payment: &PaymentReference) -> Result<()> {
        let mut state = self.lock();
        let fault = state.take_fault(GatewayOperation::Void);
        if fault == Some(FaultTiming::BeforeProcessing) {
            return Err(unavailable(GatewayOperation::Void));
        }
        let p = state.payment_mut(payment)?;
        match p.record.status {
            GatewayPaymentStatus::Voided => {}
            GatewayPaymentStatus::Authorized => {
                p.record.status = GatewayPaymentStatus::Voided;
                let authorized = p.record.authorized;
                let account = p.account.clone();
                Self::adjust_balance(&mut state, account.as_ref(), |b| {
                    b.held = b.held.checked_sub(authorized)?;
                    Ok(())
                })?;
                state.stats.voids += 1;
            }
            status => {
                return Err(Error::Conflict(format!(
                    "payment {payment} is {status:?}, cannot void"
                )));
            }
        }
        match fault {
            Some(_) => Err(unavailable(GatewayOperation::Void)),
            None => Ok(()),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundReceipt> {
        let mut state = self.lock();
        let fault = state.take_fault(GatewayOperation::Refund);
        if fault == Some(FaultTiming::BeforeProcessing) {
            return Err(unavailable(GatewayOperation::Refund));
        }
        let receipt = if let Some(existing) = state.refunds.get(&request.idempotency_key) {
            if existing.payment != request.payment_reference
                || existing.receipt.amount != request.amount
            {
                return Err(Error::Conflict(format!(
                    "refund key {} was used for another refund",
                    request.idempotency_key
                )));
            }
            existing.receipt.clone()
        } else {
            let amount = request.amount;
            if amount.is_negative() || amount.is_zero() || !amount.is_rounded() {
                return Err(Error::validation(
                    "amount",
                    format!("{amount} is not a positive amount in minor units"),
                ));
            }
            let now = self.clock.now();
            state.next_id += 1;
            let refund_reference = format!("sim_ref_{:08}", state.next_id);
            let p = state.payment_mut(&request.payment_reference)?;
            if p.record.status != GatewayPaymentStatus::Captured {
                return Err(Error::Conflict(format!(
                    "payment {} is {:?}, cannot refund",
                    request.payment_reference, p.record.status
                )));
            }
            let refundable = p.record.captured.checked_sub(p.record.refunded)?;
            if amount.checked_cmp(&refundable)?.is_gt() {
                return Err(Error::RefundExceedsCaptured {
                    requested: amount,
                    refundable,
                });
            }
            p.record.refunded = p.record.refunded.checked_add(amount)?;
            if p.record.refunded == p.record.captured {
                p.record.status = GatewayPaymentStatus::Refunded;
            }
            let receipt = RefundReceipt {
                refund_reference,
                payment_reference: request.payment_reference.clone(),
                amount,
                total_refunded: p.record.refunded,
                refunded_at: now,
            };
            let account = p.account.clone();
            Self::adjust_balance(&mut state, account.as_ref(), |b| {
                b.balance = b.balance.checked_add(amount)?;
                Ok(())
            })?;
            state.stats.refunds += 1;
            state.refunds.insert(
                request.idempotency_key.clone(),
                StoredRefund {
                    payment: request.payment_reference.clone(),
                    receipt: receipt.clone(),
                },
            );
            receipt
        };
        match fault {
            Some(_) => Err(unavailable(GatewayOperation::Refund)),
            None => Ok(receipt),
        }
    }

    async fn lookup_by_idempotency_key(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<PaymentRecord>> {
        let mut state = self.lock();
        if state.take_fault(GatewayOperation::Lookup).is_some() {
            return Err(unavailable(GatewayOperation::Lookup));
        }
        Ok(state.payments.get(key).map(|p| p.record.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> Vec<u32> {
        s.chars().filter_map(|c| c.to_digit(10)).collect()
    }

    #[test]
    fn test_cards_pass_luhn() {
        for card in [
            test_cards::APPROVED,
            test_cards::DECLINED,
            test_cards::INSUFFICIENT_FUNDS,
            test_cards::EXPIRED,
        ] {
            assert!(luhn_valid(&digits(card)), "{card}");
        }
        assert!(!luhn_valid(&digits("4242424242424241")));
    }
}
