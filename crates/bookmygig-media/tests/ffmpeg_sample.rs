//! A real sample: ffmpeg (libx264 + AAC) writes one second of 1280x720 test video as FLV, and
//! every layer of the crate reads it.

#![allow(clippy::unwrap_used)] // A fixture failure is a test failure.

use std::path::Path;
use std::process::Command;

use bookmygig_media::audio::{AudioCodec, aac_config_from_tag, parse_audio_tag};
use bookmygig_media::flv::{FlvReader, Tag, TagKind};
use bookmygig_media::gop::{GopCache, GopLimits, MediaTag};
use bookmygig_media::metadata::{StreamFacts, parse_on_metadata};
use bookmygig_media::video::{VideoCodec, avc_config_from_tag, parse_video_tag};

/// Encodes the sample, failing loudly when ffmpeg is not installed.
fn make_sample(path: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"])
        .args(["-f", "lavfi", "-i", "sine"])
        .args([
            "-t", "1", "-c:v", "libx264", "-preset", "veryfast", "-g", "15",
        ])
        .args(["-c:a", "aac", "-f", "flv"])
        .arg(path)
        .status();
    match status {
        Ok(status) => assert!(status.success(), "ffmpeg failed: {status}"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            panic!("ffmpeg not found: run scripts/bootstrap (apt-get install -y ffmpeg)")
        }
        Err(error) => panic!("could not run ffmpeg: {error}"),
    }
}

fn read_tags(bytes: &[u8]) -> Vec<Tag> {
    let mut reader = FlvReader::new();
    let mut tags = Vec::new();
    // Odd-sized pushes, as a socket would deliver them.
    for chunk in bytes.chunks(1_357) {
        reader.push(chunk);
        while let Some(tag) = reader.next_tag().unwrap() {
            tags.push(tag);
        }
    }
    assert_eq!(reader.buffered_len(), 0, "the file ends mid-tag");
    let header = reader.header().unwrap();
    assert!(header.has_audio && header.has_video);
    tags
}

#[test]
fn ffmpeg_x264_aac_flv_reads_as_h264_1280x720_and_aac() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.flv");
    make_sample(&path);
    let tags = read_tags(&std::fs::read(&path).unwrap());
    assert!(tags.len() > 40, "expected about 30 video and 44 audio tags");

    // onMetaData comes first and agrees with the sequence headers.
    assert_eq!(tags[0].kind, TagKind::Script);
    let metadata = StreamFacts::from_metadata(&parse_on_metadata(&tags[0].data).unwrap());
    assert_eq!(metadata.video_codec.as_deref(), Some("h264"));
    assert_eq!((metadata.width, metadata.height), (Some(1280), Some(720)));
    assert_eq!(metadata.fps, Some(30.0));
    assert_eq!(metadata.audio_codec.as_deref(), Some("aac"));

    let video: Vec<&Tag> = tags.iter().filter(|t| t.kind == TagKind::Video).collect();
    let audio: Vec<&Tag> = tags.iter().filter(|t| t.kind == TagKind::Audio).collect();

    let seq = parse_video_tag(&video[0].data).unwrap();
    assert_eq!(seq.codec, VideoCodec::Avc);
    assert!(seq.is_sequence_header());
    let avc = avc_config_from_tag(&video[0].data).unwrap();
    assert_eq!((avc.width, avc.height), (1280, 720));
    assert_eq!(avc.profile_name(), "High");
    assert!(parse_video_tag(&video[1].data).unwrap().is_keyframe());
    let keyframes = video
        .iter()
        .filter(|t| parse_video_tag(&t.data).unwrap().is_keyframe())
        .count();
    assert_eq!(keyframes, 2, "-g 15 over 30 frames");

    let aac_seq = parse_audio_tag(&audio[0].data).unwrap();
    assert_eq!(aac_seq.codec, AudioCodec::Aac);
    assert!(aac_seq.is_sequence_header);
    let aac = aac_config_from_tag(&audio[0].data).unwrap();
    assert!(
        aac.sample_rate == 44_100 || aac.sample_rate == 48_000,
        "sample rate {}",
        aac.sample_rate
    );
    assert_eq!(aac.object_type, 2);
    assert_eq!(aac.channels, 1, "lavfi sine is mono");

    // Decoding timestamps never go backwards within each track.
    for track in [&video, &audio] {
        assert!(
            track
                .windows(2)
                .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
        );
    }

    // Facts from the media itself, in stream order.
    let mut facts = StreamFacts::default();
    for tag in &tags {
        match tag.kind {
            TagKind::Script => facts.observe_script_tag(&tag.data),
            TagKind::Video => facts.observe_video_tag(&tag.data),
            TagKind::Audio => facts.observe_audio_tag(&tag.data),
        };
    }
    assert_eq!(facts.video_codec.as_deref(), Some("h264"));
    assert_eq!((facts.width, facts.height), (Some(1280), Some(720)));
    assert_eq!(facts.audio_codec.as_deref(), Some("aac"));
    assert_eq!(facts.audio_sample_rate, Some(aac.sample_rate));

    // Re-encoding every tag gives back the file's bytes after the header.
    let file = std::fs::read(&path).unwrap();
    let reencoded: Vec<u8> = tags.iter().flat_map(|t| t.encode().unwrap()).collect();
    assert_eq!(&file[13..], &reencoded[..]);

    // A viewer joining at the end starts with metadata, headers and the second GOP's keyframe.
    let mut cache = GopCache::new(GopLimits::default());
    for tag in &tags {
        cache.push(&MediaTag::new(tag.kind, tag.timestamp_ms, tag.data.clone()).unwrap());
    }
    let start = cache.start_sequence();
    assert!(start[0].metadata);
    assert!(start[1].sequence_header && start[1].kind == TagKind::Video);
    assert!(start[2].sequence_header && start[2].kind == TagKind::Audio);
    assert!(start[3].keyframe && start[3].timestamp_ms >= 400);
    assert!(start[4..].iter().all(|t| !t.keyframe && !t.sequence_header));
}
