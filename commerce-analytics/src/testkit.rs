//! Conformance checks every [`AnalyticsStore`] runs (memory here, PostgreSQL in
//! commerce-postgres). Each check gets a fresh, empty store and panics on a failure.
//! Run them all with [`crate::analytics_store_conformance!`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use commerce_core::{EventId, Sku};
use commerce_orders::OrderId;

use crate::model::{
    Change, CounterKey, DateRange, EventChanges, FactLine, Increment, Metric, OrderFact, StockLevel,
};
use crate::ports::AnalyticsStore;

/// What every check gets: a fresh, empty store.
pub struct AnalyticsFixture {
    /// The store under test.
    pub store: Arc<dyn AnalyticsStore>,
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn inc(
    d: u32,
    metric: Metric,
    key: &str,
    label: &str,
    cur: &str,
    units: i64,
    amount: &str,
) -> Change {
    Change::Add(Increment {
        counter: CounterKey {
            day: day(d),
            metric,
            key: key.to_owned(),
            currency: cur.to_owned(),
        },
        label: label.to_owned(),
        count: 1,
        units,
        amount: dec(amount),
    })
}

fn range(a: u32, b: u32) -> DateRange {
    DateRange::new(day(a), day(b)).unwrap()
}

/// An event applied twice changes the counters once; the second apply says so.
pub async fn apply_counts_each_event_once(fx: AnalyticsFixture) {
    let event = EventId::new();
    let changes = [inc(1, Metric::Orders, "", "", "USD", 3, "10.50")];
    assert!(fx.store.apply(event, &changes).await.unwrap());
    assert!(!fx.store.apply(event, &changes).await.unwrap());
    assert!(fx.store.apply(EventId::new(), &changes).await.unwrap());
    let rows = fx.store.daily(Metric::Orders, range(1, 1)).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].count, rows[0].units), (2, 6));
    assert_eq!(rows[0].amount, dec("21.00"));
}

/// An event with no changes is still remembered as applied.
pub async fn empty_apply_is_remembered(fx: AnalyticsFixture) {
    let event = EventId::new();
    assert!(fx.store.apply(event, &[]).await.unwrap());
    assert!(!fx.store.apply(event, &[]).await.unwrap());
}

/// `daily` returns only the metric and the days asked for, ordered by day, key,
/// currency; amounts keep their decimals.
pub async fn daily_reads_one_metric_in_the_range_in_order(fx: AnalyticsFixture) {
    let changes = [
        inc(3, Metric::Orders, "", "", "USD", 1, "5.25"),
        inc(1, Metric::Orders, "", "", "USD", 1, "1.005"),
        inc(2, Metric::Orders, "", "", "EUR", 1, "7"),
        inc(2, Metric::Orders, "", "", "BHD", 1, "0.125"),
        inc(2, Metric::Refunds, "", "", "USD", 0, "1"),
        inc(9, Metric::Orders, "", "", "USD", 1, "100"),
    ];
    fx.store.apply(EventId::new(), &changes).await.unwrap();
    let rows = fx.store.daily(Metric::Orders, range(1, 3)).await.unwrap();
    let seen: Vec<(NaiveDate, &str, Decimal)> = rows
        .iter()
        .map(|r| (r.counter.day, r.counter.currency.as_str(), r.amount))
        .collect();
    assert_eq!(
        seen,
        vec![
            (day(1), "USD", dec("1.005")),
            (day(2), "BHD", dec("0.125")),
            (day(2), "EUR", dec("7")),
            (day(3), "USD", dec("5.25")),
        ]
    );
    assert!(rows.iter().all(|r| r.counter.metric == Metric::Orders));
}

/// `totals` sums per key and currency over the range, ranks by amount then units,
/// keeps the latest day's label and honours the limit.
pub async fn totals_rank_keys_with_latest_label(fx: AnalyticsFixture) {
    let changes = [
        inc(1, Metric::Product, "p1", "Old name", "USD", 2, "20"),
        inc(2, Metric::Product, "p1", "New name", "USD", 1, "10"),
        inc(2, Metric::Product, "p2", "Two", "USD", 5, "25"),
        inc(2, Metric::Product, "p3", "Three", "USD", 9, "25"),
        inc(3, Metric::Product, "p4", "Four", "USD", 1, "1"),
        inc(9, Metric::Product, "p4", "Four", "USD", 1, "1000"),
        inc(2, Metric::Category, "c1", "Cat", "USD", 1, "999"),
    ];
    fx.store.apply(EventId::new(), &changes).await.unwrap();
    let top = fx
        .store
        .totals(Metric::Product, range(1, 3), 3)
        .await
        .unwrap();
    let seen: Vec<(&str, &str, i64, i64, Decimal)> = top
        .iter()
        .map(|t| (t.key.as_str(), t.label.as_str(), t.count, t.units, t.amount))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("p1", "New name", 2, 3, dec("30")),
            ("p3", "Three", 1, 9, dec("25")),
            ("p2", "Two", 1, 5, dec("25")),
        ]
    );
}

