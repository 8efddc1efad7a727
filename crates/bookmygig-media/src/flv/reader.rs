//! Incremental FLV demuxing: push bytes as they arrive, pull whole tags when they are complete.
//!
//! The reader owns no socket and never blocks; an incomplete header or tag is `Ok(None)`.

use bytes::{Buf, BytesMut};

use super::{DEFAULT_MAX_TAG_SIZE, PREVIOUS_TAG_SIZE_LEN, TAG_HEADER_LEN, Tag, TagKind};
use crate::FlvError;

/// Length of the version-1 file header, without `PreviousTagSize0`.
const HEADER_LEN: usize = 9;
/// Filter bit of the tag type byte: the tag is encrypted.
const FILTER_BIT: u8 = 0x20;

/// What the FLV file header declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlvHeader {
    /// The audio flag: the stream says it has audio tags.
    pub has_audio: bool,
    /// The video flag: the stream says it has video tags.
    pub has_video: bool,
}

/// Where the reader is in the stream.
#[derive(Debug)]
enum State {
    /// Waiting for the 9-byte file header.
    Header,
    /// Skipping header bytes beyond the 9 we understand (DataOffset > 9).
    SkipHeader(u64),
    /// Waiting for `PreviousTagSize0`.
    FirstPreviousTagSize,
    /// Reading tags.
    Tags,
    /// A fatal error was found; it is returned again on every call.
    Failed(FlvError),
}

/// Incremental reader of an FLV byte stream (file header, then tags): push bytes, pull tags.
///
/// Validates the signature and header, the tag types, each tag's data size against a ceiling
/// ([`DEFAULT_MAX_TAG_SIZE`] unless set with [`with_max_tag_size`](Self::with_max_tag_size)) and
/// that every `PreviousTagSize` matches the tag before it. Tag data is handed out as a
/// [`Bytes`](bytes::Bytes) slice of the internal buffer, without copying.
///
/// The reader buffers whatever is pushed until it is pulled; callers bound memory by pulling
/// after each push (one tag needs at most the ceiling plus 15 bytes).
#[derive(Debug)]
pub struct FlvReader {
    /// Bytes pushed but not yet consumed.
    buf: BytesMut,
    state: State,
    /// Ceiling on one tag's data size, so a stranger cannot make us buffer without bound.
    max_tag_size: usize,
    /// The file header, once read.
    header: Option<FlvHeader>,
}

impl Default for FlvReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FlvReader {
    /// A reader expecting an FLV file header first, with the default tag-size ceiling.
    pub fn new() -> Self {
        Self {
            buf: BytesMut::new(),
            state: State::Header,
            max_tag_size: DEFAULT_MAX_TAG_SIZE,
            header: None,
        }
    }

    /// Sets the largest tag data size accepted; larger tags are [`FlvError::TagTooLarge`].
    #[must_use]
    pub fn with_max_tag_size(mut self, max_tag_size: usize) -> Self {
        self.max_tag_size = max_tag_size;
        self
    }

