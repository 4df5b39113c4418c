//! The `PaymentGateway` port: authorize, capture, void, refund, and look a payment up
//! by its idempotency key.
//!
//! Every call that moves money is idempotent: `authorize` by the request's
//! idempotency key, `refund` by its own key, `capture` and `void` by the payment they
//! act on. A caller that got [`crate::Error::GatewayUnavailable`] does not know
//! whether the call happened; it looks the payment up with
//! [`PaymentGateway::lookup_by_idempotency_key`] (or simply repeats the call with the
//! same key) and never charges twice.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use commerce_core::{CustomerId, Money};

use crate::error::Result;
use crate::id::IdempotencyKey;

/// How the shopper pays, with the details the gateway needs.
///
/// Holds secrets (card number, CVC, wallet token): never stored on an order (the order
/// keeps a [`PaymentMethodSummary`]) and redacted by `Debug`. Not `Serialize`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentMethod {
    /// A payment card.
    Card {
        /// Card number, digits only (spaces are ignored).
        number: String,
        /// Expiry month, 1 to 12.
        expiry_month: u8,
        /// Expiry year, four digits.
        expiry_year: u16,
        /// Card verification code.
        cvc: String,
    },
    /// A wallet payment (Apple Pay, Google Pay, PayPal, ...) by a one-time token.
    Wallet {
        /// Wallet provider, e.g. `apple_pay`.
        provider: String,
        /// Token issued by the wallet for this payment.
        token: String,
    },
    /// A gift card with a balance, found by its code (a secret: whoever holds the
    /// code may spend the card).
    GiftCard {
        /// The card's code.
        code: String,
    },
    /// The store credit of the acting customer. The account is never named by the
    /// request: the checkout charges the customer it acts for
    /// ([`AuthorizeRequest::customer_id`]); a guest cannot pay with store credit.
    StoreCredit,
    /// Cash paid to the courier on delivery: authorized without funds, captured when
    /// the order is delivered.
    CashOnDelivery,
}

impl PaymentMethod {
    /// The kind of method.
    pub fn kind(&self) -> PaymentMethodKind {
        match self {
            PaymentMethod::Card { .. } => PaymentMethodKind::Card,
            PaymentMethod::Wallet { .. } => PaymentMethodKind::Wallet,
            PaymentMethod::GiftCard { .. } => PaymentMethodKind::GiftCard,
            PaymentMethod::StoreCredit => PaymentMethodKind::StoreCredit,
            PaymentMethod::CashOnDelivery => PaymentMethodKind::CashOnDelivery,
        }
    }

    /// What may be stored and shown: the kind and a label without secrets, e.g.
    /// `card ending 4242`.
    pub fn summary(&self) -> PaymentMethodSummary {
        fn last4(s: &str) -> String {
            let digits: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
            digits[digits.len().saturating_sub(4)..].iter().collect()
        }
        let label = match self {
            PaymentMethod::Card { number, .. } => format!("card ending {}", last4(number)),
            PaymentMethod::Wallet { provider, .. } => format!("wallet {provider}"),
            PaymentMethod::GiftCard { code } => format!("gift card ending {}", last4(code)),
            PaymentMethod::StoreCredit => "store credit".to_owned(),
            PaymentMethod::CashOnDelivery => "cash on delivery".to_owned(),
        };
        PaymentMethodSummary {
            kind: self.kind(),
            label,
        }
    }
}

impl fmt::Debug for PaymentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentMethod({})", self.summary().label)
    }
}

/// The kind of a payment method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentMethodKind {
    /// A payment card.
    Card,
    /// A wallet.
    Wallet,
    /// A gift card.
    GiftCard,
    /// Store credit.
    StoreCredit,
    /// Cash on delivery.
    CashOnDelivery,
}

impl PaymentMethodKind {
    /// True when the money is only taken on delivery (cash on delivery): such payments
    /// are captured when the order is delivered, never before.
    pub fn captures_on_delivery(self) -> bool {
        matches!(self, PaymentMethodKind::CashOnDelivery)
    }
}

/// A payment method as stored on an order: no secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethodSummary {
    /// The kind.
    pub kind: PaymentMethodKind,
    /// Label for people, e.g. `card ending 4242`.
    pub label: String,
}

/// The gateway's id of a payment (its authorization).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PaymentReference(pub String);

impl fmt::Display for PaymentReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PaymentReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentReference({})", self.0)
    }
}

