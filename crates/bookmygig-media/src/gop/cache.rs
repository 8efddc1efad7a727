//! [`GopCache`]: what a viewer joining mid-stream needs to start playing at once.

use std::collections::VecDeque;

use super::MediaTag;
use crate::flv::TagKind;

/// Bounds on the cache, so a publisher that never sends a keyframe cannot make it grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GopLimits {
    /// Most FLV bytes one GOP may hold; a longer GOP is dropped until the next keyframe.
    pub max_bytes: usize,
    /// Most tags one GOP may hold; a longer GOP is dropped until the next keyframe.
    pub max_tags: usize,
    /// For audio-only streams: how much recent audio, in milliseconds, a newcomer gets.
    pub audio_window_ms: u32,
}

impl Default for GopLimits {
    /// 8 MiB, 2,000 tags, one second of audio.
    fn default() -> Self {
        Self {
            max_bytes: 8 * 1024 * 1024,
            max_tags: 2_000,
            audio_window_ms: 1_000,
        }
    }
}

/// Keeps what a newcomer needs to start at once: the latest `onMetaData` tag, the latest video
/// and audio sequence headers, and every tag since the latest video keyframe (for audio-only
/// streams: a short window of recent audio).
///
/// Bounded by [`GopLimits`]: a GOP over the byte or tag limit is dropped until the next keyframe.
/// A sequence header that differs from the previous one (a new encoder configuration) also drops
/// the cached frames, which the new configuration could not decode.
#[derive(Debug, Clone, Default)]
pub struct GopCache {
    limits: GopLimits,
    metadata: Option<MediaTag>,
    video_sequence_header: Option<MediaTag>,
    audio_sequence_header: Option<MediaTag>,
    /// Tags since the latest keyframe (or the recent audio window), in arrival order.
    tags: VecDeque<MediaTag>,
    /// FLV bytes held in `tags`.
    bytes: usize,
    /// The stream has video: cache GOPs rather than an audio window.
    has_video: bool,
    /// The current GOP has a keyframe at its head and stayed within limits, so appending to it
    /// is useful; otherwise frames wait for the next keyframe.
    gop_open: bool,
}

