//! # commerce-core
//!
//! The shared vocabulary of the `commerce` crates: [`Money`] and [`Currency`], typed
//! ids, the catalog and customer model, pricing (discounts, tax, shipping) as a pure
//! function, domain events, and the ports this crate owns ([`ports::CatalogStore`],
//! [`ports::CustomerStore`], [`ports::Outbox`], [`clock::Clock`]).
//!
//! This crate does no I/O and depends on no runtime.

pub mod accounts;
pub mod actor;
pub mod address;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod error;
pub mod event;
#[cfg(feature = "generator")]
pub mod generator;
pub mod id;
pub mod memory;
pub mod money;
pub mod ports;
pub mod pricing;
pub mod role;
pub mod search;
pub mod shipping;
pub mod tax;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod worker;

pub use actor::{Actor, GuestCartId, GuestCartToken};
pub use address::{Address, CountryCode, Customer, SavedAddress};
pub use catalog::{
    Category, OptionValue, Product, ProductBuilder, ProductImage, ProductOption, ProductStatus,
    Seller, SkuListing, TaxClass, Variant, VariantBuilder,
};
pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use error::{BoxError, Error, Result};
pub use event::{CatalogEvent, CategoryEvent, DomainEvent, EventEnvelope};
pub use id::{AddressId, CategoryId, CustomerId, EventId, ProductId, SellerId, Sku};
pub use money::{Currency, Money, Rounding};
pub use pricing::{PriceBreakdown, PricedLine, PricingLine, PricingRequest, Promotion};
pub use role::Role;
pub use shipping::ShippingMethod;
pub use tax::{TaxRate, TaxTable};
pub use worker::{
    BatchOutcome, EventConsumer, ParkedEvent, Pass, Runner, RunnerConfig, Timer, drain,
    keeping_lease, run_once,
};

#[doc(hidden)]
pub mod __private {
    pub use uuid::Uuid;
}