/// A request to hold `amount` on `method`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizeRequest {
    /// Makes the call idempotent: the same key returns the first call's outcome
    /// (authorized or declined) and never holds or charges again. Reusing a key with
    /// another amount is a `Conflict`.
    pub idempotency_key: IdempotencyKey,
    /// Amount to hold (rounded to the minor unit, positive).
    pub amount: Money,
    /// How to pay.
    pub method: PaymentMethod,
    /// What the payment is for (the order id), shown in the gateway's dashboard.
    pub reference: String,
    /// The customer paying, set by the checkout from the actor (`None` for a guest).
    /// Store credit is drawn from this account and no other.
    pub customer_id: Option<CustomerId>,
}

impl AuthorizeRequest {
    /// A request to hold `amount` with `method` for `reference`, by a guest (see
    /// [`AuthorizeRequest::for_customer`]).
    pub fn new(
        idempotency_key: IdempotencyKey,
        amount: Money,
        method: PaymentMethod,
        reference: impl Into<String>,
    ) -> Self {
        AuthorizeRequest {
            idempotency_key,
            amount,
            method,
            reference: reference.into(),
            customer_id: None,
        }
    }

    /// Paid by `customer_id` (whose store credit the method may draw on).
    #[must_use]
    pub fn for_customer(mut self, customer_id: Option<CustomerId>) -> Self {
        self.customer_id = customer_id;
        self
    }
}

/// A successful authorization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Authorization {
    /// The gateway's id of the payment; capture, void and refund name it.
    pub payment_reference: PaymentReference,
    /// Amount held.
    pub amount: Money,
    /// The method, without secrets.
    pub method: PaymentMethodSummary,
    /// When the gateway authorized it.
    pub authorized_at: DateTime<Utc>,
}

impl Authorization {
    /// A gateway's approval of `amount` by `method` under `payment_reference`.
    #[must_use]
    pub fn new(
        payment_reference: PaymentReference,
        amount: Money,
        method: PaymentMethodSummary,
        authorized_at: DateTime<Utc>,
    ) -> Self {
        Authorization {
            payment_reference,
            amount,
            method,
            authorized_at,
        }
    }
}

/// Why a payment was declined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeclineReason {
    /// The issuer declined without saying why.
    Declined,
    /// Not enough funds or balance.
    InsufficientFunds,
    /// Malformed or invalid details (bad card number, expired card, unknown gift card).
    InvalidDetails,
    /// The method does not accept this currency.
    CurrencyNotSupported,
}

/// A declined authorization.
///
/// Gateway answers grow (the public API policy of docs/architecture.md), so code
/// outside this crate builds one with [`Decline::new`]:
///
/// ```
/// use commerce_orders::{Decline, DeclineReason};
/// let d = Decline::new(DeclineReason::Declined, "card refused");
/// assert_eq!(d.message, "card refused");
/// ```
///
/// and not with a literal, which does not compile outside the crate (E0639):
///
/// ```compile_fail,E0639
/// use commerce_orders::{Decline, DeclineReason};
/// let d = Decline { reason: DeclineReason::Declined, message: "card refused".into() };
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Decline {
    /// Machine-readable reason.
    pub reason: DeclineReason,
    /// Message for the shopper.
    pub message: String,
}

impl Decline {
    /// A refusal for `reason`, with the gateway's `message`.
    #[must_use]
    pub fn new(reason: DeclineReason, message: impl Into<String>) -> Self {
        Decline {
            reason,
            message: message.into(),
        }
    }
}

/// The outcome of [`PaymentGateway::authorize`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthorizeOutcome {
    /// The amount is held.
    Authorized(Authorization),
    /// Nothing is held.
    Declined(Decline),
}

/// A capture of an authorized payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capture {
    /// The payment.
    pub payment_reference: PaymentReference,
    /// Amount taken.
    pub amount: Money,
    /// When.
    pub captured_at: DateTime<Utc>,
}

impl Capture {
    /// `amount` captured on `payment_reference` at `captured_at`.
    #[must_use]
    pub fn new(
        payment_reference: PaymentReference,
        amount: Money,
        captured_at: DateTime<Utc>,
    ) -> Self {
        Capture {
            payment_reference,
            amount,
            captured_at,
        }
    }
}

/// A request to give back part or all of a captured payment; built with
/// [`RefundRequest::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundRequest {
    /// The payment.
    pub payment_reference: PaymentReference,
    /// Makes the refund idempotent: the same key returns the first refund and never
    /// pays out again. Reusing a key with another amount or payment is a `Conflict`.
    pub idempotency_key: IdempotencyKey,
    /// Amount to give back (positive, at most captured minus already refunded).
    pub amount: Money,
}

