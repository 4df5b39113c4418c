//! The fingerprint of a checkout request, stored on the order beside its idempotency
//! key: a key reused with another request is an error, never the old order (as with
//! Stripe's idempotency keys).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use commerce_cart::Cart;
use commerce_core::Money;

use crate::error::{Error, Result};
use crate::payment::PaymentMethodKind;

use super::CheckoutRequest;

/// What a checkout asked for, as two SHA-256 digests (hex).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestFingerprint {
    /// The request itself: email, shipping and billing addresses, shipping method,
    /// payment method kind, promotion codes.
    pub request: String,
    /// What was bought: the cart's lines (SKU and quantity) and the grand total.
    pub cart: String,
}

fn sha256_hex(value: &impl Serialize) -> Result<String> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::backend(e.to_string()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The digest of the request part (no cart needed: a retry after the cart was cleared
/// can still be compared).
pub(crate) fn request_digest(request: &CheckoutRequest, email: &str) -> Result<String> {
    let billing = request
        .billing_address
        .as_ref()
        .unwrap_or(&request.shipping_address);
    let kind: PaymentMethodKind = request.payment_method.kind();
    let mut promos: Vec<String> = request
        .promo_codes
        .iter()
        .map(|c| c.trim().to_ascii_uppercase())
        .collect();
    promos.sort();
    promos.dedup();
    sha256_hex(&(
        email,
        &request.shipping_address,
        billing,
        request.shipping_method.as_str(),
        kind,
        promos,
    ))
}

/// The digest of what is bought.
pub(crate) fn cart_digest(cart: &Cart, grand_total: Money) -> Result<String> {
    let lines: Vec<(&str, u32)> = cart
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity))
        .collect();
    sha256_hex(&(lines, grand_total))
}

impl RequestFingerprint {
    pub(crate) fn new(request: String, cart: String) -> Self {
        RequestFingerprint { request, cart }
    }

    /// Whether a repeated request matches this (stored) one: the request digests are
    /// equal, and so are the cart digests when the repeat could price its cart (a
    /// retry after success finds the cart cleared and is compared on the request).
    pub(crate) fn matches(&self, request: &str, cart: Option<&str>) -> bool {
        self.request == request && cart.is_none_or(|c| c == self.cart)
    }
}
