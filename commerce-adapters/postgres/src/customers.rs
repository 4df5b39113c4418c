//! [`PgCustomers`]: customer accounts and address books on PostgreSQL.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use commerce_core::address::{check_email, normalize_email};
use commerce_core::ports::{CustomerPage, CustomerStore};
use commerce_core::{AddressId, Customer, CustomerId, Error, Result, SavedAddress};

use crate::convert::{from_json, to_json};
use crate::error::{Failure, PortError, retrying, unique_violation};
use crate::stores::Shared;

/// Customers and their saved addresses. Emails are stored lower-cased and unique
/// case-insensitively.
#[derive(Clone)]
pub struct PgCustomers {
    shared: Shared,
}

impl std::fmt::Debug for PgCustomers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgCustomers").finish_non_exhaustive()
    }
}

fn customer_from_row(row: &PgRow) -> Result<Customer> {
    Ok(Customer {
        id: CustomerId::from_uuid(row.try_get("id").map_err(Error::backend)?),
        email: row.try_get("email").map_err(Error::backend)?,
        name: row.try_get("name").map_err(Error::backend)?,
        created_at: row.try_get("created_at").map_err(Error::backend)?,
    })
}

fn address_from_row(row: &PgRow) -> Result<SavedAddress> {
    Ok(SavedAddress {
        id: AddressId::from_uuid(row.try_get("id").map_err(Error::backend)?),
        customer_id: CustomerId::from_uuid(row.try_get("customer_id").map_err(Error::backend)?),
        address: from_json(row.try_get("address").map_err(Error::backend)?)?,
        is_default_shipping: row.try_get("is_default_shipping").map_err(Error::backend)?,
        is_default_billing: row.try_get("is_default_billing").map_err(Error::backend)?,
    })
}

impl PgCustomers {
    pub(crate) fn new(shared: Shared) -> Self {
        PgCustomers { shared }
    }