    /// Appends bytes from the stream. Ignored once the reader has failed.
    pub fn push(&mut self, bytes: &[u8]) {
        if !matches!(self.state, State::Failed(_)) {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The file header's flags, once the header has been read.
    pub fn header(&self) -> Option<FlvHeader> {
        self.header
    }

    /// Bytes pushed but not yet returned as part of a tag (non-zero at the end of a stream means
    /// it was cut short).
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// The next complete tag, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    /// An [`FlvError`] when the stream is not valid FLV. The error is fatal: every later call
    /// returns it again.
    pub fn next_tag(&mut self) -> Result<Option<Tag>, FlvError> {
        match self.step() {
            Err(error) => {
                self.buf = BytesMut::new();
                self.state = State::Failed(error.clone());
                Err(error)
            }
            ok => ok,
        }
    }

    fn step(&mut self) -> Result<Option<Tag>, FlvError> {
        loop {
            match &mut self.state {
                State::Failed(error) => return Err(error.clone()),
                State::Header => {
                    let Some(header) = self
                        .buf
                        .get(..HEADER_LEN)
                        .and_then(|h| <[u8; HEADER_LEN]>::try_from(h).ok())
                    else {
                        return Ok(None);
                    };
                    let signature = [header[0], header[1], header[2]];
                    if &signature != b"FLV" {
                        return Err(FlvError::BadSignature(signature));
                    }
                    if header[3] != 1 {
                        return Err(FlvError::UnsupportedVersion(header[3]));
                    }
                    let flags = header[4];
                    let data_offset =
                        u32::from_be_bytes([header[5], header[6], header[7], header[8]]);
                    let extra = data_offset
                        .checked_sub(HEADER_LEN as u32)
                        .ok_or(FlvError::BadHeaderSize(data_offset))?;
                    self.header = Some(FlvHeader {
                        has_audio: flags & 0x04 != 0,
                        has_video: flags & 0x01 != 0,
                    });
                    self.buf.advance(HEADER_LEN);
                    self.state = State::SkipHeader(u64::from(extra));
                }
                State::SkipHeader(remaining) => {
                    let available = self.buf.len() as u64;
                    let skip = (*remaining).min(available);
                    // skip <= buf.len(), so it fits in usize.
                    self.buf.advance(skip as usize);
                    *remaining -= skip;
                    if *remaining > 0 {
                        return Ok(None);
                    }
                    self.state = State::FirstPreviousTagSize;
                }
                State::FirstPreviousTagSize => {
                    if self.buf.len() < PREVIOUS_TAG_SIZE_LEN {
                        return Ok(None);
                    }
                    let size = self.buf.get_u32();
                    if size != 0 {
                        return Err(FlvError::BadFirstPreviousTagSize(size));
                    }
                    self.state = State::Tags;
                }
                State::Tags => return self.read_tag(),
            }
        }
    }

    fn read_tag(&mut self) -> Result<Option<Tag>, FlvError> {
        let Some(header) = self
            .buf
            .get(..TAG_HEADER_LEN)
            .and_then(|h| <[u8; TAG_HEADER_LEN]>::try_from(h).ok())
        else {
            return Ok(None);
        };
        let type_byte = header[0];
        if type_byte & FILTER_BIT != 0 {
            return Err(FlvError::EncryptedTag);
        }
        let kind = TagKind::from_type_id(type_byte).ok_or(FlvError::UnknownTagType(type_byte))?;
        let size = u32::from_be_bytes([0, header[1], header[2], header[3]]);
        let timestamp_ms = u32::from_be_bytes([header[7], header[4], header[5], header[6]]);
        // A 24-bit value always fits in usize.
        let data_len = size as usize;
        if data_len > self.max_tag_size {
            return Err(FlvError::TagTooLarge {
                size: data_len,
                max: self.max_tag_size,
            });
        }
        let total = TAG_HEADER_LEN + data_len + PREVIOUS_TAG_SIZE_LEN;
        let Some(trailer) = self
            .buf
            .get(total - PREVIOUS_TAG_SIZE_LEN..total)
            .and_then(|t| <[u8; PREVIOUS_TAG_SIZE_LEN]>::try_from(t).ok())
        else {
            return Ok(None);
        };
        let found = u32::from_be_bytes(trailer);
        let expected = TAG_HEADER_LEN as u32 + size;
        if found != expected {
            return Err(FlvError::PreviousTagSizeMismatch { expected, found });
        }
        self.buf.advance(TAG_HEADER_LEN);
        let data = self.buf.split_to(data_len).freeze();
        self.buf.advance(PREVIOUS_TAG_SIZE_LEN);
        Ok(Some(Tag {
            kind,
            timestamp_ms,
            data,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::{encode_tag, file_header};

    fn stream(tags: &[(TagKind, u32, &[u8])]) -> Vec<u8> {
        let mut out = file_header(true, true).to_vec();
        for (kind, ts, data) in tags {
            out.extend_from_slice(&encode_tag(*kind, *ts, data).unwrap());
        }
        out
    }

    fn read_all(reader: &mut FlvReader) -> Result<Vec<Tag>, FlvError> {
        let mut tags = Vec::new();
        while let Some(tag) = reader.next_tag()? {
            tags.push(tag);
        }
        Ok(tags)
    }

    #[test]
    fn reads_header_and_tags_pushed_one_byte_at_a_time() {
        let bytes = stream(&[
            (TagKind::Script, 0, b"meta"),
            (TagKind::Video, 40, &[0x17, 0]),
            (TagKind::Audio, 0x0100_0000, &[]),
        ]);
        let mut reader = FlvReader::new();
        let mut tags = Vec::new();
        for byte in &bytes {
            reader.push(std::slice::from_ref(byte));
            while let Some(tag) = reader.next_tag().unwrap() {
                tags.push(tag);
            }
        }
        assert_eq!(
            reader.header(),
            Some(FlvHeader {
                has_audio: true,
                has_video: true
            })
        );
        assert_eq!(reader.buffered_len(), 0);
        let summary: Vec<_> = tags
            .iter()
            .map(|t| (t.kind, t.timestamp_ms, t.data.to_vec()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (TagKind::Script, 0, b"meta".to_vec()),
                (TagKind::Video, 40, vec![0x17, 0]),
                (TagKind::Audio, 0x0100_0000, vec![]),
            ]
        );
    }

    #[test]
    fn incomplete_input_needs_more_bytes() {
        let bytes = stream(&[(TagKind::Video, 0, &[1, 2, 3])]);
        let mut reader = FlvReader::new();
        reader.push(&bytes[..bytes.len() - 1]);
        assert_eq!(reader.next_tag(), Ok(None));
        assert_eq!(reader.buffered_len(), 17);
        reader.push(&bytes[bytes.len() - 1..]);
        assert!(reader.next_tag().unwrap().is_some());
    }

    #[test]
    fn bad_signature_is_fatal_and_sticky() {
        let mut reader = FlvReader::new();
        reader.push(b"GIF89a\0\0\0\0\0\0\0");
        let error = FlvError::BadSignature(*b"GIF");
        assert_eq!(reader.next_tag(), Err(error.clone()));
        reader.push(&file_header(true, true));
        assert_eq!(reader.next_tag(), Err(error));
    }

    #[test]
    fn header_problems_are_reported() {
        let mut bytes = file_header(true, true);
        bytes[3] = 2;
        let mut reader = FlvReader::new();
        reader.push(&bytes);
        assert_eq!(reader.next_tag(), Err(FlvError::UnsupportedVersion(2)));

        let mut bytes = file_header(true, true);
        bytes[8] = 8;
        let mut reader = FlvReader::new();
        reader.push(&bytes);
        assert_eq!(reader.next_tag(), Err(FlvError::BadHeaderSize(8)));

        let mut bytes = file_header(true, true);
        bytes[12] = 1;
        let mut reader = FlvReader::new();
        reader.push(&bytes);
        assert_eq!(reader.next_tag(), Err(FlvError::BadFirstPreviousTagSize(1)));
    }

    #[test]
    fn longer_header_is_skipped() {
        let mut bytes = vec![
            b'F', b'L', b'V', 1, 1, 0, 0, 0, 12, 0xEE, 0xEE, 0xEE, 0, 0, 0, 0,
        ];
        bytes.extend_from_slice(&encode_tag(TagKind::Video, 7, &[0x27, 1]).unwrap());
        let mut reader = FlvReader::new();
        reader.push(&bytes[..10]);
        assert_eq!(reader.next_tag(), Ok(None));
        reader.push(&bytes[10..]);
        let tags = read_all(&mut reader).unwrap();
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].timestamp_ms, 7);
    }

    #[test]
    fn oversized_tag_is_rejected_before_it_is_buffered() {
        let mut bytes = file_header(false, true).to_vec();
        bytes.extend_from_slice(&[9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]); // 256 bytes announced
        let mut reader = FlvReader::new().with_max_tag_size(255);
        reader.push(&bytes);
        assert_eq!(
            reader.next_tag(),
            Err(FlvError::TagTooLarge {
                size: 256,
                max: 255
            })
        );
    }

    #[test]
    fn unknown_and_encrypted_tags_are_rejected() {
        let mut bytes = file_header(true, true).to_vec();
        bytes.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);
        let mut reader = FlvReader::new();
        reader.push(&bytes);
        assert_eq!(reader.next_tag(), Err(FlvError::UnknownTagType(7)));

        let mut bytes = file_header(true, true).to_vec();
        bytes.extend_from_slice(&[0x29, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);
        let mut reader = FlvReader::new();
        reader.push(&bytes);
        assert_eq!(reader.next_tag(), Err(FlvError::EncryptedTag));
    }

    #[test]
    fn previous_tag_size_mismatch_is_rejected() {
        let mut bytes = stream(&[(TagKind::Audio, 0, &[0xAF, 1, 2])]);
        let last = bytes.len() - 1;
        bytes[last] = 13;
        let mut reader = FlvReader::new();
        reader.push(&bytes);
        assert_eq!(
            reader.next_tag(),
            Err(FlvError::PreviousTagSizeMismatch {
                expected: 14,
                found: 13
            })
        );
    }
}
