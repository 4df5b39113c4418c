//! In-memory outbox store (being written).
