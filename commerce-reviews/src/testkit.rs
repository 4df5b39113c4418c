//! The conformance suite of [`ReviewStore`]: every implementation (memory,
//! PostgreSQL) runs these checks through [`crate::review_store_conformance!`].
//!
//! [`apply_ops`] and [`check_aggregates`] are the model the property test drives:
//! random sequences of create, edit, hide, restore and delete, after which every
//! stored aggregate equals a recomputation from the stored reviews.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use commerce_core::ports::Outbox;
use commerce_core::testkit::fixtures::fixed_time;
use commerce_core::testkit::support::drain;
use commerce_core::{CatalogEvent, CustomerId, DomainEvent, ProductId};

use crate::aggregate::RatingAggregate;
use crate::error::Error;
use crate::event::ReviewEvent;
use crate::model::{
    AbuseReport, Moderation, ModerationAction, Moderator, Rating, Review, ReviewId, ReviewStatus,
};
use crate::ports::{
    CustomerReviewPage, ModerationPage, ProductReviewQuery, ReviewCursor, ReviewOrder, ReviewStore,
};

/// A fresh, isolated store and the outbox it writes to.
pub struct ReviewFixture {
    /// The store under test.
    pub store: Arc<dyn ReviewStore>,
    /// Where it writes its events.
    pub outbox: Arc<dyn Outbox>,
}

/// A published review of `product_id` by `customer_id` with `stars`, posted at `at`.
pub fn review(
    product_id: ProductId,
    customer_id: CustomerId,
    stars: u8,
    at: DateTime<Utc>,
) -> Review {
    Review {
        id: ReviewId::new(),
        product_id,
        customer_id,
        sku: None,
        rating: Rating::new(stars).unwrap(),
        title: format!("{stars} stars"),
        body: "Text".into(),
        verified: true,
        status: ReviewStatus::Published,
        moderation: None,
        helpful_count: 0,
        report_count: 0,
        created_at: at,
        updated_at: at,
        version: 1,
    }
}

fn posted(r: &Review) -> Vec<commerce_core::EventEnvelope> {
    vec![
        ReviewEvent::Posted {
            review_id: r.id,
            product_id: r.product_id,
            customer_id: r.customer_id,
            rating: r.rating,
            verified: r.verified,
        }
        .envelope(r.updated_at)
        .unwrap(),
    ]
}

fn hidden(r: &Review, at: DateTime<Utc>) -> Review {
    Review {
        status: ReviewStatus::Hidden,
        moderation: Some(Moderation {
            action: ModerationAction::Hide,
            by: Moderator::Admin,
            reason: "spam".into(),
            at,
        }),
        updated_at: at,
        ..r.clone()
    }
}

async fn rating_events(outbox: &dyn Outbox, group: &str) -> Vec<CatalogEvent> {
    drain(outbox, group)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.topic == "catalog.rating_changed")
        .map(|e| serde_json::from_value(e.payload).unwrap())
        .collect()
}

/// A created review reads back (version 1, counters zero) by id and by author.
pub async fn create_then_get_and_find(f: ReviewFixture) {
    let (p, c) = (ProductId::new(), CustomerId::new());
    let mut r = review(p, c, 4, fixed_time());
    r.version = 9;
    r.helpful_count = 7;
    let change = f.store.create(&r, &posted(&r)).await.unwrap();
    let stored = change.review.unwrap();
    assert_eq!((stored.version, stored.helpful_count), (1, 0));
    assert_eq!(f.store.get(r.id).await.unwrap().as_ref(), Some(&stored));
    assert_eq!(f.store.find(p, c).await.unwrap(), Some(stored));
    assert_eq!(f.store.find(p, CustomerId::new()).await.unwrap(), None);
    assert_eq!(f.store.get(ReviewId::new()).await.unwrap(), None);
}

