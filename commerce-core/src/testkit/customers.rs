//! Conformance checks for the customers port (being written).
