//! The outbox consumer that turns order, payment, refund, cart and inventory events
//! into rollups.
//!
//! What is counted, and on which day (the UTC day of the event):
//! - `order.placed`: a checkout started; the order's fact (lines with their product
//!   and category as the catalog has them then) is kept for its confirmation.
//! - `payment.authorized`: the payment method is noted on the fact.
//! - `order.confirmed`: an order, its grand total as revenue, its units, per product,
//!   per category (line totals), per payment method; the funnel's confirmed step.
//! - `payment.refunded`: a refund and its amount. `order.cancelled`: a cancellation.
//! - `cart.created`: the funnel's first step.
//! - `inventory.stock_changed`: the SKU's latest level (low-stock list).
//! - `inventory.reservation_finished` with status `expired`: a reservation expiry.
//!
//! **Architecture Invariant:** every event's effect is one `AnalyticsStore::apply`
//! keyed by the event id, so a redelivered event counts once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

use commerce_core::ports::CatalogStore;
use commerce_core::{EventConsumer, EventEnvelope, ProductId, Sku};
use commerce_inventory::{InventoryEvent, ReservationStatus};
use commerce_orders::{OrderEvent, PlacedLine};

use crate::error::{Error, Result};
use crate::model::{Change, CounterKey, FactLine, Increment, Metric, OrderFact, StockLevel};
use crate::ports::AnalyticsStore;

/// The consumer group name of the rollups in the outbox.
pub const GROUP: &str = "analytics";
/// Topic of the event a cart store writes when a cart gets its first line.
pub const CART_CREATED: &str = "cart.created";
/// Category key of products without a category.
pub const UNCATEGORIZED: &str = "uncategorized";

/// Turns events into rollup changes; see the module documentation.
pub struct RollupConsumer {
    store: Arc<dyn AnalyticsStore>,
    catalog: Arc<dyn CatalogStore>,
}

impl RollupConsumer {
    /// A consumer writing into `store`, naming products and categories from `catalog`.
    pub fn new(store: Arc<dyn AnalyticsStore>, catalog: Arc<dyn CatalogStore>) -> Self {
        RollupConsumer { store, catalog }
    }

    /// Handles one event; returns whether it changed anything (`false` for a
    /// redelivered event or a topic the rollups do not use).
    pub async fn handle_event(&self, event: &EventEnvelope) -> Result<bool> {
        let day = event.occurred_at.date_naive();
        let changes = match event.topic.as_str() {
            "order.placed" => self.placed(day, parse(event)?).await?,
            "payment.authorized" => self.authorized(parse(event)?).await?,
            "order.confirmed" => self.confirmed(day, parse(event)?).await?,
            "order.cancelled" => vec![count(day, Metric::Cancellations)],
            "payment.refunded" => refunded(day, parse(event)?),
            CART_CREATED => vec![count(day, Metric::CartsCreated)],
            "inventory.stock_changed" => stock(parse(event)?),
            "inventory.reservation_finished" => expired(day, parse(event)?),
            _ => return Ok(false),
        };
        self.store.apply(event.id, &changes).await
    }

    async fn placed(&self, day: NaiveDate, event: OrderEvent) -> Result<Vec<Change>> {
        let OrderEvent::OrderPlaced {
            order_id,
            grand_total,
            units,
            lines,
            ..
        } = event
        else {
            return Ok(Vec::new());
        };
        let fact = OrderFact {
            order_id,
            currency: grand_total.currency().code().to_owned(),
            grand_total: grand_total.amount(),
            units,
            lines: self.describe(&lines).await?,
            payment_method: None,
            confirmed: false,
        };
        Ok(vec![
            count(day, Metric::CheckoutsStarted),
            Change::PutFact(fact),
        ])
    }

    /// Product and category of each line, in two catalog reads plus one per product.
    async fn describe(&self, lines: &[PlacedLine]) -> Result<Vec<FactLine>> {
        let skus: Vec<Sku> = lines.iter().map(|l| l.sku.clone()).collect();
        let listings = self.catalog.listings(&skus).await?;
        let product_of: HashMap<&str, ProductId> = listings
            .iter()
            .map(|l| (l.variant.sku.as_str(), l.variant.product_id))
            .collect();
        let ids: BTreeSet<ProductId> = product_of.values().copied().collect();
        let mut products = HashMap::new();
        for id in ids {
            if let Some(p) = self.catalog.product(id).await? {
                products.insert(id, p);
            }
        }
        let categories: HashMap<_, _> = if products.is_empty() {
            HashMap::new()
        } else {
            self.catalog
                .categories()
                .await?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect()
        };
        Ok(lines
            .iter()
            .map(|line| {
                let product = product_of
                    .get(line.sku.as_str())
                    .and_then(|id| products.get(id));
                let (product_key, product_label) = match product {
                    Some(p) => (p.id.to_string(), p.title.clone()),
                    None => (line.sku.as_str().to_owned(), line.sku.as_str().to_owned()),
                };
                let category = product.and_then(|p| p.category_ids.first());
                let (category_key, category_label) = match category {
                    Some(id) => (
                        id.to_string(),
                        categories
                            .get(id)
                            .cloned()
                            .unwrap_or_else(|| id.to_string()),
                    ),
                    None => (UNCATEGORIZED.to_owned(), "Uncategorized".to_owned()),
                };
                FactLine {
                    sku: line.sku.clone(),
                    product_key,
                    product_label,
                    category_key,
                    category_label,
                    quantity: line.quantity,
                    total: line.total.amount(),
                }
            })
            .collect())
    }

