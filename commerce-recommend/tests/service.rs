//! Recommendations end to end on in-memory stores: catalog, stock and orders write
//! their events to the outbox, the consumers fill the tables, the lists read them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use commerce_core::memory::{MemoryCatalog, MemoryOutbox};
use commerce_core::ports::CatalogStore;
use commerce_core::testkit::fixtures::{fixed_time, product_with_variants, usd};
use commerce_core::worker::{EventConsumer, RunnerConfig, drain};
use commerce_core::{
    Actor, CategoryId, Currency, CustomerId, DomainEvent, Product, ProductId, ProductStatus,
};
use commerce_inventory::{InventoryStore, LocationCode, MemoryInventory, StockAdjustment};
use commerce_orders::testkit::{sample_order, unique};
use commerce_orders::{MemoryOrderStore, OrderEvent, OrderStatus, OrderStore};
use commerce_recommend::*;

struct Shop {
    outbox: Arc<MemoryOutbox>,
    catalog: Arc<MemoryCatalog>,
    inventory: Arc<MemoryInventory>,
    orders: Arc<MemoryOrderStore>,
    memory: Arc<MemoryRecommendStore>,
    store: Arc<dyn RecommendStore>,
    recorder: PurchaseRecorder,
    indexer: SignalsIndexer,
    lists: Recommendations,
}

fn shop() -> Shop {
    shop_over(|memory| memory)
}

/// The lists through an in-process cache in front of the memory store.
fn cached_shop() -> Shop {
    shop_over(|memory| Arc::new(CachedRecommendStore::new(memory, CacheConfig::default())))
}

fn shop_over(wrap: impl Fn(Arc<dyn RecommendStore>) -> Arc<dyn RecommendStore>) -> Shop {
    let outbox = Arc::new(MemoryOutbox::new());
    let catalog = Arc::new(MemoryCatalog::new(outbox.clone()));
    let inventory = Arc::new(MemoryInventory::new(outbox.clone()));
    let orders = Arc::new(MemoryOrderStore::new(outbox.clone()));
    let memory = Arc::new(MemoryRecommendStore::new());
    let store = wrap(memory.clone());
    Shop {
        memory,
        recorder: PurchaseRecorder::new(orders.clone(), catalog.clone(), store.clone()),
        indexer: SignalsIndexer::new(
            catalog.clone(),
            inventory.clone(),
            store.clone(),
            LocationCode::default_location(),
        ),
        lists: Recommendations::new(store.clone()),
        outbox,
        catalog,
        inventory,
        orders,
        store,
    }
}

impl Shop {
    async fn product(&self, title: &str, category: CategoryId, stock: i64) -> Product {
        let code = unique("SKU");
        let mut p = product_with_variants(&code.to_lowercase(), &[(&code, usd("4.00"))]);
        p.title = title.into();
        p.category_ids = vec![category];
        self.catalog.upsert_product(&p).await.unwrap();
        if stock > 0 {
            self.set_stock(&p, stock).await;
        }
        p
    }

    async fn set_stock(&self, p: &Product, delta: i64) {
        let adjustment = StockAdjustment::correction(p.variants[0].sku.clone(), delta);
        self.inventory
            .adjust(&adjustment, fixed_time())
            .await
            .unwrap();
    }

    /// A confirmed order of `products` writing `order.confirmed` to the outbox.
    async fn confirmed_order(&self, customer: Option<CustomerId>, products: &[&Product]) {
        let mut order = sample_order(customer, &unique("k"), Currency::USD, fixed_time()).order;
        let template = order.lines[0].clone();
        order.lines = products
            .iter()
            .map(|p| commerce_orders::OrderLine {
                sku: p.variants[0].sku.clone(),
                ..template.clone()
            })
            .collect();
        order.status = OrderStatus::Confirmed;
        let event = OrderEvent::OrderConfirmed { order_id: order.id }
            .envelope(fixed_time())
            .unwrap();
        self.orders.create(&order, &[event]).await.unwrap();
    }

