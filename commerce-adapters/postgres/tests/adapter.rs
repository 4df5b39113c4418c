//! Behaviour specific to the PostgreSQL adapter: migrations, the outbox under late
//! commits, event payloads written by SQL, error mapping.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use commerce_core::ports::{CustomerStore, Outbox};
use commerce_core::{Customer, CustomerId, DomainEvent};
use commerce_inventory::{
    InventoryEvent, InventoryStore, LocationCode, ReservationId, ReservationLine, ReserveRequest,
    StockAdjustment,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_is_idempotent_and_lives_in_its_own_schema() {
    let stores = support::fresh_stores().await;
    stores.migrate().await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'commerce' ORDER BY 1",
    )
    .fetch_all(stores.pool())
    .await
    .unwrap();
    assert!(tables.contains(&"_sqlx_migrations".to_owned()));
    assert!(tables.contains(&"stock_levels".to_owned()));
    let public: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(stores.pool())
    .await
    .unwrap();
    assert_eq!(public, 0, "nothing may land in the host's public schema");
}

/// A transaction that appended before another but commits after it still reaches a
/// consumer that already acknowledged the other: positions are stamped at claim time
/// on committed rows only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_event_committed_late_is_not_skipped() {
    let stores = support::fresh_stores().await;
    let outbox = stores.outbox();
    let mut slow = stores.pool().begin().await.unwrap();
    sqlx::query(
        "INSERT INTO commerce.outbox (event_id, topic, aggregate_type, aggregate_id, occurred_at, payload)
         VALUES (commerce.uuid_v7(), 'test.slow', 'test', '1', now(), '{}')",
    )
    .execute(&mut *slow)
    .await
    .unwrap();

    let fast = commerce_core::testkit::fixtures::event("test.fast", 2);
    outbox.append(std::slice::from_ref(&fast)).await.unwrap();
    let first = outbox
        .claim("c", 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].event.topic, "test.fast");
    outbox.ack("c", first[0].seq).await.unwrap();

    slow.commit().await.unwrap();
    let second = outbox
        .claim("c", 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].event.topic, "test.slow");
    assert!(second[0].seq > first[0].seq);
}

