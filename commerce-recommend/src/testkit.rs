//! The conformance suite of [`RecommendStore`]: every implementation (memory,
//! PostgreSQL) runs these checks through [`crate::recommend_store_conformance!`].
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use commerce_core::testkit::fixtures::fixed_time;
use commerce_core::{CategoryId, CustomerId, EventId, ProductId};

use crate::model::{ALL_CATEGORIES, ProductSignals, Purchase, PurchaseLine, Scored};
use crate::ports::RecommendStore;

/// A fresh, isolated store.
pub struct RecommendFixture {
    /// The store under test.
    pub store: Arc<dyn RecommendStore>,
}

/// Signals of a new, active, in-stock product in `categories` with `terms`.
pub fn signals(categories: &[CategoryId], terms: &[&str]) -> ProductSignals {
    ProductSignals {
        product_id: ProductId::new(),
        category_ids: categories.to_vec(),
        terms: terms.iter().map(|t| (*t).to_owned()).collect(),
        active: true,
        in_stock: true,
    }
}

/// A purchase of one unit of each of `products` at `at`, with a new event id.
pub fn purchase(
    customer_id: Option<CustomerId>,
    products: &[ProductId],
    at: DateTime<Utc>,
) -> Purchase {
    Purchase {
        event_id: EventId::new(),
        customer_id,
        lines: products
            .iter()
            .map(|p| PurchaseLine {
                product_id: *p,
                units: 1,
            })
            .collect(),
        at,
    }
}

async fn products(
    store: &dyn RecommendStore,
    n: usize,
    categories: &[CategoryId],
) -> Vec<ProductId> {
    let mut out = Vec::new();
    for _ in 0..n {
        let s = signals(categories, &["thing"]);
        store.upsert_signals(&s).await.unwrap();
        out.push(s.product_id);
    }
    out
}

fn ids(list: &[Scored]) -> Vec<ProductId> {
    list.iter().map(|s| s.product_id).collect()
}

/// Signals read back as stored; an upsert replaces them.
pub async fn signals_round_trip(f: RecommendFixture) {
    let mut s = signals(&[CategoryId::new()], &["blue", "mug"]);
    f.store.upsert_signals(&s).await.unwrap();
    assert_eq!(
        f.store.signals(s.product_id).await.unwrap().as_ref(),
        Some(&s)
    );
    s.in_stock = false;
    s.terms = vec!["red".into()];
    f.store.upsert_signals(&s).await.unwrap();
    assert_eq!(f.store.signals(s.product_id).await.unwrap(), Some(s));
    assert_eq!(f.store.signals(ProductId::new()).await.unwrap(), None);
}

/// An event recorded twice, even concurrently, counts once.
pub async fn record_purchase_counts_an_event_once(f: RecommendFixture) {
    let p = products(f.store.as_ref(), 2, &[]).await;
    let c = CustomerId::new();
    let once = purchase(Some(c), &p, fixed_time());
    assert!(f.store.record_purchase(&once).await.unwrap());
    assert!(!f.store.record_purchase(&once).await.unwrap());
    let twice = purchase(None, &p, fixed_time());
    let racers = (0..8).map(|_| {
        let store = f.store.clone();
        let twice = twice.clone();
        async move { store.record_purchase(&twice).await.unwrap() }
    });
    let firsts = futures::future::join_all(racers)
        .await
        .into_iter()
        .filter(|x| *x)
        .count();
    assert_eq!(firsts, 1);
    // Two orders with both products: cosine 2 / sqrt(2 * 2) = 1.
    let together = f.store.bought_together(&[p[0]], &[], 10).await.unwrap();
    assert_eq!(ids(&together), vec![p[1]]);
    assert!((together[0].score - 1.0).abs() < 1e-9, "{together:?}");
    assert_eq!(f.store.purchased(c, 10).await.unwrap().len(), 2);
}

