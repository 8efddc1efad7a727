//! `Cutter`: turns one publisher session's tags into recording segments: timestamps moved onto
//! the recording's timeline, the stream's own metadata dropped (the replay file makes its own),
//! sequence headers kept once for the whole recording, and a cut at the first keyframe after
//! [`SEGMENT_TARGET_MS`] so every segment starts where a player can begin decoding and a crash
//! loses only the segment being gathered.

use bookmygig_media::MediaError;
use bookmygig_media::flv::{TagKind, encode_tag};
use bookmygig_media::gop::MediaTag;
use bytes::{Bytes, BytesMut};

/// A segment is closed at the first keyframe once it spans this long: about what a crash may
/// lose, and the seeking granularity of a stream whose keyframes are further apart.
pub const SEGMENT_TARGET_MS: u64 = 2_000;
/// A segment is closed at this span whatever comes next (a stream with rare keyframes).
pub const SEGMENT_MAX_MS: u64 = 6_000;
/// A segment is closed before it grows past this many bytes (very high bitrates).
pub const SEGMENT_MAX_BYTES: usize = 16 << 20;
/// Duration given to the last frame of a session (about one frame at 30 fps).
const LAST_FRAME_MS: u64 = 33;

/// One closed segment, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Position of its first tag.
    pub start_ms: u64,
    /// Position just after its last frame.
    pub end_ms: u64,
    /// Whole FLV tags.
    pub bytes: Bytes,
    /// (position, byte offset) of each keyframe in it.
    pub keyframes: Vec<(u64, u64)>,
}

/// The sequence headers a recording starts with, and what the stream carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Video sequence header (tag data).
    pub video: Option<Vec<u8>>,
    /// Audio sequence header (tag data).
    pub audio: Option<Vec<u8>>,
    /// Video seen.
    pub has_video: bool,
    /// Audio seen.
    pub has_audio: bool,
}

/// Cuts one publisher session into segments.
#[derive(Debug)]
pub struct Cutter {
    /// Position of the session's first frame.
    base_ms: u64,
    /// Stream timestamp of the session's first frame.
    first_ts: Option<u32>,
    last_ms: u64,
    headers: Headers,
    current: BytesMut,
    start_ms: Option<u64>,
    keyframes: Vec<(u64, u64)>,
}

impl Cutter {
    /// A session whose first frame goes at `base_ms`; `headers` are those the recording
    /// already starts with (a session that sends the same ones again does not store them).
    pub fn new(base_ms: u64, headers: Headers) -> Self {
        Cutter {
            base_ms,
            first_ts: None,
            last_ms: base_ms,
            headers,
            current: BytesMut::new(),
            start_ms: None,
            keyframes: Vec::new(),
        }
    }

    /// The recording's headers as known now.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// Takes one tag; returns the segment it closed, if any.
    ///
    /// # Errors
    /// A tag that cannot be written as FLV (larger than a tag can be; ingest refuses those).
    pub fn push(&mut self, tag: &MediaTag) -> Result<Option<Cut>, MediaError> {
        match tag.kind {
            TagKind::Script => return Ok(None),
            TagKind::Video => self.headers.has_video = true,
            TagKind::Audio => self.headers.has_audio = true,
        }
        if tag.sequence_header {
            let known = match tag.kind {
                TagKind::Video => &mut self.headers.video,
                _ => &mut self.headers.audio,
            };
            match known {
                None => {
                    *known = Some(tag.payload.to_vec());
                    return Ok(None);
                }
                Some(same) if same.as_slice() == tag.payload.as_ref() => return Ok(None),
                // A new encoder configuration: stored where it happens.
                Some(_) => {}
            }
        }
        let first_ts = *self.first_ts.get_or_insert(tag.timestamp_ms);
        let position = self.base_ms + u64::from(tag.timestamp_ms.saturating_sub(first_ts));
        let starts_decoding =
            tag.keyframe || (tag.kind == TagKind::Audio && !self.headers.has_video);
        let closed = match self.start_ms {
            Some(start)
                if (starts_decoding && position.saturating_sub(start) >= SEGMENT_TARGET_MS)
                    || position.saturating_sub(start) >= SEGMENT_MAX_MS
                    || self.current.len() + tag.flv.len() > SEGMENT_MAX_BYTES =>
            {
                self.close(position)
            }
            _ => None,
        };
        let position32 = u32::try_from(position).unwrap_or(u32::MAX);
        let encoded = encode_tag(tag.kind, position32, &tag.payload)?;
        if tag.keyframe {
            self.keyframes.push((position, self.current.len() as u64));
        }
        self.start_ms.get_or_insert(position);
        self.current.extend_from_slice(&encoded);
        self.last_ms = self.last_ms.max(position);
        Ok(closed)
    }

