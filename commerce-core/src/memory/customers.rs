//! In-memory customers store (being written).
