//! The verified-purchase rule's port: did a customer buy one of a product's SKUs?

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

use commerce_core::{CustomerId, Sku};
use commerce_orders::{OrderPage, OrderStatus, OrderStore};

use crate::error::Result;

/// What the verified-purchase rule asks of the order history.
#[async_trait]
pub trait PurchaseHistory: Send + Sync {
    /// True when `customer_id` has an order that is confirmed or completed (never a
    /// pending or cancelled one) with a line of one of `skus`.
    async fn has_bought(&self, customer_id: CustomerId, skus: &[Sku]) -> Result<bool>;
}

/// [`PurchaseHistory`] over any [`OrderStore`]: pages through the customer's orders,
/// newest first, and stops at the first match.
#[derive(Clone)]
pub struct OrderPurchases {
    orders: Arc<dyn OrderStore>,
}

impl std::fmt::Debug for OrderPurchases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderPurchases").finish_non_exhaustive()
    }
}

impl OrderPurchases {
    /// Reads `orders`.
    pub fn new(orders: Arc<dyn OrderStore>) -> Self {
        OrderPurchases { orders }
    }
}

#[async_trait]
impl PurchaseHistory for OrderPurchases {
    async fn has_bought(&self, customer_id: CustomerId, skus: &[Sku]) -> Result<bool> {
        let wanted: HashSet<&Sku> = skus.iter().collect();
        let mut page = OrderPage::first(OrderPage::MAX_LIMIT);
        loop {
            let orders = self.orders.list_for_customer(customer_id, page).await?;
            let bought = orders.iter().any(|o| {
                matches!(o.status, OrderStatus::Confirmed | OrderStatus::Completed)
                    && o.lines.iter().any(|l| wanted.contains(&l.sku))
            });
            if bought {
                return Ok(true);
            }
            match orders.last() {
                Some(last) if orders.len() == OrderPage::MAX_LIMIT as usize => {
                    page.before = Some(last.id);
                }
                _ => return Ok(false),
            }
        }
    }
}
