//! FLV writing: the file header and whole tags, each produced as one buffer ready to be shared by
//! every viewer.

use bytes::{BufMut, Bytes, BytesMut};

use super::{FILE_HEADER_LEN, MAX_TAG_DATA_LEN, PREVIOUS_TAG_SIZE_LEN, TAG_HEADER_LEN, TagKind};
use crate::MediaError;

/// The 9-byte FLV file header followed by `PreviousTagSize0` (13 bytes in all).
pub fn file_header(has_audio: bool, has_video: bool) -> [u8; FILE_HEADER_LEN] {
    let flags = (u8::from(has_audio) << 2) | u8::from(has_video);
    [
        b'F', b'L', b'V', 1, flags, 0, 0, 0, 9, // signature, version, flags, DataOffset
        0, 0, 0, 0, // PreviousTagSize0
    ]
}

/// Bytes that [`encode_tag`] produces for `data_len` bytes of tag data.
pub const fn encoded_tag_len(data_len: usize) -> usize {
    TAG_HEADER_LEN + data_len + PREVIOUS_TAG_SIZE_LEN
}

/// One whole FLV tag (11-byte header, data, 4-byte `PreviousTagSize`) as a single buffer, ready
/// to be written to any number of viewers.
///
/// The timestamp uses all 32 bits: the low 24 in the timestamp field, the high 8 in the extended
/// byte. The stream id is always 0.
///
/// # Errors
/// [`MediaError::TagTooLarge`] if `data` is longer than
/// [`MAX_TAG_DATA_LEN`](super::MAX_TAG_DATA_LEN), which the 24-bit size field cannot express.
pub fn encode_tag(kind: TagKind, timestamp_ms: u32, data: &[u8]) -> Result<Bytes, MediaError> {
    if data.len() > MAX_TAG_DATA_LEN {
        return Err(MediaError::TagTooLarge { size: data.len() });
    }
    let [_, size_hi, size_mid, size_lo] = u32::try_from(data.len())
        .map_err(|_| MediaError::TagTooLarge { size: data.len() })?
        .to_be_bytes();
    let [ts_ext, ts_hi, ts_mid, ts_lo] = timestamp_ms.to_be_bytes();
    let mut out = BytesMut::with_capacity(encoded_tag_len(data.len()));
    out.put_slice(&[
        kind.type_id(),
        size_hi,
        size_mid,
        size_lo,
        ts_hi,
        ts_mid,
        ts_lo,
        ts_ext,
        0,
        0,
        0,
    ]);
    out.put_slice(data);
    // 11 + at most 0xFF_FFFF always fits in a u32.
    let previous_tag_size = (TAG_HEADER_LEN + data.len()) as u32;
    out.put_u32(previous_tag_size);
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_header_sets_audio_and_video_flags() {
        assert_eq!(
            file_header(true, true),
            [0x46, 0x4C, 0x56, 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]
        );
        assert_eq!(file_header(false, true)[4], 1);
        assert_eq!(file_header(true, false)[4], 4);
        assert_eq!(file_header(false, false)[4], 0);
    }

    #[test]
    fn tag_carries_extended_timestamp_and_previous_tag_size() {
        let tag = encode_tag(TagKind::Video, 0x1234_5678, &[0xAA, 0xBB]).unwrap();
        assert_eq!(
            &tag[..],
            &[
                9, 0, 0, 2, 0x34, 0x56, 0x78, 0x12, 0, 0, 0, 0xAA, 0xBB, 0, 0, 0, 13
            ]
        );
        assert_eq!(tag.len(), encoded_tag_len(2));
    }

    #[test]
    fn oversized_tag_data_is_refused() {
        let data = vec![0; MAX_TAG_DATA_LEN + 1];
        assert_eq!(
            encode_tag(TagKind::Audio, 0, &data),
            Err(MediaError::TagTooLarge { size: data.len() })
        );
        assert!(encode_tag(TagKind::Audio, 0, &data[1..]).is_ok());
    }
}
