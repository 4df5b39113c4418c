//! The error type of `commerce-orders`.

use commerce_core::{BoxError, Money, Sku};

use crate::id::OrderId;
use crate::machine::MachineState;
use crate::model::CancelReason;
use crate::payment::DeclineReason;

/// Errors of orders, payments and checkout.
///
/// Each variant is something a caller can act on. [`Error::GatewayUnavailable`] means
/// the outcome of a payment call is unknown: the payment must be looked up by its
/// idempotency key (checkout's recovery pass does this).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A state machine was asked for a transition it does not allow; nothing changed.
    #[error("illegal {} transition from {from} to {to}", from.machine())]
    IllegalTransition {
        /// The current state (names the machine).
        from: MachineState,
        /// The state asked for.
        to: MachineState,
    },
    /// An order (or another entity) does not exist, or is not the caller's to see.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Kind of entity.
        entity: &'static str,
        /// Its id as text.
        id: String,
    },
    /// A concurrent change won (stale `expected_version`), or a key was reused for a
    /// different request. Reload and retry.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Invalid input; `field` names the offending field.
    #[error("invalid {field}: {message}")]
    Validation {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A checkout idempotency key the same buyer already used for a different request
    /// (another cart content, amount, address, shipping or payment method kind): the
    /// old order is not returned. Use a new key for a new checkout.
    #[error("idempotency key {key} was already used for a different checkout request")]
    IdempotencyKeyReused {
        /// The key as the client sent it.
        key: String,
    },
    /// The actor may not do this at all (a seller or staff member checking out, a
    /// guest paying with store credit...). Access to something owned by someone else
    /// is [`Error::NotFound`] instead, so its existence does not leak.
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    /// Checkout of a cart with no lines.
    #[error("the cart is empty")]
    EmptyCart,
    /// No configured shipping method has this code.
    #[error("unknown shipping method {0:?}")]
    UnknownShippingMethod(String),
    /// No configured promotion has this code.
    #[error("unknown promotion code {0:?}")]
    UnknownPromotion(String),
    /// The promotion's usage limit is reached (in total, or for this buyer when
    /// `per_customer`): nothing was written, no stock held, the cart untouched.
    #[error("promotion {code} has been used up{}", if *per_customer { " for this customer" } else { "" })]
    PromotionExhausted {
        /// The code as configured.
        code: String,
        /// True when the buyer's own limit is reached, false for the total limit.
        per_customer: bool,
    },
    /// A SKU in the cart cannot be bought (unknown, or its product is not active).
    #[error("{0} cannot be bought")]
    NotPurchasable(Sku),
    /// The order breaks a configured checkout limit.
    #[error("checkout limit exceeded: {0}")]
    LimitExceeded(String),
    /// A checkout created order `order_id` and then had to cancel it for `reason`
    /// (out of stock, payment declined, ...). Retrying with the same idempotency key
    /// returns this same error; a new attempt needs a new key.
    #[error("checkout failed, order {order_id} cancelled: {reason}")]
    CheckoutFailed {
        /// The cancelled order.
        order_id: OrderId,
        /// Why it was cancelled.
        reason: CancelReason,
    },
    /// The payment gateway declined the payment.
    #[error("payment declined ({reason:?}): {message}")]
    PaymentDeclined {
        /// Machine-readable reason.
        reason: DeclineReason,
        /// Message for the shopper.
        message: String,
    },
    /// A refund larger than what is left to refund.
    #[error("refund of {requested} exceeds the refundable {refundable}")]
    RefundExceedsCaptured {
        /// Amount asked for.
        requested: Money,
        /// Captured minus already refunded.
        refundable: Money,
    },
    /// A shipment of more units of a SKU than remain to ship.
    #[error("cannot ship {requested} of {sku}: {remaining} left to ship")]
    ShipmentExceedsOrder {
        /// The SKU.
        sku: Sku,
        /// Units asked for.
        requested: u32,
        /// Units ordered and not shipped yet.
        remaining: u32,
    },
    /// Not enough stock (from the inventory store).
    #[error("insufficient stock for {sku}: requested {requested}, available {available}")]
    InsufficientStock {
        /// The SKU that is short.
        sku: Sku,
        /// Quantity asked for.
        requested: u64,
        /// Quantity available.
        available: u64,
    },
    /// Pricing, money or catalog failed (currency mismatch, not serviceable, ...).
    #[error(transparent)]
    Core(commerce_core::Error),
    /// The inventory store failed in a way not covered above.
    #[error("inventory: {0}")]
    Inventory(#[source] commerce_inventory::Error),
    /// The cart store failed.
    #[error("cart: {0}")]
    Cart(#[source] commerce_cart::Error),
    /// The payment gateway could not be reached or failed mid-call: the outcome is
    /// unknown. Look the payment up by its idempotency key before doing anything else.
    #[error("payment gateway unavailable: {0}")]
    GatewayUnavailable(#[source] BoxError),
    /// A signed request (a carrier's tracking webhook) whose signature is missing or
    /// does not match: reject it (HTTP 401).
    #[error("invalid signature")]
    InvalidSignature,
    /// A storage backend failed.
    #[error("backend error: {0}")]
    Backend(#[source] BoxError),
    /// A store is busy or unreachable for now (e.g. a transaction kept hitting
    /// serialization failures or deadlocks and gave up): retry the same call later
    /// (with the same idempotency key). Never means that another writer won.
    #[error("unavailable, try again: {0}")]
    Unavailable(#[source] BoxError),
}

impl Error {
    /// Shorthand for [`Error::Validation`].
    pub fn validation(field: &'static str, message: impl Into<String>) -> Self {
        Error::Validation {
            field,
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(entity: &'static str, id: impl ToString) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// Wraps a storage backend error.
    pub fn backend(e: impl Into<BoxError>) -> Self {
        Error::Backend(e.into())
    }

    /// Wraps the reason a store is unavailable for now ([`Error::Unavailable`]).
    pub fn unavailable(e: impl Into<BoxError>) -> Self {
        Error::Unavailable(e.into())
    }

    /// True when repeating the same call later may succeed: a store or the gateway
    /// was unavailable ([`Error::Unavailable`], [`Error::GatewayUnavailable`], or one
    /// of them inside a wrapped error).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unavailable(_) | Error::GatewayUnavailable(_) => true,
            Error::Core(e) => e.is_retryable(),
            Error::Inventory(e) => e.is_retryable(),
            Error::Cart(e) => e.is_retryable(),
            _ => false,
        }
    }

    /// True for a conflict with another writer or an earlier request
    /// ([`Error::Conflict`], or a conflict of a store inside a wrapped error).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Error::Conflict(_)
                | Error::Core(commerce_core::Error::Conflict(_))
                | Error::Inventory(commerce_inventory::Error::Conflict(_))
        )
    }

    /// Wraps a payment gateway transport error.
    pub fn gateway_unavailable(e: impl Into<BoxError>) -> Self {
        Error::GatewayUnavailable(e.into())
    }
}

/// A core store that failed or was unavailable stays [`Error::Backend`] or
/// [`Error::Unavailable`]; every other core error (money, pricing, conflicts) is
/// [`Error::Core`].
impl From<commerce_core::Error> for Error {
    fn from(e: commerce_core::Error) -> Self {
        match e {
            commerce_core::Error::Backend(b) => Error::Backend(b),
            commerce_core::Error::Unavailable(b) => Error::Unavailable(b),
            other => Error::Core(other),
        }
    }
}

impl From<commerce_inventory::Error> for Error {
    fn from(e: commerce_inventory::Error) -> Self {
        match e {
            commerce_inventory::Error::InsufficientStock {
                sku,
                requested,
                available,
            } => Error::InsufficientStock {
                sku,
                requested,
                available,
            },
            commerce_inventory::Error::Backend(b) => Error::Backend(b),
            commerce_inventory::Error::Unavailable(b) => Error::Unavailable(b),
            other => Error::Inventory(other),
        }
    }
}

impl From<commerce_cart::Error> for Error {
    fn from(e: commerce_cart::Error) -> Self {
        match e {
            commerce_cart::Error::Pricing(p) => Error::Core(p),
            commerce_cart::Error::UnknownSku { sku } => Error::NotPurchasable(sku),
            commerce_cart::Error::NotPurchasable { sku, .. } => Error::NotPurchasable(sku),
            commerce_cart::Error::Backend(b) => Error::Backend(b),
            commerce_cart::Error::Unavailable(b) => Error::Unavailable(b),
            other => Error::Cart(other),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
