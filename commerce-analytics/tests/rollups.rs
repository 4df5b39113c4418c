//! The rollups against a brute-force computation over the same orders, and
//! idempotency per event id.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

use commerce_analytics::{
    Analytics, AnalyticsStore, Dashboard, DashboardOptions, DateRange, MemoryAnalyticsStore,
    RollupConsumer,
};
use commerce_core::memory::{MemoryCatalog, MemoryOutbox};
use commerce_core::ports::{CatalogStore, Outbox};
use commerce_core::testkit::fixtures::{product, us_address};
use commerce_core::{
    Category, CategoryId, Currency, DomainEvent, EventEnvelope, Money, RunnerConfig, drain,
};
use commerce_inventory::{InventoryEvent, LocationCode, ReservationStatus};
use commerce_orders::{
    Authorization, CancelReason, Decline, DeclineReason, IdempotencyKey, NewOrder, Order, OrderId,
    OrderLine, OrderTotals, PaymentMethodKind, PaymentMethodSummary, PaymentReference,
    RefundReceipt, ShippingSnapshot, Transitioned,
};

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct World {
    outbox: Arc<MemoryOutbox>,
    catalog: Arc<MemoryCatalog>,
    /// (sku, product id, title, category id, category name)
    products: Vec<(String, String, String, String, String)>,
}

async fn world() -> World {
    let outbox = Arc::new(MemoryOutbox::new());
    let catalog = Arc::new(MemoryCatalog::new(outbox.clone()));
    let mut cats = Vec::new();
    for name in ["Tea", "Coffee", "Cups"] {
        let c = Category {
            id: CategoryId::new(),
            parent_id: None,
            name: name.to_owned(),
            slug: name.to_lowercase(),
        };
        catalog.upsert_category(&c).await.unwrap();
        cats.push(c);
    }
    let mut products = Vec::new();
    for i in 0..7 {
        let code = format!("SKU-{i}");
        let mut p = product(
            &code,
            Money::from_minor(1000, Currency::from_code("USD").unwrap()),
        );
        // Product 6 has no category.
        if i < 6 {
            p.category_ids = vec![cats[i % 3].id];
        }
        catalog.upsert_product(&p).await.unwrap();
        let (cid, cname) = if i < 6 {
            (cats[i % 3].id.to_string(), cats[i % 3].name.clone())
        } else {
            ("uncategorized".to_owned(), "Uncategorized".to_owned())
        };
        products.push((code, p.id.to_string(), p.title.clone(), cid, cname));
    }
    World {
        outbox,
        catalog,
        products,
    }
}

const CURRENCIES: [&str; 3] = ["USD", "EUR", "JPY"];
const METHODS: [PaymentMethodKind; 3] = [
    PaymentMethodKind::Card,
    PaymentMethodKind::Wallet,
    PaymentMethodKind::GiftCard,
];

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
}

/// What happened to each order, as the brute force sees it.
struct Record {
    order: Order,
    confirmed_at: Option<DateTime<Utc>>,
    cancelled: bool,
}

async fn publish(outbox: &MemoryOutbox, t: &Transitioned, at: DateTime<Utc>) {
    let envs: Vec<EventEnvelope> = t.events.iter().map(|e| e.envelope(at).unwrap()).collect();
    outbox.append(&envs).await.unwrap();
}

