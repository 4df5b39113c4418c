//! The review rules through `Reviews` on in-memory stores: verified purchases,
//! authorship, moderation, votes and reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use commerce_core::memory::{MemoryCatalog, MemoryOutbox};
use commerce_core::ports::CatalogStore;
use commerce_core::testkit::fixtures::{fixed_time, product_with_variants, usd};
use commerce_core::{Actor, Currency, CustomerId, ManualClock, Product, SellerId};
use commerce_orders::testkit::sample_order;
use commerce_orders::{MemoryOrderStore, OrderStatus, OrderStore};
use commerce_reviews::*;

struct World {
    reviews: Reviews,
    orders: Arc<MemoryOrderStore>,
    product: Product,
    outbox: Arc<MemoryOutbox>,
}

async fn world(allow_unverified: bool) -> World {
    let outbox = Arc::new(MemoryOutbox::new());
    let catalog = Arc::new(MemoryCatalog::new(outbox.clone()));
    let orders = Arc::new(MemoryOrderStore::new(outbox.clone()));
    let product = product_with_variants(
        &commerce_orders::testkit::unique("mug").to_lowercase(),
        &[(&commerce_orders::testkit::unique("MUG"), usd("9.00"))],
    );
    catalog.upsert_product(&product).await.unwrap();
    let reviews = Reviews::new(
        Arc::new(MemoryReviewStore::new(outbox.clone())),
        Arc::new(OrderPurchases::new(orders.clone())),
        catalog,
        Arc::new(ManualClock::new(fixed_time())),
        ReviewSettings::default().with_unverified(allow_unverified),
    );
    World {
        reviews,
        orders,
        product,
        outbox,
    }
}

impl World {
    async fn order(&self, customer: CustomerId, status: OrderStatus) {
        let mut order = sample_order(
            Some(customer),
            &commerce_orders::testkit::unique("k"),
            Currency::USD,
            fixed_time(),
        )
        .order;
        order.lines[0].sku = self.product.variants[0].sku.clone();
        order.status = status;
        self.orders.create(&order, &[]).await.unwrap();
    }
}

fn draft(stars: u8) -> ReviewDraft {
    ReviewDraft::new(Rating::new(stars).unwrap(), "Solid").with_body("Does the job.")
}

#[tokio::test]
async fn review_verified_purchase_requires_a_confirmed_order_line() {
    let w = world(false).await;
    let (buyer, stranger) = (CustomerId::new(), CustomerId::new());
    match w
        .reviews
        .post(&Actor::customer(stranger), w.product.id, draft(5))
        .await
    {
        Err(Error::PurchaseRequired { product_id }) => assert_eq!(product_id, w.product.id),
        other => panic!("expected PurchaseRequired, got {other:?}"),
    }
    w.order(buyer, OrderStatus::Confirmed).await;
    let review = w
        .reviews
        .post(&Actor::customer(buyer), w.product.id, draft(5))
        .await
        .unwrap();
    assert!(review.verified);
    assert_eq!(w.reviews.aggregate(w.product.id).await.unwrap().count(), 1);
}

#[tokio::test]
async fn review_after_a_cancelled_order_is_not_verified() {
    let w = world(false).await;
    let c = CustomerId::new();
    w.order(c, OrderStatus::Cancelled).await;
    w.order(c, OrderStatus::PendingPayment).await;
    assert!(matches!(
        w.reviews
            .post(&Actor::customer(c), w.product.id, draft(4))
            .await,
        Err(Error::PurchaseRequired { .. })
    ));
    let open = world(true).await;
    open.order(c, OrderStatus::Cancelled).await;
    let review = open
        .reviews
        .post(&Actor::customer(c), open.product.id, draft(4))
        .await
        .unwrap();
    assert!(
        !review.verified,
        "a cancelled order never verifies a review"
    );
}

#[tokio::test]
async fn review_unverified_allowed_by_shop_setting() {
    let w = world(true).await;
    let review = w
        .reviews
        .post(&Actor::customer(CustomerId::new()), w.product.id, draft(3))
        .await
        .unwrap();
    assert!(!review.verified);
}

#[tokio::test]
async fn review_one_per_customer_per_product() {
    let w = world(true).await;
    let c = CustomerId::new();
    let first = w
        .reviews
        .post(&Actor::customer(c), w.product.id, draft(3))
        .await
        .unwrap();
    match w
        .reviews
        .post(&Actor::customer(c), w.product.id, draft(1))
        .await
    {
        Err(Error::AlreadyReviewed { review_id }) => assert_eq!(review_id, first.id),
        other => panic!("expected AlreadyReviewed, got {other:?}"),
    }
}