    /// Runs both consumers over everything in the outbox.
    async fn drain(&self) {
        let config = RunnerConfig::default();
        drain(self.outbox.as_ref(), &self.indexer, config)
            .await
            .unwrap();
        drain(self.outbox.as_ref(), &self.recorder, config)
            .await
            .unwrap();
    }
}

fn ids(list: &[Scored]) -> Vec<ProductId> {
    list.iter().map(|s| s.product_id).collect()
}

#[tokio::test]
async fn recommend_lists_exclude_inactive_out_of_stock_and_bought_products() {
    lists_exclude_inactive_out_of_stock_and_bought_products(shop()).await;
}

/// The same through the cache: lists read (and cached) before the product left
/// stock, the catalog or the customer's choices are right after it, without waiting
/// for the cache's time to live.
#[tokio::test]
async fn recommend_cached_lists_exclude_inactive_out_of_stock_and_bought_products() {
    lists_exclude_inactive_out_of_stock_and_bought_products(cached_shop()).await;
}

async fn lists_exclude_inactive_out_of_stock_and_bought_products(s: Shop) {
    let kitchen = CategoryId::new();
    let mug = s.product("Blue mug", kitchen, 10).await;
    let saucer = s.product("Blue saucer", kitchen, 10).await;
    let teapot = s.product("Blue teapot", kitchen, 10).await;
    let archived = s.product("Blue kettle", kitchen, 10).await;
    let sold_out = s.product("Blue jug", kitchen, 1).await;
    for _ in 0..3 {
        s.confirmed_order(None, &[&mug, &saucer, &teapot, &archived, &sold_out])
            .await;
    }
    let customer = CustomerId::new();
    s.confirmed_order(Some(customer), &[&mug, &saucer]).await;
    s.drain().await;
    assert_eq!(s.lists.bought_together(mug.id, 10).await.unwrap().len(), 4);
    // Read every list once before the changes (a cache keeps them).
    s.lists.similar(mug.id, 10).await.unwrap();
    s.lists.popular(Some(kitchen), 10).await.unwrap();
    s.lists
        .for_you(&Actor::customer(customer), 10)
        .await
        .unwrap();

    let mut gone = archived.clone();
    gone.status = ProductStatus::Archived;
    s.catalog.upsert_product(&gone).await.unwrap();
    s.set_stock(&sold_out, -1).await;
    s.drain().await;

    let want = {
        let mut v = vec![saucer.id, teapot.id];
        v.sort();
        v
    };
    let mut together = ids(&s.lists.bought_together(mug.id, 10).await.unwrap());
    together.sort();
    assert_eq!(together, want);
    let mut similar = ids(&s.lists.similar(mug.id, 10).await.unwrap());
    similar.sort();
    assert_eq!(similar, want);
    let popular = ids(&s.lists.popular(Some(kitchen), 10).await.unwrap());
    assert!(!popular.contains(&archived.id) && !popular.contains(&sold_out.id));
    assert_eq!(popular.len(), 3);
    // For the customer who bought the mug and the saucer: the teapot only.
    let for_you = ids(&s
        .lists
        .for_you(&Actor::customer(customer), 10)
        .await
        .unwrap());
    assert_eq!(for_you, vec![teapot.id]);
    let cart = ids(&s.lists.for_cart(&[mug.id, saucer.id], 10).await.unwrap());
    assert_eq!(cart, vec![teapot.id]);
}

