//! The crate's error types: [`FlvError`] for the FLV byte-stream reader and [`MediaError`] for
//! everything else (tag headers, codec configurations, AMF0, metadata, tag encoding).

use thiserror::Error;

/// Why [`FlvReader`](crate::flv::FlvReader) rejected an FLV byte stream.
///
/// Every variant is fatal for the stream: the reader keeps returning the same error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FlvError {
    /// The stream does not start with `FLV`.
    #[error("not an FLV stream (signature {0:02x?})")]
    BadSignature([u8; 3]),
    /// The file header names a version other than 1.
    #[error("unsupported FLV version {0}")]
    UnsupportedVersion(u8),
    /// The file header claims to be shorter than the 9 bytes it must have.
    #[error("FLV header size {0} is smaller than 9 bytes")]
    BadHeaderSize(u32),
    /// `PreviousTagSize0`, right after the file header, is not zero.
    #[error("first PreviousTagSize is {0}, expected 0")]
    BadFirstPreviousTagSize(u32),
    /// A tag type other than audio (8), video (9) or script data (18).
    #[error("unknown FLV tag type {0}")]
    UnknownTagType(u8),
    /// A tag with the filter bit set (encrypted content), which we cannot carry.
    #[error("encrypted (filtered) FLV tags are not supported")]
    EncryptedTag,
    /// A tag's data is larger than the reader's limit.
    #[error("FLV tag of {size} bytes exceeds the limit of {max} bytes")]
    TagTooLarge {
        /// Data size the tag header announced.
        size: usize,
        /// The reader's limit.
        max: usize,
    },
    /// The `PreviousTagSize` after a tag does not match that tag's size.
    #[error("PreviousTagSize is {found}, expected {expected}")]
    PreviousTagSizeMismatch {
        /// 11 + the tag's data size.
        expected: u32,
        /// The value in the stream.
        found: u32,
    },
}

/// Why a media tag, codec configuration, AMF0 value or metadata block could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MediaError {
    /// The input ended before the structure did.
    #[error("{0} is truncated")]
    Truncated(&'static str),
    /// The input has a value the format forbids or reserves.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The structure being parsed.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A helper that expects one kind of tag was given another.
    #[error("tag is not {0}")]
    WrongTag(&'static str),
    /// An AMF0 type marker we do not decode (references, typed objects, XML, AMF3 switch…).
    #[error("unsupported AMF0 type marker {0}")]
    Amf0UnsupportedMarker(u8),
    /// AMF0 objects and arrays nested deeper than the decoder allows.
    #[error("AMF0 values nested deeper than {0} levels")]
    Amf0TooDeep(usize),
    /// More AMF0 values than the decoder allows.
    #[error("more than {0} AMF0 values")]
    Amf0TooManyValues(usize),
    /// An AMF0 block larger than the decoder allows.
    #[error("AMF0 block of {size} bytes exceeds the limit of {max} bytes")]
    Amf0TooLarge {
        /// The block's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A script tag that is not `onMetaData`.
    #[error("script data is not onMetaData")]
    NotOnMetaData,
    /// Tag data too large for the 24-bit FLV size field.
    #[error("tag data of {size} bytes exceeds the FLV limit of 16777215 bytes")]
    TagTooLarge {
        /// The data size that was asked for.
        size: usize,
    },
}
