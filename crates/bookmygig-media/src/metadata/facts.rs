//! [`StreamFacts`]: what the API and the chat room say about a live stream, read from the media.
//!
//! The sequence headers are the authority for codec, picture size and audio format; `onMetaData`
//! fills what they cannot tell (frame rate, bitrates) and what they have not told yet.

use crate::amf0::Amf0Value;
use crate::audio::{self, AudioCodec};
use crate::metadata::parse_on_metadata;
use crate::video::{self, VideoCodec};

/// Stream facts as read from `onMetaData` and the sequence headers.
///
/// Codec names are ffprobe's (`h264`, `hevc`, `av1`, `vp9`, `aac`, `mp3`, `opus`…).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamFacts {
    /// Video codec name.
    pub video_codec: Option<String>,
    /// Picture width in pixels.
    pub width: Option<u32>,
    /// Picture height in pixels.
    pub height: Option<u32>,
    /// Frames per second, as the publisher declares it.
    pub fps: Option<f64>,
    /// Video bitrate in kbit/s, as the publisher declares it.
    pub video_kbps: Option<f64>,
    /// Audio codec name.
    pub audio_codec: Option<String>,
    /// Audio sample rate in Hz.
    pub audio_sample_rate: Option<u32>,
    /// Audio channel count.
    pub audio_channels: Option<u8>,
    /// Audio bitrate in kbit/s, as the publisher declares it.
    pub audio_kbps: Option<f64>,
}

impl StreamFacts {
    /// Facts from `onMetaData` properties (see [`parse_on_metadata`]).
    pub fn from_metadata(props: &[(String, Amf0Value)]) -> Self {
        let mut facts = Self::default();
        facts.merge_metadata(props);
        facts
    }

    /// Fills the facts still unknown from `onMetaData` properties; known ones are kept, since
    /// the sequence headers are the better source.
    pub fn merge_metadata(&mut self, props: &[(String, Amf0Value)]) {
        let get = |key: &str| {
            props
                .iter()
                .find_map(|(name, value)| (name == key).then_some(value))
        };
        let number = |key: &str| {
            get(key)
                .and_then(Amf0Value::as_f64)
                .filter(|n| n.is_finite())
        };
        let positive = |key: &str| number(key).filter(|&n| n > 0.0);

        fill(&mut self.video_codec, || {
            get("videocodecid").and_then(video_codec_name)
        });
        fill(&mut self.width, || positive("width").and_then(to_u32));
        fill(&mut self.height, || positive("height").and_then(to_u32));
        fill(&mut self.fps, || {
            positive("framerate").or_else(|| positive("videoframerate"))
        });
        fill(&mut self.video_kbps, || positive("videodatarate"));
        fill(&mut self.audio_codec, || {
            get("audiocodecid").and_then(audio_codec_name)
        });
        fill(&mut self.audio_sample_rate, || {
            positive("audiosamplerate").and_then(to_u32)
        });
        fill(&mut self.audio_channels, || {
            positive("audiochannels")
                .and_then(|n| u8::try_from(to_u32(n)?).ok())
                .or_else(|| {
                    get("stereo")
                        .and_then(Amf0Value::as_bool)
                        .map(|stereo| if stereo { 2 } else { 1 })
                })
        });
        fill(&mut self.audio_kbps, || positive("audiodatarate"));
    }

    /// Takes in a script tag's data: an `onMetaData` fills unknown facts, anything else is
    /// ignored. Returns whether it was `onMetaData`.
    pub fn observe_script_tag(&mut self, data: &[u8]) -> bool {
        match parse_on_metadata(data) {
            Ok(props) => {
                self.merge_metadata(&props);
                true
            }
            Err(_) => false,
        }
    }

    /// Takes in a video tag's data: a sequence header sets the codec and, for AVC, the picture
    /// size. Other tags and unparsable headers are ignored. Returns whether a fact was updated.
    pub fn observe_video_tag(&mut self, data: &[u8]) -> bool {
        let Ok(info) = video::parse_video_tag(data) else {
            return false;
        };
        if !info.is_sequence_header() {
            return false;
        }
        self.video_codec = Some(info.codec.to_string());
        if let Ok(config) = video::avc_config_from_tag(data) {
            self.width = Some(config.width);
            self.height = Some(config.height);
        }
        true
    }