/// A batch records each of its events once: one recorded before and one repeated in
/// the batch change nothing and are reported `false`; a replayed batch, even by
/// concurrent calls, changes nothing.
pub async fn record_purchases_counts_each_event_once(f: RecommendFixture) {
    let p = products(f.store.as_ref(), 2, &[]).await;
    let c = CustomerId::new();
    let t = fixed_time();
    let before = purchase(Some(c), &p, t);
    assert!(f.store.record_purchase(&before).await.unwrap());
    let a = purchase(None, &p, t);
    let b = purchase(None, &[p[0]], t);
    let batch = [a.clone(), before.clone(), b, a];
    assert_eq!(
        f.store.record_purchases(&batch).await.unwrap(),
        vec![true, false, true, false]
    );
    let racers = (0..8).map(|_| {
        let store = f.store.clone();
        let batch = batch.clone();
        async move { store.record_purchases(&batch).await.unwrap() }
    });
    for done in futures::future::join_all(racers).await {
        assert_eq!(done, vec![false; 4]);
    }
    // p0 in 3 orders, p1 in 2, both in 2: cosine 2 / sqrt(3 * 2).
    let together = f.store.bought_together(&[p[1]], &[], 10).await.unwrap();
    assert_eq!(ids(&together), vec![p[0]]);
    let expected = 2.0 / 6f64.sqrt();
    assert!((together[0].score - expected).abs() < 1e-9, "{together:?}");
    assert!(f.store.record_purchases(&[]).await.unwrap().is_empty());
    // Two new events racing in several batches: each recorded by exactly one call.
    let (x, y) = (purchase(None, &p, t), purchase(None, &[p[1]], t));
    let racers = (0..8).map(|i| {
        let store = f.store.clone();
        let batch = if i % 2 == 0 {
            vec![x.clone(), y.clone()]
        } else {
            vec![y.clone(), x.clone()]
        };
        async move { store.record_purchases(&batch).await.unwrap() }
    });
    let results = futures::future::join_all(racers).await;
    let firsts = |event: EventId| {
        results
            .iter()
            .enumerate()
            .filter(|(i, done)| {
                let at = usize::from((i % 2 == 0) != (event == x.event_id));
                done[at]
            })
            .count()
    };
    assert_eq!((firsts(x.event_id), firsts(y.event_id)), (1, 1));
}

/// A batch leaves the tables as recording its purchases one by one does: the same
/// purchases (on twin products in twin categories, by twin customers) recorded one
/// by one and as one batch give the same pair scores, popularity and purchase
/// lists.
pub async fn record_purchases_leave_what_one_by_one_leaves(f: RecommendFixture) {
    let (cat_one, cat_batch) = (CategoryId::new(), CategoryId::new());
    let one = products(f.store.as_ref(), 5, &[cat_one]).await;
    let batched = products(f.store.as_ref(), 5, &[cat_batch]).await;
    let (c_one, c_batch) = (
        [CustomerId::new(), CustomerId::new()],
        [CustomerId::new(), CustomerId::new()],
    );
    let t = fixed_time();
    // (customer, products with units, hours after t); the same product twice in
    // an order, orders out of time order.
    type Order<'a> = (Option<usize>, &'a [(usize, u32)], i64);
    let orders: [Order<'_>; 7] = [
        (Some(0), &[(0, 1), (1, 2)], 0),
        (Some(0), &[(1, 1), (2, 1), (1, 3)], 30),
        (None, &[(0, 4), (2, 1), (3, 1)], 5),
        (Some(1), &[(3, 2)], 200),
        (Some(0), &[(0, 1)], 10),
        (None, &[(4, 1), (0, 1)], 1),
        (Some(1), &[(1, 1), (4, 5)], 90),
    ];
    let make = |products: &[ProductId], customers: &[CustomerId; 2]| -> Vec<Purchase> {
        orders
            .iter()
            .map(|(customer, lines, hours)| Purchase {
                event_id: EventId::new(),
                customer_id: customer.map(|c| customers[c]),
                lines: lines
                    .iter()
                    .map(|(p, units)| PurchaseLine {
                        product_id: products[*p],
                        units: *units,
                    })
                    .collect(),
                at: t + Duration::hours(*hours),
            })
            .collect()
    };
    for p in make(&one, &c_one) {
        assert!(f.store.record_purchase(&p).await.unwrap());
    }
    let done = f
        .store
        .record_purchases(&make(&batched, &c_batch))
        .await
        .unwrap();
    assert_eq!(done, vec![true; orders.len()]);
    // A list of the batched products, renamed to their one-by-one twins.
    let twin = |list: Vec<Scored>| -> Vec<(ProductId, f64)> {
        list.into_iter()
            .map(|s| {
                let i = batched.iter().position(|p| *p == s.product_id).unwrap();
                (one[i], s.score)
            })
            .collect()
    };
    let same = |a: Vec<(ProductId, f64)>, b: Vec<(ProductId, f64)>, what: &str| {
        assert_eq!(a.len(), b.len(), "{what}: {a:?} vs {b:?}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.0, y.0, "{what}: {a:?} vs {b:?}");
            assert!((x.1 - y.1).abs() < 1e-9, "{what}: {a:?} vs {b:?}");
        }
    };
    let plain = |list: Vec<Scored>| list.into_iter().map(|s| (s.product_id, s.score)).collect();
    for i in 0..5 {
        let a = f.store.bought_together(&[one[i]], &[], 10).await.unwrap();
        let b = f
            .store
            .bought_together(&[batched[i]], &[], 10)
            .await
            .unwrap();
        same(plain(a), twin(b), "bought together");
    }
    let a = f.store.popular(cat_one, &[], 10).await.unwrap();
    let b = f.store.popular(cat_batch, &[], 10).await.unwrap();
    assert_eq!(a.len(), 5);
    same(plain(a), twin(b), "popular");
    for c in 0..2 {
        let a = f.store.purchased(c_one[c], 10).await.unwrap();
        let b = f.store.purchased(c_batch[c], 10).await.unwrap();
        let b: Vec<ProductId> = b
            .iter()
            .map(|p| one[batched.iter().position(|x| x == p).unwrap()])
            .collect();
        assert_eq!(a, b, "purchases of customer {c}");
    }
}