/// A claim holds the sequencer lock only while it stamps positions, not for its
/// whole transaction (issue 13: under the soak's load every claim of every group
/// queued behind the one in progress, twenty sessions waiting on the lock): with
/// one group's claim stuck inside its transaction (its row locked elsewhere),
/// another group still claims the events, new ones included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_claim_of_one_group_does_not_wait_for_another_groups_claim() {
    let stores = support::fresh_stores().await;
    let outbox = stores.outbox();
    let first = commerce_core::testkit::fixtures::event("test.first", 1);
    outbox.append(std::slice::from_ref(&first)).await.unwrap();
    let claimed = outbox
        .claim("a", 10, Duration::from_secs(60))
        .await
        .unwrap();
    outbox.ack("a", claimed[0].seq).await.unwrap();

    let mut holder = stores.pool().begin().await.unwrap();
    sqlx::query("SELECT 1 FROM commerce.outbox_consumers WHERE consumer = 'a' FOR UPDATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    let second = commerce_core::testkit::fixtures::event("test.second", 2);
    outbox.append(std::slice::from_ref(&second)).await.unwrap();
    let stuck = {
        let outbox = outbox.clone();
        tokio::spawn(async move { outbox.claim("a", 10, Duration::from_secs(60)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!stuck.is_finished(), "the claim of a waits for its row");
    let b = tokio::time::timeout(
        Duration::from_secs(10),
        outbox.claim("b", 10, Duration::from_secs(60)),
    )
    .await
    .expect("the claim of b waited for the claim of a")
    .unwrap();
    let topics: Vec<&str> = b.iter().map(|e| e.event.topic.as_str()).collect();
    assert_eq!(topics, vec!["test.first", "test.second"]);

    holder.rollback().await.unwrap();
    let a = stuck.await.unwrap().unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].event.topic, "test.second");
}

/// The inventory events built in SQL deserialize as the domain's `InventoryEvent`
/// with the topics and aggregates the Rust side would give them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inventory_events_written_by_sql_match_the_domain_format() {
    let stores = support::fresh_stores().await;
    let inventory = stores.inventory();
    let sku = commerce_core::Sku::new("EV-1").unwrap();
    let now = commerce_core::testkit::fixtures::fixed_time();
    inventory
        .adjust(&StockAdjustment::received(sku.clone(), 5), now)
        .await
        .unwrap();
    let id = ReservationId::new();
    inventory
        .reserve(
            &ReserveRequest::new(
                id,
                "o",
                vec![ReservationLine {
                    sku: sku.clone(),
                    quantity: 2,
                }],
                now,
            ),
            now,
        )
        .await
        .unwrap();
    inventory.release(id, now).await.unwrap();
    let entries = stores.outbox().entries().await.unwrap();
    let events: Vec<InventoryEvent> = entries
        .iter()
        .map(|e| serde_json::from_value(e.event.payload.clone()).unwrap())
        .collect();
    let stock = |on_hand, reserved| InventoryEvent::StockChanged {
        sku: sku.clone(),
        location: LocationCode::default(),
        on_hand,
        reserved,
        backordered: 0,
    };
    let finished = InventoryEvent::ReservationFinished {
        id,
        status: commerce_inventory::ReservationStatus::Released,
    };
    assert_eq!(
        events,
        vec![stock(5, 0), stock(5, 2), stock(5, 0), finished.clone()]
    );
    for (entry, event) in entries.iter().zip(&events) {
        assert_eq!(entry.event.topic, event.topic());
        assert_eq!(entry.event.aggregate_type, event.aggregate_type());
        assert_eq!(entry.event.aggregate_id, event.aggregate_id());
        assert_eq!(entry.event.occurred_at, now);
        assert_eq!(entry.event.id.as_uuid().get_version_num(), 7);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unique_violation_maps_to_conflict() {
    let stores = support::fresh_stores().await;
    let customers = stores.customers();
    let customer = Customer {
        id: CustomerId::new(),
        email: "Ann@Example.com".into(),
        name: "Ann".into(),
        created_at: Utc::now(),
    };
    customers.create_customer(&customer).await.unwrap();
    let twin = Customer {
        id: CustomerId::new(),
        email: "ann@example.COM".into(),
        ..customer
    };
    let err = customers.create_customer(&twin).await.unwrap_err();
    assert!(matches!(err, commerce_core::Error::Conflict(_)), "{err}");
}

/// Without a reachable server, connecting fails with a typed error (no panic).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_a_connect_error() {
    let options = commerce_postgres::PgPoolOptions::new().acquire_timeout(Duration::from_secs(1));
    let err =
        commerce_postgres::PgStores::connect_with(options, "postgres://postgres@127.0.0.1:1/none")
            .await
            .unwrap_err();
    assert!(matches!(err, commerce_postgres::Error::Connect(_)), "{err}");
}

#[tokio::test]
async fn analytics_cart_created_is_written_in_the_cart_change_transaction() {
    use commerce_cart::{CartKey, CartLimits, CartStore};
    use commerce_core::ports::Outbox;
    let stores = support::fresh_stores().await;
    let carts = stores.carts();
    let key = CartKey::Customer(commerce_core::CustomerId::new());
    let now = commerce_core::testkit::fixtures::fixed_time();
    let limits = CartLimits::default();
    let a = commerce_core::Sku::new("CC-A").unwrap();
    let b = commerce_core::Sku::new("CC-B").unwrap();
    carts.add(&key, &a, 1, limits, now).await.unwrap();
    carts.add(&key, &b, 1, limits, now).await.unwrap();
    // A change refused by the limits writes no event.
    let other = CartKey::Customer(commerce_core::CustomerId::new());
    let one = CartLimits::new(limits.max_lines, 1);
    assert!(carts.add(&other, &a, 5, one, now).await.is_err());
    let events = stores
        .outbox()
        .claim("t", 100, Duration::from_secs(60))
        .await
        .unwrap();
    let created: Vec<_> = events
        .iter()
        .filter(|e| e.event.topic == "cart.created")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].event.aggregate_id, key.to_string());
}

