//! [`MediaTag`]: one media tag as the stream hub shares it among viewers, classified once.

use bytes::Bytes;

use crate::MediaError;
use crate::audio::parse_audio_tag;
use crate::flv::{TAG_HEADER_LEN, TagKind, encode_tag};
use crate::metadata::{parse_on_metadata, strip_set_data_frame};
use crate::video::parse_video_tag;

/// A media tag as the stream hub keeps it: already-encoded FLV bytes, shared by all viewers.
/// `payload` is a slice of `flv`, so a tag costs its bytes once.
///
/// Cloning is cheap (reference-counted buffers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaTag {
    /// What the tag carries.
    pub kind: TagKind,
    /// Decoding timestamp in milliseconds, as the publisher sent it.
    pub timestamp_ms: u32,
    /// The whole encoded FLV tag, `PreviousTagSize` included, for HTTP-FLV viewers.
    pub flv: Bytes,
    /// The tag data only, for RTMP play.
    pub payload: Bytes,
    /// A coded video keyframe: where a viewer may start or resume.
    pub keyframe: bool,
    /// A video or audio sequence header (decoder configuration).
    pub sequence_header: bool,
    /// A script tag carrying `onMetaData`.
    pub metadata: bool,
}

impl MediaTag {
    /// Classifies `payload` with the video/audio/metadata parsers and encodes the FLV tag once.
    ///
    /// A script tag's leading `@setDataFrame` (as RTMP publishers send it) is removed, so
    /// viewers get a plain `onMetaData`. Video and audio whose headers do not parse are kept as
    /// ordinary droppable frames: the hub passes media through, it does not police it.
    ///
    /// # Errors
    /// [`MediaError::TagTooLarge`] if the payload does not fit in an FLV tag (16 MiB - 1).
    pub fn new(kind: TagKind, timestamp_ms: u32, payload: Bytes) -> Result<Self, MediaError> {
        let (payload, keyframe, sequence_header, metadata) = match kind {
            TagKind::Video => match parse_video_tag(&payload) {
                Ok(info) => (
                    payload,
                    info.is_keyframe(),
                    info.is_sequence_header(),
                    false,
                ),
                Err(_) => (payload, false, false, false),
            },
            TagKind::Audio => {
                let sequence_header =
                    parse_audio_tag(&payload).is_ok_and(|info| info.is_sequence_header);
                (payload, false, sequence_header, false)
            }
            TagKind::Script => {
                let stripped = payload.len() - strip_set_data_frame(&payload).len();
                let payload = payload.slice(stripped..);
                let metadata = parse_on_metadata(&payload).is_ok();
                (payload, false, false, metadata)
            }
        };
        let flv = encode_tag(kind, timestamp_ms, &payload)?;
        // The payload as a slice of the encoded tag, so the publisher's buffer (as large as
        // the tag) is not kept alongside it.
        let payload = flv.slice(TAG_HEADER_LEN..TAG_HEADER_LEN + payload.len());
        Ok(Self {
            kind,
            timestamp_ms,
            flv,
            payload,
            keyframe,
            sequence_header,
            metadata,
        })
    }

    /// The same tag backed by `flv`, a buffer holding exactly the bytes of `self.flv` (such as
    /// its slice of a segment that muxes several tags into one buffer), so that one buffer, not
    /// two, holds them. A buffer of another length leaves the tag as it is.
    pub fn rebased(self, flv: Bytes) -> Self {
        if flv.len() != self.flv.len() || flv.len() < TAG_HEADER_LEN + self.payload.len() {
            return self;
        }
        let payload = flv.slice(TAG_HEADER_LEN..TAG_HEADER_LEN + self.payload.len());
        Self {
            flv,
            payload,
            ..self
        }
    }