fn new_order(w: &World, rng: &mut Rng, currency: Currency, at: DateTime<Utc>) -> NewOrder {
    let id = OrderId::new();
    let mut lines = Vec::new();
    let n = 1 + rng.below(3) as usize;
    let mut used = std::collections::BTreeSet::new();
    for _ in 0..n {
        let k = rng.below(w.products.len() as u64) as usize;
        if !used.insert(k) {
            continue;
        }
        let qty = 1 + rng.below(4) as u32;
        let unit = Money::from_minor(100 + rng.below(5000) as i64, currency);
        let subtotal = unit.checked_mul_qty(u64::from(qty)).unwrap();
        lines.push(OrderLine {
            sku: commerce_core::Sku::new(w.products[k].0.clone()).unwrap(),
            name: w.products[k].2.clone(),
            quantity: qty,
            unit_price: unit,
            subtotal,
            discount: Money::zero(currency),
            tax: Money::zero(currency),
            tax_rate: Decimal::ZERO,
            total: subtotal,
            refunded: Money::zero(currency),
            seller_id: None,
        });
    }
    let subtotal = Money::sum(currency, lines.iter().map(|l| l.total)).unwrap();
    let shipping = Money::from_minor(500, currency);
    let zero = Money::zero(currency);
    let key = IdempotencyKey::new(format!("k-{id}")).unwrap();
    let kind = METHODS[rng.below(3) as usize];
    let totals = OrderTotals {
        prices_include_tax: false,
        subtotal,
        discount_total: zero,
        shipping_total: shipping,
        shipping_tax: zero,
        tax_total: zero,
        grand_total: subtotal.checked_add(shipping).unwrap(),
        shipping_refunded: zero,
    };
    let standard = ShippingSnapshot {
        code: "standard".to_owned(),
        name: "Standard".to_owned(),
        price: shipping,
        carrier_rate: None,
    };
    let method = PaymentMethodSummary {
        kind,
        label: format!("{kind:?}"),
    };
    NewOrder::new(
        id,
        key,
        "ada@example.com",
        lines,
        totals,
        us_address("CA"),
        standard,
        method,
        at,
    )
    .unwrap()
}

/// Drives `orders` orders through the real order state machine over five days and
/// writes every event to the outbox, with cart and inventory events around them.
async fn simulate(w: &World, seed: u64, orders: usize) -> (Vec<Record>, i64, i64) {
    let mut rng = Rng(seed);
    let mut records = Vec::new();
    let mut carts = 0;
    let mut expiries = 0;
    for i in 0..orders {
        let placed_at = start() + Duration::minutes((rng.below(5 * 24 * 60)) as i64);
        // One or two carts per checkout (some carts are abandoned).
        for _ in 0..1 + rng.below(2) {
            carts += 1;
            let env = EventEnvelope {
                id: commerce_core::EventId::new(),
                topic: "cart.created".to_owned(),
                aggregate_type: "cart".to_owned(),
                aggregate_id: format!("cart-{i}"),
                occurred_at: placed_at - Duration::minutes(30),
                payload: serde_json::json!({"type": "cart_created"}),
            };
            w.outbox.append(&[env]).await.unwrap();
        }
        let currency = Currency::from_code(CURRENCIES[rng.below(3) as usize]).unwrap();
        let placed = Order::place(new_order(w, &mut rng, currency, placed_at)).unwrap();
        publish(&w.outbox, &placed, placed_at).await;
        let mut order = placed.order;
        let mut record = Record {
            order: order.clone(),
            confirmed_at: None,
            cancelled: false,
        };
        // Confirmation late in the evening can land on the next day.
        let t = placed_at + Duration::minutes(rng.below(600) as i64);
        match rng.below(5) {
            0 => {
                // Declined, then cancelled.
                let d = order
                    .record_decline(&Decline::new(DeclineReason::Declined, "no"), t)
                    .unwrap();
                publish(&w.outbox, &d, t).await;
                let c = d
                    .order
                    .cancel(
                        CancelReason::PaymentDeclined {
                            reason: DeclineReason::Declined,
                            message: "no".to_owned(),
                        },
                        t,
                    )
                    .unwrap();
                publish(&w.outbox, &c, t).await;
                order = c.order;
                record.cancelled = true;
            }
            1 => {
                // Abandoned: the reservation expires.
                expiries += 1;
                let env = InventoryEvent::ReservationFinished {
                    id: order.reservation_id,
                    status: ReservationStatus::Expired,
                }
                .envelope(t)
                .unwrap();
                w.outbox.append(&[env]).await.unwrap();
            }
            outcome => {
                let auth = order
                    .record_authorization(
                        &Authorization::new(
                            PaymentReference(format!("pay-{i}")),
                            order.totals.grand_total,
                            order.payment.method.clone(),
                            t,
                        ),
                        t,
                    )
                    .unwrap();
                publish(&w.outbox, &auth, t).await;
                let conf = auth.order.confirm(t).unwrap();
                publish(&w.outbox, &conf, t).await;
                order = conf.order;
                record.confirmed_at = Some(t);
                if outcome == 3 {
                    let cap = order
                        .record_capture(
                            &commerce_orders::Capture::new(
                                PaymentReference(format!("pay-{i}")),
                                order.totals.grand_total,
                                t,
                            ),
                            t,
                        )
                        .unwrap();
                    publish(&w.outbox, &cap, t).await;
                    order = cap.order;
                    let later = t + Duration::hours(rng.below(48) as i64);
                    let amount = Money::from_minor(
                        1 + rng.below(order.totals.grand_total.to_minor().unwrap() as u64) as i64,
                        currency,
                    );
                    let refund = order
                        .record_refund(
                            &RefundReceipt::new(
                                format!("re-{i}"),
                                PaymentReference(format!("pay-{i}")),
                                amount,
                                amount,
                                later,
                            ),
                            IdempotencyKey::new(format!("r-{i}")).unwrap(),
                            "damaged",
                            later,
                        )
                        .unwrap();
                    publish(&w.outbox, &refund, later).await;
                    order = refund.order;
                } else if outcome == 4 {
                    let c = order
                        .cancel_voiding(CancelReason::CustomerRequested, t)
                        .unwrap();
                    publish(&w.outbox, &c, t).await;
                    order = c.order;
                    record.cancelled = true;
                }
            }
        }
        // Stock of the first line's SKU after the order.
        let env = InventoryEvent::StockChanged {
            sku: order.lines[0].sku.clone(),
            location: LocationCode::default(),
            on_hand: rng.below(12),
            reserved: rng.below(3),
            backordered: 0,
        }
        .envelope(t)
        .unwrap();
        w.outbox.append(&[env]).await.unwrap();
        record.order = order;
        records.push(record);
    }
    (records, carts, expiries)
}

