//! Media handling for BookMyGig's live video, as pure code: bytes in, values and bytes out.
//!
//! The RTMP ingest and the HTTP-FLV / RTMP egress of the server build on this crate; sockets,
//! sessions and access control live there, never here.
//!
//! - [`flv`]: the FLV container: file header, tag framing and an incremental reader.
//! - [`video`] and [`audio`]: FLV video/audio tag headers (legacy and enhanced RTMP) and the
//!   AVC / AAC decoder configurations they carry.
//! - [`amf0`]: the AMF0 values used by script tags.
//! - [`metadata`]: `onMetaData` script tags and the [`StreamFacts`](metadata::StreamFacts) read
//!   from them and from the sequence headers.
//! - [`gop`]: the tag as the stream hub shares it ([`MediaTag`](gop::MediaTag)) and the cache that
//!   lets a new viewer start at once ([`GopCache`](gop::GopCache)).
//!
//! Parsers never panic on arbitrary input; "need more bytes" is `Ok(None)`, not an error.
//! Every byte here may come from a stranger, so indexing that could panic is refused by the
//! compiler outside tests (`clippy::indexing_slicing`): use `get`, or fixed-size arrays.

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod amf0;
pub mod audio;
mod bits;
mod error;
pub mod flv;
pub mod gop;
pub mod metadata;
pub mod video;

pub use error::{FlvError, MediaError};