impl RefundRequest {
    /// Give back `amount` of the payment `payment_reference`, once per
    /// `idempotency_key`.
    pub fn new(
        payment_reference: PaymentReference,
        idempotency_key: IdempotencyKey,
        amount: Money,
    ) -> Self {
        RefundRequest {
            payment_reference,
            idempotency_key,
            amount,
        }
    }
}

/// A completed refund.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefundReceipt {
    /// The gateway's id of the refund.
    pub refund_reference: String,
    /// The payment refunded.
    pub payment_reference: PaymentReference,
    /// Amount given back by this refund.
    pub amount: Money,
    /// Amount given back by all refunds of the payment so far.
    pub total_refunded: Money,
    /// When.
    pub refunded_at: DateTime<Utc>,
}

impl RefundReceipt {
    /// A refund of `amount` under `refund_reference`, bringing the payment's refunds
    /// to `total_refunded`.
    #[must_use]
    pub fn new(
        refund_reference: impl Into<String>,
        payment_reference: PaymentReference,
        amount: Money,
        total_refunded: Money,
        refunded_at: DateTime<Utc>,
    ) -> Self {
        RefundReceipt {
            refund_reference: refund_reference.into(),
            payment_reference,
            amount,
            total_refunded,
            refunded_at,
        }
    }
}

/// Where a payment is, as the gateway sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GatewayPaymentStatus {
    /// Held, not taken.
    Authorized,
    /// Taken (possibly partly refunded: see `refunded`).
    Captured,
    /// Taken and fully refunded.
    Refunded,
    /// The hold was cancelled.
    Voided,
    /// Declined: nothing held.
    Declined,
}

/// What the gateway knows of the payment made with an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentRecord {
    /// The key of the authorization.
    pub idempotency_key: IdempotencyKey,
    /// The payment's reference (`None` when declined).
    pub payment_reference: Option<PaymentReference>,
    /// Status.
    pub status: GatewayPaymentStatus,
    /// Amount authorized (zero when declined).
    pub authorized: Money,
    /// Amount captured.
    pub captured: Money,
    /// Amount refunded.
    pub refunded: Money,
    /// The method, without secrets.
    pub method: PaymentMethodSummary,
    /// The decline, when declined.
    pub decline: Option<Decline>,
}

impl PaymentRecord {
    /// The authorization this record stands for, when it was authorized (in any later
    /// status as well: captured, refunded or voided).
    pub fn authorization(&self, at: DateTime<Utc>) -> Option<Authorization> {
        self.payment_reference.as_ref().map(|r| Authorization {
            payment_reference: r.clone(),
            amount: self.authorized,
            method: self.method.clone(),
            authorized_at: at,
        })
    }
}

/// A payment service provider.
///
/// Errors: [`crate::Error::GatewayUnavailable`] when the outcome is unknown (a
/// timeout, a dropped connection): repeat the call with the same key or look the
/// payment up; [`crate::Error::NotFound`] for an unknown payment reference;
/// [`crate::Error::Conflict`] for a key reused with a different request or an
/// operation the payment's state forbids (capturing a voided payment, refunding more
/// than was captured is [`crate::Error::RefundExceedsCaptured`]). A decline is not an
/// error: it is [`AuthorizeOutcome::Declined`].
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Holds `request.amount` on the method. Idempotent by `request.idempotency_key`:
    /// a repeated key returns the first outcome (the same authorization, or the same
    /// decline) and holds nothing more, whatever retries or concurrent duplicates
    /// arrive.
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<AuthorizeOutcome>;

    /// Takes `amount` (at most what is authorized; the remainder of the hold is given
    /// back) of an authorized payment. Capturing an already captured payment with the
    /// same amount returns the first capture; a voided or declined payment is a
    /// `Conflict`.
    async fn capture(&self, payment: &PaymentReference, amount: Money) -> Result<Capture>;

    /// Cancels the hold of an authorized payment. Voiding a voided payment is a no-op;
    /// a captured payment is a `Conflict` (refund it instead).
    async fn void(&self, payment: &PaymentReference) -> Result<()>;

    /// Gives back part or all of a captured payment. Idempotent by
    /// `request.idempotency_key`. More than captured minus refunded is
    /// `RefundExceedsCaptured`; a payment not captured is a `Conflict`.
    async fn refund(&self, request: &RefundRequest) -> Result<RefundReceipt>;

    /// The payment authorized (or declined) with `key`, as it is now; `None` when no
    /// authorization with that key ever reached the gateway.
    async fn lookup_by_idempotency_key(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<PaymentRecord>>;
}
