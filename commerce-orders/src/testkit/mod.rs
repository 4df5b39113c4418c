//! Conformance suites of the ports this crate owns, and of a whole checkout.
//!
//! - [`order_store`]: every [`OrderStore`] runs it through
//!   [`order_store_conformance!`](crate::order_store_conformance);
//! - [`payment_gateway`]: every [`PaymentGateway`] runs it through
//!   [`payment_gateway_conformance!`](crate::payment_gateway_conformance);
//! - [`checkout_store`]: every [`CheckoutStore`] (native ones and
//!   [`SeparateStores`]) runs it through
//!   [`checkout_store_conformance!`](crate::checkout_store_conformance);
//! - [`pricing_tables`]: every [`PricingTableStore`](crate::ports::PricingTableStore)
//!   runs it through [`pricing_tables_conformance!`](crate::pricing_tables_conformance);
//! - [`checkout`]: whole checkouts, recovery, cancels, shipments and refunds over a
//!   [`CheckoutFixture`] of all stores, through
//!   [`checkout_conformance!`](crate::checkout_conformance), so an adapter can run
//!   them against its real tables (with its native [`CheckoutStore`] or without).
//!
//! Each check is a `pub async fn` taking a fresh fixture and panicking (through
//! `assert!`/`unwrap`) when the implementation misbehaves. Checks use ids, keys and
//! SKUs unique to themselves and filter the outbox by aggregate, so they also pass on
//! a store shared with other data. Concurrency checks run their futures at once with
//! `futures::future::join_all` and need no particular runtime.
//!
//! ```
//! use std::sync::Arc;
//!
//! use commerce_core::memory::MemoryOutbox;
//! use commerce_orders::MemoryOrderStore;
//! use commerce_orders::testkit::OrderStoreFixture;
//!
//! async fn make_fixture() -> OrderStoreFixture {
//!     let outbox = Arc::new(MemoryOutbox::new());
//!     OrderStoreFixture {
//!         store: Arc::new(MemoryOrderStore::new(outbox.clone())),
//!         outbox,
//!     }
//! }
//!
//! commerce_orders::order_store_conformance!(make_fixture);
//! # fn main() {}
//! ```

// Test code: a failed assertion or an unexpected error is the report.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use commerce_cart::{CartStore, MemoryCartStore};
use commerce_core::memory::{MemoryCatalog, MemoryOutbox};
use commerce_core::ports::{CatalogStore, Outbox};
use commerce_core::{Clock, ManualClock};
use commerce_inventory::{InventoryStore, MemoryInventory};

use crate::checkout::{Checkout, CheckoutConfig};
use crate::memory::MemoryOrderStore;
use crate::payment::{PaymentGateway, PaymentMethod};
use crate::ports::CheckoutStore;
use crate::ports::OrderStore;
use crate::separate_stores::SeparateStores;
use crate::simulated::{SimulatedGateway, test_cards};

pub mod carrier;
pub mod checkout;
pub mod checkout_store;
pub mod delivery_log;
pub mod order_store;
pub mod payment_gateway;
pub mod payments;
pub mod preference_store;
pub mod pricing_tables;
pub mod promotion_limits;
mod support;

pub use support::{sample_order, unique};

/// What every [`pricing_tables`] check gets: a fresh, empty store.
#[derive(Clone)]
pub struct PricingTablesFixture {
    /// The store under test, holding no tables.
    pub store: Arc<dyn crate::ports::PricingTableStore>,
    /// The outbox `store` writes its events to.
    pub outbox: Arc<dyn Outbox>,
}

impl PricingTablesFixture {
    /// An in-memory store with its own outbox.
    pub fn in_memory() -> Self {
        let outbox = Arc::new(MemoryOutbox::new());
        PricingTablesFixture {
            store: Arc::new(crate::pricing_tables::MemoryPricingTableStore::new(
                outbox.clone(),
            )),
            outbox,
        }
    }
}

