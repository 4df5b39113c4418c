//! In-memory customer store: accounts and address books behind one lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;

use crate::address::{Customer, SavedAddress, check_email, normalize_email};
use crate::error::{Error, Result};
use crate::id::{AddressId, CustomerId};
use crate::ports::{CustomerPage, CustomerStore};

#[derive(Debug, Default)]
struct State {
    customers: HashMap<CustomerId, Customer>,
    /// Lower-cased email -> customer, in email order (for keyset pages).
    emails: BTreeMap<String, CustomerId>,
    /// Addresses by id (UUID v7: creation order).
    addresses: BTreeMap<AddressId, SavedAddress>,
}

/// The in-memory [`CustomerStore`].
#[derive(Debug, Default)]
pub struct MemoryCustomers {
    state: RwLock<State>,
}

impl MemoryCustomers {
    /// An empty store.
    pub fn new() -> Self {
        MemoryCustomers::default()
    }

    // Every write validates before it mutates: a poisoned lock is recovered.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl CustomerStore for MemoryCustomers {
    async fn list_customers(&self, page: &CustomerPage) -> Result<Vec<Customer>> {
        use std::ops::Bound;
        let limit = page.limit.min(CustomerPage::MAX_LIMIT) as usize;
        let prefix = page
            .email_prefix
            .as_deref()
            .map(|p| p.trim().to_lowercase())
            .unwrap_or_default();
        let state = self.read();
        let lower = match &page.after {
            Some(after) => Bound::Excluded(after.clone()),
            None => Bound::Unbounded,
        };
        Ok(state
            .emails
            .range((lower, Bound::Unbounded))
            .filter(|(email, _)| email.starts_with(&prefix))
            .take(limit)
            .filter_map(|(_, id)| state.customers.get(id).cloned())
            .collect())
    }

    async fn create_customer(&self, customer: &Customer) -> Result<()> {
        let email = normalize_email(&customer.email);
        check_email(&email)?;
        if customer.name.trim().is_empty() {
            return Err(Error::validation("name", "must not be empty"));
        }
        let mut state = self.write();
        if state.emails.contains_key(&email) {
            return Err(Error::Conflict(format!("email {email} is taken")));
        }
        if state.customers.contains_key(&customer.id) {
            return Err(Error::Conflict(format!("customer {} exists", customer.id)));
        }
        let stored = Customer {
            email: email.clone(),
            ..customer.clone()
        };
        state.emails.insert(email, customer.id);
        state.customers.insert(customer.id, stored);
        Ok(())
    }

    async fn customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        Ok(self.read().customers.get(&id).cloned())
    }

    async fn rename_customer(&self, id: CustomerId, name: &str) -> Result<Customer> {
        let name = crate::address::check_customer_name(name)?;
        let mut state = self.write();
        let customer = state
            .customers
            .get_mut(&id)
            .ok_or_else(|| Error::not_found("customer", id))?;
        customer.name = name;
        Ok(customer.clone())
    }

    async fn customer_by_email(&self, email: &str) -> Result<Option<Customer>> {
        let state = self.read();
        Ok(state
            .emails
            .get(&normalize_email(email))
            .and_then(|id| state.customers.get(id))
            .cloned())
    }

    async fn save_address(&self, address: &SavedAddress) -> Result<()> {
        address.address.validate()?;
        let mut state = self.write();
        if !state.customers.contains_key(&address.customer_id) {
            return Err(Error::not_found("customer", address.customer_id));
        }
        if let Some(existing) = state.addresses.get(&address.id)
            && existing.customer_id != address.customer_id
        {
            // Someone else's address: do not reveal that it exists.
            return Err(Error::not_found("address", address.id));
        }
        for other in state.addresses.values_mut() {
            if other.customer_id != address.customer_id || other.id == address.id {
                continue;
            }
            if address.is_default_shipping {
                other.is_default_shipping = false;
            }
            if address.is_default_billing {
                other.is_default_billing = false;
            }
        }
        state.addresses.insert(address.id, address.clone());
        Ok(())
    }

    async fn addresses(&self, customer_id: CustomerId) -> Result<Vec<SavedAddress>> {
        Ok(self
            .read()
            .addresses
            .values()
            .filter(|a| a.customer_id == customer_id)
            .cloned()
            .collect())
    }

    async fn delete_address(&self, customer_id: CustomerId, id: AddressId) -> Result<()> {
        let mut state = self.write();
        match state.addresses.get(&id) {
            Some(a) if a.customer_id == customer_id => {
                state.addresses.remove(&id);
                Ok(())
            }
            _ => Err(Error::not_found("address", id)),
        }
    }
}
