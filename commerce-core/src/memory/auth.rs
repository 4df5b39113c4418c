//! In-memory auth store (being written).
