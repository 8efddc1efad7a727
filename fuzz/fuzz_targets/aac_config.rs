//! Audio tags: the tag header (legacy and enhanced RTMP), AAC's AudioSpecificConfig, and the
//! facts an audio sequence header yields.
#![no_main]

use bookmygig_media::audio::{aac_config_from_tag, parse_aac_config, parse_audio_tag};
use bookmygig_media::flv::TagKind;
use bookmygig_media::gop::MediaTag;
use bookmygig_media::metadata::StreamFacts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_aac_config(data);
    let _ = aac_config_from_tag(data);
    let _ = parse_audio_tag(data);
    let mut facts = StreamFacts::default();
    facts.observe_audio_tag(data);
    let _ = MediaTag::new(TagKind::Audio, 0, bytes::Bytes::copy_from_slice(data));
});
