//! Tracking-number formats and their check digits.
//!
//! - UPS: `1Z`, then 15 characters (6 shipper, 2 service, 7 package; letters count
//!   as `(ascii - 3) % 10`), then a mod-10 check digit: digits at even positions
//!   (0-based) count once, odd positions twice.
//! - FedEx Express: 12 digits; the last is `(sum of the 11 others weighted 1, 3, 7
//!   from the right) % 11 % 10`.
//! - DHL Express: 10 digits; the last is the first nine read as a number, mod 7.

use super::CarrierCode;

fn ups_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some((u32::from(c) - 3) % 10),
        _ => None,
    }
}

/// The UPS check digit of the 15 characters between `1Z` and the check digit.
/// `None` when `body` is not 15 upper-case letters or digits.
pub fn ups_check_digit(body: &str) -> Option<u32> {
    if body.len() != 15 {
        return None;
    }
    let mut sum = 0;
    for (i, c) in body.bytes().enumerate() {
        let v = ups_value(c)?;
        sum += if i % 2 == 1 { 2 * v } else { v };
    }
    Some((10 - sum % 10) % 10)
}

/// The FedEx Express check digit of the first 11 digits. `None` unless `body` is 11
/// ASCII digits.
pub fn fedex_check_digit(body: &str) -> Option<u32> {
    if body.len() != 11 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .rev()
        .zip([1, 3, 7].into_iter().cycle())
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(sum % 11 % 10)
}

/// The DHL Express check digit of the first 9 digits. `None` unless `body` is 9 ASCII
/// digits.
pub fn dhl_check_digit(body: &str) -> Option<u32> {
    if body.len() != 9 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = body.parse().ok()?;
    u32::try_from(n % 7).ok()
}

fn last_digit(s: &str) -> Option<u32> {
    s.bytes()
        .last()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
}

/// Whether `number` is a well-formed tracking number of `carrier` with a valid check
/// digit.
pub fn validate(carrier: CarrierCode, number: &str) -> bool {
    if !number.is_ascii() {
        return false;
    }
    match carrier {
        CarrierCode::Ups => {
            number.len() == 18
                && number.starts_with("1Z")
                && ups_check_digit(&number[2..17]).is_some_and(|c| Some(c) == last_digit(number))
        }
        CarrierCode::Fedex => {
            number.len() == 12
                && fedex_check_digit(&number[..11]).is_some_and(|c| Some(c) == last_digit(number))
        }
        CarrierCode::Dhl => {
            number.len() == 10
                && dhl_check_digit(&number[..9]).is_some_and(|c| Some(c) == last_digit(number))
        }
    }
}

/// Builds a tracking number of `carrier` from `seed` (any 64 bits): the body is
/// derived from the seed, the check digit computed.
pub fn generate(carrier: CarrierCode, seed: u64) -> String {
    match carrier {
        CarrierCode::Ups => {
            // 6-character shipper number, service "01"/"02"..., 7-digit package id.
            const ALNUM: &[u8] = b"0123456789ABCDEFGHJKLMNPRSTUVWXY";
            let mut s = seed;
            let mut body = String::with_capacity(15);
            for _ in 0..6 {
                body.push(char::from(ALNUM[(s % 32) as usize]));
                s /= 32;
            }
            body.push_str(&format!("{:02}", (seed >> 40) % 3 + 1));
            body.push_str(&format!("{:07}", (seed >> 20) % 10_000_000));
            let check = ups_check_digit(&body).unwrap_or(0);
            format!("1Z{body}{check}")
        }
        CarrierCode::Fedex => {
            let body = format!("{:011}", seed % 100_000_000_000);
            let check = fedex_check_digit(&body).unwrap_or(0);
            format!("{body}{check}")
        }
        CarrierCode::Dhl => {
            // Express waybills start with a non-zero digit.
            let body = format!("{:09}", 100_000_000 + seed % 900_000_000);
            let check = dhl_check_digit(&body).unwrap_or(0);
            format!("{body}{check}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples_validate() {
        // UPS's own documentation example and a FedEx Express number from FedEx's
        // test data.
        assert!(validate(CarrierCode::Ups, "1Z999AA10123456784"));
        assert!(!validate(CarrierCode::Ups, "1Z999AA10123456785"));
        assert!(validate(CarrierCode::Fedex, "568838414941"));
        assert!(!validate(CarrierCode::Fedex, "568838414942"));
        assert!(validate(CarrierCode::Dhl, "1234567891"));
        assert!(!validate(CarrierCode::Dhl, "1234567892"));
    }
}
