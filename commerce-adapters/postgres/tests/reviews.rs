//! Reviews on PostgreSQL: the ReviewStore conformance suite, and the review rules
//! through `Reviews` on the PostgreSQL stores (verified purchases from real orders,
//! concurrent posts).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod support;

use std::sync::Arc;

use commerce_core::ports::CatalogStore;
use commerce_core::testkit::fixtures::{fixed_time, product_with_variants, usd};
use commerce_core::{Actor, Currency, CustomerId, SystemClock};
use commerce_orders::testkit::{sample_order, unique};
use commerce_orders::{OrderStatus, OrderStore};
use commerce_reviews::testkit::ReviewFixture;
use commerce_reviews::{Error, Rating, ReviewDraft, ReviewSettings, Reviews};

async fn review_fixture() -> ReviewFixture {
    let stores = support::fresh_stores().await;
    ReviewFixture {
        store: Arc::new(stores.reviews()),
        outbox: Arc::new(stores.outbox()),
    }
}

commerce_reviews::review_store_conformance!(review_fixture);

async fn purchase_fixture() -> commerce_reviews::testkit::PurchaseFixture {
    let stores = support::fresh_stores().await;
    commerce_reviews::testkit::PurchaseFixture {
        history: Arc::new(stores.purchase_history()),
        orders: Arc::new(stores.orders()),
    }
}

commerce_reviews::purchase_history_conformance!(purchase_fixture);

fn draft(stars: u8) -> ReviewDraft {
    ReviewDraft::new(Rating::new(stars).unwrap(), "Great")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn review_one_per_customer_per_product_under_concurrent_posts() {
    let stores = support::fresh_stores_with(16).await;
    let catalog = Arc::new(stores.catalog());
    let orders = stores.orders();
    let product = product_with_variants(
        &unique("mug").to_lowercase(),
        &[(&unique("MUG"), usd("5.00"))],
    );
    catalog.upsert_product(&product).await.unwrap();
    let buyer = CustomerId::new();
    let mut order = sample_order(Some(buyer), &unique("k"), Currency::USD, fixed_time()).order;
    order.lines[0].sku = product.variants[0].sku.clone();
    order.status = OrderStatus::Confirmed;
    orders.create(&order, &[]).await.unwrap();
    let reviews = Arc::new(Reviews::new(
        Arc::new(stores.reviews()),
        Arc::new(stores.purchase_history()),
        catalog,
        Arc::new(SystemClock),
        ReviewSettings::default(),
    ));
    let posts = (0..12u8).map(|i| {
        let reviews = reviews.clone();
        let id = product.id;
        tokio::spawn(async move {
            reviews
                .post(&Actor::customer(buyer), id, draft(i % 5 + 1))
                .await
        })
    });
    let results: Vec<_> = futures::future::join_all(posts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let stored: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(stored.len(), 1, "{results:?}");
    assert!(stored[0].verified);
    assert!(results.iter().filter(|r| r.is_err()).all(
        |r| matches!(r, Err(Error::AlreadyReviewed { review_id }) if *review_id == stored[0].id)
    ));
    let aggregate = reviews.aggregate(product.id).await.unwrap();
    assert_eq!(aggregate.count(), 1);
    // A stranger cannot post: the shop takes verified reviews only.
    assert!(matches!(
        reviews
            .post(&Actor::customer(CustomerId::new()), product.id, draft(1))
            .await,
        Err(Error::PurchaseRequired { .. })
    ));
}