/// A second review of one product by one customer is `AlreadyReviewed`, naming the
/// first, and writes nothing.
pub async fn second_review_by_same_customer_is_already_reviewed(f: ReviewFixture) {
    let (p, c) = (ProductId::new(), CustomerId::new());
    let first = review(p, c, 5, fixed_time());
    f.store.create(&first, &posted(&first)).await.unwrap();
    let second = review(p, c, 1, fixed_time());
    match f.store.create(&second, &posted(&second)).await {
        Err(Error::AlreadyReviewed { review_id }) => assert_eq!(review_id, first.id),
        other => panic!("expected AlreadyReviewed, got {other:?}"),
    }
    assert_eq!(
        f.store.aggregate(p).await.unwrap().histogram,
        [0, 0, 0, 0, 1]
    );
    let posts = drain(f.outbox.as_ref(), "t")
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.topic == "review.posted")
        .count();
    assert_eq!(posts, 1);
}

/// Of 16 concurrent posts by one customer on one product exactly one is stored.
pub async fn concurrent_creates_store_one_review(f: ReviewFixture) {
    let (p, c) = (ProductId::new(), CustomerId::new());
    let tasks = (0..16u8).map(|i| {
        let store = f.store.clone();
        async move {
            let r = review(p, c, i % 5 + 1, fixed_time());
            store.create(&r, &posted(&r)).await
        }
    });
    let results = futures::future::join_all(tasks).await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(Error::AlreadyReviewed { .. })))
        .count();
    assert_eq!((created, refused), (1, 15), "{results:?}");
    assert_eq!(f.store.aggregate(p).await.unwrap().count(), 1);
}

/// Creating moves the histogram and writes `RatingChanged` with count and average.
pub async fn create_updates_aggregate_and_emits_rating_changed(f: ReviewFixture) {
    let p = ProductId::new();
    for stars in [5, 4, 4] {
        let r = review(p, CustomerId::new(), stars, fixed_time());
        let change = f.store.create(&r, &posted(&r)).await.unwrap();
        assert!(change.aggregate_changed);
    }
    let aggregate = f.store.aggregate(p).await.unwrap();
    assert_eq!(aggregate.histogram, [0, 0, 0, 2, 1]);
    let events = rating_events(f.outbox.as_ref(), "t").await;
    assert_eq!(
        events.last(),
        Some(&CatalogEvent::RatingChanged {
            product_id: p,
            rating_count: 3,
            rating_average: Decimal::new(433, 2),
        })
    );
    assert_eq!(events.len(), 3);
    assert_eq!(
        f.store.aggregate(ProductId::new()).await.unwrap().count(),
        0
    );
}

/// An edit moves the review's rating in the histogram; an edit keeping the rating
/// leaves the aggregate alone and writes no `RatingChanged`. Counters survive edits.
pub async fn edit_moves_rating_and_keeps_counters(f: ReviewFixture) {
    let p = ProductId::new();
    let r = review(p, CustomerId::new(), 2, fixed_time());
    f.store.create(&r, &posted(&r)).await.unwrap();
    assert!(
        f.store
            .vote_helpful(r.id, CustomerId::new(), &[])
            .await
            .unwrap()
    );
    let _ = rating_events(f.outbox.as_ref(), "t").await;
    let edited = Review {
        rating: Rating::new(5).unwrap(),
        title: "Better".into(),
        helpful_count: 0,
        updated_at: fixed_time() + Duration::minutes(1),
        ..r.clone()
    };
    let change = f.store.update(&edited, 1, &[]).await.unwrap();
    let stored = change.review.unwrap();
    assert_eq!(
        (stored.version, stored.helpful_count, stored.title.as_str()),
        (2, 1, "Better")
    );
    assert_eq!(change.aggregate.histogram, [0, 0, 0, 0, 1]);
    let retitled = Review {
        title: "Best".into(),
        ..stored.clone()
    };
    let change = f.store.update(&retitled, 2, &[]).await.unwrap();
    assert!(!change.aggregate_changed);
    assert_eq!(rating_events(f.outbox.as_ref(), "t").await.len(), 1);
}

