//! Property test: random operation sequences against `MemoryInventory`, checked step
//! by step against a small reference model and against the inventory invariants:
//! `on_hand >= reserved` under `Deny`, `reserved` equals the sum of the active
//! reservations, and units received + corrections == units sold + units on hand -
//! units owed on backorder.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::executor::block_on;
use proptest::prelude::*;
use proptest::sample::Index;

use commerce_core::memory::MemoryOutbox;
use commerce_core::{ManualClock, Sku};
use commerce_inventory::{
    AdjustmentReason, BackorderPolicy, Error, InventoryStore, LocationCode, MemoryInventory,
    ReservationId, ReservationLine, ReservationStatus, ReserveRequest, StockAdjustment, Transition,
    sweep_once,
};

const SKUS: usize = 3;
/// The last SKU may be backordered up to this many units; the others deny.
const BACKORDER_LIMIT: u64 = 4;

fn policy(sku: usize) -> BackorderPolicy {
    if sku == SKUS - 1 {
        BackorderPolicy::Allow {
            limit: BACKORDER_LIMIT,
        }
    } else {
        BackorderPolicy::Deny
    }
}

#[derive(Clone, Debug)]
enum Op {
    Receive {
        sku: usize,
        quantity: u64,
    },
    Correct {
        sku: usize,
        delta: i64,
    },
    Reserve {
        lines: Vec<(usize, u64)>,
        ttl_minutes: i64,
    },
    RepeatReserve {
        pick: Index,
        change_lines: bool,
    },
    Commit {
        pick: Index,
    },
    Release {
        pick: Index,
    },
    Advance {
        minutes: i64,
    },
    Expire {
        limit: u32,
    },
    Sweep {
        batch: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..SKUS, 1..=20u64).prop_map(|(sku, quantity)| Op::Receive { sku, quantity }),
        2 => (0..SKUS, -10..=10i64).prop_map(|(sku, delta)| Op::Correct { sku, delta }),
        6 => (prop::collection::vec((0..SKUS, 0..=5u64), 0..=4), 1..=30i64)
            .prop_map(|(lines, ttl_minutes)| Op::Reserve { lines, ttl_minutes }),
        1 => (any::<Index>(), any::<bool>())
            .prop_map(|(pick, change_lines)| Op::RepeatReserve { pick, change_lines }),
        3 => any::<Index>().prop_map(|pick| Op::Commit { pick }),
        3 => any::<Index>().prop_map(|pick| Op::Release { pick }),
        2 => (1..=20i64).prop_map(|minutes| Op::Advance { minutes }),
        2 => (0..=4u32).prop_map(|limit| Op::Expire { limit }),
        1 => (1..=3u32).prop_map(|batch| Op::Sweep { batch }),
    ]
}

/// What a call did, comparable between the store and the model.
#[derive(Debug, PartialEq)]
enum Outcome {
    Done,
    Applied,
    AlreadyDone,
    Insufficient {
        sku: usize,
        requested: u64,
        available: u64,
    },
    Illegal {
        from: ReservationStatus,
        to: ReservationStatus,
    },
    Validation,
    Conflict,
}

#[derive(Clone, Debug)]
struct ModelReservation {
    request: ReserveRequest,
    lines: BTreeMap<usize, u64>,
    status: ReservationStatus,
}

#[derive(Debug, Default)]
struct Model {
    on_hand: [u64; SKUS],
    reserved: [u64; SKUS],
    backordered: [u64; SKUS],
    received: [i128; SKUS],
    corrections: [i128; SKUS],
    sold: [i128; SKUS],
    reservations: Vec<ModelReservation>,
}

impl Model {
    fn reservable(&self, sku: usize) -> u64 {
        match policy(sku) {
            BackorderPolicy::Deny => self.on_hand[sku].saturating_sub(self.reserved[sku]),
            BackorderPolicy::Allow { limit } => (self.on_hand[sku] + limit)
                .saturating_sub(self.reserved[sku] + self.backordered[sku]),
        }
    }

