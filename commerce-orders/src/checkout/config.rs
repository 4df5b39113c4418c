//! Checkout configuration and requests.

use chrono::Duration;
use serde::Deserialize;

use commerce_core::pricing::Promotion;
use commerce_core::{Address, Currency, Money, ShippingMethod, TaxTable};
use commerce_inventory::{DEFAULT_RESERVATION_TTL, LocationCode};

use crate::error::{Error, Result};
use crate::id::IdempotencyKey;
use crate::payment::PaymentMethod;

/// When an authorized payment is captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapturePolicy {
    /// At confirmation, in the checkout itself (digital goods, most small shops).
    #[default]
    OnConfirm,
    /// At the first shipment.
    OnShipment,
}

/// Limits a checkout must respect.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CheckoutLimits {
    /// Most lines in one order.
    pub max_lines: u32,
    /// Most units over all lines.
    pub max_units: u64,
    /// Highest grand total accepted, if any.
    pub max_grand_total: Option<Money>,
}

impl Default for CheckoutLimits {
    /// 100 lines, 1000 units, no total limit.
    fn default() -> Self {
        CheckoutLimits {
            max_lines: 100,
            max_units: 1_000,
            max_grand_total: None,
        }
    }
}

/// Everything a checkout needs besides its stores.
///
/// Cash on delivery is always captured on delivery, whatever
/// [`CheckoutConfig::capture`] says.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CheckoutConfig {
    /// Currency of the shop.
    pub currency: Currency,
    /// Tax rates.
    pub tax: TaxTable,
    /// Shipping methods offered, by code.
    pub shipping_methods: Vec<ShippingMethod>,
    /// Promotions that can be applied by code.
    pub promotions: Vec<Promotion>,
    /// Limits.
    pub limits: CheckoutLimits,
    /// How long stock is held for a checkout (default 15 minutes).
    pub reservation_ttl: Duration,
    /// Location stock is reserved from.
    pub location: LocationCode,
    /// When payments are captured.
    pub capture: CapturePolicy,
    /// How long an order must have sat in `PendingPayment` before the recovery pass
    /// touches it. Longer than any checkout takes (default 2 minutes), so recovery
    /// never races a live checkout.
    pub recovery_grace: Duration,
    /// Orders handled per batch of the recovery pass.
    pub recovery_batch: u32,
}

impl CheckoutConfig {
    /// A configuration in `currency` with `tax` and `shipping_methods`, no
    /// promotions and default limits, TTL, location, capture and recovery settings.
    pub fn new(currency: Currency, tax: TaxTable, shipping_methods: Vec<ShippingMethod>) -> Self {
        CheckoutConfig {
            currency,
            tax,
            shipping_methods,
            promotions: Vec::new(),
            limits: CheckoutLimits::default(),
            reservation_ttl: DEFAULT_RESERVATION_TTL,
            location: LocationCode::default_location(),
            capture: CapturePolicy::default(),
            recovery_grace: Duration::minutes(2),
            recovery_batch: 100,
        }
    }

    /// With these promotions.
    #[must_use]
    pub fn with_promotions(mut self, promotions: Vec<Promotion>) -> Self {
        self.promotions = promotions;
        self
    }

    /// With this capture policy.
    #[must_use]
    pub fn with_capture(mut self, capture: CapturePolicy) -> Self {
        self.capture = capture;
        self
    }
}

/// A request to turn the acting buyer's cart into an order: what a buyer sends.
///
/// Whose cart and whose order are not part of it: they come from the
/// [`Actor`](commerce_core::Actor) passed to [`Checkout::checkout`](super::Checkout::checkout)
/// (a guest's cart token, or the signed-in customer), never from a request body.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct CheckoutRequest {
    /// Chosen by the client once per checkout attempt and sent again on every retry:
    /// the same key from the same buyer with the same request always gives the same
    /// order and at most one charge. Keys are scoped to the buyer: the same key from
    /// another buyer is another checkout.
    pub idempotency_key: IdempotencyKey,
    /// Contact email.
    pub email: String,
    /// Where the goods go (decides tax and shipping).
    pub shipping_address: Address,
    /// Where the invoice goes; `None` for the shipping address.
    #[serde(default)]
    pub billing_address: Option<Address>,
    /// Code of the shipping method.
    pub shipping_method: String,
    /// How to pay.
    pub payment_method: PaymentMethod,
    /// Promotion codes entered.
    #[serde(default)]
    pub promo_codes: Vec<String>,
}

impl CheckoutRequest {
    /// A request with no billing address (the shipping address is used) and no
    /// promotion code.
    pub fn new(
        idempotency_key: IdempotencyKey,
        email: impl Into<String>,
        shipping_address: Address,
        shipping_method: impl Into<String>,
        payment_method: PaymentMethod,
    ) -> Self {
        CheckoutRequest {
            idempotency_key,
            email: email.into(),
            shipping_address,
            billing_address: None,
            shipping_method: shipping_method.into(),
            payment_method,
            promo_codes: Vec::new(),
        }
    }

    /// With this billing address.
    #[must_use]
    pub fn with_billing_address(mut self, address: Address) -> Self {
        self.billing_address = Some(address);
        self
    }

    /// With this promotion code added.
    #[must_use]
    pub fn with_promo_code(mut self, code: impl Into<String>) -> Self {
        self.promo_codes.push(code.into());
        self
    }

    /// Checks what can be checked without I/O; returns the normalised email.
    pub(crate) fn validate(&self) -> Result<String> {
        let email = self.email.trim().to_lowercase();
        let well_formed = email.len() <= 254
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !email.chars().any(char::is_whitespace);
        if !well_formed {
            return Err(Error::validation("email", "is not an email address"));
        }
        self.shipping_address.validate()?;
        if let Some(b) = &self.billing_address {
            b.validate()?;
        }
        Ok(email)
    }
}