/// `update` and `delete` with a stale version are `Conflict`s and change nothing;
/// unknown ids are `NotFound`.
pub async fn stale_version_is_a_conflict(f: ReviewFixture) {
    let p = ProductId::new();
    let r = review(p, CustomerId::new(), 3, fixed_time());
    f.store.create(&r, &posted(&r)).await.unwrap();
    let edit = Review {
        rating: Rating::new(1).unwrap(),
        ..r.clone()
    };
    assert!(matches!(
        f.store.update(&edit, 2, &[]).await,
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        f.store.delete(r.id, 5, &[], fixed_time()).await,
        Err(Error::Conflict(_))
    ));
    let unknown = review(p, CustomerId::new(), 3, fixed_time());
    assert!(matches!(
        f.store.update(&unknown, 1, &[]).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        f.store.aggregate(p).await.unwrap().histogram,
        [0, 0, 1, 0, 0]
    );
}

/// A hidden review leaves the aggregate and the product's lists (its author still
/// sees it); restoring brings both back.
pub async fn hidden_review_leaves_aggregate_and_lists(f: ReviewFixture) {
    let p = ProductId::new();
    let c = CustomerId::new();
    let keep = review(p, CustomerId::new(), 5, fixed_time());
    let r = review(p, c, 1, fixed_time());
    for x in [&keep, &r] {
        f.store.create(x, &posted(x)).await.unwrap();
    }
    let change = f
        .store
        .update(&hidden(&r, fixed_time()), 1, &[])
        .await
        .unwrap();
    assert!(change.aggregate_changed);
    assert_eq!(change.aggregate.histogram, [0, 0, 0, 0, 1]);
    let events = rating_events(f.outbox.as_ref(), "t").await;
    assert_eq!(
        events.last(),
        Some(&CatalogEvent::RatingChanged {
            product_id: p,
            rating_count: 1,
            rating_average: Decimal::new(500, 2),
        })
    );
    for order in [ReviewOrder::Newest, ReviewOrder::LowestRating] {
        let list = f
            .store
            .list_for_product(&ProductReviewQuery::first(p, order, 10))
            .await
            .unwrap();
        assert_eq!(list.iter().map(|x| x.id).collect::<Vec<_>>(), vec![keep.id]);
    }
    let own = f
        .store
        .list_for_customer(
            c,
            CustomerReviewPage {
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].status, ReviewStatus::Hidden);
    let restored = Review {
        status: ReviewStatus::Published,
        ..own[0].clone()
    };
    let change = f.store.update(&restored, 2, &[]).await.unwrap();
    assert_eq!(change.aggregate.histogram, [1, 0, 0, 0, 1]);
    let list = f
        .store
        .list_for_product(&ProductReviewQuery::first(p, ReviewOrder::Newest, 10))
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
}

/// Deleting removes the review from the aggregate, the lists and author lookups; the
/// author may then post again.
pub async fn delete_removes_review_everywhere(f: ReviewFixture) {
    let (p, c) = (ProductId::new(), CustomerId::new());
    let r = review(p, c, 4, fixed_time());
    f.store.create(&r, &posted(&r)).await.unwrap();
    f.store
        .vote_helpful(r.id, CustomerId::new(), &[])
        .await
        .unwrap();
    let change = f.store.delete(r.id, 1, &[], fixed_time()).await.unwrap();
    assert_eq!((change.review, change.aggregate.count()), (None, 0));
    assert_eq!(f.store.get(r.id).await.unwrap(), None);
    assert_eq!(f.store.find(p, c).await.unwrap(), None);
    let again = review(p, c, 2, fixed_time());
    f.store.create(&again, &posted(&again)).await.unwrap();
    assert_eq!(
        f.store.aggregate(p).await.unwrap().histogram,
        [0, 1, 0, 0, 0]
    );
    let events = rating_events(f.outbox.as_ref(), "t").await;
    assert_eq!(events.len(), 3);
}

/// Helpful votes count once per customer, under concurrent votes too.
pub async fn helpful_votes_count_once_per_customer(f: ReviewFixture) {
    let r = review(ProductId::new(), CustomerId::new(), 4, fixed_time());
    f.store.create(&r, &posted(&r)).await.unwrap();
    let voters: Vec<CustomerId> = (0..4).map(|_| CustomerId::new()).collect();
    let tasks = (0..16).map(|i| {
        let store = f.store.clone();
        let voter = voters[i % 4];
        async move { store.vote_helpful(r.id, voter, &[]).await.unwrap() }
    });
    let firsts = futures::future::join_all(tasks)
        .await
        .into_iter()
        .filter(|new| *new)
        .count();
    assert_eq!(firsts, 4);
    assert_eq!(f.store.get(r.id).await.unwrap().unwrap().helpful_count, 4);
    assert!(matches!(
        f.store.vote_helpful(ReviewId::new(), voters[0], &[]).await,
        Err(Error::NotFound { .. })
    ));
}

/// Reports count once per customer; an unknown review is `NotFound`.
pub async fn reports_count_once_per_customer(f: ReviewFixture) {
    let r = review(ProductId::new(), CustomerId::new(), 1, fixed_time());
    f.store.create(&r, &posted(&r)).await.unwrap();
    let report = AbuseReport {
        review_id: r.id,
        customer_id: CustomerId::new(),
        reason: "insults".into(),
        at: fixed_time(),
    };
    let event = ReviewEvent::Reported {
        review_id: r.id,
        product_id: r.product_id,
        reason: "insults".into(),
    }
    .envelope(fixed_time())
    .unwrap();
    assert!(
        f.store
            .report(&report, std::slice::from_ref(&event))
            .await
            .unwrap()
    );
    assert!(!f.store.report(&report, &[event]).await.unwrap());
    assert_eq!(f.store.get(r.id).await.unwrap().unwrap().report_count, 1);
    let reported = drain(f.outbox.as_ref(), "t")
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.topic == "review.reported")
        .count();
    assert_eq!(reported, 1);
    let unknown = AbuseReport {
        review_id: ReviewId::new(),
        ..report
    };
    assert!(matches!(
        f.store.report(&unknown, &[]).await,
        Err(Error::NotFound { .. })
    ));
}