/// What every [`order_store`] check gets.
#[derive(Clone)]
pub struct OrderStoreFixture {
    /// The store under test.
    pub store: Arc<dyn OrderStore>,
    /// The outbox `store` writes its events to.
    pub outbox: Arc<dyn Outbox>,
}

impl std::fmt::Debug for OrderStoreFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderStoreFixture").finish_non_exhaustive()
    }
}

/// What every [`checkout_store`] check gets: the store under test and the order
/// store, inventory and outbox holding the same data, to look at what it did.
#[derive(Clone)]
pub struct CheckoutStoreFixture {
    /// The store under test.
    pub store: Arc<dyn CheckoutStore>,
    /// The orders `store` writes.
    pub orders: Arc<dyn OrderStore>,
    /// The stock `store` reserves and commits.
    pub inventory: Arc<dyn InventoryStore>,
    /// The outbox `store` writes its events to (order and inventory events).
    pub outbox: Arc<dyn Outbox>,
}

impl std::fmt::Debug for CheckoutStoreFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutStoreFixture")
            .finish_non_exhaustive()
    }
}

impl CheckoutStoreFixture {
    /// [`SeparateStores`] over an in-memory order store and inventory sharing one
    /// outbox.
    pub fn in_memory() -> Self {
        let outbox = Arc::new(MemoryOutbox::new());
        let orders: Arc<dyn OrderStore> = Arc::new(MemoryOrderStore::new(outbox.clone()));
        let inventory: Arc<dyn InventoryStore> = Arc::new(MemoryInventory::new(outbox.clone()));
        CheckoutStoreFixture {
            store: Arc::new(SeparateStores::new(orders.clone(), inventory.clone())),
            orders,
            inventory,
            outbox,
        }
    }
}

/// What every [`payment_gateway`] check gets.
#[derive(Clone)]
pub struct PaymentGatewayFixture {
    /// The gateway under test.
    pub gateway: Arc<dyn PaymentGateway>,
    /// A method the gateway approves for any amount the checks use (up to 1000.00).
    pub approved: PaymentMethod,
    /// A method the gateway declines.
    pub declined: PaymentMethod,
    /// A currency the gateway accepts.
    pub currency: commerce_core::Currency,
}

impl std::fmt::Debug for PaymentGatewayFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentGatewayFixture")
            .field("currency", &self.currency)
            .finish_non_exhaustive()
    }
}

impl PaymentGatewayFixture {
    /// A fresh [`SimulatedGateway`] with an approving and a declining test card.
    pub fn simulated() -> Self {
        PaymentGatewayFixture {
            gateway: Arc::new(SimulatedGateway::new()),
            approved: card(test_cards::APPROVED),
            declined: card(test_cards::DECLINED),
            currency: commerce_core::Currency::USD,
        }
    }
}

/// A card payment with `number`, expiring in 2099.
pub fn card(number: &str) -> PaymentMethod {
    PaymentMethod::Card {
        number: number.to_owned(),
        expiry_month: 12,
        expiry_year: 2099,
        cvc: "123".to_owned(),
    }
}

/// Every store a checkout uses, a simulated gateway (so checks can count charges and
/// inject faults) and a manual clock that the stores and the gateway read.
#[derive(Clone)]
pub struct CheckoutFixture {
    /// Carts.
    pub carts: Arc<dyn CartStore>,
    /// Catalog.
    pub catalog: Arc<dyn CatalogStore>,
    /// Inventory.
    pub inventory: Arc<dyn InventoryStore>,
    /// Orders (usually the store under test).
    pub orders: Arc<dyn OrderStore>,
    /// The outbox the order store writes to.
    pub outbox: Arc<dyn Outbox>,
    /// The native [`CheckoutStore`] over `orders` and `inventory`, if the backend
    /// has one; `None` runs the checkout on [`SeparateStores`].
    pub checkout_store: Option<Arc<dyn CheckoutStore>>,
    /// The gateway, built on `clock`.
    pub gateway: Arc<SimulatedGateway>,
    /// The clock of the checkout, the gateway and (where they have one) the stores.
    /// Starts at a whole second near the wall clock (stores judging cart expiry by
    /// the wall clock agree with it).
    pub clock: Arc<ManualClock>,
}

