//! The outbox feeds the index: catalog, stock, rating and order events become
//! searchable within the documented bound; redelivery is harmless; a reindex rebuilds
//! from the catalog; a disk index reopens with its position.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use commerce_core::memory::{MemoryCatalog, MemoryOutbox};
use commerce_core::ports::CatalogStore;
use commerce_core::search::{ProductSearch, SearchQuery, SearchSort};
use commerce_core::testkit::fixtures::{category, product, usd};
use commerce_core::worker::Runner;
use commerce_core::{CatalogEvent, DomainEvent, Money, ProductStatus};
use commerce_inventory::{InventoryEvent, LocationCode};
use commerce_orders::memory::MemoryOrderStore;
use commerce_orders::testkit::sample_order;
use commerce_orders::{OrderEvent, OrderStore};
use commerce_search::{SearchConfig, SearchIndexer, TantivySearch, reindex};
use rust_decimal::Decimal;

struct World {
    outbox: Arc<MemoryOutbox>,
    catalog: Arc<MemoryCatalog>,
    orders: Arc<MemoryOrderStore>,
    search: Arc<TantivySearch>,
    runner: Runner,
}

fn world_with(search: TantivySearch) -> World {
    let outbox = Arc::new(MemoryOutbox::new());
    let catalog = Arc::new(MemoryCatalog::new(Arc::clone(&outbox)));
    let orders = Arc::new(MemoryOrderStore::new(Arc::clone(&outbox)));
    let search = Arc::new(search);
    let indexer = SearchIndexer::new(
        search.clone(),
        catalog.clone(),
        Some(orders.clone() as Arc<dyn OrderStore>),
    );
    let runner = indexer.runner(outbox.clone(), "search-test");
    World {
        outbox,
        catalog,
        orders,
        search,
        runner,
    }
}

fn world() -> World {
    world_with(TantivySearch::in_ram().unwrap())
}

async fn drain(w: &World) {
    w.runner.drain().await.unwrap();
}

async fn titles(w: &World, text: &str) -> Vec<String> {
    let mut q = SearchQuery::text(text);
    q.sort = SearchSort::PriceAsc;
    w.search
        .search(&q)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.title)
        .collect()
}