async fn all_pages(store: &dyn ReviewStore, mut query: ProductReviewQuery) -> Vec<Review> {
    let mut out = Vec::new();
    loop {
        let page = store.list_for_product(&query).await.unwrap();
        assert!(page.len() <= query.limit as usize);
        match page.last() {
            Some(last) => query.after = Some(ReviewCursor::after(query.order, last)),
            None => return out,
        }
        out.extend(page);
    }
}

/// Product lists come in each order, filtered by rating, in keyset pages that
/// together hold every published review once.
pub async fn product_lists_order_filter_and_page(f: ReviewFixture) {
    let p = ProductId::new();
    let mut reviews = Vec::new();
    for (i, stars) in [3u8, 5, 1, 5, 2, 4, 5, 3].into_iter().enumerate() {
        let r = review(
            p,
            CustomerId::new(),
            stars,
            fixed_time() + Duration::seconds(i as i64),
        );
        f.store.create(&r, &posted(&r)).await.unwrap();
        for _ in 0..(i % 3) {
            f.store
                .vote_helpful(r.id, CustomerId::new(), &[])
                .await
                .unwrap();
        }
        reviews.push(f.store.get(r.id).await.unwrap().unwrap());
    }
    let other = review(ProductId::new(), CustomerId::new(), 5, fixed_time());
    f.store.create(&other, &posted(&other)).await.unwrap();
    for order in [
        ReviewOrder::Newest,
        ReviewOrder::MostHelpful,
        ReviewOrder::HighestRating,
        ReviewOrder::LowestRating,
    ] {
        let mut expected = reviews.clone();
        expected.sort_by(|a, b| order.compare(a, b));
        let got = all_pages(f.store.as_ref(), ProductReviewQuery::first(p, order, 3)).await;
        let ids = |v: &[Review]| v.iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(&got), ids(&expected), "{order:?}");
    }
    let fives = all_pages(
        f.store.as_ref(),
        ProductReviewQuery::first(p, ReviewOrder::Newest, 2).with_rating(Rating::new(5).unwrap()),
    )
    .await;
    assert_eq!(fives.len(), 3);
    assert!(fives.iter().all(|r| r.rating.stars() == 5));
    let newest = f
        .store
        .list_for_product(&ProductReviewQuery::first(p, ReviewOrder::Newest, 1))
        .await
        .unwrap();
    assert_eq!(newest[0].id, reviews[7].id);
}

