//! The FLV container: tag kinds, sizes and limits, the file header and tag framing.
//!
//! Encoding lives in [`file_header`] and [`encode_tag`]; incremental parsing of a byte stream in
//! [`FlvReader`]. What a tag's data means (codec headers, AMF0) is the business of
//! [`video`](crate::video), [`audio`](crate::audio) and [`metadata`](crate::metadata).

mod mux;
mod reader;

pub use mux::{encode_tag, encoded_tag_len, file_header};
pub use reader::{FlvHeader, FlvReader};

use bytes::Bytes;

/// Length of the FLV file header plus `PreviousTagSize0`.
pub const FILE_HEADER_LEN: usize = 13;
/// Length of an FLV tag header.
pub const TAG_HEADER_LEN: usize = 11;
/// Length of the `PreviousTagSize` field that follows each tag.
pub const PREVIOUS_TAG_SIZE_LEN: usize = 4;
/// Largest tag data the 24-bit size field can express.
pub const MAX_TAG_DATA_LEN: usize = 0xFF_FFFF;
/// The reader's default ceiling on a tag's data size: 16 MiB.
pub const DEFAULT_MAX_TAG_SIZE: usize = 16 * 1024 * 1024;

/// FLV tag types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagKind {
    /// Audio data, tag type 8.
    Audio,
    /// Video data, tag type 9.
    Video,
    /// Script data (AMF0, e.g. `onMetaData`), tag type 18.
    Script,
}

impl TagKind {
    /// The tag type byte written in an FLV tag header.
    pub const fn type_id(self) -> u8 {
        match self {
            Self::Audio => 8,
            Self::Video => 9,
            Self::Script => 18,
        }
    }

    /// The kind for a tag type byte, if it is one of the three FLV defines.
    pub const fn from_type_id(id: u8) -> Option<Self> {
        match id {
            8 => Some(Self::Audio),
            9 => Some(Self::Video),
            18 => Some(Self::Script),
            _ => None,
        }
    }
}

/// One FLV tag as read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// What the tag carries.
    pub kind: TagKind,
    /// Decoding timestamp in milliseconds (the 24-bit field plus the extended high byte).
    pub timestamp_ms: u32,
    /// The tag data, without the tag header or `PreviousTagSize`.
    pub data: Bytes,
}

impl Tag {
    /// Encodes the tag as [`encode_tag`] does.
    ///
    /// # Errors
    /// [`MediaError::TagTooLarge`](crate::MediaError::TagTooLarge) if the data exceeds
    /// [`MAX_TAG_DATA_LEN`].
    pub fn encode(&self) -> Result<Bytes, crate::MediaError> {
        encode_tag(self.kind, self.timestamp_ms, &self.data)
    }
}
