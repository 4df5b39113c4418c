//! The routes, one module per area; each module's doc states its queries per
//! request.

pub mod account;
pub mod admin;
pub mod admin_catalog;
pub mod admin_customers;
pub mod admin_pricing;
pub mod analytics;
pub mod analytics_schema;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod notifications;
pub mod ops;
pub mod orders;
pub mod pricing_view;
pub mod recommend;
pub mod reviews;
pub mod search;
pub mod search_schema;
pub mod seller;
pub mod shipping;
pub mod tracking;