/// A customer's reviews come newest first in keyset pages.
pub async fn customer_list_pages_newest_first(f: ReviewFixture) {
    let c = CustomerId::new();
    let mut ids = Vec::new();
    for stars in 1..=5u8 {
        let r = review(ProductId::new(), c, stars, fixed_time());
        f.store.create(&r, &posted(&r)).await.unwrap();
        ids.push(r.id);
    }
    let other = review(ProductId::new(), CustomerId::new(), 5, fixed_time());
    f.store.create(&other, &posted(&other)).await.unwrap();
    ids.reverse();
    let mut got = Vec::new();
    let mut page = CustomerReviewPage {
        before: None,
        limit: 2,
    };
    loop {
        let batch = f.store.list_for_customer(c, page).await.unwrap();
        let Some(last) = batch.last() else { break };
        page.before = Some(last.id);
        got.extend(batch.iter().map(|r| r.id));
    }
    assert_eq!(got, ids);
}

/// The moderation queue holds reviews reported or hidden, any product, newest first,
/// paged by id; a review neither reported nor hidden is not in it. (Other tests may
/// share the store: only this test's reviews are compared.)
pub async fn moderation_queue_lists_reported_and_hidden_newest_first(f: ReviewFixture) {
    let quiet = review(ProductId::new(), CustomerId::new(), 4, fixed_time());
    let reported = review(ProductId::new(), CustomerId::new(), 1, fixed_time());
    let hidden_one = review(ProductId::new(), CustomerId::new(), 2, fixed_time());
    for r in [&quiet, &reported, &hidden_one] {
        f.store.create(r, &posted(r)).await.unwrap();
    }
    let report = AbuseReport {
        review_id: reported.id,
        customer_id: CustomerId::new(),
        reason: "spam".into(),
        at: fixed_time(),
    };
    assert!(f.store.report(&report, &[]).await.unwrap());
    f.store
        .update(&hidden(&hidden_one, fixed_time()), 1, &[])
        .await
        .unwrap();
    let mine = [quiet.id, reported.id, hidden_one.id];
    let mut got = Vec::new();
    let mut page = ModerationPage {
        status: None,
        before: None,
        limit: 1,
    };
    for _ in 0..10_000 {
        let batch = f.store.list_for_moderation(page).await.unwrap();
        let Some(last) = batch.last() else { break };
        assert!(batch.len() <= 1);
        page.before = Some(last.id);
        got.extend(batch.iter().map(|r| r.id).filter(|id| mine.contains(id)));
        if got.len() == 2 {
            break;
        }
    }
    assert_eq!(got, vec![hidden_one.id, reported.id]);
}

