//! Checks of stock rows: adjustments with a reason, their guards, backorder policy
//! and batched reads.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::model::{AdjustmentReason, BackorderPolicy, StockLevel, Transition};

use super::InventoryFixture;
use super::support::{adjustment, at, counts, here, receive, request, t0, unique_skus};

/// The first adjustment creates the row; each adjustment moves `on_hand` by its
/// delta and returns the new level, which `stock` reads back.
pub async fn adjust_creates_row_and_changes_on_hand(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    assert_eq!(f.store.stock(a, &here()).await.unwrap(), None);

    let steps = [
        (10, AdjustmentReason::Received, 10),
        (-3, AdjustmentReason::Correction, 7),
        (-2, AdjustmentReason::Damaged, 5),
        (
            1,
            AdjustmentReason::Restock {
                reference: "order-1".to_owned(),
            },
            6,
        ),
        (4, AdjustmentReason::Correction, 10),
    ];
    for (delta, reason, on_hand) in steps {
        let level = f
            .store
            .adjust(&adjustment(a, delta, reason), t0())
            .await
            .unwrap();
        assert_eq!(
            level,
            StockLevel {
                sku: a.clone(),
                location: here(),
                on_hand,
                reserved: 0,
                backordered: 0,
                backorder: BackorderPolicy::Deny,
            }
        );
        assert_eq!(f.store.stock(a, &here()).await.unwrap(), Some(level));
    }
}

/// A delta whose sign does not fit the reason (receiving negative units, damage that
/// adds units, a zero correction) is a `Validation` error and creates no row.
pub async fn adjust_rejects_delta_that_does_not_fit_reason(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    let invalid = [
        (-1, AdjustmentReason::Received),
        (0, AdjustmentReason::Received),
        (1, AdjustmentReason::Damaged),
        (0, AdjustmentReason::Correction),
        (
            -1,
            AdjustmentReason::Restock {
                reference: "order-1".to_owned(),
            },
        ),
    ];
    for (delta, reason) in invalid {
        let result = f
            .store
            .adjust(&adjustment(a, delta, reason.clone()), t0())
            .await;
        assert!(
            matches!(result, Err(Error::Validation { .. })),
            "{delta} for {reason:?} must be a validation error, got {result:?}"
        );
    }
    assert_eq!(f.store.stock(a, &here()).await.unwrap(), None);
}

/// Removing more units than are on hand fails with `InsufficientStock` (what was
/// asked, what could be removed) and changes nothing, under any policy.
pub async fn adjust_cannot_take_on_hand_below_zero(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 5).await;
    for delta in [-6, i64::MIN] {
        match f
            .store
            .adjust(&adjustment(a, delta, AdjustmentReason::Correction), t0())
            .await
        {
            Err(Error::InsufficientStock {
                sku,
                requested,
                available,
            }) => {
                assert_eq!((&sku, requested, available), (a, delta.unsigned_abs(), 5));
            }
            other => panic!("expected InsufficientStock, got {other:?}"),
        }
    }
    assert_eq!(counts(&*f.store, a).await, (5, 0));

    // Backorders never make on_hand negative either.
    f.store
        .set_backorder_policy(b, &here(), BackorderPolicy::Allow { limit: 10 }, t0())
        .await
        .unwrap();
    receive(&*f.store, b, 2).await;
    assert!(matches!(
        f.store
            .adjust(&adjustment(b, -3, AdjustmentReason::Damaged), t0())
            .await,
        Err(Error::InsufficientStock {
            requested: 3,
            available: 2,
            ..
        })
    ));
    assert_eq!(counts(&*f.store, b).await, (2, 0));
}

/// Under `Deny`, units held by reservations cannot be adjusted away: `on_hand` may
/// drop to `reserved` and no further.
pub async fn adjust_cannot_take_on_hand_below_reserved_under_deny(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 10).await;
    f.store.reserve(&request(&[(a, 4)]), t0()).await.unwrap();

    match f
        .store
        .adjust(&adjustment(a, -7, AdjustmentReason::Damaged), t0())
        .await
    {
        Err(Error::InsufficientStock {
            sku,
            requested,
            available,
        }) => {
            assert_eq!((&sku, requested, available), (a, 7, 6));
        }
        other => panic!("expected InsufficientStock, got {other:?}"),
    }
    assert_eq!(counts(&*f.store, a).await, (10, 4));

    let level = f
        .store
        .adjust(&adjustment(a, -6, AdjustmentReason::Correction), t0())
        .await
        .unwrap();
    assert_eq!(
        (level.on_hand, level.reserved, level.available()),
        (4, 4, 0)
    );
}