    /// Closes the segment being gathered (the session ended).
    pub fn finish(&mut self) -> Option<Cut> {
        self.close(self.last_ms + LAST_FRAME_MS)
    }

    fn close(&mut self, end_ms: u64) -> Option<Cut> {
        let start_ms = self.start_ms.take()?;
        Some(Cut {
            start_ms,
            end_ms: end_ms.max(start_ms),
            bytes: std::mem::take(&mut self.current).freeze(),
            keyframes: std::mem::take(&mut self.keyframes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(ts: u32, key: bool) -> MediaTag {
        let first = if key { 0x17 } else { 0x27 };
        MediaTag::new(
            TagKind::Video,
            ts,
            Bytes::from(vec![first, 1, 0, 0, 0, 0xAA]),
        )
        .unwrap()
    }

    fn avc_header(byte: u8) -> MediaTag {
        MediaTag::new(TagKind::Video, 0, Bytes::from(vec![0x17, 0, 0, 0, 0, byte])).unwrap()
    }

    fn timestamps(bytes: &[u8]) -> Vec<u32> {
        let mut reader = bookmygig_media::flv::FlvReader::new();
        let mut file = bookmygig_media::flv::file_header(false, true).to_vec();
        file.extend_from_slice(bytes);
        reader.push(&file);
        let mut out = Vec::new();
        while let Some(tag) = reader.next_tag().unwrap() {
            out.push(tag.timestamp_ms);
        }
        out
    }

    #[test]
    fn segments_start_at_keyframes_on_the_recordings_timeline() {
        let mut cutter = Cutter::new(10_000, Headers::default());
        assert_eq!(cutter.push(&avc_header(1)).unwrap(), None);
        let mut cuts = Vec::new();
        // A stream whose timestamps start at 5000, keyframes every second.
        for i in 0..100u32 {
            let ts = 5_000 + i * 100;
            cuts.extend(cutter.push(&video(ts, i % 10 == 0)).unwrap());
        }
        cuts.extend(cutter.finish());
        assert_eq!(cutter.headers().video, Some(vec![0x17, 0, 0, 0, 0, 1]));
        let starts: Vec<u64> = cuts.iter().map(|c| c.start_ms).collect();
        assert_eq!(starts, vec![10_000, 12_000, 14_000, 16_000, 18_000]);
        assert_eq!(cuts[0].end_ms, 12_000);
        assert_eq!(cuts[4].end_ms, 19_900 + LAST_FRAME_MS);
        assert_eq!(cuts[1].keyframes, vec![(12_000, 0), (13_000, 10 * 21)]);
        assert_eq!(timestamps(&cuts[1].bytes)[0], 12_000);
    }

    #[test]
    fn the_same_header_again_is_not_stored_but_a_new_one_is() {
        let known = Headers {
            video: Some(vec![0x17, 0, 0, 0, 0, 1]),
            ..Headers::default()
        };
        let mut cutter = Cutter::new(0, known);
        cutter.push(&avc_header(1)).unwrap();
        assert_eq!(cutter.finish(), None, "nothing stored for a known header");
        cutter.push(&avc_header(2)).unwrap();
        let cut = cutter.finish().expect("the new header is stored");
        assert_eq!(timestamps(&cut.bytes), vec![0]);
    }

    #[test]
    fn a_stream_without_keyframes_is_still_cut() {
        let mut cutter = Cutter::new(0, Headers::default());
        let mut cuts = 0;
        for i in 0..200u32 {
            cuts += usize::from(cutter.push(&video(i * 100, i == 0)).unwrap().is_some());
        }
        assert_eq!(cuts, 3, "cut every {SEGMENT_MAX_MS} ms");
    }
}