/// A best-seller bought with everything ranks below a product bought mostly with the
/// anchor (cosine normalisation), though it co-occurs more often.
pub async fn bought_together_normalises_best_sellers(f: RecommendFixture) {
    let p = products(f.store.as_ref(), 3, &[]).await;
    let (anchor, niche, best) = (p[0], p[1], p[2]);
    let fillers = products(f.store.as_ref(), 30, &[]).await;
    let t = fixed_time();
    for _ in 0..4 {
        f.store
            .record_purchase(&purchase(None, &[anchor, niche], t))
            .await
            .unwrap();
    }
    for _ in 0..6 {
        f.store
            .record_purchase(&purchase(None, &[anchor, best], t))
            .await
            .unwrap();
    }
    for x in &fillers {
        f.store
            .record_purchase(&purchase(None, &[best, *x], t))
            .await
            .unwrap();
    }
    let list = f.store.bought_together(&[anchor], &[], 10).await.unwrap();
    assert_eq!(ids(&list), vec![niche, best], "{list:?}");
}

/// A cart's list sums over its products and never holds one of them.
pub async fn bought_together_for_a_cart_excludes_its_products(f: RecommendFixture) {
    let p = products(f.store.as_ref(), 4, &[]).await;
    let t = fixed_time();
    f.store
        .record_purchase(&purchase(None, &[p[0], p[1], p[2]], t))
        .await
        .unwrap();
    f.store
        .record_purchase(&purchase(None, &[p[1], p[3]], t))
        .await
        .unwrap();
    let list = f
        .store
        .bought_together(&[p[0], p[1]], &[], 10)
        .await
        .unwrap();
    assert_eq!(ids(&list)[0], p[2]);
    assert!(!ids(&list).contains(&p[0]) && !ids(&list).contains(&p[1]));
    assert_eq!(list.len(), 2);
    let excluded = f
        .store
        .bought_together(&[p[0], p[1]], &[p[2]], 10)
        .await
        .unwrap();
    assert_eq!(ids(&excluded), vec![p[3]]);
}

