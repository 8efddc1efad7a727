//! Redis backend (being written).

/// Placeholder.
pub struct RedisStore;
