//! Outbox consumers that keep the tables current, driven by
//! [`commerce_core::worker::run_once`] (claim, handle, ack), idempotent per event.
//!
//! - [`PurchaseRecorder`] records each `order.confirmed` order's products
//!   (co-purchase counts, popularity, the customer's purchases), once per event;
//! - [`SignalsIndexer`] refreshes a product's signals on `catalog.product_upserted`
//!   and on `inventory.stock_changed` of one of its SKUs; a claimed batch refreshes
//!   each product it names once (every checkout changes the stock of its SKUs
//!   several times: reserve, commit or release).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;

use commerce_core::ports::CatalogStore;
use commerce_core::ports::OutboxEntry;
use commerce_core::worker::{BatchOutcome, EventConsumer};
use commerce_core::{CatalogEvent, EventEnvelope, ProductId, Sku};
use commerce_inventory::{InventoryEvent, InventoryStore, LocationCode};
use commerce_orders::{OrderEvent, OrderId, OrderStatus, OrderStore};

use crate::error::{Error, Result};
use crate::model::{Purchase, PurchaseLine};
use crate::ports::RecommendStore;
use crate::service::Recommendations;
use crate::signals::product_signals;

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

    /// Records order `order_id` as of `event` (its id deduplicates), then recomputes
    /// the buyer's precomputed "for you" list (also when the event was recorded
    /// before: a crash between the two steps is finished by the redelivery). Returns
    /// whether this call recorded it (`false`: recorded before, or the order is not
    /// confirmed or completed).
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
        let recorded = self.store.record_purchase(&purchase).await?;
        if let Some(customer) = order.customer_id {
            Recommendations::new(self.store.clone())
                .refresh_for_you(customer)
                .await?;
        }
        Ok(recorded)
    }
}

/// Consumer group of [`PurchaseRecorder`].
pub const PURCHASES_GROUP: &str = "recommend.purchases";
/// Consumer group of [`SignalsIndexer`].
pub const SIGNALS_GROUP: &str = "recommend.signals";

impl PurchaseRecorder {
    /// Handles one outbox event: records `order.confirmed` orders, ignores the rest.
    pub async fn handle_event(&self, event: &EventEnvelope) -> Result<()> {
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

#[async_trait]
impl EventConsumer for PurchaseRecorder {
    fn group(&self) -> &str {
        PURCHASES_GROUP
    }
    async fn handle(&self, event: &EventEnvelope) -> commerce_core::Result<()> {
        Ok(self.handle_event(event).await?)
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

impl SignalsIndexer {
    /// Handles one outbox event: refreshes the product of `catalog.product_upserted`,
    /// `catalog.product_deactivated` and `inventory.stock_changed` (at its location).
    pub async fn handle_event(&self, event: &EventEnvelope) -> Result<()> {
        match event.topic.as_str() {
            "catalog.product_upserted" | "catalog.product_deactivated" => {
                if let Ok(
                    CatalogEvent::ProductUpserted { product_id }
                    | CatalogEvent::ProductDeactivated { product_id },
                ) = serde_json::from_value(event.payload.clone())
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

impl SignalsIndexer {
    /// Handles many events at once: every product they name (as
    /// [`SignalsIndexer::handle_event`] would) is refreshed once, with one catalog
    /// read for the SKUs of all their stock changes. A refresh reads the catalog and
    /// stock as they are now, so once per batch leaves what once per event would.
    pub async fn handle_events(&self, events: &[&EventEnvelope]) -> Result<()> {
        let mut products = BTreeSet::new();
        let mut skus = BTreeSet::new();
        for event in events {
            match event.topic.as_str() {
                "catalog.product_upserted" | "catalog.product_deactivated" => {
                    if let Ok(
                        CatalogEvent::ProductUpserted { product_id }
                        | CatalogEvent::ProductDeactivated { product_id },
                    ) = serde_json::from_value(event.payload.clone())
                    {
                        products.insert(product_id);
                    }
                }
                "inventory.stock_changed" => {
                    if let Ok(InventoryEvent::StockChanged { sku, location, .. }) =
                        serde_json::from_value(event.payload.clone())
                        && location == self.location
                    {
                        skus.insert(sku);
                    }
                }
                _ => {}
            }
        }
        if !skus.is_empty() {
            let skus: Vec<Sku> = skus.into_iter().collect();
            for listing in self.catalog.listings(&skus).await? {
                products.insert(listing.variant.product_id);
            }
        }
        for product_id in products {
            self.refresh(product_id).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl EventConsumer for SignalsIndexer {
    fn group(&self) -> &str {
        SIGNALS_GROUP
    }
    async fn handle(&self, event: &EventEnvelope) -> commerce_core::Result<()> {
        Ok(self.handle_event(event).await?)
    }
    /// One refresh per product the batch names ([`SignalsIndexer::handle_events`]);
    /// on failure nothing is acknowledged and the batch is handled again (a refresh
    /// is idempotent).
    async fn handle_batch(&self, entries: &[OutboxEntry]) -> BatchOutcome {
        let events: Vec<&EventEnvelope> = entries.iter().map(|e| &e.event).collect();
        match self.handle_events(&events).await {
            Ok(()) => BatchOutcome::done(entries.len()),
            Err(e) => BatchOutcome::failed(0, e.into()),
        }
    }
}