    async fn try_save_address(
        &self,
        address: &SavedAddress,
        document: &serde_json::Value,
    ) -> std::result::Result<(), Failure<Error>> {
        let mut tx = self.shared.pool.begin().await?;
        // Locking the customer serialises address book changes of one customer, so
        // "one default of each kind" holds under concurrent saves.
        let found = sqlx::query("SELECT 1 FROM commerce.customers WHERE id = $1 FOR UPDATE")
            .bind(address.customer_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Err(Failure::Domain(Error::not_found(
                "customer",
                address.customer_id,
            )));
        }
        let owner: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT customer_id FROM commerce.customer_addresses WHERE id = $1")
                .bind(address.id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
        if owner.is_some_and(|o| o != address.customer_id.as_uuid()) {
            // Someone else's address: do not reveal that it exists.
            return Err(Failure::Domain(Error::not_found("address", address.id)));
        }
        sqlx::query(
            "UPDATE commerce.customer_addresses
                SET is_default_shipping = is_default_shipping AND NOT $3,
                    is_default_billing = is_default_billing AND NOT $4
              WHERE customer_id = $1 AND id <> $2",
        )
        .bind(address.customer_id.as_uuid())
        .bind(address.id.as_uuid())
        .bind(address.is_default_shipping)
        .bind(address.is_default_billing)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO commerce.customer_addresses
                 (id, customer_id, address, is_default_shipping, is_default_billing)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET
                 address = EXCLUDED.address,
                 is_default_shipping = EXCLUDED.is_default_shipping,
                 is_default_billing = EXCLUDED.is_default_billing",
        )
        .bind(address.id.as_uuid())
        .bind(address.customer_id.as_uuid())
        .bind(document)
        .bind(address.is_default_shipping)
        .bind(address.is_default_billing)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// `prefix` as a LIKE pattern matching it literally, then anything.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[async_trait]
impl CustomerStore for PgCustomers {
    async fn list_customers(&self, page: &CustomerPage) -> Result<Vec<Customer>> {
        let limit = i64::from(page.limit.min(CustomerPage::MAX_LIMIT));
        let pattern = like_prefix(
            &page
                .email_prefix
                .as_deref()
                .map(|p| p.trim().to_lowercase())
                .unwrap_or_default(),
        );
        // Byte order ("C") so pages follow the same order everywhere; the index
        // `customers_email_c` (migration 0086) serves the prefix and the keyset.
        let rows = sqlx::query(
            r#"SELECT id, email, name, created_at FROM commerce.customers
                WHERE email COLLATE "C" LIKE $1
                  AND ($2::text IS NULL OR email COLLATE "C" > $2::text COLLATE "C")
                ORDER BY email COLLATE "C"
                LIMIT $3"#,
        )
        .bind(pattern)
        .bind(page.after.as_deref())
        .bind(limit)
        .fetch_all(&self.shared.pool)
        .await
        .map_err(Error::backend)?;
        rows.iter().map(customer_from_row).collect()
    }

    async fn create_customer(&self, customer: &Customer) -> Result<()> {
        let email = normalize_email(&customer.email);
        check_email(&email)?;
        if customer.name.trim().is_empty() {
            return Err(Error::validation("name", "must not be empty"));
        }
        let email = &email;
        retrying("create customer", move || async move {
            sqlx::query(
                "INSERT INTO commerce.customers (id, email, name, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(customer.id.as_uuid())
            .bind(email)
            .bind(&customer.name)
            .bind(customer.created_at)
            .execute(&self.shared.pool)
            .await
            .map_err(|e| match unique_violation(&e) {
                Some("customers_email_key") => {
                    Failure::Domain(Error::Conflict(format!("email {email} is taken")))
                }
                Some(_) => Failure::Domain(Error::Conflict(format!("customer {} exists", customer.id))),
                None => Failure::Db(e),
            })?;
            Ok(())
        })
        .await
    }

    async fn customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        let row = sqlx::query("SELECT * FROM commerce.customers WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(Error::from_db)?;
        row.as_ref().map(customer_from_row).transpose()
    }

    async fn rename_customer(&self, id: CustomerId, name: &str) -> Result<Customer> {
        let name = commerce_core::address::check_customer_name(name)?;
        let row = sqlx::query("UPDATE commerce.customers SET name = $2 WHERE id = $1 RETURNING *")
            .bind(id.as_uuid())
            .bind(&name)
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(Error::from_db)?;
        row.as_ref()
            .map(customer_from_row)
            .transpose()?
            .ok_or_else(|| Error::not_found("customer", id))
    }

    async fn customer_by_email(&self, email: &str) -> Result<Option<Customer>> {
        let row = sqlx::query("SELECT * FROM commerce.customers WHERE lower(email) = $1")
            .bind(normalize_email(email))
            .fetch_optional(&self.shared.pool)
            .await
            .map_err(Error::from_db)?;
        row.as_ref().map(customer_from_row).transpose()
    }

    async fn save_address(&self, address: &SavedAddress) -> Result<()> {
        address.address.validate()?;
        let document = to_json(&address.address)?;
        let document = &document;
        retrying("save address", move || {
            self.try_save_address(address, document)
        })
        .await
    }

    async fn addresses(&self, customer_id: CustomerId) -> Result<Vec<SavedAddress>> {
        let rows = sqlx::query(
            "SELECT * FROM commerce.customer_addresses WHERE customer_id = $1 ORDER BY id",
        )
        .bind(customer_id.as_uuid())
        .fetch_all(&self.shared.pool)
        .await
        .map_err(Error::from_db)?;
        rows.iter().map(address_from_row).collect()
    }

    async fn delete_address(&self, customer_id: CustomerId, id: AddressId) -> Result<()> {
        let deleted = sqlx::query(
            "DELETE FROM commerce.customer_addresses WHERE id = $1 AND customer_id = $2",
        )
        .bind(id.as_uuid())
        .bind(customer_id.as_uuid())
        .execute(&self.shared.pool)
        .await
        .map_err(Error::from_db)?
        .rows_affected();
        if deleted == 0 {
            return Err(Error::not_found("address", id));
        }
        Ok(())
    }
}
