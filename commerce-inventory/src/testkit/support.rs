//! Helpers shared by the checks: unique SKUs, stocking, requests, reading levels and
//! draining the outbox.

use std::collections::HashSet;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use commerce_core::ports::Outbox;
use commerce_core::testkit::fixtures::fixed_time;
use commerce_core::{EventEnvelope, Sku};

use crate::model::{
    AdjustmentReason, DEFAULT_RESERVATION_TTL, InventoryEvent, LocationCode, ReservationId,
    ReservationLine, ReserveRequest, StockAdjustment, StockLevel,
};
use crate::ports::InventoryStore;

/// The `now` of every check.
pub(super) fn t0() -> DateTime<Utc> {
    fixed_time()
}

/// `t0` plus `minutes`.
pub(super) fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

/// The location most checks use.
pub(super) fn here() -> LocationCode {
    LocationCode::default()
}

/// `n` SKUs no other check (or earlier run) uses, in ascending order.
pub(super) fn unique_skus(n: usize) -> Vec<Sku> {
    let run = uuid::Uuid::now_v7().simple().to_string();
    (0..n)
        .map(|i| Sku::new(format!("inv-{run}-{i:03}")).unwrap())
        .collect()
}

/// Receives `quantity` units of `sku` at [`here`] (creates the row).
pub(super) async fn receive(store: &dyn InventoryStore, sku: &Sku, quantity: u64) -> StockLevel {
    store
        .adjust(
            &StockAdjustment::received(sku.clone(), i64::try_from(quantity).unwrap())
                .at(here())
                .with_note("conformance"),
            t0(),
        )
        .await
        .unwrap()
}

/// An adjustment at [`here`].
pub(super) fn adjustment(sku: &Sku, delta: i64, reason: AdjustmentReason) -> StockAdjustment {
    StockAdjustment::new(sku.clone(), delta, reason).at(here())
}

/// A request at [`here`] expiring after the default TTL.
pub(super) fn request(lines: &[(&Sku, u64)]) -> ReserveRequest {
    request_expiring(lines, t0() + DEFAULT_RESERVATION_TTL)
}

/// A request at [`here`] expiring at `expires_at`.
pub(super) fn request_expiring(lines: &[(&Sku, u64)], expires_at: DateTime<Utc>) -> ReserveRequest {
    ReserveRequest::new(
        ReservationId::new(),
        "conformance-order",
        lines
            .iter()
            .map(|(sku, quantity)| ReservationLine {
                sku: (*sku).clone(),
                quantity: *quantity,
            })
            .collect(),
        expires_at,
    )
    .at(here())
}

/// The level of `sku` at [`here`]; panics when the row does not exist.
pub(super) async fn level(store: &dyn InventoryStore, sku: &Sku) -> StockLevel {
    store
        .stock(sku, &here())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no stock row for {sku}"))
}

/// `(on_hand, reserved)` of `sku` at [`here`].
pub(super) async fn counts(store: &dyn InventoryStore, sku: &Sku) -> (u64, u64) {
    let level = level(store, sku).await;
    (level.on_hand, level.reserved)
}

/// Every event in the outbox, in order, read through a consumer group of its own.
pub(super) async fn all_events(outbox: &dyn Outbox) -> Vec<EventEnvelope> {
    let consumer = format!("inventory-conformance-{}", uuid::Uuid::now_v7().simple());
    let mut events = Vec::new();
    loop {
        let batch = outbox
            .claim(&consumer, 500, StdDuration::from_secs(60))
            .await
            .unwrap();
        let Some(last) = batch.last().map(|e| e.seq) else {
            return events;
        };
        events.extend(batch.into_iter().map(|e| e.event));
        outbox.ack(&consumer, last).await.unwrap();
    }
}

/// The inventory events about `skus` or `reservations`, in outbox order, with their
/// envelopes.
pub(super) async fn events_about(
    outbox: &dyn Outbox,
    skus: &[Sku],
    reservations: &[ReservationId],
) -> Vec<(EventEnvelope, InventoryEvent)> {
    let ids: HashSet<String> = skus
        .iter()
        .map(ToString::to_string)
        .chain(reservations.iter().map(ToString::to_string))
        .collect();
    all_events(outbox)
        .await
        .into_iter()
        .filter(|e| e.topic.starts_with("inventory.") && ids.contains(&e.aggregate_id))
        .map(|e| {
            let event: InventoryEvent = serde_json::from_value(e.payload.clone()).unwrap();
            (e, event)
        })
        .collect()
}
