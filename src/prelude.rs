//! The names most programs using the shop need, in one import:
//! `use commerce::prelude::*;`.

pub use crate::shop::{Shop, ShopBuilder, default_config};
pub use commerce_cart::{CartKey, CartLimits, CartStore, GuestCartToken};
pub use commerce_core::ports::{CatalogStore, CustomerStore};
pub use commerce_core::{
    Actor, Address, Clock, CountryCode, Currency, CustomerId, Money, Product, ProductId,
    ProductStatus, SellerId, Sku, Variant,
};
pub use commerce_inventory::{InventoryStore, LocationCode, StockAdjustment};
pub use commerce_orders::{
    CancelReason, Checkout, CheckoutConfig, CheckoutRequest, IdempotencyKey, Order, OrderId,
    OrderPage, OrderStatus, PaymentMethod,
};