    fn adjust(&mut self, sku: usize, delta: i64, reason: &AdjustmentReason) -> Outcome {
        let valid = match reason {
            AdjustmentReason::Received => delta > 0,
            _ => delta != 0,
        };
        if !valid {
            return Outcome::Validation;
        }
        if delta < 0 {
            let floor = match policy(sku) {
                BackorderPolicy::Deny => self.reserved[sku],
                BackorderPolicy::Allow { .. } => 0,
            };
            let removable = self.on_hand[sku].saturating_sub(floor);
            if delta.unsigned_abs() > removable {
                return Outcome::Insufficient {
                    sku,
                    requested: delta.unsigned_abs(),
                    available: removable,
                };
            }
            self.on_hand[sku] -= delta.unsigned_abs();
        } else {
            // Incoming units fill owed backorders first.
            let fill = delta.unsigned_abs().min(self.backordered[sku]);
            self.backordered[sku] -= fill;
            self.on_hand[sku] += delta.unsigned_abs() - fill;
        }
        match reason {
            AdjustmentReason::Received => self.received[sku] += i128::from(delta),
            _ => self.corrections[sku] += i128::from(delta),
        }
        Outcome::Done
    }

    fn reserve(&mut self, request: &ReserveRequest, skus: &[Sku]) -> Outcome {
        if request.lines.is_empty() || request.lines.iter().any(|l| l.quantity == 0) {
            return Outcome::Validation;
        }
        let mut lines = BTreeMap::new();
        for line in &request.lines {
            let index = skus.iter().position(|s| *s == line.sku).unwrap();
            *lines.entry(index).or_insert(0) += line.quantity;
        }
        if let Some(existing) = self
            .reservations
            .iter()
            .find(|r| r.request.id == request.id)
        {
            return if existing.lines == lines {
                Outcome::Done
            } else {
                Outcome::Conflict
            };
        }
        for (&sku, &quantity) in &lines {
            let available = self.reservable(sku);
            if quantity > available {
                return Outcome::Insufficient {
                    sku,
                    requested: quantity,
                    available,
                };
            }
        }
        for (&sku, &quantity) in &lines {
            self.reserved[sku] += quantity;
        }
        self.reservations.push(ModelReservation {
            request: request.clone(),
            lines,
            status: ReservationStatus::Active,
        });
        Outcome::Done
    }

    fn finish(&mut self, index: usize, to: ReservationStatus) -> Outcome {
        let reservation = self.reservations[index].clone();
        match (reservation.status, to) {
            (ReservationStatus::Active, _) => {}
            (from, to) if from == to => return Outcome::AlreadyDone,
            (ReservationStatus::Expired, ReservationStatus::Released) => {
                return Outcome::AlreadyDone;
            }
            (from, to) => return Outcome::Illegal { from, to },
        }
        for (&sku, &quantity) in &reservation.lines {
            self.reserved[sku] -= quantity;
            if to == ReservationStatus::Committed {
                let from_stock = quantity.min(self.on_hand[sku]);
                self.on_hand[sku] -= from_stock;
                self.backordered[sku] += quantity - from_stock;
                self.sold[sku] += i128::from(from_stock);
            }
        }
        self.reservations[index].status = to;
        Outcome::Applied
    }
}

