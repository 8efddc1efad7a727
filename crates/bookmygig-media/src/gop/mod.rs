//! What the stream hub keeps: each tag classified and encoded once ([`MediaTag`]), and the cache
//! that lets a new viewer start at once ([`GopCache`]).
//!
//! Queues, viewers and fan-out are the server's; this module only decides what a tag is and what
//! a newcomer needs.

mod cache;
mod media_tag;

pub use cache::{GopCache, GopLimits};
pub use media_tag::MediaTag;