    /// Takes in an audio tag's data: a sequence header sets the codec and, for AAC, the sample
    /// rate and channels. Other tags and unparsable headers are ignored. Returns whether a fact
    /// was updated.
    pub fn observe_audio_tag(&mut self, data: &[u8]) -> bool {
        let Ok(info) = audio::parse_audio_tag(data) else {
            return false;
        };
        if !info.is_sequence_header {
            // Codecs without a sequence header (MP3, PCM…) are named by their frames.
            if self.audio_codec.is_none() {
                self.audio_codec = Some(info.codec.to_string());
                return true;
            }
            return false;
        }
        self.audio_codec = Some(info.codec.to_string());
        if let Ok(config) = audio::aac_config_from_tag(data) {
            self.audio_sample_rate = Some(config.sample_rate);
            if config.channels > 0 {
                self.audio_channels = Some(config.channels);
            }
        }
        true
    }

    /// The `onMetaData` properties for these facts, in the order ffmpeg writes them.
    pub(super) fn to_properties(&self) -> Vec<(String, Amf0Value)> {
        let mut props = Vec::new();
        let mut push = |name: &str, value: Option<Amf0Value>| {
            if let Some(value) = value {
                props.push((name.to_owned(), value));
            }
        };
        let number = |n: Option<f64>| n.map(Amf0Value::Number);
        push("width", number(self.width.map(f64::from)));
        push("height", number(self.height.map(f64::from)));
        push("videodatarate", number(self.video_kbps));
        push("framerate", number(self.fps));
        push(
            "videocodecid",
            self.video_codec.as_deref().map(video_codec_id),
        );
        push("audiodatarate", number(self.audio_kbps));
        push(
            "audiosamplerate",
            number(self.audio_sample_rate.map(f64::from)),
        );
        push(
            "stereo",
            self.audio_channels.map(|c| Amf0Value::Boolean(c == 2)),
        );
        push("audiochannels", number(self.audio_channels.map(f64::from)));
        push(
            "audiocodecid",
            self.audio_codec.as_deref().map(audio_codec_id),
        );
        props
    }
}

fn fill<T>(slot: &mut Option<T>, value: impl FnOnce() -> Option<T>) {
    if slot.is_none() {
        *slot = value();
    }
}

/// A finite, non-negative number as a whole `u32`, if it fits.
fn to_u32(n: f64) -> Option<u32> {
    let rounded = n.round();
    // Range-checked just above, so the cast cannot saturate.
    (0.0..=f64::from(u32::MAX))
        .contains(&rounded)
        .then_some(rounded as u32)
}

/// A FourCC as the number ffmpeg writes in `videocodecid` / `audiocodecid`.
fn fourcc_number(fourcc: &[u8; 4]) -> f64 {
    f64::from(u32::from_be_bytes(*fourcc))
}

fn video_codec_id(name: &str) -> Amf0Value {
    match name {
        "h264" => Amf0Value::Number(7.0),
        "hevc" => Amf0Value::Number(fourcc_number(b"hvc1")),
        "av1" => Amf0Value::Number(fourcc_number(b"av01")),
        "vp9" => Amf0Value::Number(fourcc_number(b"vp09")),
        other => Amf0Value::String(other.to_owned()),
    }
}

fn audio_codec_id(name: &str) -> Amf0Value {
    match name {
        "aac" => Amf0Value::Number(10.0),
        "mp3" => Amf0Value::Number(2.0),
        "opus" => Amf0Value::Number(fourcc_number(b"Opus")),
        other => Amf0Value::String(other.to_owned()),
    }
}

/// A codec id from metadata: a number (legacy id or FourCC) or a string (FourCC or name, in
/// any case).
enum CodecId<'a> {
    Number(u32),
    Text(&'a str),
}

