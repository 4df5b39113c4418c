//! commerce-postgres (being written)
