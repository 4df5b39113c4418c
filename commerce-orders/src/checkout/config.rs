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
#[non_exhaustive]
pub enum CapturePolicy {
    /// At confirmation, in the checkout itself (digital goods, most small shops).
    #[default]
    OnConfirm,
    /// At the first shipment.
    OnShipment,
}

/// How failed gateway calls of recorded payment actions (capture, cancel, refund) are
/// retried by the reconciliation pass.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PaymentRetry {
    /// Delay before the first retry; doubled after each failed attempt.
    pub first_delay: Duration,
    /// Longest delay between attempts.
    pub max_delay: Duration,
    /// From this many failed attempts on, each failure emits
    /// `payment.action_failing` (an event for admins).
    pub alert_after: u32,
}

impl Default for PaymentRetry {
    /// 30 seconds, doubling up to 1 hour; alert from the 3rd failure.
    fn default() -> Self {
        PaymentRetry {
            first_delay: Duration::seconds(30),
            max_delay: Duration::hours(1),
            alert_after: 3,
        }
    }
}

impl PaymentRetry {
    /// The delay after `failed` failed attempts: `first_delay * 2^failed`, at most
    /// `max_delay` (never overflows).
    pub fn delay(&self, failed: u32) -> Duration {
        let factor = 1i32.checked_shl(failed.min(30)).unwrap_or(i32::MAX);
        self.first_delay
            .checked_mul(factor)
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }
}

/// `now + d`, or a `Validation` error naming `field` when the sum leaves the
/// calendar (a configuration with a huge duration never panics).
pub(crate) fn after(
    now: chrono::DateTime<chrono::Utc>,
    d: Duration,
    field: &'static str,
) -> Result<chrono::DateTime<chrono::Utc>> {
    now.checked_add_signed(d)
        .ok_or_else(|| Error::validation(field, format!("{d} from {now} is out of range")))
}

/// `now - d`, or a `Validation` error naming `field` (see [`after`]).
pub(crate) fn before(
    now: chrono::DateTime<chrono::Utc>,
    d: Duration,
    field: &'static str,
) -> Result<chrono::DateTime<chrono::Utc>> {
    now.checked_sub_signed(d)
        .ok_or_else(|| Error::validation(field, format!("{d} before {now} is out of range")))
}

/// Limits a checkout must respect.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// How failed captures, cancels and refunds are retried (default
    /// [`PaymentRetry::default`]).
    #[serde(default)]
    pub payment_retry: PaymentRetry,
    /// With [`CapturePolicy::OnShipment`], how long after confirmation an
    /// authorization not yet captured by a shipment is captured anyway by the
    /// reconciliation pass, before it expires at the provider (default 6 days;
    /// providers typically hold for 7).
    #[serde(default = "default_authorization_window")]
    pub authorization_window: Duration,
}

fn default_authorization_window() -> Duration {
    Duration::days(6)
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
            payment_retry: PaymentRetry::default(),
            authorization_window: default_authorization_window(),
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
        // The one email rule of the project (registration applies it too).
        let email = commerce_core::address::normalize_email(&self.email);
        if commerce_core::address::check_email(&email).is_err() {
            return Err(Error::validation("email", "must look like name@domain"));
        }
        self.shipping_address.validate()?;
        if let Some(b) = &self.billing_address {
            b.validate()?;
        }
        Ok(email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(email: &str) -> CheckoutRequest {
        let country = commerce_core::CountryCode::new("US").unwrap();
        CheckoutRequest::new(
            IdempotencyKey::new("k").unwrap(),
            email,
            Address::new("Ada", "1 Main St", "Springfield", "12345", country),
            "standard",
            PaymentMethod::Card {
                number: "4242424242424242".into(),
                expiry_month: 12,
                expiry_year: 2030,
                cvc: "123".into(),
            },
        )
    }

    /// Checkout accepts exactly the emails registration (and every `CustomerStore`)
    /// accepts: both apply `commerce_core::address::check_email` after
    /// `normalize_email`. A second rule in checkout fails here.
    #[test]
    fn error_meaning_one_email_rule_for_registration_and_checkout() {
        let long_local = format!("{}@example.com", "a".repeat(250));
        let cases = [
            "ada@example.com",
            "  Ada@Example.COM ",
            "a@b",
            "a@",
            "@b",
            "ab",
            "a b@example.com",
            "a@exa\tmple.com",
            "",
            long_local.as_str(),
            "x@y@z",
        ];
        for email in cases {
            let registration = commerce_core::address::check_email(
                &commerce_core::address::normalize_email(email),
            )
            .is_ok();
            let checkout = request(email).validate();
            assert_eq!(
                checkout.is_ok(),
                registration,
                "{email:?}: checkout {checkout:?}, registration accepts: {registration}"
            );
            if let Ok(normalized) = checkout {
                assert_eq!(normalized, commerce_core::address::normalize_email(email));
            }
        }
    }
}