/// Inactive and out-of-stock products (and products with no signals) appear in no
/// list; the anchor never does.
pub async fn lists_hold_only_recommendable_products(f: RecommendFixture) {
    let category = CategoryId::new();
    let mut anchor = signals(&[category], &["lamp", "brass"]);
    let ok = signals(&[category], &["lamp", "brass"]);
    let mut inactive = signals(&[category], &["lamp", "brass"]);
    inactive.active = false;
    let mut sold_out = signals(&[category], &["lamp", "brass"]);
    sold_out.in_stock = false;
    for s in [&anchor, &ok, &inactive, &sold_out] {
        f.store.upsert_signals(s).await.unwrap();
    }
    let unknown = ProductId::new();
    let all = [
        anchor.product_id,
        ok.product_id,
        inactive.product_id,
        sold_out.product_id,
        unknown,
    ];
    f.store
        .record_purchase(&purchase(None, &all, fixed_time()))
        .await
        .unwrap();
    let want = vec![ok.product_id];
    assert_eq!(
        ids(&f
            .store
            .bought_together(&[anchor.product_id], &[], 10)
            .await
            .unwrap()),
        want
    );
    assert_eq!(
        ids(&f.store.similar(anchor.product_id, &[], 10).await.unwrap()),
        want
    );
    let popular = f.store.popular(category, &[], 10).await.unwrap();
    assert_eq!(ids(&popular).len(), 2);
    assert!(ids(&popular).contains(&anchor.product_id) && ids(&popular).contains(&ok.product_id));
    // Going out of stock takes the anchor itself out of popular lists.
    anchor.in_stock = false;
    f.store.upsert_signals(&anchor).await.unwrap();
    assert_eq!(
        ids(&f.store.popular(category, &[], 10).await.unwrap()),
        want
    );
    assert_eq!(
        ids(&f.store.popular(ALL_CATEGORIES, &[], 10).await.unwrap()),
        want
    );
}

/// Similar products rank by shared terms plus twice the shared categories; products
/// sharing nothing are left out.
pub async fn similar_ranks_by_terms_and_categories(f: RecommendFixture) {
    let (kitchen, garden) = (CategoryId::new(), CategoryId::new());
    let anchor = signals(&[kitchen], &["blue", "ceramic", "mug"]);
    let same_category = signals(&[kitchen], &["kettle"]);
    let two_terms = signals(&[garden], &["blue", "ceramic"]);
    let three_terms_same = signals(&[kitchen], &["blue", "ceramic", "mug"]);
    let nothing = signals(&[garden], &["rake"]);
    for s in [
        &anchor,
        &same_category,
        &two_terms,
        &three_terms_same,
        &nothing,
    ] {
        f.store.upsert_signals(s).await.unwrap();
    }
    let list = f.store.similar(anchor.product_id, &[], 10).await.unwrap();
    assert_eq!(
        ids(&list),
        vec![
            three_terms_same.product_id,
            same_category.product_id,
            two_terms.product_id
        ]
        .into_iter()
        .take(1)
        .chain(order_by_id(same_category.product_id, two_terms.product_id))
        .collect::<Vec<_>>()
    );
    assert_eq!(
        list.iter().map(|s| s.score).collect::<Vec<_>>(),
        vec![5.0, 2.0, 2.0]
    );
    assert!(
        f.store
            .similar(ProductId::new(), &[], 10)
            .await
            .unwrap()
            .is_empty()
    );
}

fn order_by_id(a: ProductId, b: ProductId) -> Vec<ProductId> {
    if a < b { vec![a, b] } else { vec![b, a] }
}

/// Popular now weighs recent sales more (a 7-day half-life) and is kept per category
/// and shop-wide.
pub async fn popular_decays_with_time_per_category(f: RecommendFixture) {
    let (mugs, lamps) = (CategoryId::new(), CategoryId::new());
    let old_hit = signals(&[mugs], &["mug"]);
    let new_hit = signals(&[mugs], &["mug"]);
    let lamp = signals(&[lamps], &["lamp"]);
    for s in [&old_hit, &new_hit, &lamp] {
        f.store.upsert_signals(s).await.unwrap();
    }
    let t = fixed_time();
    for _ in 0..3 {
        f.store
            .record_purchase(&purchase(None, &[old_hit.product_id], t))
            .await
            .unwrap();
    }
    // One sale four weeks later outweighs three then (3 / 16 < 1).
    let later = t + Duration::days(28);
    f.store
        .record_purchase(&purchase(None, &[new_hit.product_id], later))
        .await
        .unwrap();
    f.store
        .record_purchase(&purchase(
            None,
            &[lamp.product_id],
            later - Duration::days(1),
        ))
        .await
        .unwrap();
    let list = f.store.popular(mugs, &[], 10).await.unwrap();
    assert_eq!(ids(&list), vec![new_hit.product_id, old_hit.product_id]);
    assert_eq!(
        ids(&f.store.popular(lamps, &[], 10).await.unwrap()),
        vec![lamp.product_id]
    );
    let all = f
        .store
        .popular(ALL_CATEGORIES, &[new_hit.product_id], 10)
        .await
        .unwrap();
    assert_eq!(ids(&all), vec![lamp.product_id, old_hit.product_id]);
    assert_eq!(f.store.popular(mugs, &[], 1).await.unwrap().len(), 1);
}

