//! # commerce-orders
//!
//! Orders and their three state machines ([`OrderStatus`], [`PaymentStatus`],
//! [`FulfilmentStatus`]), the [`OrderStore`] and [`PaymentGateway`] ports with
//! in-memory implementations, the [`CheckoutStore`] port (the checkout steps that
//! change orders and stock together; [`SeparateStores`] runs them on the two separate
//! ports), and an idempotent [`checkout`] with recovery, cancels, shipments and
//! refunds; carriers, rate shopping and tracking ([`carrier`]); the notification
//! policy ([`notification`]); the shop's pricing tables that admins change at run
//! time ([`pricing_tables`]).

pub mod access;
pub mod carrier;
pub mod checkout;
pub mod error;
pub mod event;
pub mod id;
pub mod lifecycle;
pub mod machine;
pub mod memory;
pub mod model;
pub mod notification;
pub mod payment;
pub mod ports;
pub mod pricing_tables;
pub mod redemption;
pub mod separate_stores;
#[cfg(feature = "simulated")]
pub mod simulated;

pub use carrier::{
    Carrier, CarrierCode, CarrierSet, Parcel, RateQuote, ServiceLevel, ShippingOptions,
    SimulatedCarrier, TrackingEvent, TrackingStatus,
};
#[cfg(feature = "testkit")]
pub use checkout::CheckoutStep;
pub use checkout::quote::{CartQuote, ShippingQuote};
pub use checkout::tracking::{OrderTracking, ShipmentTracking};
pub use checkout::{
    CapturePolicy, Checkout, CheckoutConfig, CheckoutLimits, CheckoutRequest, RecoveryOutcome,
    RecoveryReport, RequestFingerprint,
};
pub use error::{Error, Result};
pub use event::{OrderEvent, PlacedLine};
pub use id::{IdempotencyKey, OrderId, RefundId, ShipmentId};
pub use lifecycle::{NewOrder, Transitioned};
pub use machine::{
    FulfilmentStatus, Machine, MachineState, OrderStatus, PaymentStatus, StateMachine,
};
pub use memory::MemoryOrderStore;
pub use model::*;
pub use payment::*;
pub use ports::{
    CheckoutStore, CreateOutcome, OrderPage, OrderStore, PlaceOutcome, PricingTableStore,
};
pub use pricing_tables::{
    MemoryPricingTableStore, PricingCacheConsumer, PricingTables, PricingTablesChanged,
    PricingTablesService, PromotionRule,
};
pub use redemption::{Redemption, RedemptionLedger};
pub use separate_stores::SeparateStores;
#[cfg(feature = "testkit")]
pub use simulated::{FaultTiming, GatewayOperation};
#[cfg(feature = "simulated")]
pub use simulated::{GatewayStats, SimulatedGateway};

/// The storage ports under their former module name; use [`ports`].
#[doc(hidden)]
pub use ports as store;

/// The checkout-store items under their former module name; use [`ports`] and
/// [`separate_stores`].
#[doc(hidden)]
pub mod checkout_store {
    pub use crate::ports::{CheckoutStore, PlaceOutcome};
    pub use crate::separate_stores::*;
}
#[cfg(feature = "testkit")]
pub mod testkit;
