//! Media between rml_rtmp and the stream hub: what a publisher's announced metadata becomes
//! (an `onMetaData` script tag), and the metadata a player is sent (from the stream's facts;
//! the tags themselves go out as [`super::chunks`]). Pure: no sockets, no policy.

use bookmygig_media::amf0::{self, Amf0Value};
use bookmygig_media::metadata::StreamFacts;
use bytes::Bytes;
use rml_rtmp::sessions::StreamMetadata;

/// The `onMetaData` script data of what a publisher announced, as the hub takes it.
pub fn on_metadata(metadata: &StreamMetadata) -> Bytes {
    Bytes::from(amf0::encode(&[
        Amf0Value::String("onMetaData".into()),
        Amf0Value::EcmaArray(metadata_properties(metadata)),
    ]))
}

/// The `onMetaData` data message for RTMP players, from what the media says about itself.
pub fn player_on_metadata(facts: &StreamFacts) -> Bytes {
    on_metadata(&player_metadata(facts))
}

/// The `onMetaData` properties of what a publisher announced.
fn metadata_properties(m: &StreamMetadata) -> Vec<(String, Amf0Value)> {
    let mut props = Vec::new();
    let mut number = |name: &str, value: Option<f64>| {
        if let Some(v) = value {
            props.push((name.to_owned(), Amf0Value::Number(v)));
        }
    };
    number("width", m.video_width.map(f64::from));
    number("height", m.video_height.map(f64::from));
    number("videocodecid", m.video_codec_id.map(f64::from));
    number("framerate", m.video_frame_rate.map(f64::from));
    number("videodatarate", m.video_bitrate_kbps.map(f64::from));
    number("audiocodecid", m.audio_codec_id.map(f64::from));
    number("audiodatarate", m.audio_bitrate_kbps.map(f64::from));
    number("audiosamplerate", m.audio_sample_rate.map(f64::from));
    number("audiochannels", m.audio_channels.map(f64::from));
    if let Some(stereo) = m.audio_is_stereo {
        props.push(("stereo".into(), Amf0Value::Boolean(stereo)));
    }
    if let Some(encoder) = &m.encoder {
        props.push(("encoder".into(), Amf0Value::String(encoder.clone())));
    }
    props
}

/// rml_rtmp's metadata for RTMP players, from what the media says about itself.
fn player_metadata(facts: &StreamFacts) -> StreamMetadata {
    let mut m = StreamMetadata::new();
    m.video_width = facts.width;
    m.video_height = facts.height;
    m.video_frame_rate = facts.fps.map(|f| f as f32);
    m.video_codec_id = match facts.video_codec.as_deref() {
        Some("h264") => Some(7),
        _ => None,
    };
    m.audio_codec_id = match facts.audio_codec.as_deref() {
        Some("aac") => Some(10),
        Some("mp3") => Some(2),
        _ => None,
    };
    m.audio_sample_rate = facts.audio_sample_rate;
    m.audio_channels = facts.audio_channels.map(u32::from);
    m.video_bitrate_kbps = facts.video_kbps.map(|k| k as u32);
    m.audio_bitrate_kbps = facts.audio_kbps.map(|k| k as u32);
    m
}
