//! The analytics rollups and the purchase recorder on PostgreSQL, handling a claimed
//! batch of outbox events: a fixed number of statements whatever the batch's size
//! (issue 13, finding 10: both fell behind the soak's load applying event by event),
//! and the events per second each applies one by one (the runner's default
//! `handle_batch`) and batched, on the same history, in the same run.
//!
//! Statements are counted from sqlx's per-statement `sqlx::query` events.
//! `OUTBOX_BATCH_ORDERS` sizes the throughput run (default 150 orders).
// Floats: events per second and recommendation scores, never amounts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::float_arithmetic,
    unreachable_pub
)]

mod support;

use support::Statements;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use tracing_subscriber::layer::SubscriberExt;

use commerce_analytics::{
    Analytics, AnalyticsStore, Dashboard, DashboardOptions, DateRange, Metric, RollupConsumer,
};
use commerce_core::ports::{CatalogStore, Outbox, OutboxEntry};
use commerce_core::testkit::fixtures::{product, us_address};
use commerce_core::worker::{BatchOutcome, EventConsumer, RunnerConfig, drain};
use commerce_core::{
    Category, CategoryId, Currency, CustomerId, DomainEvent, EventEnvelope, Money, Product,
};
use commerce_inventory::{InventoryEvent, LocationCode};
use commerce_orders::{
    Authorization, IdempotencyKey, NewOrder, Order, OrderId, OrderLine, OrderStore, OrderTotals,
    PaymentMethodKind, PaymentMethodSummary, PaymentReference, ShippingSnapshot, Transitioned,
};
use commerce_postgres::PgStores;
use commerce_recommend::{PurchaseRecorder, RecommendStore};

/// A small deterministic generator (xorshift), so both databases get one history.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The catalog every database gets: three categories, eight products.
struct Catalog {
    categories: Vec<Category>,
    products: Vec<Product>,
}

