//! Signed tracking webhooks: HMAC-SHA256 over the raw body with a secret shared with
//! the carrier, sent hex-encoded in a header ([`SIGNATURE_HEADER`]).
//!
//! An HTTP route reads the raw body and the header, calls [`verify`] (a constant-time
//! comparison; a bad or missing signature is [`Error::InvalidSignature`], answered
//! with 401), then [`super::Carrier::parse_webhook`] and
//! [`crate::Checkout::apply_tracking`].

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The header carrying the signature, e.g. `X-Carrier-Signature: sha256=ab12...`.
pub const SIGNATURE_HEADER: &str = "x-carrier-signature";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8]) -> Result<HmacSha256> {
    if secret.is_empty() {
        return Err(Error::validation("secret", "must not be empty"));
    }
    HmacSha256::new_from_slice(secret).map_err(|_| Error::validation("secret", "invalid key"))
}

/// The signature of `body` under `secret`: `sha256=` and the lower-case hex HMAC.
pub fn sign(secret: &[u8], body: &[u8]) -> Result<String> {
    let mut m = mac(secret)?;
    m.update(body);
    let tag = m.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in tag.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `signature` (the header's value, `sha256=<hex>`, or `None` when the header
/// is missing) against `body` under `secret`, in constant time.
/// [`Error::InvalidSignature`] when it does not match.
pub fn verify(secret: &[u8], body: &[u8], signature: Option<&str>) -> Result<()> {
    let tag = signature
        .map(str::trim)
        .and_then(|s| s.strip_prefix("sha256="))
        .and_then(decode_hex)
        .ok_or(Error::InvalidSignature)?;
    let mut m = mac(secret)?;
    m.update(body);
    // `verify_slice` compares in constant time.
    m.verify_slice(&tag).map_err(|_| Error::InvalidSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        // RFC 4231 test case 2 ("Jefe").
        let sig = sign(b"Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify(b"Jefe", b"what do ya want for nothing?", Some(&sig)).is_ok());
    }
}
