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
//! **Architecture Invariant:** every event's effect is applied keyed by the event id
//! (`AnalyticsStore::apply`, or `AnalyticsStore::apply_batch` for a claimed batch), so
//! a redelivered event counts once.
//!
//! **Batches.** The runner hands a claimed batch to [`RollupConsumer::handle_events`]:
//! the events already applied are left out first (one `applied` read), then one read
//! of the order facts the batch needs and one of the catalog for the lines it places,
//! then the changes of every event, computed in order (an event reads the facts as the
//! batch's earlier events left them), go to the store in one `apply_batch`. The
//! figures are those of handling the events one by one.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;

use commerce_core::ports::{CatalogStore, OutboxEntry};
use commerce_core::worker::BatchOutcome;
use commerce_core::{CategoryId, EventConsumer, EventEnvelope, EventId, Product, ProductId, Sku};
use commerce_inventory::{InventoryEvent, ReservationStatus};
use commerce_orders::{OrderEvent, OrderId, PlacedLine};

use crate::error::{Error, Result};
use crate::model::{
    Change, CounterKey, EventChanges, FactLine, Increment, Metric, OrderFact, StockLevel,
};
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

/// An event parsed, before the reads its changes need.
enum Step {
    /// `order.placed`: its lines are described from the catalog.
    Placed(NaiveDate, OrderEvent),
    /// `payment.authorized`: reads the order's fact.
    Authorized(OrderEvent),
    /// `order.confirmed`: reads the order's fact.
    Confirmed(NaiveDate, OrderEvent),
    /// Changes known from the event alone.
    Ready(Vec<Change>),
    /// A topic the rollups do not use.
    Ignored,
}

impl Step {
    /// Parses `event`; `MalformedEvent` when its payload does not match its topic.
    fn of(event: &EventEnvelope) -> Result<Step> {
        let day = event.occurred_at.date_naive();
        Ok(match event.topic.as_str() {
            "order.placed" => Step::Placed(day, parse(event)?),
            "payment.authorized" => Step::Authorized(parse(event)?),
            "order.confirmed" => Step::Confirmed(day, parse(event)?),
            "order.cancelled" => Step::Ready(vec![count(day, Metric::Cancellations)]),
            "payment.refunded" => Step::Ready(refunded(day, parse(event)?)),
            CART_CREATED => Step::Ready(vec![count(day, Metric::CartsCreated)]),
            "inventory.stock_changed" => Step::Ready(stock(parse(event)?)),
            "inventory.reservation_finished" => Step::Ready(expired(day, parse(event)?)),
            _ => Step::Ignored,
        })
    }

    /// The order whose fact the step reads.
    fn reads_fact(&self) -> Option<OrderId> {
        match self {
            Step::Authorized(OrderEvent::PaymentAuthorized { order_id, .. })
            | Step::Confirmed(_, OrderEvent::OrderConfirmed { order_id }) => Some(*order_id),
            _ => None,
        }
    }

    /// The lines the step places.
    fn placed_lines(&self) -> &[PlacedLine] {
        match self {
            Step::Placed(_, OrderEvent::OrderPlaced { lines, .. }) => lines,
            _ => &[],
        }
    }
}

/// What the changes of a batch are computed from: the catalog as the placed lines
/// need it, and the order facts as the batch's earlier events left them.
#[derive(Default)]
struct Context {
    product_of: HashMap<Sku, ProductId>,
    products: HashMap<ProductId, Product>,
    categories: HashMap<CategoryId, String>,
    facts: HashMap<OrderId, OrderFact>,
}

impl RollupConsumer {
    /// A consumer writing into `store`, naming products and categories from `catalog`.
    pub fn new(store: Arc<dyn AnalyticsStore>, catalog: Arc<dyn CatalogStore>) -> Self {
        RollupConsumer { store, catalog }
    }

    /// Handles one event; returns whether it changed anything (`false` for a
    /// redelivered event or a topic the rollups do not use).
    pub async fn handle_event(&self, event: &EventEnvelope) -> Result<bool> {
        let step = Step::of(event)?;
        if matches!(step, Step::Ignored) {
            return Ok(false);
        }
        let mut context = self.context(std::slice::from_ref(&step)).await?;
        let changes = context.changes(step);
        self.store.apply(event.id, &changes).await
    }

    /// Handles a batch of events as one (see the module documentation): a fixed
    /// number of reads and one `apply_batch` whatever its size. Returns how many were
    /// applied now (redelivered events and topics the rollups do not use are not).
    /// A malformed event fails the call before anything is applied.
    pub async fn handle_events(&self, events: &[&EventEnvelope]) -> Result<usize> {
        let steps = events
            .iter()
            .map(|e| Ok((e.id, Step::of(e)?)))
            .collect::<Result<Vec<_>>>()?;
        self.apply_steps(steps).await
    }

    async fn apply_steps(&self, steps: Vec<(EventId, Step)>) -> Result<usize> {
        let ids: Vec<EventId> = steps
            .iter()
            .filter(|(_, s)| !matches!(s, Step::Ignored))
            .map(|(id, _)| *id)
            .collect();
        if ids.is_empty() {
            return Ok(0);
        }
        // An event applied before changes nothing, not even what later events of the
        // batch read.
        let applied: HashSet<EventId> = self.store.applied(&ids).await?.into_iter().collect();
        let steps: Vec<(EventId, Step)> = steps
            .into_iter()
            .filter(|(id, s)| !matches!(s, Step::Ignored) && !applied.contains(id))
            .collect();
        if steps.is_empty() {
            return Ok(0);
        }
        let mut context = self
            .context(&steps.iter().map(|(_, s)| s).collect::<Vec<_>>())
            .await?;
        let batch: Vec<EventChanges> = steps
            .into_iter()
            .map(|(id, step)| EventChanges::new(id, context.changes(step)))
            .collect();
        let done = self.store.apply_batch(&batch).await?;
        Ok(done.into_iter().filter(|d| *d).count())
    }