#[tokio::test]
async fn review_edit_and_delete_by_author_only() {
    let w = world(true).await;
    let (author, other) = (CustomerId::new(), CustomerId::new());
    let r = w
        .reviews
        .post(&Actor::customer(author), w.product.id, draft(2))
        .await
        .unwrap();
    assert!(matches!(
        w.reviews
            .edit(&Actor::customer(other), r.id, draft(5))
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        w.reviews.delete(&Actor::customer(other), r.id).await,
        Err(Error::Forbidden(_))
    ));
    let edited = w
        .reviews
        .edit(&Actor::customer(author), r.id, draft(5))
        .await
        .unwrap();
    assert_eq!((edited.rating.stars(), edited.version), (5, 2));
    assert_eq!(
        w.reviews.aggregate(w.product.id).await.unwrap().histogram,
        [0, 0, 0, 0, 1]
    );
    w.reviews
        .delete(&Actor::customer(author), r.id)
        .await
        .unwrap();
    assert_eq!(w.reviews.aggregate(w.product.id).await.unwrap().count(), 0);
}

#[tokio::test]
async fn review_draft_rules_are_checked() {
    let w = world(true).await;
    let c = CustomerId::new();
    let mut long = draft(3);
    long.title = "x".repeat(121);
    assert!(matches!(
        w.reviews
            .post(&Actor::customer(c), w.product.id, long)
            .await,
        Err(Error::Validation { field: "title", .. })
    ));
    let foreign_sku = draft(3).with_sku(commerce_core::Sku::new("NOT-OURS").unwrap());
    assert!(matches!(
        w.reviews
            .post(&Actor::customer(c), w.product.id, foreign_sku)
            .await,
        Err(Error::Validation { field: "sku", .. })
    ));
    let variant = draft(3).with_sku(w.product.variants[0].sku.clone());
    assert!(
        w.reviews
            .post(&Actor::customer(c), w.product.id, variant)
            .await
            .is_ok()
    );
    assert!(matches!(
        w.reviews
            .post(
                &Actor::customer(c),
                commerce_core::ProductId::new(),
                draft(3)
            )
            .await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn review_moderation_hides_from_aggregates_and_lists() {
    let w = world(true).await;
    let bad = w
        .reviews
        .post(&Actor::customer(CustomerId::new()), w.product.id, draft(1))
        .await
        .unwrap();
    w.reviews
        .post(&Actor::customer(CustomerId::new()), w.product.id, draft(5))
        .await
        .unwrap();
    // Customers do not moderate; sellers do not post.
    assert!(matches!(
        w.reviews
            .hide(&Actor::customer(CustomerId::new()), bad.id, "spam")
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        w.reviews
            .post(&Actor::seller(w.product.seller_id), w.product.id, draft(5))
            .await,
        Err(Error::Forbidden(_))
    ));
    let stranger = Actor::seller(SellerId::new());
    assert!(matches!(
        w.reviews.hide(&stranger, bad.id, "spam").await,
        Err(Error::Forbidden(_))
    ));
    let seller = Actor::seller(w.product.seller_id);
    let hidden = w.reviews.hide(&seller, bad.id, "spam").await.unwrap();
    assert_eq!(hidden.status, ReviewStatus::Hidden);
    assert_eq!(hidden.moderation.as_ref().unwrap().reason, "spam");
    let aggregate = w.reviews.aggregate(w.product.id).await.unwrap();
    assert_eq!(
        (aggregate.count(), aggregate.average()),
        (1, rust_decimal_macros::dec!(5.00))
    );
    let list = w
        .reviews
        .for_product(&ProductReviewQuery::first(
            w.product.id,
            ReviewOrder::LowestRating,
            10,
        ))
        .await
        .unwrap();
    assert!(list.iter().all(|r| r.id != bad.id));
    // Hidden reviews take no votes or reports.
    assert!(matches!(
        w.reviews
            .vote_helpful(&Actor::customer(CustomerId::new()), bad.id)
            .await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(w.outbox.events_with_topic("review.hidden").len(), 1);
    let restored = w
        .reviews
        .restore(&Actor::Admin, bad.id, "appeal accepted")
        .await
        .unwrap();
    assert_eq!(restored.status, ReviewStatus::Published);
    assert_eq!(w.reviews.aggregate(w.product.id).await.unwrap().count(), 2);
    let ratings = w.outbox.events_with_topic("catalog.rating_changed");
    assert_eq!(ratings.len(), 4, "post, post, hide, restore");
}

#[tokio::test]
async fn review_votes_and_reports_once_per_customer() {
    let w = world(true).await;
    let author = CustomerId::new();
    let r = w
        .reviews
        .post(&Actor::customer(author), w.product.id, draft(4))
        .await
        .unwrap();
    assert!(matches!(
        w.reviews.vote_helpful(&Actor::customer(author), r.id).await,
        Err(Error::Forbidden(_))
    ));
    let fan = CustomerId::new();
    assert!(
        w.reviews
            .vote_helpful(&Actor::customer(fan), r.id)
            .await
            .unwrap()
    );
    assert!(
        !w.reviews
            .vote_helpful(&Actor::customer(fan), r.id)
            .await
            .unwrap()
    );
    assert!(
        w.reviews
            .report(&Actor::customer(fan), r.id, "off topic")
            .await
            .unwrap()
    );
    assert!(
        !w.reviews
            .report(&Actor::customer(fan), r.id, "off topic")
            .await
            .unwrap()
    );
    let own = w
        .reviews
        .of_customer(
            &Actor::customer(author),
            CustomerReviewPage {
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!((own[0].helpful_count, own[0].report_count), (1, 1));
}