/// The same event stream rolled up into PostgreSQL and into memory reads the same
/// dashboard (the memory store is checked against a brute force in
/// commerce-analytics), and a second pass over the stream changes nothing.
#[tokio::test]
async fn analytics_pg_rollups_equal_memory_rollups() {
    use commerce_analytics::{
        Analytics, DashboardOptions, DateRange, MemoryAnalyticsStore, RollupConsumer,
    };
    use commerce_core::{Currency, DomainEvent, EventEnvelope};
    use commerce_orders::testkit::sample_order;
    use commerce_orders::{Authorization, PaymentReference, RefundReceipt};

    let stores = support::fresh_stores().await;
    let catalog: Arc<dyn commerce_core::ports::CatalogStore> = Arc::new(stores.catalog());
    let start = commerce_core::testkit::fixtures::fixed_time();
    let mut events: Vec<EventEnvelope> = Vec::new();
    for i in 0..12_i64 {
        let at = start + chrono::Duration::hours(7 * i);
        let currency = if i % 3 == 0 {
            Currency::EUR
        } else {
            Currency::USD
        };
        let placed = sample_order(None, &format!("pg-an-{i}"), currency, at);
        events.extend(placed.events.iter().map(|e| e.envelope(at).unwrap()));
        if i % 4 == 3 {
            continue; // abandoned
        }
        let order = placed.order;
        let auth = order
            .record_authorization(
                &Authorization::new(
                    PaymentReference(format!("p{i}")),
                    order.totals.grand_total,
                    order.payment.method.clone(),
                    at,
                ),
                at,
            )
            .unwrap();
        let conf = auth.order.confirm(at).unwrap();
        events.extend(auth.events.iter().map(|e| e.envelope(at).unwrap()));
        events.extend(conf.events.iter().map(|e| e.envelope(at).unwrap()));
        if i % 4 == 1 {
            let cap = conf
                .order
                .record_capture(
                    &commerce_orders::Capture::new(
                        PaymentReference(format!("p{i}")),
                        conf.order.totals.grand_total,
                        at,
                    ),
                    at,
                )
                .unwrap();
            let amount = commerce_core::Money::from_minor(333, currency);
            let refund = cap
                .order
                .record_refund(
                    &RefundReceipt::new(
                        format!("r{i}"),
                        PaymentReference(format!("p{i}")),
                        amount,
                        amount,
                        at,
                    ),
                    commerce_orders::IdempotencyKey::new(format!("r{i}")).unwrap(),
                    "damaged",
                    at,
                )
                .unwrap();
            events.extend(refund.events.iter().map(|e| e.envelope(at).unwrap()));
        }
    }
    let memory = Arc::new(MemoryAnalyticsStore::new());
    let pg = Arc::new(stores.analytics());
    for store in [
        memory.clone() as Arc<dyn commerce_analytics::AnalyticsStore>,
        pg.clone(),
    ] {
        let consumer = RollupConsumer::new(store, catalog.clone());
        for pass in 0..2 {
            for e in &events {
                let changed = consumer.handle_event(e).await.unwrap();
                if pass == 1 {
                    assert!(!changed, "a redelivered event changed the rollups");
                }
            }
        }
    }
    let range = DateRange::new(
        start.date_naive() - chrono::Days::new(1),
        start.date_naive() + chrono::Days::new(5),
    )
    .unwrap();
    let from_memory = Analytics::new(memory)
        .dashboard(range, DashboardOptions::default())
        .await
        .unwrap();
    let from_pg = Analytics::new(pg)
        .dashboard(range, DashboardOptions::default())
        .await
        .unwrap();
    assert!(from_memory.funnel.orders_confirmed == 9);
    assert_eq!(from_pg, from_memory);
}

