//! The input media: an FLV file read once into memory and split into what a publisher sends
//! once (metadata, sequence headers) and what it loops (the coded audio and video frames).

use std::path::Path;

use anyhow::{Context, bail};
use bookmygig_media::audio::parse_audio_tag;
use bookmygig_media::flv::{FlvReader, TagKind};
use bookmygig_media::metadata::StreamFacts;
use bookmygig_media::video::parse_video_tag;
use bytes::Bytes;
use rml_rtmp::sessions::StreamMetadata;

/// One coded audio or video frame of the clip.
#[derive(Clone, Debug)]
pub struct ClipTag {
    /// Audio or video.
    pub kind: TagKind,
    /// Milliseconds from the clip's first frame.
    pub offset_ms: u32,
    /// The FLV tag data, as an RTMP message body.
    pub data: Bytes,
}

/// The clip, ready to publish.
#[derive(Debug)]
pub struct Clip {
    /// What the file says about itself, for the publisher's `onMetaData`.
    pub facts: StreamFacts,
    /// The video sequence header (AVC decoder configuration), sent once.
    pub video_header: Option<Bytes>,
    /// The audio sequence header (AAC AudioSpecificConfig), sent once.
    pub audio_header: Option<Bytes>,
    /// The coded frames in file (decoding) order, starting at a keyframe.
    pub frames: Vec<ClipTag>,
    /// Length of one pass: added to the timestamps each time the clip loops, so they keep
    /// increasing.
    pub duration_ms: u32,
}

impl Clip {
    /// Reads `path`.
    ///
    /// # Errors
    /// When the file cannot be read, is not FLV, has no video or does not start with a keyframe.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut reader = FlvReader::new();
        reader.push(&bytes);
        let mut facts = StreamFacts::default();
        let (mut video_header, mut audio_header) = (None, None);
        let mut frames = Vec::new();
        let mut first_ms = None;
        while let Some(tag) = reader
            .next_tag()
            .with_context(|| format!("{} is not a valid FLV file", path.display()))?
        {
            match tag.kind {
                TagKind::Script => {
                    facts.observe_script_tag(&tag.data);
                    continue;
                }
                TagKind::Video => {
                    let info = parse_video_tag(&tag.data)
                        .with_context(|| format!("bad video tag at {} ms", tag.timestamp_ms))?;
                    if info.is_sequence_header() {
                        facts.observe_video_tag(&tag.data);
                        video_header.get_or_insert(tag.data);
                        continue;
                    }
                    if frames.is_empty() && !info.is_keyframe() {
                        // A pass must start where a decoder can.
                        continue;
                    }
                }
                TagKind::Audio => {
                    if parse_audio_tag(&tag.data).is_ok_and(|info| info.is_sequence_header) {
                        facts.observe_audio_tag(&tag.data);
                        audio_header.get_or_insert(tag.data);
                        continue;
                    }
                    if frames.is_empty() {
                        continue;
                    }
                }
            }
            let first = *first_ms.get_or_insert(tag.timestamp_ms);
            frames.push(ClipTag {
                kind: tag.kind,
                offset_ms: tag.timestamp_ms.saturating_sub(first),
                data: tag.data,
            });
        }
        let video: Vec<u32> = frames
            .iter()
            .filter(|t| t.kind == TagKind::Video)
            .map(|t| t.offset_ms)
            .collect();
        let (Some(&first_video), Some(&last_video)) = (video.first(), video.last()) else {
            bail!("{} has no video frames", path.display());
        };
        if video.len() < 2 {
            bail!("{} is too short: one video frame", path.display());
        }
        let frame_ms = (last_video - first_video) / (video.len() as u32 - 1);
        let last_any = frames.iter().map(|t| t.offset_ms).max().unwrap_or(0);
        let duration_ms = (last_video + frame_ms.max(1)).max(last_any + 1);
        Ok(Self {
            facts,
            video_header,
            audio_header,
            frames,
            duration_ms,
        })
    }

    /// Media bytes per second of one pass (FLV tag data only).
    pub fn kbit_per_s(&self) -> f64 {
        let bytes: usize = self.frames.iter().map(|t| t.data.len()).sum();
        bytes as f64 * 8.0 / f64::from(self.duration_ms.max(1))
    }

    /// The `onMetaData` a publisher announces for this clip.
    pub fn metadata(&self) -> StreamMetadata {
        let facts = &self.facts;
        let mut m = StreamMetadata::new();
        m.video_width = facts.width;
        m.video_height = facts.height;
        m.video_frame_rate = facts.fps.map(|f| f as f32);
        m.video_codec_id = (facts.video_codec.as_deref() == Some("h264")).then_some(7);
        m.video_bitrate_kbps = facts.video_kbps.map(|k| k as u32);
        m.audio_codec_id = (facts.audio_codec.as_deref() == Some("aac")).then_some(10);
        m.audio_bitrate_kbps = facts.audio_kbps.map(|k| k as u32);
        m.audio_sample_rate = facts.audio_sample_rate;
        m.audio_channels = facts.audio_channels.map(u32::from);
        m.audio_is_stereo = facts.audio_channels.map(|c| c == 2);
        m.encoder = Some("bookmygig-loadgen".to_owned());
        m
    }
}