/// Facts are stored, read back whole and replaced.
pub async fn facts_round_trip_and_replace(fx: AnalyticsFixture) {
    let order = OrderId::new();
    assert!(fx.store.order_fact(order).await.unwrap().is_none());
    let mut fact = OrderFact {
        order_id: order,
        currency: "JPY".to_owned(),
        grand_total: dec("1200"),
        units: 3,
        lines: vec![FactLine {
            sku: Sku::new("SKU-1").unwrap(),
            product_key: "p1".to_owned(),
            product_label: "Tea \"Sencha\" <green>".to_owned(),
            category_key: "c1".to_owned(),
            category_label: "Drinks".to_owned(),
            quantity: 3,
            total: dec("1200"),
        }],
        payment_method: None,
        confirmed: false,
    };
    fx.store
        .apply(EventId::new(), &[Change::PutFact(fact.clone())])
        .await
        .unwrap();
    assert_eq!(
        fx.store.order_fact(order).await.unwrap(),
        Some(fact.clone())
    );
    fact.payment_method = Some("card".to_owned());
    fact.confirmed = true;
    fx.store
        .apply(EventId::new(), &[Change::PutFact(fact.clone())])
        .await
        .unwrap();
    assert_eq!(fx.store.order_fact(order).await.unwrap(), Some(fact));
}

fn level(sku: &str, location: &str, on_hand: u64, reserved: u64) -> Change {
    Change::PutStock(StockLevel {
        sku: Sku::new(sku).unwrap(),
        location: location.to_owned(),
        on_hand,
        reserved,
        available: on_hand.saturating_sub(reserved),
    })
}

/// The latest level of each (SKU, location) counts; low stock lists those at or
/// under the threshold, lowest first, within the limit.
pub async fn low_stock_lists_latest_levels_lowest_first(fx: AnalyticsFixture) {
    fx.store
        .apply(
            EventId::new(),
            &[
                level("A", "default", 1, 0),
                level("B", "default", 10, 9),
                level("C", "default", 50, 0),
                level("D", "east", 3, 0),
            ],
        )
        .await
        .unwrap();
    // A restocked later: no longer low.
    fx.store
        .apply(EventId::new(), &[level("A", "default", 100, 0)])
        .await
        .unwrap();
    let low = fx.store.low_stock(3, 10).await.unwrap();
    let seen: Vec<(&str, u64)> = low.iter().map(|s| (s.sku.as_str(), s.available)).collect();
    assert_eq!(seen, vec![("B", 1), ("D", 3)]);
    assert_eq!(fx.store.low_stock(3, 1).await.unwrap().len(), 1);
}

fn batch(events: &[(EventId, Vec<Change>)]) -> Vec<EventChanges> {
    events
        .iter()
        .map(|(id, changes)| EventChanges::new(*id, changes.clone()))
        .collect()
}

/// A batch applies each of its events once: one applied before (by `apply` or an
/// earlier batch) and one repeated within the batch change nothing and are reported
/// `false`; the rest add up as if applied one by one; a replayed batch changes
/// nothing.
pub async fn apply_batch_counts_each_event_once(fx: AnalyticsFixture) {
    let before = EventId::new();
    let (a, b, c) = (EventId::new(), EventId::new(), EventId::new());
    let one = vec![inc(1, Metric::Orders, "", "", "USD", 3, "10.50")];
    assert!(fx.store.apply(before, &one).await.unwrap());
    let events = [
        (a, one.clone()),
        (before, one.clone()),
        (b, vec![inc(1, Metric::Orders, "", "", "USD", 2, "0.25")]),
        (a, one.clone()),
        (c, Vec::new()),
    ];
    let done = fx.store.apply_batch(&batch(&events)).await.unwrap();
    assert_eq!(done, vec![true, false, true, false, true]);
    let rows = fx.store.daily(Metric::Orders, range(1, 1)).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].count, rows[0].units), (3, 8));
    assert_eq!(rows[0].amount, dec("21.25"));
    // The whole batch again (a lost ack): nothing changes.
    let again = fx.store.apply_batch(&batch(&events)).await.unwrap();
    assert_eq!(again, vec![false; 5]);
    assert!(!fx.store.apply(c, &[]).await.unwrap());
    let rows = fx.store.daily(Metric::Orders, range(1, 1)).await.unwrap();
    assert_eq!((rows[0].count, rows[0].units), (3, 8));
    assert!(fx.store.apply_batch(&[]).await.unwrap().is_empty());
}

