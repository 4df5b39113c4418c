//! Checks of `reserve`: all or nothing, summed lines, idempotency by id.

use crate::error::Error;
use crate::model::{LocationCode, ReservationLine, ReservationStatus};

use super::InventoryFixture;
use super::support::{at, counts, here, receive, request, t0, unique_skus};

/// A reservation holds every line's quantity (`reserved` rises, `on_hand` does not)
/// and reads back as stored: active, lines sorted by SKU, the request's expiry.
pub async fn reserve_holds_stock_of_every_line(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 10).await;
    receive(&*f.store, b, 4).await;

    let req = request(&[(b, 4), (a, 3)]);
    let reservation = f.store.reserve(&req, t0()).await.unwrap();
    assert_eq!(reservation.id, req.id);
    assert_eq!(reservation.reference, req.reference);
    assert_eq!(reservation.location, here());
    assert_eq!(reservation.status, ReservationStatus::Active);
    assert_eq!(reservation.created_at, t0());
    assert_eq!(reservation.expires_at, req.expires_at);
    assert_eq!(reservation.finished_at, None);
    assert_eq!(
        reservation.lines,
        vec![
            ReservationLine {
                sku: a.clone(),
                quantity: 3
            },
            ReservationLine {
                sku: b.clone(),
                quantity: 4
            },
        ]
    );
    assert_eq!(
        f.store.reservation(req.id).await.unwrap(),
        Some(reservation)
    );
    assert_eq!(counts(&*f.store, a).await, (10, 3));
    assert_eq!(counts(&*f.store, b).await, (4, 4));
}

/// One short line fails the whole request with `InsufficientStock` naming that SKU,
/// what was asked and what could be had; nothing is held and no reservation exists.
pub async fn reserve_is_all_or_nothing(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 5).await;
    receive(&*f.store, b, 1).await;

    let req = request(&[(a, 2), (b, 3)]);
    match f.store.reserve(&req, t0()).await {
        Err(Error::InsufficientStock {
            sku,
            requested,
            available,
        }) => {
            assert_eq!((&sku, requested, available), (b, 3, 1));
        }
        other => panic!("expected InsufficientStock, got {other:?}"),
    }
    assert_eq!(counts(&*f.store, a).await, (5, 0));
    assert_eq!(counts(&*f.store, b).await, (1, 0));
    assert_eq!(f.store.reservation(req.id).await.unwrap(), None);

    // The same lines within stock succeed afterwards.
    f.store
        .reserve(&request(&[(a, 2), (b, 1)]), t0())
        .await
        .unwrap();
    assert_eq!(counts(&*f.store, a).await, (5, 2));
    assert_eq!(counts(&*f.store, b).await, (1, 1));
}

/// With several short SKUs, the error names the first in SKU order, whatever the
/// order of the lines.
pub async fn reserve_reports_first_short_sku_in_sku_order(f: InventoryFixture) {
    let skus = unique_skus(3);
    let (a, b, c) = (&skus[0], &skus[1], &skus[2]);
    for sku in &skus {
        receive(&*f.store, sku, 1).await;
    }
    let req = request(&[(c, 5), (a, 1), (b, 4)]);
    match f.store.reserve(&req, t0()).await {
        Err(Error::InsufficientStock {
            sku,
            requested,
            available,
        }) => {
            assert_eq!((&sku, requested, available), (b, 4, 1));
        }
        other => panic!("expected InsufficientStock, got {other:?}"),
    }
    for sku in &skus {
        assert_eq!(counts(&*f.store, sku).await, (1, 0));
    }
}

/// Lines of the same SKU are summed before the stock check and stored as one line.
pub async fn reserve_sums_lines_of_the_same_sku(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 5).await;
    receive(&*f.store, b, 5).await;

    // 3 + 3 > 5 even though each line fits.
    match f.store.reserve(&request(&[(a, 3), (a, 3)]), t0()).await {
        Err(Error::InsufficientStock {
            sku,
            requested,
            available,
        }) => {
            assert_eq!((&sku, requested, available), (a, 6, 5));
        }
        other => panic!("expected InsufficientStock, got {other:?}"),
    }
    assert_eq!(counts(&*f.store, a).await, (5, 0));

    let reservation = f
        .store
        .reserve(&request(&[(a, 2), (b, 1), (a, 3)]), t0())
        .await
        .unwrap();
    assert_eq!(
        reservation.lines,
        vec![
            ReservationLine {
                sku: a.clone(),
                quantity: 5
            },
            ReservationLine {
                sku: b.clone(),
                quantity: 1
            },
        ]
    );
    assert_eq!(counts(&*f.store, a).await, (5, 5));
    assert_eq!(counts(&*f.store, b).await, (5, 1));
}

