//! In-memory implementations of the ports `commerce-core` owns: the reference
//! behaviour, and the embedded default of the example server.

mod auth;
mod catalog;
mod credentials;
mod customers;
mod outbox;
mod search;

pub use auth::*;
pub use catalog::*;
pub use credentials::*;
pub use customers::*;
pub use outbox::*;
pub use search::*;