#[tokio::test]
async fn recommend_copurchase_consumer_counts_an_event_handled_twice_once() {
    let s = shop();
    let c = CategoryId::new();
    let (a, b, x) = (
        s.product("Alpha", c, 5).await,
        s.product("Beta", c, 5).await,
        s.product("Gamma", c, 5).await,
    );
    s.confirmed_order(None, &[&a, &b]).await;
    s.confirmed_order(None, &[&a, &x]).await;
    s.drain().await;
    let confirmed = s.outbox.events_with_topic("order.confirmed");
    assert_eq!(confirmed.len(), 2);
    // Redelivery (a lease that ran out, a second worker): the same event again.
    s.recorder.handle(&confirmed[0]).await.unwrap();
    s.recorder.handle(&confirmed[0]).await.unwrap();
    let list = s.lists.bought_together(a.id, 10).await.unwrap();
    let score_b = list.iter().find(|x| x.product_id == b.id).unwrap().score;
    // Counted once: 1 / sqrt(orders(a) = 2 * orders(b) = 1). Twice would give 2 / sqrt(3 * 2).
    assert!((score_b - 1.0 / 2f64.sqrt()).abs() < 1e-9, "{score_b}");
    let popular = s.store.popular(ALL_CATEGORIES, &[], 10).await.unwrap();
    assert_eq!(popular[0].product_id, a.id);
}

#[tokio::test]
async fn recommend_new_customer_gets_popular_and_cold_product_gets_similar() {
    let s = shop();
    let c = CategoryId::new();
    let hit = s.product("Garden hose", c, 5).await;
    let other = s.product("Garden rake", c, 5).await;
    let fresh = s.product("Garden hose reel", c, 5).await;
    s.confirmed_order(None, &[&hit]).await;
    s.confirmed_order(None, &[&hit]).await;
    s.confirmed_order(None, &[&other]).await;
    s.drain().await;
    let for_new = ids(&s
        .lists
        .for_you(&Actor::customer(CustomerId::new()), 2)
        .await
        .unwrap());
    assert_eq!(for_new, vec![hit.id, other.id]);
    assert_eq!(
        ids(&s.lists.for_you(&Actor::Admin, 1).await.unwrap()),
        vec![hit.id]
    );
    // Nobody bought the reel: its list is made of similar products, best match first.
    let cold = ids(&s.lists.for_product(fresh.id, 5).await.unwrap());
    assert_eq!(cold.first(), Some(&hit.id));
    assert!(!cold.contains(&fresh.id));
}

/// Two instances share the tables, each with its own cache: what the shared
/// consumers change (through instance A's cache) reaches instance B's cache through
/// B's `CacheInvalidator`, its own consumer group.
#[tokio::test]
async fn recommend_cache_of_another_instance_is_kept_true_by_its_invalidator() {
    let s = cached_shop();
    let b = Arc::new(CachedRecommendStore::new(
        s.memory.clone(),
        CacheConfig::default(),
    ));
    let b_lists = Recommendations::new(b.clone());
    let b_invalidator = CacheInvalidator::new(
        "b",
        chrono::DateTime::UNIX_EPOCH,
        PurchaseRecorder::new(s.orders.clone(), s.catalog.clone(), b.clone()),
        SignalsIndexer::new(
            s.catalog.clone(),
            s.inventory.clone(),
            b.clone(),
            LocationCode::default_location(),
        ),
    );
    assert_eq!(b_invalidator.group(), "recommend.cache.b");
    let c = CategoryId::new();
    let mug = s.product("Red mug", c, 10).await;
    let cup = s.product("Red cup", c, 10).await;
    let customer = CustomerId::new();
    s.confirmed_order(None, &[&mug, &cup]).await;
    s.confirmed_order(Some(customer), &[&mug]).await;
    s.drain().await;
    let config = RunnerConfig::default();
    drain(s.outbox.as_ref(), &b_invalidator, config)
        .await
        .unwrap();
    let me = Actor::customer(customer);
    assert_eq!(
        ids(&b_lists.bought_together(mug.id, 10).await.unwrap()),
        vec![cup.id]
    );
    assert_eq!(ids(&b_lists.for_you(&me, 10).await.unwrap()), vec![cup.id]);

    // The cup sells out; the customer buys it anyway (a backorder): the shared
    // consumers update the tables through instance A.
    s.set_stock(&cup, -10).await;
    s.confirmed_order(Some(customer), &[&cup]).await;
    s.drain().await;
    assert!(ids(&s.lists.bought_together(mug.id, 10).await.unwrap()).is_empty());
    // Instance B has not heard yet: its cached lists are as they were ...
    assert_eq!(
        ids(&b_lists.bought_together(mug.id, 10).await.unwrap()),
        vec![cup.id]
    );
    // ... until its invalidator runs (the same events, counted once in the tables).
    drain(s.outbox.as_ref(), &b_invalidator, config)
        .await
        .unwrap();
    assert!(ids(&b_lists.bought_together(mug.id, 10).await.unwrap()).is_empty());
    let for_you = ids(&b_lists.for_you(&me, 10).await.unwrap());
    assert!(!for_you.contains(&cup.id) && !for_you.contains(&mug.id));
    assert!(b.stats().hits > 0);
    let together = s.memory.bought_together(&[mug.id], &[], 10).await.unwrap();
    assert!(together.is_empty());
    // Counted once although two groups recorded the orders.
    assert_eq!(
        s.memory.purchased(customer, 10).await.unwrap().len(),
        2,
        "the customer's two products"
    );
}