    /// Reads what `steps` need: the facts of the orders they name (one read) and the
    /// catalog for the lines they place (listings, products, categories: one read
    /// each).
    async fn context<S: std::borrow::Borrow<Step>>(&self, steps: &[S]) -> Result<Context> {
        let mut context = Context::default();
        let orders: BTreeSet<OrderId> = steps
            .iter()
            .filter_map(|s| s.borrow().reads_fact())
            .collect();
        if !orders.is_empty() {
            let orders: Vec<OrderId> = orders.into_iter().collect();
            for fact in self.store.order_facts(&orders).await? {
                context.facts.insert(fact.order_id, fact);
            }
        }
        let skus: BTreeSet<Sku> = steps
            .iter()
            .flat_map(|s| s.borrow().placed_lines())
            .map(|l| l.sku.clone())
            .collect();
        if skus.is_empty() {
            return Ok(context);
        }
        let skus: Vec<Sku> = skus.into_iter().collect();
        for listing in self.catalog.listings(&skus).await? {
            context
                .product_of
                .insert(listing.variant.sku, listing.variant.product_id);
        }
        let ids: BTreeSet<ProductId> = context.product_of.values().copied().collect();
        if ids.is_empty() {
            return Ok(context);
        }
        let ids: Vec<ProductId> = ids.into_iter().collect();
        for product in self.catalog.products(&ids).await? {
            context.products.insert(product.id, product);
        }
        if !context.products.is_empty() {
            context.categories = self
                .catalog
                .categories()
                .await?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect();
        }
        Ok(context)
    }
}

impl Context {
    /// The changes of `step`; the facts it writes are seen by the steps after it.
    fn changes(&mut self, step: Step) -> Vec<Change> {
        let changes = match step {
            Step::Placed(day, event) => self.placed(day, event),
            Step::Authorized(event) => self.authorized(event),
            Step::Confirmed(day, event) => self.confirmed(day, event),
            Step::Ready(changes) => changes,
            Step::Ignored => Vec::new(),
        };
        for change in &changes {
            if let Change::PutFact(fact) = change {
                self.facts.insert(fact.order_id, fact.clone());
            }
        }
        changes
    }

    fn placed(&self, day: NaiveDate, event: OrderEvent) -> Vec<Change> {
        let OrderEvent::OrderPlaced {
            order_id,
            grand_total,
            units,
            lines,
            ..
        } = event
        else {
            return Vec::new();
        };
        let fact = OrderFact {
            order_id,
            currency: grand_total.currency().code().to_owned(),
            grand_total: grand_total.amount(),
            units,
            lines: self.describe(&lines),
            payment_method: None,
            confirmed: false,
        };
        vec![count(day, Metric::CheckoutsStarted), Change::PutFact(fact)]
    }

    /// Product and category of each line, as the catalog has them now.
    fn describe(&self, lines: &[PlacedLine]) -> Vec<FactLine> {
        lines
            .iter()
            .map(|line| {
                let product = self
                    .product_of
                    .get(&line.sku)
                    .and_then(|id| self.products.get(id));
                let (product_key, product_label) = match product {
                    Some(p) => (p.id.to_string(), p.title.clone()),
                    None => (line.sku.as_str().to_owned(), line.sku.as_str().to_owned()),
                };
                let category = product.and_then(|p| p.category_ids.first());
                let (category_key, category_label) = match category {
                    Some(id) => (
                        id.to_string(),
                        self.categories
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
            .collect()
    }

    fn authorized(&self, event: OrderEvent) -> Vec<Change> {
        let OrderEvent::PaymentAuthorized {
            order_id, method, ..
        } = event
        else {
            return Vec::new();
        };
        let Some(mut fact) = self.facts.get(&order_id).cloned() else {
            return Vec::new();
        };
        fact.payment_method = Some(enum_text(&method));
        vec![Change::PutFact(fact)]
    }

    fn confirmed(&self, day: NaiveDate, event: OrderEvent) -> Vec<Change> {
        let OrderEvent::OrderConfirmed { order_id } = event else {
            return Vec::new();
        };
        let Some(mut fact) = self.facts.get(&order_id).cloned() else {
            return Vec::new();
        };
        if fact.confirmed {
            return Vec::new();
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
        changes
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

    /// The whole batch in one [`RollupConsumer::handle_events`]; a malformed event
    /// ends the batch before it (the events before it are applied, it fails alone).
    /// On a read or store failure nothing is applied and the batch is handled again.
    async fn handle_batch(&self, entries: &[OutboxEntry]) -> BatchOutcome {
        let mut steps = Vec::with_capacity(entries.len());
        let mut malformed = None;
        for entry in entries {
            match Step::of(&entry.event) {
                Ok(step) => steps.push((entry.event.id, step)),
                Err(e) => {
                    malformed = Some(e);
                    break;
                }
            }
        }
        let parsed = steps.len();
        if let Err(e) = self.apply_steps(steps).await {
            return BatchOutcome::failed(0, e.into());
        }
        match malformed {
            Some(e) => BatchOutcome::failed(parsed, e.into()),
            None => BatchOutcome::done(entries.len()),
        }
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