impl GopCache {
    /// An empty cache with these limits.
    pub fn new(limits: GopLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Takes in the next tag of the stream.
    pub fn push(&mut self, tag: &MediaTag) {
        match tag.kind {
            TagKind::Script if tag.metadata => self.metadata = Some(tag.clone()),
            TagKind::Video if tag.sequence_header => {
                if replace_header(&mut self.video_sequence_header, tag) {
                    self.reset_frames();
                }
                self.has_video = true;
            }
            TagKind::Audio if tag.sequence_header => {
                if replace_header(&mut self.audio_sequence_header, tag) {
                    self.reset_frames();
                }
            }
            TagKind::Video if tag.keyframe => {
                // Also where an audio window gives way to GOPs.
                self.has_video = true;
                self.reset_frames();
                self.gop_open = true;
                self.append(tag);
            }
            TagKind::Video => {
                if !self.has_video {
                    self.has_video = true;
                    self.reset_frames();
                }
                if self.gop_open {
                    self.append(tag);
                }
            }
            TagKind::Audio if !self.has_video => self.append_to_audio_window(tag),
            // Audio and other script data ride along in the current GOP.
            TagKind::Audio | TagKind::Script => {
                if self.gop_open {
                    self.append(tag);
                }
            }
        }
    }

    /// What a new viewer is sent first: metadata, the video and audio sequence headers, then the
    /// cached GOP from its keyframe (or the audio window). Timestamps are left as they were.
    pub fn start_sequence(&self) -> Vec<MediaTag> {
        self.metadata
            .iter()
            .chain(&self.video_sequence_header)
            .chain(&self.audio_sequence_header)
            .chain(&self.tags)
            .cloned()
            .collect()
    }

    /// Forgets everything (the publisher left).
    pub fn clear(&mut self) {
        *self = Self::new(self.limits);
    }

    /// Tags cached after the headers (the GOP or audio window).
    pub fn cached_tags(&self) -> usize {
        self.tags.len()
    }

    /// FLV bytes cached after the headers.
    pub fn cached_bytes(&self) -> usize {
        self.bytes
    }

    fn reset_frames(&mut self) {
        self.tags.clear();
        self.bytes = 0;
        self.gop_open = false;
    }

    fn append(&mut self, tag: &MediaTag) {
        self.tags.push_back(tag.clone());
        self.bytes += tag.flv.len();
        if self.bytes > self.limits.max_bytes || self.tags.len() > self.limits.max_tags {
            // Too long to be worth replaying: wait for the next keyframe.
            self.reset_frames();
        }
    }

    fn append_to_audio_window(&mut self, tag: &MediaTag) {
        self.tags.push_back(tag.clone());
        self.bytes += tag.flv.len();
        while let Some(oldest) = self.tags.front() {
            let age = tag.timestamp_ms.wrapping_sub(oldest.timestamp_ms);
            let too_old = age > self.limits.audio_window_ms;
            let too_big =
                self.bytes > self.limits.max_bytes || self.tags.len() > self.limits.max_tags;
            if !(too_old || too_big) {
                break;
            }
            self.bytes -= oldest.flv.len();
            self.tags.pop_front();
        }
    }
}

/// Stores a sequence header; returns whether it changed the configuration, which makes the
/// cached frames useless.
fn replace_header(slot: &mut Option<MediaTag>, tag: &MediaTag) -> bool {
    let changed = slot
        .as_ref()
        .is_some_and(|previous| previous.payload != tag.payload);
    *slot = Some(tag.clone());
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amf0::{self, Amf0Value};
    use bytes::Bytes;

    const AVC_SEQ: &[u8] = &[0x17, 0, 0, 0, 0, 1, 0x64];
    const AVC_KEY: &[u8] = &[0x17, 1, 0, 0, 0, 0xAA];
    const AVC_INTER: &[u8] = &[0x27, 1, 0, 0, 0, 0xBB];
    const AAC_SEQ: &[u8] = &[0xAF, 0, 0x12, 0x10];
    const AAC_RAW: &[u8] = &[0xAF, 1, 0xCC];

    fn tag(kind: TagKind, ts: u32, payload: &'static [u8]) -> MediaTag {
        MediaTag::new(kind, ts, Bytes::from_static(payload)).unwrap()
    }

    fn metadata() -> MediaTag {
        let data = amf0::encode(&[
            Amf0Value::String("onMetaData".into()),
            Amf0Value::EcmaArray(vec![("width".into(), Amf0Value::Number(1280.0))]),
        ]);
        MediaTag::new(TagKind::Script, 0, Bytes::from(data)).unwrap()
    }

    fn summary(tags: &[MediaTag]) -> Vec<(TagKind, u32)> {
        tags.iter().map(|t| (t.kind, t.timestamp_ms)).collect()
    }

    #[test]
    fn newcomer_gets_metadata_headers_then_gop_from_the_latest_keyframe() {
        let mut cache = GopCache::new(GopLimits::default());
        for t in [
            metadata(),
            tag(TagKind::Video, 0, AVC_SEQ),
            tag(TagKind::Audio, 0, AAC_SEQ),
            tag(TagKind::Video, 0, AVC_KEY),
            tag(TagKind::Audio, 10, AAC_RAW),
            tag(TagKind::Video, 33, AVC_INTER),
            tag(TagKind::Video, 2000, AVC_KEY),
            tag(TagKind::Audio, 2010, AAC_RAW),
            tag(TagKind::Video, 2033, AVC_INTER),
        ] {
            cache.push(&t);
        }
        let start = cache.start_sequence();
        assert!(start[0].metadata);
        assert!(start[1].sequence_header && start[1].kind == TagKind::Video);
        assert!(start[2].sequence_header && start[2].kind == TagKind::Audio);
        assert!(start[3].keyframe);
        assert_eq!(
            summary(&start[3..]),
            [
                (TagKind::Video, 2000),
                (TagKind::Audio, 2010),
                (TagKind::Video, 2033)
            ]
        );
        assert_eq!(cache.cached_tags(), 3);
        assert_eq!(
            cache.cached_bytes(),
            start[3..].iter().map(|t| t.flv.len()).sum::<usize>()
        );
    }

    #[test]
    fn frames_before_the_first_keyframe_are_not_cached() {
        let mut cache = GopCache::new(GopLimits::default());
        cache.push(&tag(TagKind::Video, 0, AVC_SEQ));
        cache.push(&tag(TagKind::Video, 33, AVC_INTER));
        cache.push(&tag(TagKind::Audio, 40, AAC_RAW));
        assert_eq!(cache.start_sequence().len(), 1);
    }

    #[test]
    fn overlong_gop_is_dropped_until_the_next_keyframe() {
        let mut cache = GopCache::new(GopLimits {
            max_tags: 3,
            ..GopLimits::default()
        });
        cache.push(&tag(TagKind::Video, 0, AVC_KEY));
        for ts in 1..=3 {
            cache.push(&tag(TagKind::Video, ts, AVC_INTER));
        }
        assert_eq!(cache.cached_tags(), 0);
        cache.push(&tag(TagKind::Video, 4, AVC_INTER));
        assert_eq!(cache.cached_tags(), 0);
        cache.push(&tag(TagKind::Video, 5, AVC_KEY));
        assert_eq!(summary(&cache.start_sequence()), [(TagKind::Video, 5)]);

        let one_tag = tag(TagKind::Video, 0, AVC_KEY).flv.len();
        let mut cache = GopCache::new(GopLimits {
            max_bytes: 2 * one_tag,
            ..GopLimits::default()
        });
        cache.push(&tag(TagKind::Video, 0, AVC_KEY));
        cache.push(&tag(TagKind::Video, 1, AVC_INTER));
        assert_eq!(cache.cached_tags(), 2);
        cache.push(&tag(TagKind::Video, 2, AVC_INTER));
        assert_eq!((cache.cached_tags(), cache.cached_bytes()), (0, 0));
    }

    #[test]
    fn audio_only_stream_keeps_a_short_window() {
        let mut cache = GopCache::new(GopLimits {
            audio_window_ms: 100,
            ..GopLimits::default()
        });
        cache.push(&tag(TagKind::Audio, 0, AAC_SEQ));
        for ts in (0..=300).step_by(23) {
            cache.push(&tag(TagKind::Audio, ts, AAC_RAW));
        }
        let start = cache.start_sequence();
        assert!(start[0].sequence_header);
        let window: Vec<u32> = start[1..].iter().map(|t| t.timestamp_ms).collect();
        assert_eq!(window, [207, 230, 253, 276, 299]);

        // Video arriving turns the window into GOP caching.
        cache.push(&tag(TagKind::Video, 310, AVC_KEY));
        cache.push(&tag(TagKind::Audio, 320, AAC_RAW));
        assert_eq!(
            summary(&cache.start_sequence()[1..]),
            [(TagKind::Video, 310), (TagKind::Audio, 320)]
        );
    }

    #[test]
    fn a_new_configuration_drops_the_old_gop_but_a_repeat_does_not() {
        let mut cache = GopCache::new(GopLimits::default());
        cache.push(&tag(TagKind::Video, 0, AVC_SEQ));
        cache.push(&tag(TagKind::Video, 0, AVC_KEY));
        cache.push(&tag(TagKind::Video, 0, AVC_SEQ));
        assert_eq!(cache.cached_tags(), 1);
        cache.push(&tag(TagKind::Video, 40, &[0x17, 0, 0, 0, 0, 1, 0x4D]));
        assert_eq!(cache.cached_tags(), 0);
        assert_eq!(cache.start_sequence()[0].payload[6], 0x4D);
    }

    #[test]
    fn clear_forgets_everything_but_keeps_limits() {
        let limits = GopLimits {
            max_tags: 7,
            ..GopLimits::default()
        };
        let mut cache = GopCache::new(limits);
        cache.push(&metadata());
        cache.push(&tag(TagKind::Video, 0, AVC_KEY));
        cache.clear();
        assert!(cache.start_sequence().is_empty());
        assert_eq!(cache.limits, limits);
    }
}