/// The signals indexer one event at a time (the trait's default batch handling),
/// to compare a batch against.
struct OneByOne(SignalsIndexer);

#[async_trait::async_trait]
impl EventConsumer for OneByOne {
    fn group(&self) -> &str {
        "one-by-one"
    }
    async fn handle(&self, event: &commerce_core::EventEnvelope) -> commerce_core::Result<()> {
        Ok(self.0.handle_event(event).await?)
    }
}

/// A claimed batch of stock changes refreshes each product once (the soak's signals
/// group fell behind refreshing the hot product for every reserve, commit and
/// release) and leaves the same signals as handling the events one by one: a
/// product that sold out within the batch is out of stock, one restocked in it is
/// in stock.
#[tokio::test]
async fn recommend_signals_batch_leaves_what_event_by_event_leaves() {
    let s = shop();
    let c = CategoryId::new();
    let mug = s.product("Mug", c, 5).await;
    let cup = s.product("Cup", c, 0).await;
    let bowl = s.product("Bowl", c, 2).await;
    for _ in 0..5 {
        s.set_stock(&mug, -1).await;
    }
    s.set_stock(&cup, 3).await;
    s.set_stock(&bowl, 1).await;
    let batch = RunnerConfig::default().with_batch(1_000);
    drain(s.outbox.as_ref(), &s.indexer, batch).await.unwrap();
    let other = Arc::new(MemoryRecommendStore::new());
    let one_by_one = OneByOne(SignalsIndexer::new(
        s.catalog.clone(),
        s.inventory.clone(),
        other.clone(),
        LocationCode::default_location(),
    ));
    drain(s.outbox.as_ref(), &one_by_one, batch).await.unwrap();
    for (p, in_stock) in [(&mug, false), (&cup, true), (&bowl, true)] {
        let batched = s.store.signals(p.id).await.unwrap().expect("signals");
        assert_eq!(batched.in_stock, in_stock, "{}", p.title);
        assert_eq!(Some(batched), other.signals(p.id).await.unwrap());
    }
}

/// The purchase recorder handling events one by one (the runner's default
/// `handle_batch`).
struct PurchasesOneByOne(PurchaseRecorder);

#[async_trait::async_trait]
impl EventConsumer for PurchasesOneByOne {
    fn group(&self) -> &str {
        "purchases-one-by-one"
    }
    async fn handle(&self, event: &commerce_core::EventEnvelope) -> commerce_core::Result<()> {
        Ok(self.0.handle_event(event).await?)
    }
}

/// What the lists read from a store: bought together with each product, popular in
/// the category, each customer's purchases.
type Tables = (Vec<Vec<Scored>>, Vec<Scored>, Vec<Vec<ProductId>>);

async fn tables(
    store: &dyn RecommendStore,
    products: &[Product],
    category: CategoryId,
    customers: &[CustomerId],
) -> Tables {
    let mut together = Vec::new();
    for p in products {
        together.push(store.bought_together(&[p.id], &[], 10).await.unwrap());
    }
    let mut purchased = Vec::new();
    for c in customers {
        purchased.push(store.purchased(*c, 10).await.unwrap());
    }
    let popular = store.popular(category, &[], 10).await.unwrap();
    (together, popular, purchased)
}

