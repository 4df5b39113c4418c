//! # commerce-orders
//!
//! Orders, their payment and fulfilment state machines, the `PaymentGateway` and
//! `OrderStore` ports, and an idempotent checkout (being written).
