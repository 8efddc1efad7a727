//! The two implementations of [`crate::Store`].

pub mod embedded;
pub mod redis;
