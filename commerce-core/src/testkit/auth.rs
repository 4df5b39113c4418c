//! Conformance checks for the auth port (being written).
