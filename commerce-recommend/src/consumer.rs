//! Outbox consumers that keep the tables current, and a small runner (claim,
//! handle, ack) to drive them.
//!
//! - [`PurchaseRecorder`] records each `order.confirmed` order's products
//!   (co-purchase counts, popularity, the customer's purchases), once per event;
//! - [`SignalsIndexer`] refreshes a product's signals on `catalog.product_upserted`
//!   and on `inventory.stock_changed` of one of its SKUs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use commerce_core::ports::{CatalogStore, Outbox};
use commerce_core::{CatalogEvent, EventEnvelope, ProductId, Sku};
use commerce_inventory::{InventoryEvent, InventoryStore, LocationCode};
use commerce_orders::{OrderEvent, OrderId, OrderStatus, OrderStore};

use crate::error::{Error, Result};
use crate::model::{Purchase, PurchaseLine};
use crate::signals::product_signals;
use crate::store::RecommendStore;

/// Something that handles outbox events, idempotently per event.
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Handles one event (ignoring topics it does not consume).
    async fn handle(&self, event: &EventEnvelope) -> Result<()>;
}

/// Claims up to `limit` events for `group`, hands each to `handler` in order and
/// acknowledges them; returns how many it handled. On a handler error it
/// acknowledges the events before the failing one and returns the error: the
/// failing event is claimed again when the lease runs out.
pub async fn drain_once(
    outbox: &dyn Outbox,
    group: &str,
    limit: u32,
    lease: Duration,
    handler: &dyn EventHandler,
) -> Result<usize> {
    let entries = outbox.claim(group, limit, lease).await?;
    let mut done = None;
    for entry in &entries {
        if let Err(e) = handler.handle(&entry.event).await {
            if let Some(seq) = done {
                outbox.ack(group, seq).await?;
            }
            return Err(e);
        }
        done = Some(entry.seq);
    }
    if let Some(seq) = done {
        outbox.ack(group, seq).await?;
    }
    Ok(entries.len())
}

/// Records confirmed orders into the co-purchase and popularity tables.
#[derive(Clone)]
pub struct PurchaseRecorder {
    orders: Arc<dyn OrderStore>,
    catalog: Arc<dyn CatalogStore>,
    store: Arc<dyn RecommendStore>,
}

impl std::fmt::Debug for PurchaseRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PurchaseRecorder").finish_non_exhaustive()
    }
}

impl PurchaseRecorder {
    /// Reads orders and SKU listings, writes `store`.
    pub fn new(
        orders: Arc<dyn OrderStore>,
        catalog: Arc<dyn CatalogStore>,
        store: Arc<dyn RecommendStore>,
    ) -> Self {
        PurchaseRecorder {
            orders,
            catalog,
            store,
        }
    }

    /// Records order `order_id` as of `event` (its id deduplicates). Returns whether
    /// this call recorded it (`false`: recorded before, or the order is not confirmed
    /// or completed).
    pub async fn record(&self, event: &EventEnvelope, order_id: OrderId) -> Result<bool> {
        let Some(order) = self.orders.get(order_id).await? else {
            return Ok(false);
        };
        if !matches!(
            order.status,
            OrderStatus::Confirmed | OrderStatus::Completed
        ) {
            return Ok(false);
        }
        let skus: Vec<Sku> = order.lines.iter().map(|l| l.sku.clone()).collect();
        let products: HashMap<Sku, ProductId> = self
            .catalog
            .listings(&skus)
            .await?
            .into_iter()
            .map(|l| (l.variant.sku, l.variant.product_id))
            .collect();
        let lines = order
            .lines
            .iter()
            .filter_map(|l| {
                products.get(&l.sku).map(|p| PurchaseLine {
                    product_id: *p,
                    units: l.quantity,
                })
            })
            .collect();
        let purchase = Purchase {
            event_id: event.id,
            customer_id: order.customer_id,
            lines,
            at: event.occurred_at,
        };
        self.store.record_purchase(&purchase).await
    }
}

#[async_trait]
impl EventHandler for PurchaseRecorder {
    async fn handle(&self, event: &EventEnvelope) -> Result<()> {
        if event.topic != "order.confirmed" {
            return Ok(());
        }
        let order_id = match serde_json::from_value::<OrderEvent>(event.payload.clone()) {
            Ok(OrderEvent::OrderConfirmed { order_id }) => order_id,
            _ => {
                return Err(Error::validation(
                    "event",
                    format!("{} {} names no order", event.topic, event.id),
                ));
            }
        };
        self.record(event, order_id).await.map(|_| ())
    }
}

/// Keeps product signals (terms, categories, availability) current.
#[derive(Clone)]
pub struct SignalsIndexer {
    catalog: Arc<dyn CatalogStore>,
    inventory: Arc<dyn InventoryStore>,
    store: Arc<dyn RecommendStore>,
    location: LocationCode,
}

impl std::fmt::Debug for SignalsIndexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalsIndexer")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl SignalsIndexer {
    /// Reads the catalog and stock at `location`, writes `store`.
    pub fn new(
        catalog: Arc<dyn CatalogStore>,
        inventory: Arc<dyn InventoryStore>,
        store: Arc<dyn RecommendStore>,
        location: LocationCode,
    ) -> Self {
        SignalsIndexer {
            catalog,
            inventory,
            store,
            location,
        }
    }

    /// Rebuilds the signals of `product_id` from the catalog and stock now; an
    /// unknown product is stored as not recommendable if it had signals.
    pub async fn refresh(&self, product_id: ProductId) -> Result<()> {
        let Some(product) = self.catalog.product(product_id).await? else {
            if let Some(mut old) = self.store.signals(product_id).await? {
                old.active = false;
                self.store.upsert_signals(&old).await?;
            }
            return Ok(());
        };
        let skus: Vec<Sku> = product.variants.iter().map(|v| v.sku.clone()).collect();
        let levels = self.inventory.stock_levels(&skus, &self.location).await?;
        let in_stock = levels.iter().any(|l| l.available() > 0);
        self.store
            .upsert_signals(&product_signals(&product, in_stock))
            .await
    }
}

#[async_trait]
impl EventHandler for SignalsIndexer {
    async fn handle(&self, event: &EventEnvelope) -> Result<()> {
        match event.topic.as_str() {
            "catalog.product_upserted" => {
                if let Ok(CatalogEvent::ProductUpserted { product_id }) =
                    serde_json::from_value(event.payload.clone())
                {
                    self.refresh(product_id).await?;
                }
            }
            "inventory.stock_changed" => {
                if let Ok(InventoryEvent::StockChanged { sku, location, .. }) =
                    serde_json::from_value(event.payload.clone())
                    && location == self.location
                {
                    let listings = self.catalog.listings(std::slice::from_ref(&sku)).await?;
                    if let Some(listing) = listings.first() {
                        self.refresh(listing.variant.product_id).await?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
