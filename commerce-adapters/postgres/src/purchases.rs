//! [`PgPurchaseHistory`]: the verified-purchase rule's question as one indexed query.

use async_trait::async_trait;

use commerce_core::{CustomerId, Sku};
use commerce_reviews::{Error, PurchaseHistory, Result};

use crate::error::PortError;
use crate::stores::Shared;

/// [`PurchaseHistory`] over this database's orders: one `EXISTS` over the customer's
/// confirmed and completed orders (index `orders_customer`) and their lines.
#[derive(Clone)]
pub struct PgPurchaseHistory {
    shared: Shared,
}

impl std::fmt::Debug for PgPurchaseHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPurchaseHistory").finish_non_exhaustive()
    }
}

impl PgPurchaseHistory {
    pub(crate) fn new(shared: Shared) -> Self {
        PgPurchaseHistory { shared }
    }
}

#[async_trait]
impl PurchaseHistory for PgPurchaseHistory {
    async fn has_bought(&self, customer_id: CustomerId, skus: &[Sku]) -> Result<bool> {
        let skus: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        sqlx::query_scalar(
            "SELECT EXISTS (
                 SELECT 1 FROM commerce.orders o
                   JOIN commerce.order_lines l ON l.order_id = o.id
                  WHERE o.customer_id = $1 AND o.status IN ('confirmed', 'completed')
                    AND l.sku = ANY ($2))",
        )
        .bind(customer_id.as_uuid())
        .bind(&skus)
        .fetch_one(&self.shared.pool)
        .await
        .map_err(Error::from_db)
    }
}