/// Within a batch, changes apply in order as one by one: counters add up, the last
/// label, fact and stock level of a key win.
pub async fn apply_batch_applies_changes_in_order(fx: AnalyticsFixture) {
    let order = OrderId::new();
    let fact = |method: Option<&str>, confirmed: bool| OrderFact {
        order_id: order,
        currency: "USD".to_owned(),
        grand_total: dec("12.5"),
        units: 2,
        lines: Vec::new(),
        payment_method: method.map(str::to_owned),
        confirmed,
    };
    let events = [
        (
            EventId::new(),
            vec![
                inc(2, Metric::Product, "p1", "Old", "USD", 1, "5"),
                Change::PutFact(fact(None, false)),
                level("A", "default", 5, 0),
            ],
        ),
        (
            EventId::new(),
            vec![
                inc(2, Metric::Product, "p1", "New", "USD", 2, "7.5"),
                inc(2, Metric::Product, "p1", "Newer", "USD", 1, "1"),
                Change::PutFact(fact(Some("card"), false)),
                level("A", "default", 4, 1),
            ],
        ),
        (
            EventId::new(),
            vec![
                Change::PutFact(fact(Some("card"), true)),
                level("A", "default", 2, 1),
                level("B", "default", 9, 0),
            ],
        ),
    ];
    let done = fx.store.apply_batch(&batch(&events)).await.unwrap();
    assert_eq!(done, vec![true; 3]);
    let rows = fx.store.daily(Metric::Product, range(2, 2)).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].label.as_str(), rows[0].count, rows[0].units),
        ("Newer", 3, 4)
    );
    assert_eq!(rows[0].amount, dec("13.5"));
    assert_eq!(
        fx.store.order_fact(order).await.unwrap(),
        Some(fact(Some("card"), true))
    );
    let low = fx.store.low_stock(100, 10).await.unwrap();
    let seen: Vec<(&str, u64, u64)> = low
        .iter()
        .map(|s| (s.sku.as_str(), s.on_hand, s.available))
        .collect();
    assert_eq!(seen, vec![("A", 2, 1), ("B", 9, 9)]);
}

/// `applied` names the events applied before (by `apply` or `apply_batch`), not
/// the others; `order_facts` reads the facts of several orders at once.
pub async fn applied_and_order_facts_read_many(fx: AnalyticsFixture) {
    let (a, b, unknown) = (EventId::new(), EventId::new(), EventId::new());
    let (o1, o2, o3) = (OrderId::new(), OrderId::new(), OrderId::new());
    let fact = |order| OrderFact {
        order_id: order,
        currency: "EUR".to_owned(),
        grand_total: dec("3"),
        units: 1,
        lines: Vec::new(),
        payment_method: None,
        confirmed: false,
    };
    assert!(fx.store.applied(&[a, b]).await.unwrap().is_empty());
    fx.store
        .apply(a, &[Change::PutFact(fact(o1))])
        .await
        .unwrap();
    fx.store
        .apply_batch(&[EventChanges::new(b, vec![Change::PutFact(fact(o2))])])
        .await
        .unwrap();
    let mut applied = fx.store.applied(&[unknown, a, b, a]).await.unwrap();
    applied.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(applied, expected);
    assert!(fx.store.applied(&[]).await.unwrap().is_empty());
    let mut facts = fx.store.order_facts(&[o3, o2, o1]).await.unwrap();
    facts.sort_by_key(|f| f.order_id);
    let mut expected = vec![fact(o1), fact(o2)];
    expected.sort_by_key(|f| f.order_id);
    assert_eq!(facts, expected);
    assert!(fx.store.order_facts(&[]).await.unwrap().is_empty());
}

/// Defines one `#[tokio::test]` per conformance check for the fixture function
/// `$make` (an `async fn() -> AnalyticsFixture`).
#[macro_export]
macro_rules! analytics_store_conformance {
    ($make:path) => {
        mod analytics_store_conformance {
            #[allow(unused_imports)]
            use super::*;
            $crate::__analytics_tests!($make:
                apply_counts_each_event_once,
                empty_apply_is_remembered,
                daily_reads_one_metric_in_the_range_in_order,
                totals_rank_keys_with_latest_label,
                facts_round_trip_and_replace,
                low_stock_lists_latest_levels_lowest_first,
                apply_batch_counts_each_event_once,
                apply_batch_applies_changes_in_order,
                applied_and_order_facts_read_many,
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __analytics_tests {
    ($make:path: $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::testkit::$name($make().await).await;
            }
        )*
    };
}