/// A SKU that was never stocked has nothing to reserve: `InsufficientStock` with
/// `available` 0, and no row is created.
pub async fn reserve_of_unstocked_sku_is_insufficient_stock(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    match f.store.reserve(&request(&[(a, 1)]), t0()).await {
        Err(Error::InsufficientStock {
            sku,
            requested,
            available,
        }) => {
            assert_eq!((&sku, requested, available), (a, 1, 0));
        }
        other => panic!("expected InsufficientStock, got {other:?}"),
    }
    assert_eq!(f.store.stock(a, &here()).await.unwrap(), None);
}

/// A request without lines, or with a zero quantity, is a `Validation` error and
/// holds nothing.
pub async fn reserve_rejects_empty_and_zero_quantity_lines(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 5).await;
    receive(&*f.store, b, 5).await;

    let empty = request(&[]);
    assert!(
        matches!(
            f.store.reserve(&empty, t0()).await,
            Err(Error::Validation { .. })
        ),
        "empty reservation must be a validation error"
    );
    let zero = request(&[(a, 2), (b, 0)]);
    assert!(
        matches!(
            f.store.reserve(&zero, t0()).await,
            Err(Error::Validation { .. })
        ),
        "zero quantity must be a validation error"
    );
    assert_eq!(f.store.reservation(zero.id).await.unwrap(), None);
    assert_eq!(counts(&*f.store, a).await, (5, 0));
    assert_eq!(counts(&*f.store, b).await, (5, 0));
}

/// Repeating a request with the same id and (summed) lines returns the existing
/// reservation, in its current status, without reserving again.
pub async fn reserve_is_idempotent_by_id(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 10).await;
    receive(&*f.store, b, 10).await;

    let req = request(&[(a, 2), (b, 1)]);
    let first = f.store.reserve(&req, t0()).await.unwrap();
    let again = f.store.reserve(&req, at(1)).await.unwrap();
    assert_eq!(again, first);
    // The same totals split differently are the same request.
    let mut split = req.clone();
    split.lines = request(&[(b, 1), (a, 1), (a, 1)]).lines;
    assert_eq!(f.store.reserve(&split, at(2)).await.unwrap(), first);
    assert_eq!(counts(&*f.store, a).await, (10, 2));
    assert_eq!(counts(&*f.store, b).await, (10, 1));

    // After the reservation ended, a retry sees it ended and reserves nothing.
    f.store.release(req.id, at(3)).await.unwrap();
    let after = f.store.reserve(&req, at(4)).await.unwrap();
    assert_eq!(after.status, ReservationStatus::Released);
    assert_eq!(counts(&*f.store, a).await, (10, 0));
    assert_eq!(counts(&*f.store, b).await, (10, 0));
}

/// Reusing an id with other lines is a `Conflict`; the existing reservation and the
/// stock stay as they were.
pub async fn reserve_with_reused_id_and_other_lines_conflicts(f: InventoryFixture) {
    let skus = unique_skus(2);
    let (a, b) = (&skus[0], &skus[1]);
    receive(&*f.store, a, 10).await;
    receive(&*f.store, b, 10).await;

    let req = request(&[(a, 2)]);
    let first = f.store.reserve(&req, t0()).await.unwrap();
    for lines in [request(&[(a, 3)]).lines, request(&[(a, 2), (b, 1)]).lines] {
        let mut other = req.clone();
        other.lines = lines;
        assert!(
            matches!(f.store.reserve(&other, t0()).await, Err(Error::Conflict(_))),
            "same id with other lines must conflict"
        );
    }
    assert_eq!(f.store.reservation(req.id).await.unwrap(), Some(first));
    assert_eq!(counts(&*f.store, a).await, (10, 2));
    assert_eq!(counts(&*f.store, b).await, (10, 0));
}

/// Stock is per location: units at one location cannot be reserved at another.
pub async fn locations_hold_separate_stock(f: InventoryFixture) {
    let skus = unique_skus(1);
    let a = &skus[0];
    receive(&*f.store, a, 3).await;
    let elsewhere = LocationCode("conformance-elsewhere".to_owned());

    let mut req = request(&[(a, 1)]);
    req.location = elsewhere.clone();
    match f.store.reserve(&req, t0()).await {
        Err(Error::InsufficientStock { available, .. }) => assert_eq!(available, 0),
        other => panic!("expected InsufficientStock, got {other:?}"),
    }
    assert_eq!(f.store.stock(a, &elsewhere).await.unwrap(), None);
    assert_eq!(counts(&*f.store, a).await, (3, 0));
}
