//! Outbox consumers that keep the tables current, driven by
//! [`commerce_core::worker::run_once`] (claim, handle, ack), idempotent per event.
//!
//! - [`PurchaseRecorder`] records each `order.confirmed` order's products
//!   (co-purchase counts, popularity, the customer's purchases), once per event; a
//!   claimed batch's orders are recorded in one store call
//!   ([`RecommendStore::record_purchases`]);
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
        let purchase = purchase_of(event, &order, &products);
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

/// The order an `order.confirmed` event names; `None` for other topics.
fn confirmed_order(event: &EventEnvelope) -> Result<Option<OrderId>> {
    if event.topic != "order.confirmed" {
        return Ok(None);
    }
    match serde_json::from_value::<OrderEvent>(event.payload.clone()) {
        Ok(OrderEvent::OrderConfirmed { order_id }) => Ok(Some(order_id)),
        _ => Err(Error::validation(
            "event",
            format!("{} {} names no order", event.topic, event.id),
        )),
    }
}

/// `order.confirmed` events with their orders.
pub(crate) type Confirmed<'a> = Vec<(&'a EventEnvelope, OrderId)>;

/// The `order.confirmed` events of `events` with their orders, up to the first
/// malformed one (its index among `events` and its error).
pub(crate) fn confirmed_orders<'a>(
    events: &[&'a EventEnvelope],
) -> (Confirmed<'a>, Option<(usize, Error)>) {
    let mut out = Vec::new();
    for (i, event) in events.iter().enumerate() {
        match confirmed_order(event) {
            Ok(Some(order)) => out.push((*event, order)),
            Ok(None) => {}
            Err(e) => return (out, Some((i, e))),
        }
    }
    (out, None)
}

impl PurchaseRecorder {
    /// Handles one outbox event: records `order.confirmed` orders, ignores the rest.
    pub async fn handle_event(&self, event: &EventEnvelope) -> Result<()> {
        match confirmed_order(event)? {
            Some(order_id) => self.record(event, order_id).await.map(|_| ()),
            None => Ok(()),
        }
    }

    /// Handles many outbox events as [`PurchaseRecorder::handle_event`] on each
    /// would, at a cost that does not grow in round trips with their number: one
    /// read of the confirmed orders ([`OrderStore::get_many`]), one catalog read for
    /// all their SKUs, one [`RecommendStore::record_purchases`], then the "for you"
    /// list of each buyer recomputed once, after the batch (a blend: a few reads and
    /// a write per buyer, not per order). Returns how many orders this call
    /// recorded. A malformed `order.confirmed` fails the call before anything is
    /// recorded.
    pub async fn handle_events(&self, events: &[&EventEnvelope]) -> Result<usize> {
        let (confirmed, malformed) = confirmed_orders(events);
        if let Some((_, e)) = malformed {
            return Err(e);
        }
        self.record_all(&confirmed).await
    }

    /// [`PurchaseRecorder::record`] for many orders at once (see
    /// [`PurchaseRecorder::handle_events`]).
    pub(crate) async fn record_all(
        &self,
        confirmed: &[(&EventEnvelope, OrderId)],
    ) -> Result<usize> {
        if confirmed.is_empty() {
            return Ok(0);
        }
        let ids: Vec<OrderId> = confirmed.iter().map(|(_, id)| *id).collect();
        let orders: HashMap<OrderId, commerce_orders::Order> = self
            .orders
            .get_many(&ids)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
        let placed: Vec<(&EventEnvelope, &commerce_orders::Order)> = confirmed
            .iter()
            .filter_map(|(event, id)| Some((*event, orders.get(id)?)))
            .filter(|(_, order)| {
                matches!(
                    order.status,
                    OrderStatus::Confirmed | OrderStatus::Completed
                )
            })
            .collect();
        if placed.is_empty() {
            return Ok(0);
        }
        let skus: Vec<Sku> = placed
            .iter()
            .flat_map(|(_, o)| o.lines.iter().map(|l| l.sku.clone()))
            .collect::<BTreeSet<Sku>>()
            .into_iter()
            .collect();
        let products: HashMap<Sku, ProductId> = self
            .catalog
            .listings(&skus)
            .await?
            .into_iter()
            .map(|l| (l.variant.sku, l.variant.product_id))
            .collect();
        let purchases: Vec<Purchase> = placed
            .iter()
            .map(|(event, order)| purchase_of(event, order, &products))
            .collect();
        let recorded = self.store.record_purchases(&purchases).await?;
        let mut customers = Vec::new();
        for customer in purchases.iter().filter_map(|p| p.customer_id) {
            if !customers.contains(&customer) {
                customers.push(customer);
            }
        }
        let recommendations = Recommendations::new(self.store.clone());
        for customer in customers {
            recommendations.refresh_for_you(customer).await?;
        }
        Ok(recorded.into_iter().filter(|r| *r).count())
    }
}

/// The purchase `order` makes as of `event`, its lines' SKUs mapped to products by
/// `products` (lines of unknown SKUs left out).
fn purchase_of(
    event: &EventEnvelope,
    order: &commerce_orders::Order,
    products: &HashMap<Sku, ProductId>,
) -> Purchase {
    Purchase {
        event_id: event.id,
        customer_id: order.customer_id,
        lines: order
            .lines
            .iter()
            .filter_map(|l| {
                products.get(&l.sku).map(|p| PurchaseLine {
                    product_id: *p,
                    units: l.quantity,
                })
            })
            .collect(),
        at: event.occurred_at,
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
    /// The batch's orders recorded together ([`PurchaseRecorder::handle_events`]);
    /// a malformed event ends the batch before it (the orders before it are
    /// recorded, it fails alone). On a read or store failure nothing is acknowledged
    /// and the batch is handled again (recording is idempotent per event).
    async fn handle_batch(&self, entries: &[OutboxEntry]) -> BatchOutcome {
        let events: Vec<&EventEnvelope> = entries.iter().map(|e| &e.event).collect();
        let (confirmed, malformed) = confirmed_orders(&events);
        if let Err(e) = self.record_all(&confirmed).await {
            return BatchOutcome::failed(0, e.into());
        }
        match malformed {
            Some((i, e)) => BatchOutcome::failed(i, e.into()),
            None => BatchOutcome::done(entries.len()),
        }
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