/// A customer's purchases come most recent first.
pub async fn purchased_lists_most_recent_first(f: RecommendFixture) {
    let p = products(f.store.as_ref(), 3, &[]).await;
    let c = CustomerId::new();
    let t = fixed_time();
    f.store
        .record_purchase(&purchase(Some(c), &[p[0], p[1]], t))
        .await
        .unwrap();
    f.store
        .record_purchase(&purchase(Some(c), &[p[2]], t + Duration::hours(1)))
        .await
        .unwrap();
    f.store
        .record_purchase(&purchase(Some(c), &[p[0]], t + Duration::hours(2)))
        .await
        .unwrap();
    let list = f.store.purchased(c, 10).await.unwrap();
    assert_eq!(&list[..2], &[p[0], p[2]]);
    assert_eq!(list.len(), 3);
    assert!(
        f.store
            .purchased(CustomerId::new(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A saved "for you" list reads back in its order, without products that are no
/// longer recommendable or that the customer bought since; a save replaces it; a
/// customer with none saved reads `None`, one saved empty `Some(empty)`.
pub async fn for_you_reads_the_saved_list_filtered(f: RecommendFixture) {
    let p = products(f.store.as_ref(), 5, &[]).await;
    let c = CustomerId::new();
    assert_eq!(f.store.for_you(c, 10).await.unwrap(), None);
    let list: Vec<Scored> = p
        .iter()
        .enumerate()
        .map(|(i, id)| Scored {
            product_id: *id,
            score: 10.0 - i as f64,
        })
        .collect();
    f.store.save_for_you(c, &list).await.unwrap();
    assert_eq!(f.store.for_you(c, 10).await.unwrap(), Some(list.clone()));
    assert_eq!(
        ids(&f.store.for_you(c, 2).await.unwrap().unwrap()),
        vec![p[0], p[1]]
    );
    // p[1] goes out of stock, p[3] is bought: both leave the list at once.
    let mut gone = f.store.signals(p[1]).await.unwrap().unwrap();
    gone.in_stock = false;
    f.store.upsert_signals(&gone).await.unwrap();
    f.store
        .record_purchase(&purchase(Some(c), &[p[3]], fixed_time()))
        .await
        .unwrap();
    assert_eq!(
        ids(&f.store.for_you(c, 10).await.unwrap().unwrap()),
        vec![p[0], p[2], p[4]]
    );
    f.store.save_for_you(c, &list[4..]).await.unwrap();
    assert_eq!(
        ids(&f.store.for_you(c, 10).await.unwrap().unwrap()),
        vec![p[4]]
    );
    f.store.save_for_you(c, &[]).await.unwrap();
    assert_eq!(f.store.for_you(c, 10).await.unwrap(), Some(Vec::new()));
}

/// Expands to one tokio test per check of this suite for a backend; `$make` is the
/// path of an `async fn() -> RecommendFixture` returning a fresh, isolated store.
#[macro_export]
macro_rules! recommend_store_conformance {
    ($make:path) => {
        #[allow(unused_imports)]
        mod recommend_store_conformance {
            use super::*;
            $crate::__recommend_conformance_tests!($make:
                signals_round_trip,
                record_purchase_counts_an_event_once,
                record_purchases_counts_each_event_once,
                record_purchases_leave_what_one_by_one_leaves,
                bought_together_normalises_best_sellers,
                bought_together_for_a_cart_excludes_its_products,
                lists_hold_only_recommendable_products,
                similar_ranks_by_terms_and_categories,
                popular_decays_with_time_per_category,
                purchased_lists_most_recent_first,
                for_you_reads_the_saved_list_filtered,
            );
        }
    };
}

/// One tokio test per check.
#[doc(hidden)]
#[macro_export]
macro_rules! __recommend_conformance_tests {
    ($make:path: $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::testkit::$check($make().await).await;
            }
        )*
    };
}