/// A moderation page filtered by status holds only that status and is full when
/// enough reviews of it exist, even when the newest queue entries have the other
/// status; paging by status walks this test's reviews newest first. (Other tests may
/// share the store: the page size is checked, only this test's ids compared.)
pub async fn moderation_queue_filtered_by_status_fills_the_page(f: ReviewFixture) {
    let mut hidden_ids = Vec::new();
    let mut reported_ids = Vec::new();
    // Three hidden, then four reported: the newest queue entries are all reported.
    for _ in 0..3 {
        let r = review(ProductId::new(), CustomerId::new(), 2, fixed_time());
        f.store.create(&r, &posted(&r)).await.unwrap();
        f.store
            .update(&hidden(&r, fixed_time()), 1, &[])
            .await
            .unwrap();
        hidden_ids.push(r.id);
    }
    for _ in 0..4 {
        let r = review(ProductId::new(), CustomerId::new(), 1, fixed_time());
        f.store.create(&r, &posted(&r)).await.unwrap();
        let report = AbuseReport {
            review_id: r.id,
            customer_id: CustomerId::new(),
            reason: "spam".into(),
            at: fixed_time(),
        };
        assert!(f.store.report(&report, &[]).await.unwrap());
        reported_ids.push(r.id);
    }
    for (status, mine) in [
        (ReviewStatus::Hidden, &hidden_ids),
        (ReviewStatus::Published, &reported_ids),
    ] {
        let first = f
            .store
            .list_for_moderation(ModerationPage {
                status: Some(status),
                before: None,
                limit: 2,
            })
            .await
            .unwrap();
        assert_eq!(first.len(), 2, "a {status:?} page is full: {first:?}");
        assert!(first.iter().all(|r| r.status == status));
        assert!(
            first
                .iter()
                .all(|r| r.report_count > 0 || r.status == ReviewStatus::Hidden)
        );
        let mut got = Vec::new();
        let mut page = ModerationPage {
            status: Some(status),
            before: None,
            limit: 2,
        };
        for _ in 0..10_000 {
            let batch = f.store.list_for_moderation(page).await.unwrap();
            let Some(last) = batch.last() else { break };
            assert!(batch.iter().all(|r| r.status == status));
            page.before = Some(last.id);
            got.extend(batch.iter().map(|r| r.id).filter(|id| mine.contains(id)));
            if got.len() == mine.len() {
                break;
            }
        }
        let mut want = mine.clone();
        want.sort();
        want.reverse();
        assert_eq!(got, want, "{status:?} reviews newest first");
    }
}

/// One step of the aggregate model (see [`apply_ops`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Customer `customer` (0-5) posts on product `product` (0-1).
    Create {
        /// Customer slot.
        customer: u8,
        /// Product slot.
        product: u8,
        /// Stars, 1-5.
        stars: u8,
    },
    /// The review in `slot` (modulo the reviews alive) changes its rating.
    Edit {
        /// Review slot.
        slot: u8,
        /// New stars.
        stars: u8,
    },
    /// Hide the review in `slot`.
    Hide {
        /// Review slot.
        slot: u8,
    },
    /// Restore the review in `slot`.
    Restore {
        /// Review slot.
        slot: u8,
    },
    /// Delete the review in `slot`.
    Delete {
        /// Review slot.
        slot: u8,
    },
}

/// The customers and products [`apply_ops`] plays with.
pub struct OpWorld {
    /// Customer slots.
    pub customers: Vec<CustomerId>,
    /// Product slots.
    pub products: Vec<ProductId>,
}

impl Default for OpWorld {
    fn default() -> Self {
        OpWorld {
            customers: (0..6).map(|_| CustomerId::new()).collect(),
            products: (0..2).map(|_| ProductId::new()).collect(),
        }
    }
}

async fn alive(store: &dyn ReviewStore, world: &OpWorld) -> Vec<Review> {
    let mut out = Vec::new();
    for c in &world.customers {
        let page = CustomerReviewPage {
            before: None,
            limit: 100,
        };
        out.extend(store.list_for_customer(*c, page).await.unwrap());
    }
    out.sort_by_key(|r| r.id);
    out
}