type Money3 = (i64, i64, Decimal);

/// The figures computed from the orders themselves.
struct Brute {
    per_day: BTreeMap<(String, NaiveDate), Money3>,
    products: BTreeMap<(String, String), Money3>,
    categories: BTreeMap<(String, String), Money3>,
    methods: BTreeMap<(String, String), (i64, Decimal)>,
    refunds: BTreeMap<String, (i64, Decimal)>,
    checkouts: i64,
    confirmed: i64,
    cancelled: i64,
}

fn brute(w: &World, records: &[Record]) -> Brute {
    let mut b = Brute {
        per_day: BTreeMap::new(),
        products: BTreeMap::new(),
        categories: BTreeMap::new(),
        methods: BTreeMap::new(),
        refunds: BTreeMap::new(),
        checkouts: records.len() as i64,
        confirmed: 0,
        cancelled: records.iter().filter(|r| r.cancelled).count() as i64,
    };
    for r in records {
        let o = &r.order;
        let cur = o.currency.code().to_owned();
        for refund in &o.payment.refunds {
            let e = b.refunds.entry(cur.clone()).or_insert((0, Decimal::ZERO));
            e.0 += 1;
            e.1 += refund.amount.amount();
        }
        let Some(at) = r.confirmed_at else { continue };
        b.confirmed += 1;
        let units: i64 = o.lines.iter().map(|l| i64::from(l.quantity)).sum();
        let e = b
            .per_day
            .entry((cur.clone(), at.date_naive()))
            .or_insert((0, 0, Decimal::ZERO));
        e.0 += 1;
        e.1 += units;
        e.2 += o.totals.grand_total.amount();
        let m = b
            .methods
            .entry((
                serde_json::to_value(o.payment.method.kind)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                cur.clone(),
            ))
            .or_insert((0, Decimal::ZERO));
        m.0 += 1;
        m.1 += o.totals.grand_total.amount();
        for l in &o.lines {
            let p = w.products.iter().find(|p| p.0 == l.sku.as_str()).unwrap();
            for (map, key) in [(&mut b.products, &p.1), (&mut b.categories, &p.3)] {
                let e = map
                    .entry((key.clone(), cur.clone()))
                    .or_insert((0, 0, Decimal::ZERO));
                e.0 += 1;
                e.1 += i64::from(l.quantity);
                e.2 += l.total.amount();
            }
        }
    }
    b
}