impl std::fmt::Debug for CheckoutFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutFixture")
            .field("now", &self.clock.now())
            .finish_non_exhaustive()
    }
}

/// The wall clock truncated to a whole second (survives any backend's precision).
pub fn start_time() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now)
}

impl CheckoutFixture {
    /// Every store in memory, on a fresh manual clock.
    pub fn in_memory() -> Self {
        let clock = Arc::new(ManualClock::new(start_time()));
        let outbox = Arc::new(MemoryOutbox::with_clock(clock.clone()));
        CheckoutFixture::with_orders(
            Arc::new(MemoryOrderStore::new(outbox.clone())),
            outbox.clone(),
            outbox,
            clock,
        )
    }

    /// In-memory carts, catalog and inventory (writing to `memory_outbox`) around
    /// `orders`, which writes to `outbox`, on `clock`. An adapter crate uses this to
    /// run the checkout suite against its order store.
    pub fn with_orders(
        orders: Arc<dyn OrderStore>,
        outbox: Arc<dyn Outbox>,
        memory_outbox: Arc<MemoryOutbox>,
        clock: Arc<ManualClock>,
    ) -> Self {
        CheckoutFixture {
            carts: Arc::new(MemoryCartStore::new().with_clock(clock.clone())),
            catalog: Arc::new(MemoryCatalog::with_clock(
                memory_outbox.clone(),
                clock.clone(),
            )),
            inventory: Arc::new(MemoryInventory::new(memory_outbox)),
            orders,
            checkout_store: None,
            outbox,
            gateway: Arc::new(SimulatedGateway::with_clock(clock.clone())),
            clock,
        }
    }