/// Applies `ops` to `store` through its port (the way [`crate::Reviews`] does),
/// ignoring the refusals the model allows (a second review of one author).
pub async fn apply_ops(store: &dyn ReviewStore, world: &OpWorld, ops: &[Op]) {
    let mut at = fixed_time();
    for op in ops {
        at += Duration::seconds(1);
        let reviews = alive(store, world).await;
        let pick = |slot: u8| {
            (!reviews.is_empty()).then(|| reviews[slot as usize % reviews.len()].clone())
        };
        match *op {
            Op::Create {
                customer,
                product,
                stars,
            } => {
                let c = world.customers[customer as usize % world.customers.len()];
                let p = world.products[product as usize % world.products.len()];
                let r = review(p, c, stars.clamp(1, 5), at);
                match store.create(&r, &posted(&r)).await {
                    Ok(_) | Err(Error::AlreadyReviewed { .. }) => {}
                    Err(e) => panic!("create: {e}"),
                }
            }
            Op::Edit { slot, stars } => {
                if let Some(r) = pick(slot) {
                    let edited = Review {
                        rating: Rating::new(stars.clamp(1, 5)).unwrap(),
                        updated_at: at,
                        ..r.clone()
                    };
                    store.update(&edited, r.version, &[]).await.unwrap();
                }
            }
            Op::Hide { slot } => {
                if let Some(r) = pick(slot) {
                    store.update(&hidden(&r, at), r.version, &[]).await.unwrap();
                }
            }
            Op::Restore { slot } => {
                if let Some(r) = pick(slot) {
                    let restored = Review {
                        status: ReviewStatus::Published,
                        updated_at: at,
                        ..r.clone()
                    };
                    store.update(&restored, r.version, &[]).await.unwrap();
                }
            }
            Op::Delete { slot } => {
                if let Some(r) = pick(slot) {
                    store.delete(r.id, r.version, &[], at).await.unwrap();
                }
            }
        }
    }
}

/// Asserts every product's stored aggregate equals a recomputation from the stored
/// reviews, and its product list holds exactly the published ones.
pub async fn check_aggregates(store: &dyn ReviewStore, world: &OpWorld) {
    let reviews = alive(store, world).await;
    for p in &world.products {
        let recomputed = RatingAggregate::recompute(
            *p,
            reviews
                .iter()
                .filter(|r| r.product_id == *p)
                .filter_map(Review::counted_rating),
        );
        let stored = store.aggregate(*p).await.unwrap();
        assert_eq!(stored, recomputed);
        let listed = all_pages(store, ProductReviewQuery::first(*p, ReviewOrder::Newest, 5)).await;
        assert_eq!(listed.len() as u32, recomputed.count());
        let ids: HashSet<ReviewId> = listed.iter().map(|r| r.id).collect();
        assert_eq!(ids.len(), listed.len());
    }
}

/// A fixed pseudo-random sequence of operations (the property test's short form
/// for slow backends).
pub fn seeded_ops(seed: u64, len: usize) -> Vec<Op> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..len)
        .map(|_| {
            let n = next();
            let (a, b) = ((n >> 8) as u8, (n >> 16) as u8 % 5 + 1);
            match n % 8 {
                0..=2 => Op::Create {
                    customer: a,
                    product: a >> 4,
                    stars: b,
                },
                3 | 4 => Op::Edit { slot: a, stars: b },
                5 => Op::Hide { slot: a },
                6 => Op::Restore { slot: a },
                _ => Op::Delete { slot: a },
            }
        })
        .collect()
}

/// After a seeded sequence of 60 operations every aggregate equals a recomputation.
pub async fn aggregates_equal_recomputation_after_random_operations(f: ReviewFixture) {
    let world = OpWorld::default();
    for seed in [7u64, 1234] {
        let ops = seeded_ops(seed, 30);
        apply_ops(f.store.as_ref(), &world, &ops).await;
        check_aggregates(f.store.as_ref(), &world).await;
    }
}

