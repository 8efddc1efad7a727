//! AVC (H.264) video tags: the tag header (legacy and enhanced RTMP), the
//! AVCDecoderConfigurationRecord and its SPS, and the facts a video sequence header yields.
#![no_main]

use bookmygig_media::flv::TagKind;
use bookmygig_media::gop::MediaTag;
use bookmygig_media::metadata::StreamFacts;
use bookmygig_media::video::{avc_config_from_tag, parse_avc_config, parse_video_tag};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = parse_avc_config(data) {
        let _ = config.profile_name();
    }
    let _ = avc_config_from_tag(data);
    if let Ok(info) = parse_video_tag(data) {
        let _ = (info.is_keyframe(), info.is_sequence_header());
    }
    let mut facts = StreamFacts::default();
    facts.observe_video_tag(data);
    let _ = MediaTag::new(TagKind::Video, 0, bytes::Bytes::copy_from_slice(data));
});