    /// Whether a backlogged viewer may shed this tag: non-key video and audio frames may go;
    /// script data, sequence headers and keyframes never.
    pub fn droppable(&self) -> bool {
        self.kind != TagKind::Script && !self.keyframe && !self.sequence_header
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amf0::{self, Amf0Value};
    use crate::flv::encoded_tag_len;

    #[test]
    fn video_tags_are_classified() {
        let seq = MediaTag::new(
            TagKind::Video,
            0,
            Bytes::from_static(&[0x17, 0, 0, 0, 0, 1]),
        )
        .unwrap();
        assert!(seq.sequence_header && !seq.keyframe && !seq.droppable());
        let key =
            MediaTag::new(TagKind::Video, 0, Bytes::from_static(&[0x17, 1, 0, 0, 0])).unwrap();
        assert!(key.keyframe && !key.droppable());
        let inter =
            MediaTag::new(TagKind::Video, 33, Bytes::from_static(&[0x27, 1, 0, 0, 0])).unwrap();
        assert!(inter.droppable());
        let hevc_key =
            MediaTag::new(TagKind::Video, 0, Bytes::from_static(b"\x91hvc1\0\0\0")).unwrap();
        assert!(hevc_key.keyframe);
        let garbage = MediaTag::new(TagKind::Video, 0, Bytes::new()).unwrap();
        assert!(garbage.droppable());
    }

    #[test]
    fn audio_tags_are_classified() {
        let seq = MediaTag::new(
            TagKind::Audio,
            0,
            Bytes::from_static(&[0xAF, 0, 0x12, 0x10]),
        )
        .unwrap();
        assert!(seq.sequence_header && !seq.droppable());
        let raw = MediaTag::new(TagKind::Audio, 23, Bytes::from_static(&[0xAF, 1, 0x21])).unwrap();
        assert!(raw.droppable() && !raw.keyframe);
    }

    #[test]
    fn flv_bytes_wrap_the_payload() {
        let tag =
            MediaTag::new(TagKind::Audio, 0x0102_0304, Bytes::from_static(&[0xAF, 1])).unwrap();
        assert_eq!(tag.flv.len(), encoded_tag_len(2));
        assert_eq!(tag.flv[..8], [8, 0, 0, 2, 2, 3, 4, 1]);
        assert_eq!(tag.flv[11..13], tag.payload[..]);
    }

    #[test]
    fn the_payload_shares_the_flv_buffer_and_survives_a_rebase() {
        let tag = MediaTag::new(
            TagKind::Video,
            40,
            Bytes::from_static(&[0x17, 1, 0, 0, 0, 9]),
        )
        .unwrap();
        let inside = |part: &Bytes, whole: &Bytes| {
            let (start, end) = (
                whole.as_ptr() as usize,
                whole.as_ptr() as usize + whole.len(),
            );
            (start..end).contains(&(part.as_ptr() as usize))
        };
        assert!(inside(&tag.payload, &tag.flv), "one buffer for both");

        let mut segment = vec![0xEE; 3];
        segment.extend_from_slice(&tag.flv);
        let segment = Bytes::from(segment);
        let rebased = tag.clone().rebased(segment.slice(3..));
        assert_eq!(rebased, tag, "the same tag");
        assert!(inside(&rebased.flv, &segment) && inside(&rebased.payload, &segment));
        let unchanged = tag.clone().rebased(segment.clone());
        assert!(
            inside(&unchanged.flv, &tag.flv),
            "a buffer of another length is ignored"
        );
    }

    #[test]
    fn set_data_frame_is_stripped_from_metadata() {
        let data = amf0::encode(&[
            Amf0Value::String("@setDataFrame".into()),
            Amf0Value::String("onMetaData".into()),
            Amf0Value::EcmaArray(vec![]),
        ]);
        let tag = MediaTag::new(TagKind::Script, 0, Bytes::from(data)).unwrap();
        assert!(tag.metadata && !tag.droppable());
        assert_eq!(
            amf0::decode_all(&tag.payload).unwrap()[0],
            Amf0Value::String("onMetaData".into())
        );
        assert_eq!(tag.flv[11..tag.flv.len() - 4], tag.payload[..]);

        let cue = amf0::encode(&[Amf0Value::String("onCuePoint".into())]);
        let tag = MediaTag::new(TagKind::Script, 0, Bytes::from(cue)).unwrap();
        assert!(!tag.metadata && !tag.droppable());
    }

    #[test]
    fn oversized_payload_is_refused() {
        let payload = Bytes::from(vec![0x27; crate::flv::MAX_TAG_DATA_LEN + 1]);
        assert!(matches!(
            MediaTag::new(TagKind::Video, 0, payload),
            Err(MediaError::TagTooLarge { .. })
        ));
    }
}
