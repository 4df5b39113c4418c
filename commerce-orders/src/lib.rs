//! # commerce-orders
//!
//! Orders and their three state machines ([`OrderStatus`], [`PaymentStatus`],
//! [`FulfilmentStatus`]), the [`OrderStore`] and [`PaymentGateway`] ports with
//! in-memory implementations, the [`CheckoutStore`] port (the checkout steps that
//! change orders and stock together; [`SeparateStores`] runs them on the two separate
//! ports), and an idempotent [`checkout`] with recovery, cancels, shipments and
//! refunds; carriers, rate shopping and tracking ([`carrier`]); the notification
//! policy ([`notification`]).

pub mod access;
pub mod carrier;
pub mod checkout;
pub mod checkout_store;
pub mod error;
pub mod event;
pub mod id;
pub mod lifecycle;
pub mod machine;
pub mod memory;
pub mod model;
pub mod notification;
pub mod payment;
pub mod simulated;
pub mod store;

pub use carrier::{
    Carrier, CarrierCode, CarrierSet, Parcel, RateQuote, ServiceLevel, ShippingOptions,
    SimulatedCarrier, TrackingEvent, TrackingStatus,
};
pub use checkout::quote::{CartQuote, ShippingQuote};
pub use checkout::tracking::{OrderTracking, ShipmentTracking};
pub use checkout::{
    CapturePolicy, Checkout, CheckoutConfig, CheckoutLimits, CheckoutRequest, CheckoutStep,
    RecoveryOutcome, RecoveryReport, RequestFingerprint,
};
pub use checkout_store::{CheckoutStore, PlaceOutcome, SeparateStores};
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
pub use simulated::{FaultTiming, GatewayOperation, GatewayStats, SimulatedGateway};
pub use store::{CreateOutcome, OrderPage, OrderStore};
#[cfg(feature = "testkit")]
pub mod testkit;