fn all_days() -> DateRange {
    DateRange::new(
        NaiveDate::from_ymd_opt(2026, 2, 27).unwrap(),
        NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
    )
    .unwrap()
}

async fn dashboard(store: Arc<MemoryAnalyticsStore>) -> Dashboard {
    Analytics::new(store)
        .dashboard(
            all_days(),
            DashboardOptions::default()
                .with_top(1000)
                .with_low_stock(1000, 1000),
        )
        .await
        .unwrap()
}

fn check(d: &Dashboard, b: &Brute, w: &World, carts: i64, expiries: i64) {
    let per_day: BTreeMap<(String, NaiveDate), Money3> = d
        .days
        .iter()
        .filter(|f| f.orders > 0)
        .map(|f| ((f.currency.clone(), f.day), (f.orders, f.units, f.revenue)))
        .collect();
    assert_eq!(per_day, b.per_day, "orders, units and revenue per day");
    for s in &d.summary {
        let (orders, units, revenue) = b
            .per_day
            .iter()
            .filter(|(k, _)| k.0 == s.currency)
            .fold((0, 0, Decimal::ZERO), |a, (_, v)| {
                (a.0 + v.0, a.1 + v.1, a.2 + v.2)
            });
        assert_eq!((s.orders, s.units, s.revenue), (orders, units, revenue));
        let c = Currency::from_code(&s.currency).unwrap();
        let aov = if orders == 0 {
            Decimal::ZERO
        } else {
            (revenue / Decimal::from(orders)).round_dp_with_strategy(
                c.minor_units(),
                rust_decimal::RoundingStrategy::MidpointNearestEven,
            )
        };
        assert_eq!(
            s.average_order_value, aov,
            "average order value {}",
            s.currency
        );
        let (n, amount) = b
            .refunds
            .get(&s.currency)
            .copied()
            .unwrap_or((0, Decimal::ZERO));
        assert_eq!(
            (s.refunds, s.refunded),
            (n, amount),
            "refunds {}",
            s.currency
        );
    }
    let ranked = |items: &[commerce_analytics::Ranked]| -> BTreeMap<(String, String), Money3> {
        items
            .iter()
            .map(|r| {
                (
                    (r.key.clone(), r.currency.clone()),
                    (r.orders, r.units, r.revenue),
                )
            })
            .collect()
    };
    assert_eq!(ranked(&d.top_products), b.products, "per product");
    assert_eq!(ranked(&d.top_categories), b.categories, "per category");
    // Ranked by revenue, descending.
    assert!(
        d.top_products
            .windows(2)
            .all(|p| p[0].revenue >= p[1].revenue)
    );
    let methods: BTreeMap<(String, String), (i64, Decimal)> = d
        .payment_methods
        .iter()
        .map(|r| ((r.key.clone(), r.currency.clone()), (r.orders, r.revenue)))
        .collect();
    assert_eq!(methods, b.methods, "payment method mix");
    assert_eq!(
        (
            d.funnel.carts_created,
            d.funnel.checkouts_started,
            d.funnel.orders_confirmed
        ),
        (carts, b.checkouts, b.confirmed),
        "funnel"
    );
    assert_eq!(d.cancellations, b.cancelled);
    assert_eq!(
        d.reservation_expiries.iter().map(|e| e.count).sum::<i64>(),
        expiries
    );
    // Labels come from the catalog.
    for p in &d.top_products {
        let known = w.products.iter().find(|x| x.1 == p.key).unwrap();
        assert_eq!(p.label, known.2);
    }
}

#[tokio::test]
async fn analytics_matches_brute_force() {
    for seed in [0x9e37_79b9_7f4a_7c15_u64, 42, 7_777_777] {
        let w = world().await;
        let (records, carts, expiries) = simulate(&w, seed, 80).await;
        let store = Arc::new(MemoryAnalyticsStore::new());
        let consumer = RollupConsumer::new(store.clone(), w.catalog.clone());
        let handled = drain(w.outbox.as_ref(), &consumer, RunnerConfig::default())
            .await
            .unwrap();
        assert!(handled > 0);
        let d = dashboard(store).await;
        let b = brute(&w, &records);
        // The generated history exercises every figure.
        assert!(b.per_day.len() > 5 && !b.refunds.is_empty() && b.categories.len() > 3);
        assert!(b.methods.len() > 3 && b.cancelled > 0 && expiries > 0);
        assert!(!d.low_stock.is_empty());
        check(&d, &b, &w, carts, expiries);
        assert!(d.funnel.checkout_to_order_pct.is_some());
    }
}