/// Each customer's saved "for you" list is the blend of the tables as they are now
/// (recomputed after the batch, not after each of their orders within it).
async fn for_you_is_fresh(store: Arc<dyn RecommendStore>, customers: &[CustomerId]) {
    let lists = Recommendations::new(store.clone());
    for c in customers {
        let saved = store.for_you(*c, MAX_LIST).await.unwrap().expect("saved");
        assert!(!saved.is_empty());
        assert_eq!(saved, lists.blend_for_you(*c).await.unwrap());
    }
}

/// A claimed batch of confirmed orders is recorded in one store call and leaves
/// what recording them one by one leaves (pairs, popularity, purchases), each
/// buyer's "for you" list recomputed once, after the batch; a batch handled again
/// after part of it was recorded (a lost ack) counts each order once.
#[tokio::test]
async fn recommend_purchases_batch_leaves_what_event_by_event_leaves() {
    let s = shop();
    let c = CategoryId::new();
    let mut p = Vec::new();
    for title in ["Mug", "Cup", "Bowl", "Plate", "Jug"] {
        p.push(s.product(title, c, 50).await);
    }
    let one_by_one = Arc::new(MemoryRecommendStore::new());
    let replayed = Arc::new(MemoryRecommendStore::new());
    for store in [
        s.store.clone(),
        one_by_one.clone() as Arc<dyn RecommendStore>,
        replayed.clone(),
    ] {
        let indexer = SignalsIndexer::new(
            s.catalog.clone(),
            s.inventory.clone(),
            store,
            LocationCode::default_location(),
        );
        for product in &p {
            indexer.refresh(product.id).await.unwrap();
        }
    }
    let customers = [CustomerId::new(), CustomerId::new()];
    let orders: [(Option<usize>, &[usize]); 8] = [
        (Some(0), &[0, 1]),
        (None, &[0, 1, 2]),
        (Some(1), &[3]),
        (Some(0), &[2, 4]),
        (None, &[1, 4]),
        (Some(1), &[0, 3, 4]),
        (Some(0), &[0]),
        (None, &[2, 3]),
    ];
    for (customer, products) in orders {
        let products: Vec<&Product> = products.iter().map(|i| &p[*i]).collect();
        s.confirmed_order(customer.map(|i| customers[i]), &products)
            .await;
    }
    let batch = RunnerConfig::default().with_batch(1_000);
    assert_eq!(
        drain(s.outbox.as_ref(), &s.recorder, batch).await.unwrap(),
        s.outbox.len()
    );
    let one = PurchasesOneByOne(PurchaseRecorder::new(
        s.orders.clone(),
        s.catalog.clone(),
        one_by_one.clone(),
    ));
    drain(s.outbox.as_ref(), &one, batch).await.unwrap();
    let expected = tables(one_by_one.as_ref(), &p, c, &customers).await;
    assert!(expected.0.iter().all(|l| !l.is_empty()));
    assert_eq!(
        tables(s.store.as_ref(), &p, c, &customers).await,
        expected,
        "batched"
    );
    for_you_is_fresh(s.store.clone(), &customers).await;

    let entries = s.outbox.entries();
    let events: Vec<&commerce_core::EventEnvelope> = entries.iter().map(|e| &e.event).collect();
    let recorder = PurchaseRecorder::new(s.orders.clone(), s.catalog.clone(), replayed.clone());
    let confirmed: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.topic == "order.confirmed")
        .map(|(i, _)| i)
        .collect();
    for event in &events[..=confirmed[3]] {
        recorder.handle_event(event).await.unwrap();
    }
    assert_eq!(recorder.handle_events(&events).await.unwrap(), 4);
    assert_eq!(recorder.handle_events(&events).await.unwrap(), 0);
    assert_eq!(
        tables(replayed.as_ref(), &p, c, &customers).await,
        expected,
        "replayed"
    );
    for_you_is_fresh(replayed, &customers).await;
}