    /// A checkout over the fixture's stores with `config` (and its native
    /// [`CheckoutStore`], when set).
    pub fn checkout(&self, config: CheckoutConfig) -> Checkout {
        let checkout = Checkout::new(
            self.carts.clone(),
            self.catalog.clone(),
            self.inventory.clone(),
            self.orders.clone(),
            self.gateway.clone(),
            self.clock.clone(),
            config,
        );
        match &self.checkout_store {
            Some(store) => checkout.with_checkout_store(store.clone()),
            None => checkout,
        }
    }
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per
/// [`order_store`] check, each calling `$make_fixture().await` (an
/// `async fn() -> OrderStoreFixture` giving a fresh store).
#[macro_export]
macro_rules! order_store_conformance {
    ($make_fixture:path) => {
        $crate::__orders_conformance_tests!($make_fixture, order_store:
            create_stores_the_order_at_version_one_with_its_events,
            create_with_an_existing_key_returns_the_existing_order_and_writes_no_events,
            concurrent_creates_with_one_key_make_one_order,
            create_with_a_taken_id_and_another_key_conflicts,
            update_bumps_the_version_and_appends_the_events,
            update_with_a_stale_version_conflicts_and_writes_nothing,
            concurrent_updates_of_one_version_let_exactly_one_win,
            update_of_an_unknown_order_is_not_found,
            update_round_trips_payment_refunds_and_shipments,
            get_of_an_unknown_order_is_none,
            get_many_reads_the_known_orders_once,
            get_for_customer_hides_other_customers_orders,
            by_idempotency_key_finds_the_order,
            list_for_customer_pages_newest_first,
            list_for_seller_and_list_all_page_newest_first,
            list_recoverable_returns_stale_pending_orders_oldest_first,
            amounts_keep_their_currency_and_minor_units,
            list_payment_actions_due_returns_due_intents_earliest_first,
        );
    };
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per
/// [`checkout_store`] check, each calling `$make_fixture().await` (an
/// `async fn() -> CheckoutStoreFixture` giving fresh stores).
#[macro_export]
macro_rules! checkout_store_conformance {
    ($make_fixture:path) => {
        $crate::__orders_conformance_tests!($make_fixture, checkout_store:
            place_and_reserve_stores_the_order_and_holds_every_line,
            place_with_a_taken_key_returns_the_existing_order_and_holds_nothing,
            place_short_of_stock_stores_the_order_cancelled_and_holds_nothing,
            place_with_the_reservation_of_another_order_is_refused,
            place_with_a_taken_order_id_and_another_key_conflicts,
            concurrent_places_with_a_shared_order_id_place_all_others,
            concurrent_places_with_one_key_make_one_order_and_hold_stock_once,
            concurrent_places_sell_exactly_the_stock,
            commit_and_update_sells_the_stock_and_stores_the_order,
            commit_and_update_of_an_ended_reservation_changes_nothing,
            commit_and_update_of_an_unknown_reservation_changes_nothing,
            commit_and_update_with_a_stale_version_conflicts_and_keeps_the_order,
            commit_and_update_of_a_committed_reservation_sells_once,
            concurrent_commit_and_updates_let_exactly_one_win,
        );
    };
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per
/// [`payment_gateway`] check, each calling `$make_fixture().await` (an
/// `async fn() -> PaymentGatewayFixture`).
#[macro_export]
macro_rules! payment_gateway_conformance {
    ($make_fixture:path) => {
        $crate::__orders_conformance_tests!($make_fixture, payment_gateway:
            authorize_approves_and_lookup_reports_it,
            authorize_with_the_same_key_returns_the_same_authorization,
            concurrent_authorizations_with_one_key_hold_once,
            decline_is_an_outcome_and_repeats_for_the_key,
            key_reused_for_another_amount_conflicts,
            capture_takes_the_authorized_amount_once,
            void_cancels_the_hold_and_repeats_harmlessly,
            refund_is_idempotent_by_key_and_bounded_by_the_capture,
            lookup_of_an_unknown_key_is_none,
        );
    };
}

/// Expands to one test per [`preference_store`] check, each calling
/// `$make_store().await` (an `async fn() -> Arc<dyn PreferenceStore>`).
#[macro_export]
macro_rules! preference_store_conformance {
    ($make_store:path) => {
        $crate::__orders_conformance_tests!($make_store, preference_store:
            unknown_customers_get_the_defaults,
            choices_are_stored_and_replaced,
            transactional_mail_cannot_be_turned_off,
            concurrent_choices_are_all_kept,
            contact_points_are_validated_and_kept_with_choices,
        );
    };
}

/// Expands to one test per [`pricing_tables`] check, each calling
/// `$make_fixture().await` (an `async fn() -> PricingTablesFixture` giving a fresh,
/// empty store).
#[macro_export]
macro_rules! pricing_tables_conformance {
    ($make_fixture:path) => {
        $crate::__orders_conformance_tests!($make_fixture, pricing_tables:
            first_save_stores_version_one_and_round_trips,
            stale_save_conflicts_and_writes_nothing,
            concurrent_saves_of_one_version_let_exactly_one_win,
            seeding_stores_the_configuration_once,
            admin_changes_are_checked_versioned_and_seen,
        );
    };
}

/// Expands to one test per [`delivery_log`] check, each calling `$make_log().await`
/// (an `async fn() -> Arc<dyn DeliveryLog>`).
#[macro_export]
macro_rules! delivery_log_conformance {
    ($make_log:path) => {
        $crate::__orders_conformance_tests!($make_log, delivery_log:
            claim_then_sent_is_never_claimed_again,
            concurrent_claims_have_one_winner,
            keys_are_per_event_channel_and_recipient,
            release_reopens_a_claim_but_not_a_sent_message,
            stale_claims_list_unknown_outcomes,
            take_over_restamps_a_stale_claim_once,
            concurrent_takeovers_have_one_winner,
            release_of_a_claim_taken_over_leaves_the_takers,
        );
    };
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per
/// [`carrier`] check, each calling `$make_fixture().await` (an
/// `async fn() -> CarrierFixture`).
#[macro_export]
macro_rules! carrier_conformance {
    ($make_fixture:path) => {
        $crate::__orders_conformance_tests!($make_fixture, carrier:
            rates_are_deterministic_and_sorted,
            dimensional_weight_is_billed_and_weight_costs,
            invalid_parcels_are_rejected,
            tracking_numbers_are_valid_and_unique,
            tracking_starts_at_label_and_advances_with_the_clock,
            unknown_tracking_number_is_not_found,
            international_quotes_cost_more,
        );
    };
}

/// Expands to one `#[tokio::test(flavor = "multi_thread", worker_threads = 4)]` per
/// [`checkout`] check, each calling `$make_fixture().await` (an
/// `async fn() -> CheckoutFixture` giving fresh stores).
#[macro_export]
macro_rules! checkout_conformance {
    ($make_fixture:path) => {
        $crate::__orders_conformance_tests!($make_fixture, checkout:
            checkout_confirms_the_order_sells_the_stock_and_clears_the_cart,
            checkout_snapshots_prices_tax_and_shipping,
            retry_with_the_same_key_returns_the_same_order_and_charges_once,
            idempotency_scope_same_key_from_another_buyer_is_an_independent_checkout,
            idempotency_scope_same_key_with_another_request_is_an_error,
            concurrent_duplicate_checkouts_make_one_order_and_one_charge,
            last_units_race_sells_exactly_the_stock,
            decline_releases_the_stock_and_cancels_with_the_reason,
            out_of_stock_cancels_without_charging,
            recovery_after_crash_once_placed_cancels,
            recovery_after_crash_once_reserved_cancels_and_releases,
            recovery_after_crash_once_authorized_confirms_without_a_second_charge,
            recovery_after_crash_once_committed_confirms,
            recovery_after_gateway_failure_after_the_charge_confirms_once,
            recovery_voids_when_the_reservation_expired_and_the_stock_is_gone,
            recovery_rereserves_an_expired_reservation_when_stock_remains,
            recovery_leaves_young_orders_alone,
            cancel_before_shipment_refunds_and_restocks,
            cancel_of_an_interrupted_checkout_voids_its_authorization,
            retried_cancel_finishes_an_interrupted_restock,
            partial_shipments_then_delivery_complete_the_order,
            cash_on_delivery_is_captured_on_delivery,
            gift_card_balance_is_charged_once_and_restored_by_refund,
            partial_refunds_are_allocated_exactly_across_lines,
            actor_customers_and_guests_see_and_cancel_only_their_own_orders,
            actor_seller_ships_only_lines_of_their_own_products,
            actor_checkout_takes_the_cart_and_credit_of_the_actor_only,
        );
        $crate::__orders_conformance_tests!($make_fixture, promotion_limits:
            promotion_limit_holds_under_concurrent_checkouts,
            promotion_limit_per_customer_counts_accounts_and_guest_emails,
            promotion_redemption_is_given_back_only_before_capture,
        );
        $crate::__orders_conformance_tests!($make_fixture, payments:
            payment_converges_when_the_capture_answer_is_lost_or_the_capture_fails,
            reconcile_retries_a_failing_capture_with_backoff_and_surfaces_it,
            payment_converges_when_recovery_is_interrupted_before_its_capture,
            cancel_converges_to_a_refund_when_the_gateway_captured_behind_our_back,
            cancel_converges_when_its_gateway_calls_fail_before_or_after_their_work,
            refund_converges_when_the_gateway_fails_before_or_after_its_work,
            payment_converges_after_faults_at_every_gateway_call_and_checkout_step,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __orders_conformance_tests {
    ($make_fixture:path, $module:ident: $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                $crate::testkit::$module::$check($make_fixture().await).await;
            }
        )*
    };
}