fn catalog() -> Catalog {
    let categories: Vec<Category> = ["Tea", "Coffee", "Cups"]
        .iter()
        .map(|name| Category {
            id: CategoryId::new(),
            parent_id: None,
            name: (*name).to_owned(),
            slug: name.to_lowercase(),
        })
        .collect();
    let products = (0..8)
        .map(|i| {
            let mut p = product(
                &format!("BATCH-{i}"),
                Money::from_minor(1000, Currency::USD),
            );
            p.category_ids = vec![categories[i % 3].id];
            p
        })
        .collect();
    Catalog {
        categories,
        products,
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

/// One confirmed order of 1 to 3 lines (a guest's, or one of `customers`'), and
/// the events a checkout writes around it: a cart created, the order placed, its
/// payment authorized, the order confirmed, and the stock of each line changed
/// twice (reserved, then committed).
fn checkout(
    catalog: &Catalog,
    customers: &[CustomerId],
    rng: &mut Rng,
    at: DateTime<Utc>,
) -> (Order, Vec<EventEnvelope>) {
    let usd = Currency::USD;
    let zero = Money::zero(usd);
    let mut lines = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let p = &catalog.products[rng.below(catalog.products.len() as u64) as usize];
        if lines.iter().any(|l: &OrderLine| l.sku == p.variants[0].sku) {
            continue;
        }
        let quantity = 1 + rng.below(3) as u32;
        let unit = Money::from_minor(500 + rng.below(2000) as i64, usd);
        let subtotal = unit.checked_mul_qty(u64::from(quantity)).unwrap();
        lines.push(OrderLine {
            sku: p.variants[0].sku.clone(),
            name: p.title.clone(),
            quantity,
            unit_price: unit,
            subtotal,
            discount: zero,
            tax: zero,
            tax_rate: Decimal::ZERO,
            total: subtotal,
            refunded: zero,
            seller_id: None,
        });
    }
    let subtotal = Money::sum(usd, lines.iter().map(|l| l.total)).unwrap();
    let id = OrderId::new();
    let key = IdempotencyKey::new(format!("batch-{id}")).unwrap();
    let customer = match rng.below(3) {
        0 => None,
        _ => Some(customers[rng.below(customers.len() as u64) as usize]),
    };
    let totals = OrderTotals {
        prices_include_tax: false,
        subtotal,
        discount_total: zero,
        shipping_total: zero,
        shipping_tax: zero,
        tax_total: zero,
        grand_total: subtotal,
        shipping_refunded: zero,
    };
    let shipping = ShippingSnapshot {
        code: "standard".to_owned(),
        name: "Standard".to_owned(),
        price: zero,
        carrier_rate: None,
    };
    let card = PaymentMethodSummary {
        kind: PaymentMethodKind::Card,
        label: "card ending 4242".to_owned(),
    };
    let new = NewOrder::new(
        id,
        key,
        "ada@example.com",
        lines,
        totals,
        us_address("CA"),
        shipping,
        card,
        at,
    )
    .unwrap()
    .with_customer(customer)
    .with_billing_address(us_address("NY"));
    let placed = Order::place(new).unwrap();
    let order = placed.order.clone();
    let auth = Authorization::new(
        PaymentReference(format!("pay-{id}")),
        order.totals.grand_total,
        order.payment.method.clone(),
        at,
    );
    let confirmed = Transitioned::unchanged(order)
        .then(|o| o.record_authorization(&auth, at))
        .unwrap()
        .then(|o| o.confirm(at))
        .unwrap();
    let mut events = vec![EventEnvelope {
        id: commerce_core::EventId::new(),
        topic: "cart.created".to_owned(),
        aggregate_type: "cart".to_owned(),
        aggregate_id: format!("cart-{id}"),
        occurred_at: at,
        payload: serde_json::json!({"type": "cart_created"}),
    }];
    for t in [&placed, &confirmed] {
        events.extend(t.events.iter().map(|e| e.envelope(at).unwrap()));
    }
    for line in &confirmed.order.lines {
        for reserved in [u64::from(line.quantity), 0] {
            let on_hand = 100 + rng.below(50);
            events.push(
                InventoryEvent::StockChanged {
                    sku: line.sku.clone(),
                    location: LocationCode::default_location(),
                    on_hand,
                    reserved,
                    backordered: 0,
                }
                .envelope(at)
                .unwrap(),
            );
        }
    }
    (confirmed.order, events)
}

/// `orders` confirmed orders over a day, the same for a given seed.
fn history(
    catalog: &Catalog,
    customers: &[CustomerId],
    orders: usize,
    seed: u64,
) -> Vec<(Order, Vec<EventEnvelope>)> {
    let mut rng = Rng(seed);
    (0..orders)
        .map(|i| {
            let at = start() + chrono::Duration::seconds(i as i64 * 37);
            checkout(catalog, customers, &mut rng, at)
        })
        .collect()
}

/// Writes the catalog, the recommendation signals and the history into `stores`
/// (each order with its events in one `create`); returns the outbox's entries.
async fn load(
    stores: &PgStores,
    catalog: &Catalog,
    history: &[(Order, Vec<EventEnvelope>)],
) -> Vec<OutboxEntry> {
    let cat = stores.catalog();
    for c in &catalog.categories {
        cat.upsert_category(c).await.unwrap();
    }
    for p in &catalog.products {
        cat.upsert_product(p).await.unwrap();
        let signals = commerce_recommend::signals::product_signals(p, true);
        stores
            .recommendations()
            .upsert_signals(&signals)
            .await
            .unwrap();
    }
    let orders = stores.orders();
    for (order, events) in history {
        orders.create(order, events).await.unwrap();
    }
    stores
        .outbox()
        .claim("read-all", 1_000_000, Duration::from_secs(1))
        .await
        .unwrap()
}

fn rollups(stores: &PgStores) -> RollupConsumer {
    RollupConsumer::new(Arc::new(stores.analytics()), Arc::new(stores.catalog()))
}

fn recorder(stores: &PgStores) -> PurchaseRecorder {
    PurchaseRecorder::new(
        Arc::new(stores.orders()),
        Arc::new(stores.catalog()),
        Arc::new(stores.recommendations()),
    )
}

fn done(outcome: BatchOutcome, entries: usize) {
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(outcome.handled, entries);
}

/// A batch of 6 orders and one of 120 (about 8 events each, two buyers) cost the
/// same statements: the rollups a fixed number of reads and one transaction; the
/// purchase recorder one read of the orders, one of the catalog, one transaction,
/// then the two buyers' "for you" lists.
#[tokio::test(flavor = "current_thread")]
async fn outbox_batch_rollups_and_purchases_cost_the_same_statements_at_any_size() {
    let statements = Statements::default();
    let subscriber = tracing_subscriber::registry().with(statements.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let catalog = catalog();
    let customers = [CustomerId::new(), CustomerId::new()];
    let mut counts = Vec::new();
    for orders in [6, 120] {
        let stores = support::fresh_stores_logging_statements().await;
        let entries = load(&stores, &catalog, &history(&catalog, &customers, orders, 7)).await;
        assert!(entries.len() < 1_000, "one claim holds the whole history");
        statements.take();
        done(rollups(&stores).handle_batch(&entries).await, entries.len());
        let analytics = statements.take();
        done(
            recorder(&stores).handle_batch(&entries).await,
            entries.len(),
        );
        let purchases = statements.take();
        eprintln!(
            "batch of {} events ({orders} orders): rollups {analytics} statements, \
             purchases {purchases}",
            entries.len()
        );
        // Every order counted once.
        let day = start().date_naive();
        let rows = stores
            .analytics()
            .daily(Metric::OrdersConfirmed, DateRange::new(day, day).unwrap())
            .await
            .unwrap();
        assert_eq!(rows.iter().map(|r| r.count).sum::<i64>(), orders as i64);
        for c in customers {
            assert!(
                !stores
                    .recommendations()
                    .purchased(c, 50)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        counts.push((analytics, purchases));
    }
    assert_eq!(
        counts[0], counts[1],
        "statements of a small and a large batch"
    );
    // Rollups: applied, facts, listings, products (+ variants), categories, then
    // BEGIN, event ids, counters, facts, stock, COMMIT.
    assert!(counts[0].0 <= 12, "{counts:?}");
}

/// A consumer handling events one by one, as the runner's default `handle_batch`
/// does (what both consumers did before they handled batches).
struct OneByOne<C>(C, &'static str);

#[async_trait::async_trait]
impl<C: EventConsumer> EventConsumer for OneByOne<C> {
    fn group(&self) -> &str {
        self.1
    }
    async fn handle(&self, event: &EventEnvelope) -> commerce_core::Result<()> {
        self.0.handle(event).await
    }
}

/// Drains `consumer` from `stores`' outbox; the events and the events per second.
async fn rate(stores: &PgStores, consumer: &dyn EventConsumer) -> (usize, f64) {
    let started = Instant::now();
    let events = drain(&stores.outbox(), consumer, RunnerConfig::default())
        .await
        .unwrap();
    (events, events as f64 / started.elapsed().as_secs_f64())
}

async fn dashboard(stores: &PgStores) -> Dashboard {
    let day = start().date_naive();
    let range = DateRange::new(day, day + chrono::Days::new(1)).unwrap();
    Analytics::new(Arc::new(stores.analytics()))
        .dashboard(range, DashboardOptions::default().with_top(100))
        .await
        .unwrap()
}

/// The same history in two databases, drained by each consumer one by one in one
/// and batched (the runner's batches of 100) in the other: the same figures, and
/// the events per second of each path.
#[tokio::test]
async fn outbox_batch_throughput_one_by_one_and_batched() {
    let orders: usize = std::env::var("OUTBOX_BATCH_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let catalog = catalog();
    let customers: Vec<CustomerId> = (0..4).map(|_| CustomerId::new()).collect();
    let history = history(&catalog, &customers, orders, 42);
    let (one, batched) = (support::fresh_stores().await, support::fresh_stores().await);
    load(&one, &catalog, &history).await;
    load(&batched, &catalog, &history).await;

    let (events, analytics_one) =
        rate(&one, &OneByOne(rollups(&one), commerce_analytics::GROUP)).await;
    let (_, analytics_batched) = rate(&batched, &rollups(&batched)).await;
    let (_, purchases_one) = rate(
        &one,
        &OneByOne(recorder(&one), commerce_recommend::PURCHASES_GROUP),
    )
    .await;
    let (_, purchases_batched) = rate(&batched, &recorder(&batched)).await;
    eprintln!(
        "{events} events ({orders} orders), batches of 100:\n\
         analytics_rollups   one by one {analytics_one:>6.0} events/s, batched {analytics_batched:>6.0} events/s ({:.1}x)\n\
         recommend.purchases one by one {purchases_one:>6.0} events/s, batched {purchases_batched:>6.0} events/s ({:.1}x)",
        analytics_batched / analytics_one,
        purchases_batched / purchases_one,
    );
    assert!(events > orders * 6, "{events} events");

    let expected = dashboard(&one).await;
    assert_eq!(expected.funnel.orders_confirmed, orders as i64);
    assert_eq!(dashboard(&batched).await, expected);
    for c in &customers {
        assert_eq!(
            batched.recommendations().purchased(*c, 50).await.unwrap(),
            one.recommendations().purchased(*c, 50).await.unwrap()
        );
    }
    for p in &catalog.products {
        let score = |stores: &PgStores| {
            let store = stores.recommendations();
            async move {
                store
                    .bought_together(&[p.id], &[], 10)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|s| (s.product_id, (s.score * 1e9).round() as i64))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(score(&batched).await, score(&one).await);
    }
}