/// `Allow { limit }` lets reservations go up to `limit` units beyond `on_hand`, and
/// no further. Committing backordered units sells them: `on_hand` stops at zero,
/// `reserved` drops by the whole quantity and the units beyond stock are owed
/// (`backordered`), counting against the limit until received units fill them.
/// Adjustments may take `on_hand` below `reserved` (but not below zero).
pub async fn backorder_allow_reserves_up_to_limit(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 2).await;
    match f.store.reserve(&request(&[(a, 3)]), t0()).await {
        Err(Error::InsufficientStock { available, .. }) => assert_eq!(available, 2),
        other => panic!("Deny must refuse beyond on hand, got {other:?}"),
    }

    let level = f
        .store
        .set_backorder_policy(a, &here(), BackorderPolicy::Allow { limit: 3 }, t0())
        .await
        .unwrap();
    assert_eq!(level.backorder, BackorderPolicy::Allow { limit: 3 });
    assert_eq!(level.reservable(), 5);

    let first = request(&[(a, 4)]);
    f.store.reserve(&first, t0()).await.unwrap();
    match f.store.reserve(&request(&[(a, 2)]), t0()).await {
        Err(Error::InsufficientStock {
            requested,
            available,
            ..
        }) => {
            assert_eq!((requested, available), (2, 1));
        }
        other => panic!("expected InsufficientStock beyond the limit, got {other:?}"),
    }
    let second = request(&[(a, 1)]);
    f.store.reserve(&second, t0()).await.unwrap();
    let level = f.store.stock(a, &here()).await.unwrap().unwrap();
    assert_eq!(
        (level.on_hand, level.reserved, level.reserved_beyond_stock()),
        (2, 5, 3)
    );
    assert_eq!((level.available(), level.reservable()), (0, 0));

    // Under Allow an adjustment may go below reserved, not below zero.
    let level = f
        .store
        .adjust(&adjustment(a, -1, AdjustmentReason::Damaged), t0())
        .await
        .unwrap();
    assert_eq!((level.on_hand, level.reserved), (1, 5));

    assert_eq!(
        f.store.commit(first.id, at(1)).await.unwrap(),
        Transition::Applied
    );
    // 4 sold from 1 on hand: 3 owed; the limit of 3 is used up by them.
    let level = f.store.stock(a, &here()).await.unwrap().unwrap();
    assert_eq!(
        (level.on_hand, level.reserved, level.backordered),
        (0, 1, 3)
    );
    assert_eq!(level.reservable(), 0);
    assert_eq!(
        f.store.release(second.id, at(1)).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(counts(&*f.store, a).await, (0, 0));

    // Received units fill the owed backorders before they count as on hand.
    let level = f
        .store
        .adjust(&adjustment(a, 5, AdjustmentReason::Received), at(2))
        .await
        .unwrap();
    assert_eq!(
        (level.on_hand, level.reserved, level.backordered),
        (2, 0, 0)
    );
    assert_eq!(f.store.stock(a, &here()).await.unwrap(), Some(level));
}

/// Setting a policy on an unknown SKU creates its row at zero; setting it again
/// changes only the policy.
pub async fn set_backorder_policy_creates_row(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    let policy = BackorderPolicy::Allow { limit: 7 };
    let level = f
        .store
        .set_backorder_policy(a, &here(), policy, t0())
        .await
        .unwrap();
    let expected = StockLevel {
        sku: a.clone(),
        location: here(),
        on_hand: 0,
        reserved: 0,
        backordered: 0,
        backorder: policy,
    };
    assert_eq!(level, expected);
    assert_eq!(f.store.stock(a, &here()).await.unwrap(), Some(expected));

    receive(&*f.store, a, 3).await;
    let level = f
        .store
        .set_backorder_policy(a, &here(), BackorderPolicy::Deny, t0())
        .await
        .unwrap();
    assert_eq!((level.on_hand, level.backorder), (3, BackorderPolicy::Deny));
}

/// `stock_levels` reads many SKUs in one call: each known SKU once, unknown ones
/// left out.
pub async fn stock_levels_reads_many_skus_at_once(f: InventoryFixture) {
    let skus = unique_skus(4);
    for (i, sku) in skus.iter().take(3).enumerate() {
        receive(&*f.store, sku, 1 + i as u64).await;
    }
    f.store
        .reserve(&request(&[(&skus[1], 1)]), t0())
        .await
        .unwrap();

    let asked = [
        skus[2].clone(),
        skus[0].clone(),
        skus[3].clone(),
        skus[0].clone(),
        skus[1].clone(),
    ];
    let levels = f.store.stock_levels(&asked, &here()).await.unwrap();
    assert_eq!(levels.len(), 3, "each known SKU once: {levels:?}");
    let by_sku: BTreeMap<_, _> = levels.into_iter().map(|l| (l.sku.clone(), l)).collect();
    assert_eq!(by_sku.len(), 3);
    for (i, sku) in skus.iter().take(3).enumerate() {
        assert_eq!(by_sku[sku].on_hand, 1 + i as u64);
    }
    assert_eq!(by_sku[&skus[1]].reserved, 1);
    assert!(!by_sku.contains_key(&skus[3]));

    assert!(f.store.stock_levels(&[], &here()).await.unwrap().is_empty());
}
