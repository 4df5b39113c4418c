//! commerce-redis (being written)
