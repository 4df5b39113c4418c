//! Customers, postal addresses and country codes.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::{AddressId, CustomerId};

/// An ISO 3166-1 alpha-2 country code such as `US`, `DE`, `VN` (upper case).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// The United States (`US`).
    pub const US: CountryCode = CountryCode(*b"US");

    /// Validates a two-letter upper-case code.
    pub fn new(code: &str) -> Result<Self> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(CountryCode([*a, *b])),
            _ => Err(Error::validation(
                "country",
                format!("{code:?} is not an ISO 3166-1 alpha-2 code"),
            )),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII upper-case letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl TryFrom<String> for CountryCode {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        CountryCode::new(&s)
    }
}

impl From<CountryCode> for String {
    fn from(c: CountryCode) -> String {
        c.as_str().to_owned()
    }
}

impl std::str::FromStr for CountryCode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        CountryCode::new(s)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A postal address. `region` is the state/province code used by tax and shipping
/// zones (e.g. `CA` for California).
///
/// Built with [`Address::new`] and the `with_*` methods (or deserialized):
///
/// ```
/// # use commerce_core::{Address, CountryCode};
/// let home = Address::new("Ada", "1 Main St", "Springfield", "62701", CountryCode::new("US")?)
///     .with_region("IL");
/// assert!(home.validate().is_ok());
/// # Ok::<(), commerce_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Address {
    /// Recipient name.
    pub name: String,
    /// First address line.
    pub line1: String,
    /// Second address line.
    #[serde(default)]
    pub line2: Option<String>,
    /// City or locality.
    pub city: String,
    /// State, province or region code, where the country has them.
    #[serde(default)]
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// Country.
    pub country: CountryCode,
    /// Contact phone.
    #[serde(default)]
    pub phone: Option<String>,
}

impl Address {
    /// An address with the required fields; no second line, region or phone.
    pub fn new(
        name: impl Into<String>,
        line1: impl Into<String>,
        city: impl Into<String>,
        postal_code: impl Into<String>,
        country: CountryCode,
    ) -> Self {
        Address {
            name: name.into(),
            line1: line1.into(),
            line2: None,
            city: city.into(),
            region: None,
            postal_code: postal_code.into(),
            country,
            phone: None,
        }
    }

    /// With this second address line.
    #[must_use]
    pub fn with_line2(mut self, line2: impl Into<String>) -> Self {
        self.line2 = Some(line2.into());
        self
    }

    /// With this state, province or region code.
    #[must_use]
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// With this contact phone.
    #[must_use]
    pub fn with_phone(mut self, phone: impl Into<String>) -> Self {
        self.phone = Some(phone.into());
        self
    }

    /// Checks required fields are present and within length limits.
    pub fn validate(&self) -> Result<()> {
        fn check(field: &'static str, v: &str, max: usize) -> Result<()> {
            if v.trim().is_empty() {
                return Err(Error::validation(field, "must not be empty"));
            }
            if v.chars().count() > max {
                return Err(Error::validation(
                    field,
                    format!("at most {max} characters"),
                ));
            }
            Ok(())
        }
        check("name", &self.name, 200)?;
        check("line1", &self.line1, 200)?;
        check("city", &self.city, 100)?;
        check("postal_code", &self.postal_code, 20)?;
        if let Some(r) = &self.region {
            check("region", r, 10)?;
        }
        Ok(())
    }
}

/// The key customer emails are stored and compared by: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks a (normalized) customer email looks like `name@domain`: at most 254
/// characters, no white space; `Validation` otherwise. Every `CustomerStore` applies it.
pub fn check_email(email: &str) -> Result<()> {
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(Error::validation("email", "must look like name@domain"))
    }
}

/// Longest customer name accepted, in characters.
pub const MAX_CUSTOMER_NAME_CHARS: usize = 200;

/// Checks a customer name and returns it trimmed: not empty, at most
/// [`MAX_CUSTOMER_NAME_CHARS`] characters, no control characters.
pub fn check_customer_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::validation("name", "must not be empty"));
    }
    if name.chars().count() > MAX_CUSTOMER_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::validation(
            "name",
            "must be at most 200 characters, without control characters",
        ));
    }
    Ok(name.to_owned())
}

/// A customer account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// Id.
    pub id: CustomerId,
    /// Login and contact email, stored lower-cased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// An address saved in a customer's address book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedAddress {
    /// Id.
    pub id: AddressId,
    /// Owner.
    pub customer_id: CustomerId,
    /// The address.
    pub address: Address,
    /// Default shipping address of the customer.
    pub is_default_shipping: bool,
    /// Default billing address of the customer.
    pub is_default_billing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes() {
        assert_eq!(CountryCode::new("US").unwrap().as_str(), "US");
        assert!(CountryCode::new("us").is_err());
        assert!(CountryCode::new("USA").is_err());
        assert!(serde_json::from_str::<CountryCode>("\"D\"").is_err());
    }
}
