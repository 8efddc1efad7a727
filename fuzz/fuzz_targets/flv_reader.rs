//! The incremental FLV reader (HTTP-FLV relays between nodes read it), fed in reads split at
//! fuzzer-chosen points; every tag it yields goes on through what the server does with a tag:
//! classification (`MediaTag::new`), the stream facts and the GOP cache.
#![no_main]

mod common;

use bookmygig_media::flv::FlvReader;
use bookmygig_media::gop::{GopCache, GopLimits, MediaTag};
use bookmygig_media::metadata::StreamFacts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, stream)) = data.split_first() else {
        return;
    };
    // A small ceiling too, so the too-large path is reached with small inputs.
    let mut reader = if mode & 0x80 != 0 {
        FlvReader::new().with_max_tag_size(1024)
    } else {
        FlvReader::new()
    };
    let mut gop = GopCache::new(GopLimits {
        max_bytes: 64 * 1024,
        max_tags: 64,
        audio_window_ms: 1_000,
    });
    let mut facts = StreamFacts::default();
    'reads: for read in common::reads(mode, stream) {
        reader.push(read);
        loop {
            match reader.next_tag() {
                Ok(Some(tag)) => {
                    let encoded = tag.encode();
                    if let Ok(media) = MediaTag::new(tag.kind, tag.timestamp_ms, tag.data) {
                        match media.kind {
                            bookmygig_media::flv::TagKind::Video => {
                                facts.observe_video_tag(&media.payload);
                            }
                            bookmygig_media::flv::TagKind::Audio => {
                                facts.observe_audio_tag(&media.payload);
                            }
                            bookmygig_media::flv::TagKind::Script => {
                                facts.observe_script_tag(&media.payload);
                            }
                        }
                        gop.push(&media);
                    } else {
                        assert!(encoded.is_err(), "a tag read from FLV fits in FLV");
                    }
                }
                Ok(None) => break,
                Err(_) => break 'reads,
            }
        }
    }
    let _ = reader.header();
    let _ = gop.start_sequence();
});
