//! Conformance checks for the catalog port (being written).