    async fn authorized(&self, event: OrderEvent) -> Result<Vec<Change>> {
        let OrderEvent::PaymentAuthorized {
            order_id, method, ..
        } = event
        else {
            return Ok(Vec::new());
        };
        let Some(mut fact) = self.store.order_fact(order_id).await? else {
            return Ok(Vec::new());
        };
        fact.payment_method = Some(enum_text(&method));
        Ok(vec![Change::PutFact(fact)])
    }

    async fn confirmed(&self, day: NaiveDate, event: OrderEvent) -> Result<Vec<Change>> {
        let OrderEvent::OrderConfirmed { order_id } = event else {
            return Ok(Vec::new());
        };
        let Some(mut fact) = self.store.order_fact(order_id).await? else {
            return Ok(Vec::new());
        };
        if fact.confirmed {
            return Ok(Vec::new());
        }
        let currency = fact.currency.clone();
        let mut changes = vec![
            count(day, Metric::OrdersConfirmed),
            add(
                day,
                Metric::Orders,
                "",
                "",
                &currency,
                1,
                to_i64(fact.units),
                fact.grand_total,
            ),
        ];
        let method = fact
            .payment_method
            .clone()
            .unwrap_or_else(|| "unknown".to_owned());
        changes.push(add(
            day,
            Metric::PaymentMethod,
            &method,
            &method,
            &currency,
            1,
            0,
            fact.grand_total,
        ));
        for line in &fact.lines {
            let units = i64::from(line.quantity);
            changes.push(add(
                day,
                Metric::Product,
                &line.product_key,
                &line.product_label,
                &currency,
                1,
                units,
                line.total,
            ));
            changes.push(add(
                day,
                Metric::Category,
                &line.category_key,
                &line.category_label,
                &currency,
                1,
                units,
                line.total,
            ));
        }
        fact.confirmed = true;
        changes.push(Change::PutFact(fact));
        Ok(changes)
    }
}

#[async_trait]
impl EventConsumer for RollupConsumer {
    fn group(&self) -> &str {
        GROUP
    }

    async fn handle(&self, event: &EventEnvelope) -> commerce_core::Result<()> {
        self.handle_event(event).await?;
        Ok(())
    }
}

fn parse<T: DeserializeOwned>(event: &EventEnvelope) -> Result<T> {
    serde_json::from_value(event.payload.clone()).map_err(|e| Error::MalformedEvent {
        topic: event.topic.clone(),
        message: e.to_string(),
    })
}

/// The serde text of a unit enum variant (`card`, `expired`...).
fn enum_text<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".to_owned(),
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[allow(clippy::too_many_arguments)]
fn add(
    day: NaiveDate,
    metric: Metric,
    key: &str,
    label: &str,
    currency: &str,
    count: i64,
    units: i64,
    amount: Decimal,
) -> Change {
    Change::Add(Increment {
        counter: CounterKey {
            day,
            metric,
            key: key.to_owned(),
            currency: currency.to_owned(),
        },
        label: label.to_owned(),
        count,
        units,
        amount,
    })
}

fn count(day: NaiveDate, metric: Metric) -> Change {
    add(day, metric, "", "", "", 1, 0, Decimal::ZERO)
}

fn refunded(day: NaiveDate, event: OrderEvent) -> Vec<Change> {
    match event {
        OrderEvent::PaymentRefunded { amount, .. } => vec![add(
            day,
            Metric::Refunds,
            "",
            "",
            amount.currency().code(),
            1,
            0,
            amount.amount(),
        )],
        _ => Vec::new(),
    }
}

fn stock(event: InventoryEvent) -> Vec<Change> {
    match event {
        InventoryEvent::StockChanged {
            sku,
            location,
            on_hand,
            reserved,
            ..
        } => vec![Change::PutStock(StockLevel {
            sku,
            location: location.to_string(),
            on_hand,
            reserved,
            available: on_hand.saturating_sub(reserved),
        })],
        // Events added later change no stock figure until they are counted here.
        _ => Vec::new(),
    }
}

fn expired(day: NaiveDate, event: InventoryEvent) -> Vec<Change> {
    match event {
        InventoryEvent::ReservationFinished {
            status: ReservationStatus::Expired,
            ..
        } => vec![count(day, Metric::ReservationExpiries)],
        _ => Vec::new(),
    }
}
