//! Conformance checks for the outbox port (being written).