/// Expands to one tokio test per check of this suite for a backend; `$make` is the
/// path of an `async fn() -> ReviewFixture` returning a fresh, isolated store.
#[macro_export]
macro_rules! review_store_conformance {
    ($make:path) => {
        #[allow(unused_imports)]
        mod review_store_conformance {
            use super::*;
            $crate::__review_conformance_tests!($make:
                create_then_get_and_find,
                second_review_by_same_customer_is_already_reviewed,
                concurrent_creates_store_one_review,
                create_updates_aggregate_and_emits_rating_changed,
                edit_moves_rating_and_keeps_counters,
                stale_version_is_a_conflict,
                hidden_review_leaves_aggregate_and_lists,
                delete_removes_review_everywhere,
                helpful_votes_count_once_per_customer,
                reports_count_once_per_customer,
                product_lists_order_filter_and_page,
                customer_list_pages_newest_first,
                moderation_queue_lists_reported_and_hidden_newest_first,
                moderation_queue_filtered_by_status_fills_the_page,
                aggregates_equal_recomputation_after_random_operations,
            );
        }
    };
}

/// One tokio test per check.
#[doc(hidden)]
#[macro_export]
macro_rules! __review_conformance_tests {
    ($make:path: $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::testkit::$check($make().await).await;
            }
        )*
    };
}

/// Expands to one tokio test per [`PurchaseFixture`] check for a purchase-history
/// backend; `$make` is the path of an `async fn() -> PurchaseFixture`.
#[macro_export]
macro_rules! purchase_history_conformance {
    ($make:path) => {
        #[allow(unused_imports)]
        mod purchase_history_conformance {
            use super::*;
            $crate::__review_conformance_tests!($make:
                purchase_history_counts_confirmed_and_completed_orders_only,
            );
        }
    };
}

/// What [`purchase_history_counts_confirmed_and_completed_orders_only`] needs: a
/// history and the order store it reads.
pub struct PurchaseFixture {
    /// The history under test.
    pub history: Arc<dyn crate::purchases::PurchaseHistory>,
    /// The orders it reads (the check writes orders here).
    pub orders: Arc<dyn commerce_orders::OrderStore>,
}

/// Only confirmed and completed orders of the customer count; pending, cancelled and
/// other customers' orders never do.
pub async fn purchase_history_counts_confirmed_and_completed_orders_only(f: PurchaseFixture) {
    use commerce_orders::OrderStatus;
    use commerce_orders::testkit::{sample_order, unique};

    let sku = commerce_core::Sku::new(unique("BOUGHT")).unwrap();
    let other_sku = commerce_core::Sku::new(unique("OTHER")).unwrap();
    let order = |customer: CustomerId, status: OrderStatus| {
        let mut o = sample_order(
            Some(customer),
            &unique("key"),
            commerce_core::Currency::USD,
            fixed_time(),
        )
        .order;
        o.lines[0].sku = sku.clone();
        o.status = status;
        o
    };
    let c = CustomerId::new();
    let skus = [other_sku.clone(), sku.clone()];
    for status in [OrderStatus::PendingPayment, OrderStatus::Cancelled] {
        f.orders.create(&order(c, status), &[]).await.unwrap();
    }
    f.orders
        .create(&order(CustomerId::new(), OrderStatus::Confirmed), &[])
        .await
        .unwrap();
    assert!(!f.history.has_bought(c, &skus).await.unwrap());
    f.orders
        .create(&order(c, OrderStatus::Confirmed), &[])
        .await
        .unwrap();
    assert!(f.history.has_bought(c, &skus).await.unwrap());
    assert!(!f.history.has_bought(c, &[other_sku]).await.unwrap());
    let d = CustomerId::new();
    f.orders
        .create(&order(d, OrderStatus::Completed), &[])
        .await
        .unwrap();
    assert!(f.history.has_bought(d, &skus).await.unwrap());
    assert!(!f.history.has_bought(d, &[]).await.unwrap());
}
