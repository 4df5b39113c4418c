//! The conformance suite of [`InventoryStore`]: one `pub async fn` per behaviour,
//! each taking a fresh [`InventoryFixture`]. Every implementation (the in-memory
//! store, PostgreSQL, Redis) runs all of them through
//! [`inventory_store_conformance!`](crate::inventory_store_conformance).
//!
//! The checks are test code: they panic (through `assert!` and `unwrap`) when the
//! store under test misbehaves. Each check uses SKUs unique to it and passes every
//! `now` explicitly (whole seconds from
//! [`fixed_time`](commerce_core::testkit::fixtures::fixed_time), so timestamps
//! survive any backend's precision). Concurrency checks run up to 200 operations at
//! once with `futures::future::join_all`, so they need no particular runtime.
//!
//! ```
//! use std::sync::Arc;
//!
//! use commerce_core::memory::MemoryOutbox;
//! use commerce_inventory::MemoryInventory;
//! use commerce_inventory::testkit::InventoryFixture;
//!
//! async fn make_fixture() -> InventoryFixture {
//!     let outbox = Arc::new(MemoryOutbox::new());
//!     InventoryFixture {
//!         store: Arc::new(MemoryInventory::new(outbox.clone())),
//!         outbox,
//!     }
//! }
//!
//! commerce_inventory::inventory_store_conformance!(make_fixture);
//! # fn main() {}
//! ```

// Test code: a failed assertion or an unexpected error is the report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use commerce_core::ports::Outbox;

use crate::ports::InventoryStore;

mod concurrency;
mod events;
mod expiry;
mod lifecycle;
mod reserve;
mod stock;
mod support;

pub use concurrency::*;
pub use events::*;
pub use expiry::*;
pub use lifecycle::*;
pub use reserve::*;
pub use stock::*;

/// What every check gets: a fresh store and the outbox it writes its events to.
#[derive(Clone)]
pub struct InventoryFixture {
    /// The store under test, empty (or at least holding none of the check's SKUs).
    pub store: Arc<dyn InventoryStore>,
    /// The outbox `store` writes to, so checks can claim and inspect the events.
    pub outbox: Arc<dyn Outbox>,
}

impl std::fmt::Debug for InventoryFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InventoryFixture").finish_non_exhaustive()
    }
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per
/// conformance check, each calling `$make_fixture().await` for a fresh fixture.
///
/// `$make_fixture` is an `async fn() -> InventoryFixture` (a path). The calling crate
/// needs `tokio` (features `macros`, `rt-multi-thread`) as a dev-dependency.
#[macro_export]
macro_rules! inventory_store_conformance {
    ($make_fixture:path) => {
        $crate::inventory_store_conformance!(@checks $make_fixture;
            reserve_holds_stock_of_every_line,
            reserve_is_all_or_nothing,
            reserve_reports_first_short_sku_in_sku_order,
            reserve_sums_lines_of_the_same_sku,
            reserve_of_unstocked_sku_is_insufficient_stock,
            reserve_rejects_empty_and_zero_quantity_lines,
            reserve_is_idempotent_by_id,
            reserve_with_reused_id_and_other_lines_conflicts,
            locations_hold_separate_stock,
            commit_sells_reserved_stock_once,
            release_returns_stock_once,
            release_after_commit_is_illegal_and_keeps_sold_stock,
            commit_after_release_or_expiry_is_illegal,
            overdue_reservation_can_be_committed_before_the_sweep,
            restock_returns_sold_units_once,
            lifecycle_of_unknown_reservation_is_not_found,
            expire_due_takes_only_due_active_reservations,
            expire_due_respects_limit,
            prune_finished_deletes_only_old_finished_reservations,
            concurrent_release_and_expiry_return_stock_once,
            concurrent_commit_and_release_end_reservation_once,
            concurrent_restocks_return_stock_once,
            concurrent_expire_callers_expire_each_reservation_once,
            concurrent_single_unit_reservations_never_oversell,
            concurrent_multi_line_reservations_are_exact,
            concurrent_duplicate_reserves_reserve_once,
            adjust_creates_row_and_changes_on_hand,
            adjust_rejects_delta_that_does_not_fit_reason,
            adjust_cannot_take_on_hand_below_zero,
            adjust_cannot_take_on_hand_below_reserved_under_deny,
            backorder_allow_reserves_up_to_limit,
            set_backorder_policy_creates_row,
            stock_levels_reads_many_skus_at_once,
            stock_changes_write_stock_changed_events,
            set_backorder_policy_writes_a_stock_changed_event,
            reservation_end_writes_reservation_finished_event,
            failed_operations_write_no_events,
        );
    };
    (@checks $make_fixture:path; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::testkit::$check($make_fixture().await).await;
            }
        )*
    };
}