fn codec_id(value: &Amf0Value) -> Option<CodecId<'_>> {
    match value {
        Amf0Value::Number(n) => to_u32(*n).map(CodecId::Number),
        other => other.as_str().map(CodecId::Text),
    }
}

fn text_fourcc(text: &str) -> Option<[u8; 4]> {
    text.as_bytes().try_into().ok()
}

fn video_codec_name(value: &Amf0Value) -> Option<String> {
    let codec = match codec_id(value)? {
        CodecId::Number(id) if id < 16 => VideoCodec::from_legacy_id(id as u8),
        CodecId::Number(fourcc) => VideoCodec::from_fourcc(fourcc.to_be_bytes()),
        CodecId::Text(text) => match text.to_ascii_lowercase().as_str() {
            "h264" | "avc" | "avc1" => VideoCodec::Avc,
            "hevc" | "h265" | "hvc1" | "hev1" => VideoCodec::Hevc,
            "av1" | "av01" => VideoCodec::Av1,
            "vp9" | "vp09" => VideoCodec::Vp9,
            lower => match text_fourcc(text) {
                Some(fourcc) => VideoCodec::from_fourcc(fourcc),
                None => return Some(lower.to_owned()),
            },
        },
    };
    Some(codec.to_string())
}

fn audio_codec_name(value: &Amf0Value) -> Option<String> {
    let codec = match codec_id(value)? {
        CodecId::Number(id) if id < 16 => AudioCodec::from_legacy_format(id as u8),
        CodecId::Number(fourcc) => AudioCodec::from_fourcc(fourcc.to_be_bytes()),
        CodecId::Text(text) => match text.to_ascii_lowercase().as_str() {
            "aac" | "mp4a" => AudioCodec::Aac,
            "mp3" | ".mp3" => AudioCodec::Mp3,
            "opus" => AudioCodec::Opus,
            lower => match text_fourcc(text) {
                Some(fourcc) => AudioCodec::from_fourcc(fourcc),
                None => return Some(lower.to_owned()),
            },
        },
    };
    Some(codec.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::encode_on_metadata;

    fn obs_metadata() -> Vec<(String, Amf0Value)> {
        let n = Amf0Value::Number;
        vec![
            ("duration".into(), n(0.0)),
            ("width".into(), n(1280.0)),
            ("height".into(), n(720.0)),
            ("videodatarate".into(), n(2500.0)),
            ("framerate".into(), n(30.0)),
            ("videocodecid".into(), n(7.0)),
            ("audiodatarate".into(), n(160.0)),
            ("audiosamplerate".into(), n(48_000.0)),
            ("audiosamplesize".into(), n(16.0)),
            ("audiochannels".into(), n(2.0)),
            ("stereo".into(), Amf0Value::Boolean(true)),
            ("audiocodecid".into(), n(10.0)),
            (
                "encoder".into(),
                Amf0Value::String("obs-output module".into()),
            ),
        ]
    }

    #[test]
    fn facts_from_obs_style_metadata() {
        assert_eq!(
            StreamFacts::from_metadata(&obs_metadata()),
            StreamFacts {
                video_codec: Some("h264".into()),
                width: Some(1280),
                height: Some(720),
                fps: Some(30.0),
                video_kbps: Some(2500.0),
                audio_codec: Some("aac".into()),
                audio_sample_rate: Some(48_000),
                audio_channels: Some(2),
                audio_kbps: Some(160.0),
            }
        );
    }

    #[test]
    fn codec_ids_as_fourcc_numbers_and_strings() {
        let props = vec![
            (
                "videocodecid".into(),
                Amf0Value::Number(f64::from(u32::from_be_bytes(*b"hvc1"))),
            ),
            ("audiocodecid".into(), Amf0Value::String("mp4a".into())),
            ("stereo".into(), Amf0Value::Boolean(false)),
        ];
        let facts = StreamFacts::from_metadata(&props);
        assert_eq!(facts.video_codec.as_deref(), Some("hevc"));
        assert_eq!(facts.audio_codec.as_deref(), Some("aac"));
        assert_eq!(facts.audio_channels, Some(1));
        let props = vec![("videocodecid".into(), Amf0Value::String("H264".into()))];
        assert_eq!(
            StreamFacts::from_metadata(&props).video_codec.as_deref(),
            Some("h264")
        );
    }

    #[test]
    fn nonsense_numbers_are_ignored() {
        let props = vec![
            ("width".into(), Amf0Value::Number(f64::NAN)),
            ("height".into(), Amf0Value::Number(-5.0)),
            ("framerate".into(), Amf0Value::Number(f64::INFINITY)),
            ("audiosamplerate".into(), Amf0Value::Number(1e20)),
            ("audiochannels".into(), Amf0Value::Number(300.0)),
        ];
        assert_eq!(StreamFacts::from_metadata(&props), StreamFacts::default());
    }

    #[test]
    fn sequence_headers_override_metadata_but_not_the_reverse() {
        let mut facts = StreamFacts::default();
        // Metadata first, claiming 640x360 and 44.1 kHz.
        let mut props = obs_metadata();
        props[1].1 = Amf0Value::Number(640.0);
        props[2].1 = Amf0Value::Number(360.0);
        props[7].1 = Amf0Value::Number(44_100.0);
        facts.merge_metadata(&props);
        // The x264 720p sequence header and a 48 kHz stereo AAC one.
        let avc = "17000000000164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000468ef8fcbfdf8f800";
        let avc: Vec<u8> = (0..avc.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&avc[i..i + 2], 16).unwrap())
            .collect();
        assert!(facts.observe_video_tag(&avc));
        assert!(facts.observe_audio_tag(&[0xAF, 0, 0x11, 0x90]));
        assert_eq!((facts.width, facts.height), (Some(1280), Some(720)));
        assert_eq!(facts.audio_sample_rate, Some(48_000));
        // Later metadata does not undo it.
        facts.merge_metadata(&props);
        assert_eq!(facts.width, Some(1280));
        // Coded frames are not sequence headers.
        assert!(!facts.observe_video_tag(&[0x27, 1, 0, 0, 0]));
        assert!(!facts.observe_audio_tag(&[0xAF, 1, 0x21]));
        assert!(!facts.observe_video_tag(&[]));
    }

    #[test]
    fn enhanced_sequence_headers_name_the_codec() {
        let mut facts = StreamFacts::default();
        assert!(facts.observe_video_tag(b"\x90av01\x81"));
        assert!(facts.observe_audio_tag(b"\x90Opus\x01"));
        assert_eq!(facts.video_codec.as_deref(), Some("av1"));
        assert_eq!(facts.audio_codec.as_deref(), Some("opus"));
        let mut mp3 = StreamFacts::default();
        assert!(mp3.observe_audio_tag(&[0x2F, 0xFF]));
        assert_eq!(mp3.audio_codec.as_deref(), Some("mp3"));
    }

    #[test]
    fn script_tags_feed_the_facts() {
        let data = encode_on_metadata(
            &StreamFacts {
                fps: Some(25.0),
                ..StreamFacts::default()
            },
            &[],
        );
        let mut facts = StreamFacts::default();
        assert!(facts.observe_script_tag(&data));
        assert_eq!(facts.fps, Some(25.0));
        assert!(!facts.observe_script_tag(b"\x02\x00\x0aonCuePoint"));
    }

    #[test]
    fn facts_round_trip_through_on_metadata() {
        let facts = StreamFacts {
            video_codec: Some("hevc".into()),
            width: Some(3840),
            height: Some(2160),
            fps: Some(59.94),
            video_kbps: Some(12_000.0),
            audio_codec: Some("opus".into()),
            audio_sample_rate: Some(48_000),
            audio_channels: Some(6),
            audio_kbps: Some(256.0),
        };
        let props = parse_on_metadata(&encode_on_metadata(&facts, &[])).unwrap();
        assert_eq!(StreamFacts::from_metadata(&props), facts);
    }
}