#[tokio::test]
async fn analytics_event_handled_twice_counts_once() {
    let w = world().await;
    let (records, carts, expiries) = simulate(&w, 99, 40).await;
    let store = Arc::new(MemoryAnalyticsStore::new());
    let consumer = RollupConsumer::new(store.clone(), w.catalog.clone());
    drain(w.outbox.as_ref(), &consumer, RunnerConfig::default())
        .await
        .unwrap();
    let before = dashboard(store.clone()).await;
    // Every event again (a redelivery after a lost ack): nothing changes.
    let again = w
        .outbox
        .claim("replay", 10_000, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert!(!again.is_empty());
    for entry in &again {
        assert!(!consumer.handle_event(&entry.event).await.unwrap());
    }
    let after = dashboard(store).await;
    assert_eq!(before, after);
    check(&after, &brute(&w, &records), &w, carts, expiries);
}

#[tokio::test]
async fn analytics_reads_only_the_range_asked() {
    let w = world().await;
    simulate(&w, 5, 40).await;
    let store = Arc::new(MemoryAnalyticsStore::new());
    let consumer = RollupConsumer::new(store.clone(), w.catalog.clone());
    drain(w.outbox.as_ref(), &consumer, RunnerConfig::default())
        .await
        .unwrap();
    let full = dashboard(store.clone()).await;
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let one = Analytics::new(store)
        .dashboard(
            DateRange::new(day, day).unwrap(),
            DashboardOptions::default(),
        )
        .await
        .unwrap();
    let expected: Vec<_> = full.days.iter().filter(|f| f.day == day).cloned().collect();
    assert_eq!(one.days, expected);
    assert_eq!(
        one.funnel.checkouts_started,
        full.funnel_days
            .iter()
            .find(|f| f.day == day)
            .unwrap()
            .checkouts_started
    );
}

/// Where test artefacts go: `$CARGO_TARGET_DIR/analytics` (or the workspace's
/// `target/analytics`).
fn artefacts() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("analytics");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A week of simulated history, its dashboard, and a page with every chart.
async fn charts_page() -> (Dashboard, [String; 6], String) {
    use commerce_analytics::chart;
    let w = world().await;
    simulate(&w, 11, 120).await;
    let store = Arc::new(MemoryAnalyticsStore::new());
    let consumer = RollupConsumer::new(store.clone(), w.catalog.clone());
    drain(w.outbox.as_ref(), &consumer, RunnerConfig::default())
        .await
        .unwrap();
    let d = Analytics::new(store)
        .dashboard(
            DateRange::new(
                NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                NaiveDate::from_ymd_opt(2026, 3, 7).unwrap(),
            )
            .unwrap(),
            DashboardOptions::default(),
        )
        .await
        .unwrap();
    let usd = "USD";
    let charts = [
        chart::revenue_chart(&d, usd),
        chart::orders_chart(&d),
        chart::funnel(&d),
        chart::top_products_chart(&d, usd),
        chart::top_categories_chart(&d, usd),
        chart::payment_methods_chart(&d),
    ];
    let page = format!(
        "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>Analytics</title><body style=\"max-width:760px;margin:auto;font-family:system-ui\"><h1>Analytics, {} to {}</h1>{}</body></html>",
        d.range.from,
        d.range.to,
        charts.join("\n")
    );
    (d, charts, page)
}

#[tokio::test]
async fn analytics_charts_and_csv_show_every_figure() {
    use commerce_analytics::{Figure, to_csv};
    let (d, charts, page) = charts_page().await;
    let usd = "USD";
    for svg in &charts {
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#) && svg.contains("<title id="));
    }
    // Every currency has its line; every product its bar with its label.
    for s in &d.summary {
        assert!(charts[1].contains(&format!(">{}</text>", s.currency)));
    }
    assert!(charts[0].contains(">USD</text>") && !charts[0].contains(">EUR</text>"));
    for p in d.top_products.iter().filter(|p| p.currency == usd) {
        assert!(charts[3].contains(&p.label));
    }
    assert!(charts[2].contains("Orders confirmed"));
    // JSON keeps amounts as strings.
    let json = serde_json::to_value(&d).unwrap();
    assert!(json["summary"][0]["revenue"].is_string());
    // CSV: a header and one row per record.
    for figure in Figure::ALL {
        let csv = to_csv(&d, figure).unwrap();
        let lines = csv.lines().count();
        let expected = match figure {
            Figure::Summary => d.summary.len(),
            Figure::Daily => d.days.len(),
            Figure::Funnel => d.funnel_days.len(),
            Figure::TopProducts => d.top_products.len(),
            Figure::TopCategories => d.top_categories.len(),
            Figure::PaymentMethods => d.payment_methods.len(),
            Figure::ReservationExpiries => d.reservation_expiries.len(),
            Figure::LowStock => d.low_stock.len(),
            other => panic!("{other:?} is a new figure: add its record count here"),
        };
        assert_eq!(lines, expected + 1, "{figure:?}: {csv}");
        assert_eq!(Figure::parse(figure.as_str()).unwrap(), figure);
    }
    assert!(
        to_csv(&d, Figure::Daily)
            .unwrap()
            .starts_with("day,currency,orders,revenue,units,refunded\n")
    );
    std::fs::write(artefacts().join("charts.html"), page).unwrap();
}

/// Chromium from Debian's packages (`CHROMIUM` names another binary).
fn chromium() -> String {
    let bin = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let found = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "Chromium ({bin}) is not installed: browser tests need it.\n\
         Install it with: apt-get update && apt-get install -y chromium chromium-driver"
    );
    bin
}