fn outcome<T>(result: Result<T, Error>, skus: &[Sku], applied: impl Fn(T) -> Outcome) -> Outcome {
    match result {
        Ok(value) => applied(value),
        Err(Error::InsufficientStock {
            sku,
            requested,
            available,
        }) => Outcome::Insufficient {
            sku: skus.iter().position(|s| *s == sku).unwrap(),
            requested,
            available,
        },
        Err(Error::IllegalTransition { from, to, .. }) => Outcome::Illegal { from, to },
        Err(Error::Validation { .. }) => Outcome::Validation,
        Err(Error::Conflict(_)) => Outcome::Conflict,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn transition(t: Transition) -> Outcome {
    match t {
        Transition::Applied => Outcome::Applied,
        Transition::AlreadyDone => Outcome::AlreadyDone,
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

async fn run(ops: Vec<Op>) {
    let store = MemoryInventory::new(Arc::new(MemoryOutbox::new()));
    let clock = ManualClock::new(start());
    let location = LocationCode::default();
    let skus: Vec<Sku> = (0..SKUS)
        .map(|i| Sku::new(format!("SKU-{i}")).unwrap())
        .collect();
    for (i, sku) in skus.iter().enumerate() {
        store
            .set_backorder_policy(sku, &location, policy(i), start())
            .await
            .unwrap();
    }
    let mut model = Model::default();

    for (step, op) in ops.into_iter().enumerate() {
        let now = commerce_core::Clock::now(&clock);
        let (expected, actual) = match &op {
            Op::Receive { sku, quantity } => {
                let delta = i64::try_from(*quantity).unwrap();
                adjust(
                    &store,
                    &mut model,
                    &skus,
                    *sku,
                    delta,
                    AdjustmentReason::Received,
                    now,
                )
                .await
            }
            Op::Correct { sku, delta } => {
                adjust(
                    &store,
                    &mut model,
                    &skus,
                    *sku,
                    *delta,
                    AdjustmentReason::Correction,
                    now,
                )
                .await
            }
            Op::Reserve { lines, ttl_minutes } => {
                let request = ReserveRequest::new(
                    ReservationId::new(),
                    format!("order-{step}"),
                    lines
                        .iter()
                        .map(|(sku, quantity)| ReservationLine {
                            sku: skus[*sku].clone(),
                            quantity: *quantity,
                        })
                        .collect(),
                    now + Duration::minutes(*ttl_minutes),
                )
                .at(location.clone());
                let expected = model.reserve(&request, &skus);
                let actual = outcome(store.reserve(&request, now).await, &skus, |_| Outcome::Done);
                (expected, actual)
            }
            Op::RepeatReserve { pick, change_lines } => {
                if model.reservations.is_empty() {
                    continue;
                }
                let mut request = model.reservations[pick.index(model.reservations.len())]
                    .request
                    .clone();
                if *change_lines {
                    request.lines.push(ReservationLine {
                        sku: skus[0].clone(),
                        quantity: 1,
                    });
                }
                let expected = model.reserve(&request, &skus);
                let actual = outcome(store.reserve(&request, now).await, &skus, |_| Outcome::Done);
                (expected, actual)
            }
            Op::Commit { pick } | Op::Release { pick } => {
                if model.reservations.is_empty() {
                    continue;
                }
                let index = pick.index(model.reservations.len());
                let id = model.reservations[index].request.id;
                if matches!(op, Op::Commit { .. }) {
                    let expected = model.finish(index, ReservationStatus::Committed);
                    (
                        expected,
                        outcome(store.commit(id, now).await, &skus, transition),
                    )
                } else {
                    let expected = model.finish(index, ReservationStatus::Released);
                    (
                        expected,
                        outcome(store.release(id, now).await, &skus, transition),
                    )
                }
            }
            Op::Advance { minutes } => {
                clock.advance(Duration::minutes(*minutes));
                continue;
            }
            Op::Expire { limit } => {
                let ids = store.expire_due(now, *limit).await.unwrap();
                expire_in_model(&mut model, &ids, now, Some(*limit));
                continue;
            }
            Op::Sweep { batch } => {
                let ids = sweep_once(&store, &clock, *batch).await.unwrap();
                expire_in_model(&mut model, &ids, now, None);
                continue;
            }
        };
        assert_eq!(actual, expected, "step {step}: {op:?}");
        check_state(&store, &model, &skus, &location).await;
    }
    check_state(&store, &model, &skus, &location).await;
}

async fn adjust(
    store: &MemoryInventory,
    model: &mut Model,
    skus: &[Sku],
    sku: usize,
    delta: i64,
    reason: AdjustmentReason,
    now: DateTime<Utc>,
) -> (Outcome, Outcome) {
    let expected = model.adjust(sku, delta, &reason);
    let adjustment = StockAdjustment::new(skus[sku].clone(), delta, reason);
    let actual = outcome(store.adjust(&adjustment, now).await, skus, |_| {
        Outcome::Done
    });
    (expected, actual)
}

/// Applies an expiry the store reported, after checking it was allowed: every id
/// active and due, no more than `limit`, and (when the limit was not reached, or for
/// a whole sweep) no due reservation left behind.
fn expire_in_model(
    model: &mut Model,
    ids: &[ReservationId],
    now: DateTime<Utc>,
    limit: Option<u32>,
) {
    let due: Vec<usize> = (0..model.reservations.len())
        .filter(|&i| {
            let r = &model.reservations[i];
            r.status == ReservationStatus::Active && r.request.expires_at <= now
        })
        .collect();
    let expected_count = match limit {
        Some(limit) => due.len().min(limit as usize),
        None => due.len(),
    };
    assert_eq!(ids.len(), expected_count, "expired {ids:?}, due {due:?}");
    for id in ids {
        let index = model
            .reservations
            .iter()
            .position(|r| r.request.id == *id)
            .unwrap();
        assert!(
            due.contains(&index),
            "expired a reservation that was not due"
        );
        assert_eq!(
            model.finish(index, ReservationStatus::Expired),
            Outcome::Applied
        );
    }
}

async fn check_state(
    store: &MemoryInventory,
    model: &Model,
    skus: &[Sku],
    location: &LocationCode,
) {
    let levels = store.stock_levels(skus, location).await.unwrap();
    assert_eq!(levels.len(), SKUS);
    let mut active = [0u64; SKUS];
    let mut committed = [0i128; SKUS];
    for r in &model.reservations {
        let stored = store.reservation(r.request.id).await.unwrap().unwrap();
        assert_eq!(stored.status, r.status);
        for line in &stored.lines {
            let sku = skus.iter().position(|s| *s == line.sku).unwrap();
            match stored.status {
                ReservationStatus::Active => active[sku] += line.quantity,
                ReservationStatus::Committed => committed[sku] += i128::from(line.quantity),
                _ => {}
            }
        }
    }
    for (sku, level) in levels.iter().enumerate() {
        assert_eq!(level.sku, skus[sku]);
        assert_eq!(
            (level.on_hand, level.reserved, level.backordered),
            (
                model.on_hand[sku],
                model.reserved[sku],
                model.backordered[sku]
            )
        );
        assert_eq!(
            level.reserved, active[sku],
            "reserved != sum of active reservations"
        );
        assert_eq!(
            level.available(),
            level.on_hand.saturating_sub(level.reserved)
        );
        let on_hand = i128::from(level.on_hand);
        let inflow = model.received[sku] + model.corrections[sku];
        match policy(sku) {
            BackorderPolicy::Deny => {
                assert!(
                    level.on_hand >= level.reserved,
                    "Deny SKU reserved beyond stock"
                );
                // Every committed unit left from stock.
                assert_eq!(inflow, committed[sku] + on_hand, "units not conserved");
            }
            BackorderPolicy::Allow { .. } => {
                // Units sold on backorder are owed until received units fill them.
                let owed = i128::from(level.backordered);
                assert_eq!(
                    inflow,
                    committed[sku] + on_hand - owed,
                    "units not conserved"
                );
                assert!(model.sold[sku] <= committed[sku]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn memory_inventory_matches_the_model(ops in prop::collection::vec(op(), 1..80)) {
        block_on(run(ops));
    }
}
