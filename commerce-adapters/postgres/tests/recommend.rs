//! The RecommendStore conformance suite against PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod support;

use std::sync::Arc;

use commerce_recommend::testkit::RecommendFixture;

async fn recommend_fixture() -> RecommendFixture {
    let stores = support::fresh_stores().await;
    RecommendFixture {
        store: Arc::new(stores.recommendations()),
    }
}

commerce_recommend::recommend_store_conformance!(recommend_fixture);

/// The whole pipeline on PostgreSQL: catalog, stock and orders write their events to
/// the outbox, the two consumers fill the tables, the lists read them.
mod pipeline {
    use std::sync::Arc;

    use commerce_core::ports::CatalogStore;
    use commerce_core::testkit::fixtures::{fixed_time, product_with_variants, usd};
    use commerce_core::worker::{RunnerConfig, drain};
    use commerce_core::{
        Actor, CategoryId, Currency, CustomerId, DomainEvent, Product, ProductId, ProductStatus,
    };
    use commerce_inventory::{InventoryStore, LocationCode, StockAdjustment};
    use commerce_orders::testkit::{sample_order, unique};
    use commerce_orders::{OrderEvent, OrderStatus, OrderStore};
    use commerce_postgres::PgStores;
    use commerce_recommend::{PurchaseRecorder, Recommendations, SignalsIndexer};

    async fn product(stores: &PgStores, title: &str, category: CategoryId, stock: i64) -> Product {
        let code = unique("SKU");
        let mut p = product_with_variants(&code.to_lowercase(), &[(&code, usd("4.00"))]);
        p.title = title.into();
        p.category_ids = vec![category];
        stores.catalog().upsert_product(&p).await.unwrap();
        set_stock(stores, &p, stock).await;
        p
    }

    async fn set_stock(stores: &PgStores, p: &Product, delta: i64) {
        let adjustment = StockAdjustment::correction(p.variants[0].sku.clone(), delta);
        stores
            .inventory()
            .adjust(&adjustment, fixed_time())
            .await
            .unwrap();
    }

    async fn confirmed_order(
        stores: &PgStores,
        customer: Option<CustomerId>,
        products: &[&Product],
    ) {
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
        stores.orders().create(&order, &[event]).await.unwrap();
    }

    fn sorted(mut v: Vec<ProductId>) -> Vec<ProductId> {
        v.sort();
        v
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn recommend_pg_lists_exclude_inactive_out_of_stock_and_bought_products() {
        let stores = crate::support::fresh_stores().await;
        let store = Arc::new(stores.recommendations());
        let recorder = PurchaseRecorder::new(
            Arc::new(stores.orders()),
            Arc::new(stores.catalog()),
            store.clone(),
        );
        let indexer = SignalsIndexer::new(
            Arc::new(stores.catalog()),
            Arc::new(stores.inventory()),
            store.clone(),
            LocationCode::default_location(),
        );
        let outbox = stores.outbox();
        let run = || async {
            drain(&outbox, &indexer, RunnerConfig::default())
                .await
                .unwrap();
            drain(&outbox, &recorder, RunnerConfig::default())
                .await
                .unwrap()
        };
        let lists = Recommendations::new(store.clone());
        let kitchen = CategoryId::new();
        let mug = product(&stores, "Blue mug", kitchen, 10).await;
        let saucer = product(&stores, "Blue saucer", kitchen, 10).await;
        let teapot = product(&stores, "Blue teapot", kitchen, 10).await;
        let archived = product(&stores, "Blue kettle", kitchen, 10).await;
        let sold_out = product(&stores, "Blue jug", kitchen, 1).await;
        for _ in 0..3 {
            confirmed_order(
                &stores,
                None,
                &[&mug, &saucer, &teapot, &archived, &sold_out],
            )
            .await;
        }
        let customer = CustomerId::new();
        confirmed_order(&stores, Some(customer), &[&mug, &saucer]).await;
        run().await;
        assert_eq!(lists.bought_together(mug.id, 10).await.unwrap().len(), 4);
        // Handled again (a second worker group replaying the log): counted once.
        let replayed = drain(
            &outbox,
            &PurchaseRecorderAgain(&recorder),
            RunnerConfig::default(),
        )
        .await
        .unwrap();
        assert!(replayed > 0);
        let together = lists.bought_together(mug.id, 10).await.unwrap();
        let saucer_score = together
            .iter()
            .find(|s| s.product_id == saucer.id)
            .unwrap()
            .score;
        // 4 orders with both of 4 with the mug and 4 with the saucer: cosine 1.
        assert!((saucer_score - 1.0).abs() < 1e-9, "{saucer_score}");

        let mut gone = archived.clone();
        gone.status = ProductStatus::Archived;
        stores.catalog().upsert_product(&gone).await.unwrap();
        set_stock(&stores, &sold_out, -1).await;
        run().await;

        let want = sorted(vec![saucer.id, teapot.id]);
        let ids = |l: Vec<commerce_recommend::Scored>| {
            l.into_iter().map(|s| s.product_id).collect::<Vec<_>>()
        };
        assert_eq!(
            sorted(ids(lists.bought_together(mug.id, 10).await.unwrap())),
            want
        );
        assert_eq!(sorted(ids(lists.similar(mug.id, 10).await.unwrap())), want);
        let popular = ids(lists.popular(Some(kitchen), 10).await.unwrap());
        assert_eq!(sorted(popular), sorted(vec![mug.id, saucer.id, teapot.id]));
        let for_you = ids(lists.for_you(&Actor::customer(customer), 10).await.unwrap());
        assert_eq!(for_you, vec![teapot.id]);
        assert_eq!(
            ids(lists.for_cart(&[mug.id, saucer.id], 10).await.unwrap()),
            vec![teapot.id]
        );
    }

    /// The purchase recorder under another consumer group, to replay the log.
    struct PurchaseRecorderAgain<'a>(&'a PurchaseRecorder);

    #[async_trait::async_trait]
    impl commerce_core::worker::EventConsumer for PurchaseRecorderAgain<'_> {
        fn group(&self) -> &str {
            "recommend.purchases.replay"
        }
        async fn handle(&self, event: &commerce_core::EventEnvelope) -> commerce_core::Result<()> {
            commerce_core::worker::EventConsumer::handle(self.0, event).await
        }
    }
}