/// Renders `page` in headless Chromium and saves a screenshot as `name`
/// under `target/analytics/`; returns the PNG's path.
fn screenshot(page: &str, name: &str, width: u32, height: u32) -> std::path::PathBuf {
    let dir = artefacts();
    let html = dir.join(format!("{name}.html"));
    std::fs::write(&html, page).unwrap();
    let png = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    let profile = dir.join(format!("chromium-profile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let out = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    png
}

#[tokio::test]
async fn browser_analytics_charts_render_in_chromium() {
    let (_, _, page) = charts_page().await;
    let png = screenshot(&page, "dashboard", 800, 2200);
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    // A blank page compresses to a few kilobytes; six charts do not.
    assert!(
        bytes.len() > 40_000,
        "screenshot too small: {} bytes",
        bytes.len()
    );
    // The same page on a phone.
    let phone = screenshot(&page, "dashboard-phone", 390, 1600);
    assert!(std::fs::metadata(phone).unwrap().len() > 20_000);
}

/// The rollups consumer handling events one by one (the runner's default
/// `handle_batch`), to compare the batched path with.
struct OneByOne(RollupConsumer);

#[async_trait::async_trait]
impl commerce_core::EventConsumer for OneByOne {
    fn group(&self) -> &str {
        "one-by-one"
    }
    async fn handle(&self, event: &EventEnvelope) -> commerce_core::Result<()> {
        self.0.handle_event(event).await?;
        Ok(())
    }
}

/// The rollups consumer (batched) under a group of its own, so several runs read
/// one outbox from its start.
struct Batched(RollupConsumer, String);

#[async_trait::async_trait]
impl commerce_core::EventConsumer for Batched {
    fn group(&self) -> &str {
        &self.1
    }
    async fn handle(&self, event: &EventEnvelope) -> commerce_core::Result<()> {
        self.0.handle(event).await
    }
    async fn handle_batch(
        &self,
        entries: &[commerce_core::ports::OutboxEntry],
    ) -> commerce_core::worker::BatchOutcome {
        self.0.handle_batch(entries).await
    }
}

#[tokio::test]
async fn analytics_batches_of_any_size_leave_what_one_by_one_leaves() {
    let w = world().await;
    let (records, carts, expiries) = simulate(&w, 314, 60).await;
    let store = Arc::new(MemoryAnalyticsStore::new());
    let one = OneByOne(RollupConsumer::new(store.clone(), w.catalog.clone()));
    drain(w.outbox.as_ref(), &one, RunnerConfig::default())
        .await
        .unwrap();
    let expected = dashboard(store).await;
    check(&expected, &brute(&w, &records), &w, carts, expiries);
    for size in [1, 2, 7, 100, 10_000] {
        let store = Arc::new(MemoryAnalyticsStore::new());
        let consumer = Batched(
            RollupConsumer::new(store.clone(), w.catalog.clone()),
            format!("batches-of-{size}"),
        );
        let config = RunnerConfig::default().with_batch(size);
        drain(w.outbox.as_ref(), &consumer, config).await.unwrap();
        assert_eq!(dashboard(store).await, expected, "batches of {size}");
    }
}

#[tokio::test]
async fn analytics_batch_after_a_partial_apply_counts_each_event_once() {
    let w = world().await;
    let (records, carts, expiries) = simulate(&w, 2718, 30).await;
    let all = w
        .outbox
        .claim("all", 10_000, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let events: Vec<&EventEnvelope> = all.iter().map(|e| &e.event).collect();
    // A pass applied the first `k` events one by one and lost its ack: the whole
    // batch comes again, its head already applied (an order placed and authorized
    // before the cut is confirmed after it).
    for k in [0, 1, events.len() / 3, events.len() / 2, events.len() - 1] {
        let store = Arc::new(MemoryAnalyticsStore::new());
        let consumer = RollupConsumer::new(store.clone(), w.catalog.clone());
        for event in &events[..k] {
            consumer.handle_event(event).await.unwrap();
        }
        consumer.handle_events(&events).await.unwrap();
        assert_eq!(consumer.handle_events(&events).await.unwrap(), 0);
        let d = dashboard(store).await;
        check(&d, &brute(&w, &records), &w, carts, expiries);
    }
}

#[tokio::test]
async fn analytics_batch_reads_the_stored_fact_of_an_event_applied_before() {
    let w = world().await;
    simulate(&w, 1618, 20).await;
    let all = w
        .outbox
        .claim("all", 10_000, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let events: Vec<&EventEnvelope> = all.iter().map(|e| &e.event).collect();
    let order_of = |e: &EventEnvelope| match serde_json::from_value(e.payload.clone()) {
        Ok(
            commerce_orders::OrderEvent::OrderConfirmed { order_id }
            | commerce_orders::OrderEvent::OrderPlaced { order_id, .. },
        ) => Some(order_id),
        _ => None,
    };
    let confirmed = events
        .iter()
        .find(|e| e.topic == "order.confirmed")
        .and_then(|e| order_of(e))
        .unwrap();
    let placed_at = events
        .iter()
        .position(|e| e.topic == "order.placed" && order_of(e) == Some(confirmed))
        .unwrap();
    // Its placement applied one by one (a pass that lost its ack), then the product
    // renamed, then the batch again from the start.
    let store = Arc::new(MemoryAnalyticsStore::new());
    let consumer = RollupConsumer::new(store.clone(), w.catalog.clone());
    for event in &events[..=placed_at] {
        consumer.handle_event(event).await.unwrap();
    }
    let fact = store.order_fact(confirmed).await.unwrap().unwrap();
    let sku = fact.lines[0].sku.clone();
    let listing = w.catalog.listings(&[sku]).await.unwrap().remove(0);
    let mut product = w
        .catalog
        .product(listing.variant.product_id)
        .await
        .unwrap()
        .unwrap();
    product.title = "Renamed later".to_owned();
    w.catalog.upsert_product(&product).await.unwrap();
    consumer.handle_events(&events).await.unwrap();
    // As one by one: the confirmation counts the order as its stored fact says
    // (the replayed placement does not describe it again).
    let after = store.order_fact(confirmed).await.unwrap().unwrap();
    assert!(after.confirmed);
    assert_eq!(after.lines[0].product_label, fact.lines[0].product_label);
    assert_ne!(after.lines[0].product_label, "Renamed later");
}