fn titled(sku: &str, title: &str, price: &str) -> commerce_core::Product {
    let mut p = product(sku, usd(price));
    p.title = title.to_owned();
    p.status = ProductStatus::Active;
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_indexer_follows_catalog_events() {
    let w = world();
    let shoes = category("shoes", None);
    w.catalog.upsert_category(&shoes).await.unwrap();
    let mut boots = titled("BOOT-1", "Leather boots", "80.00");
    boots.category_ids = vec![shoes.id];
    let seller = commerce_core::Seller::new(
        boots.seller_id,
        "Saigon Bootmakers",
        "saigon-bootmakers",
        "hi@example.com",
    );
    w.catalog.upsert_seller(&seller).await.unwrap();
    w.catalog.upsert_product(&boots).await.unwrap();
    let mut draft = titled("BOOT-2", "Rubber boots", "30.00");
    draft.status = ProductStatus::Draft;
    w.catalog.upsert_product(&draft).await.unwrap();
    drain(&w).await;
    assert_eq!(titles(&w, "boots").await, vec!["Leather boots"]);
    let mut q = SearchQuery::text("shoes");
    q.filters.category_id = Some(shoes.id);
    assert_eq!(
        w.search.search(&q).await.unwrap().total,
        1,
        "category names are searched"
    );
    assert_eq!(
        titles(&w, "bootmakers").await,
        vec!["Leather boots"],
        "seller names are searched"
    );

    // Activated: appears. Deactivated (archived): disappears.
    draft.status = ProductStatus::Active;
    w.catalog.upsert_product(&draft).await.unwrap();
    drain(&w).await;
    assert_eq!(
        titles(&w, "boots").await,
        vec!["Rubber boots", "Leather boots"]
    );
    boots.status = ProductStatus::Archived;
    w.catalog.upsert_product(&boots).await.unwrap();
    drain(&w).await;
    assert_eq!(titles(&w, "boots").await, vec!["Rubber boots"]);

    // An explicit deactivation event removes it too.
    let gone = CatalogEvent::ProductDeactivated {
        product_id: draft.id,
    };
    w.catalog
        .upsert_product(&{
            let mut d = draft.clone();
            d.status = ProductStatus::Archived;
            d
        })
        .await
        .unwrap();
    w.outbox
        .push(vec![gone.envelope(chrono::Utc::now()).unwrap()]);
    drain(&w).await;
    assert!(titles(&w, "boots").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_price_change_resorts_within_the_bound() {
    let w = world();
    w.catalog
        .upsert_product(&titled("MUG-1", "Mug one", "10.00"))
        .await
        .unwrap();
    w.catalog
        .upsert_product(&titled("MUG-2", "Mug two", "20.00"))
        .await
        .unwrap();
    drain(&w).await;
    assert_eq!(titles(&w, "mug").await, vec!["Mug one", "Mug two"]);
    let runner = w.runner.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        runner
            .run(tokio::time::sleep, |_| {}, async {
                let _ = stop_rx.await;
            })
            .await;
    });
    let sku = commerce_core::Sku::new("MUG-1").unwrap();
    let started = Instant::now();
    w.catalog.set_price(&sku, usd("30.00")).await.unwrap();
    loop {
        if titles(&w, "mug").await == vec!["Mug two", "Mug one"] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "price change not visible within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop_tx.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_change_is_searchable_within_one_second() {
    let w = world();
    let runner = w.runner.clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        runner
            .run(tokio::time::sleep, |_| {}, async {
                let _ = stop_rx.await;
            })
            .await;
    });
    for i in 0..5 {
        let started = Instant::now();
        let p = titled(&format!("LAMP-{i}"), &format!("Lantern model{i}"), "12.00");
        w.catalog.upsert_product(&p).await.unwrap();
        while w
            .search
            .search(&SearchQuery::text(format!("model{i}")))
            .await
            .unwrap()
            .total
            == 0
        {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "not searchable within 1 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let _ = stop_tx.send(());
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_stock_rating_and_units_sold_come_from_events() {
    let w = world();
    let p = titled("TENT-1", "Camping tent", "150.00");
    w.catalog.upsert_product(&p).await.unwrap();
    drain(&w).await;
    let sku = p.variants[0].sku.clone();
    let stock = InventoryEvent::StockChanged {
        sku: sku.clone(),
        location: LocationCode::default(),
        on_hand: 5,
        reserved: 2,
        backordered: 0,
    };
    let rating = CatalogEvent::RatingChanged {
        product_id: p.id,
        rating_count: 4,
        rating_average: Decimal::new(425, 2),
    };
    let mut order = sample_order(
        None,
        "k-1",
        commerce_core::Currency::USD,
        chrono::Utc::now(),
    )
    .order;
    order.lines[0].sku = sku.clone();
    order.lines[0].quantity = 3;
    w.orders.create(&order, &[]).await.unwrap();
    let confirmed = OrderEvent::OrderConfirmed { order_id: order.id };
    let now = chrono::Utc::now();
    w.outbox.push(vec![
        stock.envelope(now).unwrap(),
        rating.envelope(now).unwrap(),
        confirmed.envelope(now).unwrap(),
    ]);
    drain(&w).await;
    let doc = w.search.document(p.id).await.unwrap().unwrap();
    assert!(doc.signals.in_stock());
    assert_eq!(doc.signals.stock[0].available, 3);
    assert_eq!(doc.signals.rating_count, 4);
    assert_eq!(doc.signals.units_sold, 3);

    // A redelivered batch (lease ran out before the ack) is not applied twice.
    let entries = w.outbox.entries();
    let indexer = SearchIndexer::new(w.search.clone(), w.catalog.clone(), Some(w.orders.clone()));
    indexer.handle(&entries).await.unwrap();
    assert_eq!(
        w.search
            .document(p.id)
            .await
            .unwrap()
            .unwrap()
            .signals
            .units_sold,
        3
    );

    // A catalog change keeps the signals.
    let mut renamed = p.clone();
    renamed.title = "Camping tent XL".into();
    w.catalog.upsert_product(&renamed).await.unwrap();
    drain(&w).await;
    let doc = w.search.document(p.id).await.unwrap().unwrap();
    assert_eq!(doc.title, "Camping tent XL");
    assert_eq!(doc.signals.units_sold, 3);
    let mut q = SearchQuery::text("tent");
    q.filters.in_stock = true;
    q.filters.min_rating = Some(Decimal::from(4));
    assert_eq!(w.search.search(&q).await.unwrap().total, 1);
    // The rating facet counts it at every threshold up to 4 stars.
    let mut q = SearchQuery::text("tent");
    q.facets = true;
    let found = w.search.search(&q).await.unwrap();
    assert_eq!(found.facets.unwrap().ratings_at_least, [1, 1, 1, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_reindex_rebuilds_from_the_catalog() {
    let w = world();
    for i in 0..1_203 {
        w.catalog
            .upsert_product(&titled(
                &format!("SKU-{i}"),
                &format!("Poster number{i}"),
                "5.00",
            ))
            .await
            .unwrap();
    }
    // Nothing consumed from the outbox: the reindex alone fills the index.
    let report = reindex(w.search.as_ref(), w.catalog.as_ref())
        .await
        .unwrap();
    assert_eq!(report.indexed, 1_203);
    assert_eq!(report.pages, 3);
    assert_eq!(w.search.document_count().await.unwrap(), 1_203);
    let r = w
        .search
        .search(&SearchQuery::text("number1202 "))
        .await
        .unwrap();
    assert_eq!(
        r.hits[0].title, "Poster number1202",
        "the exact match ranks first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_disk_index_reopens_with_its_position() {
    let dir = std::env::temp_dir().join(format!("commerce-search-reopen-{}", uuid::Uuid::now_v7()));
    {
        let w = world_with(TantivySearch::open(SearchConfig::on_disk(&dir)).unwrap());
        w.catalog
            .upsert_product(&titled("KEY-1", "Mechanical keyboard", "99.00"))
            .await
            .unwrap();
        drain(&w).await;
        assert_eq!(
            w.search.position().await.unwrap(),
            Some(w.outbox.len() as u64)
        );
    }
    let again = TantivySearch::open(SearchConfig::on_disk(&dir)).unwrap();
    assert!(again.position().await.unwrap().is_some());
    assert_eq!(
        again
            .search(&SearchQuery::text("keybaord"))
            .await
            .unwrap()
            .total,
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_two_instances_converge() {
    let outbox = Arc::new(MemoryOutbox::new());
    let catalog = Arc::new(MemoryCatalog::new(Arc::clone(&outbox)));
    let mut runners = Vec::new();
    let mut indexes = Vec::new();
    for n in 0..2 {
        let search = Arc::new(TantivySearch::in_ram().unwrap());
        let indexer = SearchIndexer::new(search.clone(), catalog.clone(), None);
        runners.push(indexer.runner(outbox.clone(), format!("search-{n}")));
        indexes.push(search);
    }
    for i in 0..20 {
        catalog
            .upsert_product(&titled(&format!("S-{i}"), &format!("Scarf {i}"), "9.00"))
            .await
            .unwrap();
        if i % 3 == 0 {
            catalog
                .set_price(
                    &commerce_core::Sku::new(format!("S-{i}")).unwrap(),
                    Money::from_minor(100 + i, commerce_core::Currency::USD),
                )
                .await
                .unwrap();
        }
        for r in &runners[..1 + (i as usize % 2)] {
            r.run_once().await.unwrap();
        }
    }
    for r in &runners {
        r.drain().await.unwrap();
    }
    let mut q = SearchQuery::text("scarf");
    q.sort = SearchSort::PriceAsc;
    q.limit = 50;
    let a = indexes[0].search(&q).await.unwrap();
    let b = indexes[1].search(&q).await.unwrap();
    assert_eq!(a.total, 20);
    let key = |r: &commerce_core::search::SearchResults| {
        let mut v: Vec<_> = r.hits.iter().map(|h| (h.product_id, h.price)).collect();
        v.sort_by_key(|x| x.0);
        v
    };
    assert_eq!(key(&a), key(&b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_indexer_skips_unreadable_events() {
    let w = world();
    let mut bad = commerce_core::testkit::fixtures::event("catalog.price_changed", 1);
    bad.payload = serde_json::json!({ "type": "price_changed", "sku": 42 });
    w.outbox.push(vec![bad]);
    w.catalog
        .upsert_product(&titled("PEN-1", "Fountain pen", "25.00"))
        .await
        .unwrap();
    drain(&w).await;
    assert_eq!(titles(&w, "fountain").await, vec!["Fountain pen"]);
}

/// The example's start: the catalog and its reviews are seeded (their events in the
/// outbox), then the index is rebuilt from the catalog and the outbox drained. The
/// rating facet counts the rated product at every threshold it reaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_rating_facet_counts_after_reindex_and_drain() {
    let w = world();
    let p = titled("LAMP-1", "Desk lamp", "40.00");
    w.catalog.upsert_product(&p).await.unwrap();
    let rating = CatalogEvent::RatingChanged {
        product_id: p.id,
        rating_count: 3,
        rating_average: Decimal::new(367, 2),
    };
    w.outbox
        .push(vec![rating.envelope(chrono::Utc::now()).unwrap()]);
    reindex(w.search.as_ref(), w.catalog.as_ref())
        .await
        .unwrap();
    drain(&w).await;
    let mut q = SearchQuery::text("");
    q.facets = true;
    let found = w.search.search(&q).await.unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.facets.unwrap().ratings_at_least, [1, 1, 1, 0]);
}

/// A category moved under another parent (`catalog.category_upserted`): its products
/// are found under the new ancestor and no longer under the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_indexer_follows_a_moved_category() {
    let w = world();
    let clothing = category("clothing", None);
    let outdoor = category("outdoor", None);
    let jackets = category("jackets", Some(clothing.id));
    for c in [&clothing, &outdoor, &jackets] {
        w.catalog.upsert_category(c).await.unwrap();
    }
    let mut parka = titled("PARKA-1", "Warm parka", "120.00");
    parka.category_ids = vec![jackets.id];
    w.catalog.upsert_product(&parka).await.unwrap();
    drain(&w).await;
    let under = |id| {
        let mut q = SearchQuery::text("parka");
        q.filters.category_id = Some(id);
        q
    };
    assert_eq!(w.search.search(&under(clothing.id)).await.unwrap().total, 1);

    let moved = commerce_core::Category {
        parent_id: Some(outdoor.id),
        ..jackets.clone()
    };
    w.catalog.upsert_category(&moved).await.unwrap();
    drain(&w).await;
    assert_eq!(w.search.search(&under(outdoor.id)).await.unwrap().total, 1);
    assert_eq!(w.search.search(&under(clothing.id)).await.unwrap().total, 0);
}
