//! What an account may do: its [`Role`], stored with the account's credentials and
//! copied into every session opened at login, from which the [`Actor`] of each
//! request is made.
//!
//! Every account is a row of the customer store (email, name) with credentials; the
//! role says whether it shops (a customer), works for a seller (seller staff, acting
//! for one [`SellerId`]) or runs the shop (an admin). A role change takes effect at
//! the next login: sessions carry the role they were opened with, so whoever changes
//! a role also ends the account's sessions (`SessionStore::revoke_all`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::id::{CustomerId, SellerId};

/// The role of an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum Role {
    /// A customer: shops with their own cart, orders, addresses and store credit.
    #[default]
    Customer,
    /// Staff of a seller, acting for that seller: its products and the order lines of
    /// those products.
    Seller(SellerId),
    /// Shop staff with every right.
    Admin,
}

impl Role {
    /// The actor of a session of `account` with this role: the customer itself, the
    /// seller the staff acts for, or an admin.
    pub fn actor(&self, account: CustomerId) -> Actor {
        match self {
            Role::Customer => Actor::Customer(account),
            Role::Seller(seller) => Actor::Seller(*seller),
            Role::Admin => Actor::Admin,
        }
    }

    /// The seller of seller staff.
    pub fn seller_id(&self) -> Option<SellerId> {
        match self {
            Role::Seller(id) => Some(*id),
            _ => None,
        }
    }

    /// The kind of role without its seller: `customer`, `seller` or `admin`.
    pub fn kind(&self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Seller(_) => "seller",
            Role::Admin => "admin",
        }
    }

    /// Parses what [`fmt::Display`] writes: `customer`, `admin` or
    /// `seller:<seller id>`; `Validation` otherwise.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "customer" => Ok(Role::Customer),
            "admin" => Ok(Role::Admin),
            _ => s
                .strip_prefix("seller:")
                .and_then(|id| id.parse::<SellerId>().ok())
                .map(Role::Seller)
                .ok_or_else(|| {
                    Error::validation("role", "must be customer, admin or seller:<seller id>")
                }),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Customer => f.write_str("customer"),
            Role::Seller(id) => write!(f, "seller:{id}"),
            Role::Admin => f.write_str("admin"),
        }
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Role::parse(s)
    }
}

impl TryFrom<String> for Role {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Role::parse(&s)
    }
}

impl From<Role> for String {
    fn from(role: Role) -> String {
        role.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trips_as_text_and_json() {
        let seller = SellerId::new();
        for role in [Role::Customer, Role::Admin, Role::Seller(seller)] {
            assert_eq!(Role::parse(&role.to_string()).unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert_eq!(Role::Seller(seller).to_string(), format!("seller:{seller}"));
        for bad in ["", "root", "seller:", "seller:nope", "Admin"] {
            assert!(Role::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_gives_the_actor_of_its_sessions() {
        let account = CustomerId::new();
        let seller = SellerId::new();
        assert_eq!(Role::Customer.actor(account), Actor::Customer(account));
        assert_eq!(Role::Seller(seller).actor(account), Actor::Seller(seller));
        assert_eq!(Role::Admin.actor(account), Actor::Admin);
        assert_eq!(Role::default(), Role::Customer);
    }
}