/// The names of the `commerce` schema's functions whose body matches `pattern`.
async fn functions_matching(stores: &commerce_postgres::PgStores, pattern: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'commerce' AND p.prosrc ~* $1 ORDER BY 1",
    )
    .bind(pattern)
    .fetch_all(stores.pool())
    .await
    .unwrap()
}

/// Issue 7: "change stock and write its events" is one SQL function,
/// `commerce.change_stock` (migration 0070), used by commit, release, expire and
/// restock. A new function that updates `stock_levels` itself, or one of the three
/// (`finish_reservation` commits and releases) that stops calling it, fails here.
#[tokio::test]
async fn change_stock_is_the_one_sql_function_that_ends_reservations() {
    let stores = support::fresh_stores().await;
    let callers = functions_matching(&stores, r"commerce\.change_stock\s*\(").await;
    for f in ["expire_due", "finish_reservation", "restock_reservation"] {
        assert!(
            callers.contains(&f.to_owned()),
            "{f} does not call change_stock: {callers:?}"
        );
    }
    // Functions allowed to update stock rows directly, and why.
    let writers = functions_matching(&stores, r"update\s+commerce\.stock_levels\M").await;
    assert_eq!(
        writers,
        [
            "adjust_stock",        // an admin's adjustment (its own event)
            "change_stock",        // the one way a reservation ends
            "confirm_order_batch", // the batched commit: set-based, same events (benchmarks (b))
            "place_order_batch",   // reserving: holds stock, ends nothing
            "reserve_for_order",   // reserving
            "reserve_many",        // reserving, batched
        ],
        "a new function updates commerce.stock_levels: route it through change_stock or list it here"
    );
}

/// Issue 7: a batch is bound as one JSON parameter and read straight into the tables
/// (`jsonb_populate_record(set)` over their row types, migration 0120), not turned
/// into parallel arrays that another function unnests again. Fails if the array
/// functions come back, if a batch function takes more than its one parameter, or
/// if any function grows a long list of parallel array parameters.
#[tokio::test]
async fn order_batches_are_read_from_json_not_parallel_arrays() {
    let stores = support::fresh_stores().await;
    let functions: Vec<(String, i16, String, String)> = sqlx::query_as(
        "SELECT p.proname::text, p.pronargs, pg_get_function_identity_arguments(p.oid),
                p.prosrc
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'commerce'
          ORDER BY 1",
    )
    .fetch_all(stores.pool())
    .await
    .unwrap();
    let named = |name: &str| functions.iter().find(|f| f.0 == name);
    for gone in ["order_batch_arrays", "place_orders", "confirm_orders"] {
        assert!(named(gone).is_none(), "{gone} is back");
    }
    for batch in ["place_order_batch", "confirm_order_batch"] {
        let (_, _, args, body) = named(batch).unwrap_or_else(|| panic!("{batch} is missing"));
        assert_eq!(
            args, "p_orders jsonb",
            "{batch} takes the batch as one JSON value"
        );
        for table in ["orders", "order_lines", "payments"] {
            assert!(
                body.contains(&format!("(NULL::commerce.{table}")),
                "{batch} does not read its {table} rows from the JSON"
            );
        }
    }
    // The widest function takes 8 parameters (`reserve_many`); a batch spread over
    // parallel arrays took 40 or more.
    let wide: Vec<(&str, i16)> = functions
        .iter()
        .filter(|f| f.1 > 8)
        .map(|f| (f.0.as_str(), f.1))
        .collect();
    assert!(wide.is_empty(), "functions with many parameters: {wide:?}");
}
