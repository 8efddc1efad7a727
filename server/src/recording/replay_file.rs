//! `ReplayFile`: a recording as one seekable FLV file, put together per request from its
//! manifest without copying: a prefix made here (the file header, an `onMetaData` with the
//! duration and a keyframe index, the sequence headers) followed by the stored segments as
//! they are. Players seek with the index and HTTP range requests (`mpv --start`, ffmpeg's
//! `-ss`, VLC), so the file's byte layout must be the same on every request and every node:
//! it depends only on the manifest.

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::ops::Range;

use bookmygig_media::MediaError;
use bookmygig_media::amf0::{self, Amf0Value};
use bookmygig_media::flv::{TagKind, encode_tag, file_header};
use bytes::{Bytes, BytesMut};

use super::manifest::Manifest;

/// One recording laid out as an FLV file.
#[derive(Debug, Clone)]
pub struct ReplayFile {
    prefix: Bytes,
    /// The segments: number, byte offset in the file, length, start and end position.
    segments: Vec<Placed>,
    len: u64,
    duration_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Placed {
    number: u64,
    offset: u64,
    bytes: u64,
    start_ms: u64,
    end_ms: u64,
}

/// A part of the file to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Bytes made here.
    Prefix(Bytes),
    /// Bytes `within` the stored segment `number`, about `position_ms` into the recording.
    Segment {
        /// The segment.
        number: u64,
        /// Byte range inside it.
        within: Range<u64>,
        /// Position of the range's first byte (interpolated within the segment).
        position_ms: u64,
    },
}

impl ReplayFile {
    /// The file of `manifest`'s recording.
    ///
    /// # Errors
    /// A sequence header too large for an FLV tag (the recorder never stores one).
    pub fn new(manifest: &Manifest) -> Result<Self, MediaError> {
        let headers = sequence_headers(manifest)?;
        let keyframes: Vec<(u64, u64)> = manifest
            .segments
            .iter()
            .flat_map(|s| s.keyframes.iter().copied())
            .collect();
        let body_len: u64 = manifest.bytes();
        // AMF0 numbers are 9 bytes whatever their value, so the metadata's length depends only
        // on how many keyframes there are: measure it with zeros, then fill in the offsets.
        let zeros = vec![(0, 0); keyframes.len()];
        let probe = metadata_tag(manifest, &zeros, 0)?;
        let prefix_len = (13 + probe.len() + headers.len()) as u64;
        let total = prefix_len + body_len;
        let mut placed = Vec::with_capacity(manifest.segments.len());
        let mut offset = prefix_len;
        let mut index = Vec::with_capacity(keyframes.len());
        for segment in &manifest.segments {
            for (at_ms, within) in &segment.keyframes {
                index.push((*at_ms, offset + within));
            }
            placed.push(Placed {
                number: segment.number,
                offset,
                bytes: segment.bytes,
                start_ms: segment.start_ms,
                end_ms: segment.end_ms,
            });
            offset += segment.bytes;
        }
        let metadata = metadata_tag(manifest, &index, total)?;
        let mut prefix = BytesMut::with_capacity(prefix_len as usize);
        prefix.extend_from_slice(&file_header(manifest.has_audio, manifest.has_video));
        prefix.extend_from_slice(&metadata);
        prefix.extend_from_slice(&headers);
        debug_assert_eq!(prefix.len() as u64, prefix_len);
        Ok(ReplayFile {
            prefix: prefix.freeze(),
            segments: placed,
            len: total,
            duration_ms: manifest.end_ms(),
        })
    }

    /// Bytes in the file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is only its prefix (nothing recorded).
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Length of the recording in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.duration_ms
    }

    /// What to send for bytes `range` of the file (clamped to it), in order.
    pub fn pieces(&self, range: Range<u64>) -> Vec<Piece> {
        let range = range.start.min(self.len)..range.end.min(self.len);
        let mut pieces = Vec::new();
        let prefix_len = self.prefix.len() as u64;
        if range.start < prefix_len {
            let end = range.end.min(prefix_len);
            pieces.push(Piece::Prefix(
                self.prefix.slice(range.start as usize..end as usize),
            ));
        }
        let first = self
            .segments
            .partition_point(|s| s.offset + s.bytes <= range.start);
        for segment in self.segments.iter().skip(first) {
            if segment.offset >= range.end {
                break;
            }
            let from = range.start.max(segment.offset) - segment.offset;
            let to = range.end.min(segment.offset + segment.bytes) - segment.offset;
            if from < to {
                pieces.push(Piece::Segment {
                    number: segment.number,
                    within: from..to,
                    position_ms: segment.position_at(from),
                });
            }
        }
        pieces
    }
}

impl Placed {
    /// The position `within` bytes into the segment, assuming an even bitrate inside it.
    fn position_at(&self, within: u64) -> u64 {
        let span = self.end_ms.saturating_sub(self.start_ms);
        match self.bytes {
            0 => self.start_ms,
            bytes => self.start_ms + span * within.min(bytes) / bytes,
        }
    }
}

/// The sequence headers the recording starts with, as FLV tags at time 0.
fn sequence_headers(manifest: &Manifest) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    if let Some(video) = &manifest.video_header {
        out.extend_from_slice(&encode_tag(TagKind::Video, 0, video)?);
    }
    if let Some(audio) = &manifest.audio_header {
        out.extend_from_slice(&encode_tag(TagKind::Audio, 0, audio)?);
    }
    Ok(out)
}

/// The `onMetaData` tag: duration, size, codecs and the keyframe index (`times` in seconds,
/// `filepositions` in bytes, as ffmpeg and players read it).
fn metadata_tag(
    manifest: &Manifest,
    keyframes: &[(u64, u64)],
    file_len: u64,
) -> Result<Bytes, MediaError> {
    let number = |n: u64| Amf0Value::Number(n as f64);
    let mut props = vec![
        (
            "duration".to_owned(),
            Amf0Value::Number(manifest.end_ms() as f64 / 1000.0),
        ),
        ("filesize".to_owned(), number(file_len)),
        (
            "hasVideo".to_owned(),
            Amf0Value::Boolean(manifest.has_video),
        ),
        (
            "hasAudio".to_owned(),
            Amf0Value::Boolean(manifest.has_audio),
        ),
        (
            "hasKeyframes".to_owned(),
            Amf0Value::Boolean(!keyframes.is_empty()),
        ),
        ("canSeekToEnd".to_owned(), Amf0Value::Boolean(true)),
    ];
    if let Some(codec) = manifest.video_header.as_ref().and_then(|h| h.first()) {
        props.push(("videocodecid".to_owned(), number(u64::from(codec & 0x0f))));
    }
    if let Some(codec) = manifest.audio_header.as_ref().and_then(|h| h.first()) {
        props.push(("audiocodecid".to_owned(), number(u64::from(codec >> 4))));
    }
    props.push((
        "keyframes".to_owned(),
        Amf0Value::Object(vec![
            (
                "times".to_owned(),
                Amf0Value::StrictArray(
                    keyframes
                        .iter()
                        .map(|(ms, _)| Amf0Value::Number(*ms as f64 / 1000.0))
                        .collect(),
                ),
            ),
            (
                "filepositions".to_owned(),
                Amf0Value::StrictArray(keyframes.iter().map(|(_, at)| number(*at)).collect()),
            ),
        ]),
    ));
    let data = amf0::encode(&[
        Amf0Value::String("onMetaData".to_owned()),
        Amf0Value::EcmaArray(props),
    ]);
    encode_tag(TagKind::Script, 0, &data)
}

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// No range (or one this server answers with the whole file: several ranges, other units).
    Whole,
    /// One satisfiable range.
    Part(Range<u64>),
    /// A range outside the file: 416.
    Unsatisfiable,
}

/// Reads a `Range` header value for a file of `len` bytes (RFC 9110 §14.1.2; one range).
pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let digits = |s: &str| !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
    match (first.is_empty(), last.is_empty()) {
        (true, false) if digits(last) => match last.parse::<u64>() {
            Ok(0) | Err(_) => RangeRequest::Unsatisfiable,
            Ok(_) if len == 0 => RangeRequest::Unsatisfiable,
            Ok(suffix) => RangeRequest::Part(len.saturating_sub(suffix)..len),
        },
        (false, _) if digits(first) && (last.is_empty() || digits(last)) => {
            let Ok(start) = first.parse::<u64>() else {
                return RangeRequest::Whole;
            };
            let end = match last.parse::<u64>() {
                Ok(last) if last < start => return RangeRequest::Whole,
                Ok(last) => last.saturating_add(1).min(len),
                Err(_) => len,
            };
            if start >= len {
                RangeRequest::Unsatisfiable
            } else {
                RangeRequest::Part(start..end)
            }
        }
        _ => RangeRequest::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::manifest::SegmentEntry;
    use bookmygig_api::GigId;
    use time::OffsetDateTime;

    fn manifest() -> Manifest {
        let mut m = Manifest::new(GigId::new(), OffsetDateTime::UNIX_EPOCH);
        m.has_video = true;
        m.has_audio = true;
        m.video_header = Some(vec![0x17, 0, 0, 0, 0, 1, 2, 3]);
        m.audio_header = Some(vec![0xAF, 0, 0x12, 0x10]);
        m.segments = vec![
            SegmentEntry {
                number: 0,
                start_ms: 0,
                end_ms: 2_000,
                bytes: 1_000,
                keyframes: vec![(0, 0)],
            },
            SegmentEntry {
                number: 1,
                start_ms: 2_000,
                end_ms: 4_000,
                bytes: 500,
                keyframes: vec![(2_000, 0), (3_000, 250)],
            },
        ];
        m
    }

    fn prefix_len(file: &ReplayFile) -> u64 {
        file.len() - 1_500
    }

    #[test]
    fn the_metadata_indexes_each_keyframe_at_its_byte_in_the_file() {
        let file = ReplayFile::new(&manifest()).unwrap();
        let Piece::Prefix(prefix) = &file.pieces(0..u64::MAX)[0] else {
            panic!("the file starts with its prefix")
        };
        assert_eq!(&prefix[..3], b"FLV");
        let script_len = u32::from_be_bytes([0, prefix[14], prefix[15], prefix[16]]) as usize;
        let values = amf0::decode_all(&prefix[24..24 + script_len]).unwrap();
        let props = &values[1];
        assert_eq!(props.get("duration").unwrap().as_f64(), Some(4.0));
        assert_eq!(
            props.get("filesize").unwrap().as_f64(),
            Some(file.len() as f64)
        );
        let keyframes = props.get("keyframes").unwrap();
        let Some(Amf0Value::StrictArray(positions)) = keyframes.get("filepositions") else {
            panic!("filepositions")
        };
        let p = prefix_len(&file) as f64;
        let positions: Vec<f64> = positions.iter().filter_map(Amf0Value::as_f64).collect();
        assert_eq!(positions, vec![p, p + 1_000.0, p + 1_250.0]);
    }

    #[test]
    fn ranges_map_onto_the_prefix_and_the_segments() {
        let file = ReplayFile::new(&manifest()).unwrap();
        let p = prefix_len(&file);
        assert_eq!(
            file.pieces(p + 900..p + 1_100),
            vec![
                Piece::Segment {
                    number: 0,
                    within: 900..1_000,
                    position_ms: 1_800
                },
                Piece::Segment {
                    number: 1,
                    within: 0..100,
                    position_ms: 2_000
                },
            ]
        );
        let pieces = file.pieces(p - 3..p + 1);
        assert!(matches!(&pieces[0], Piece::Prefix(b) if b.len() == 3));
        assert_eq!(pieces.len(), 2);
        assert!(file.pieces(file.len()..file.len() + 10).is_empty());
    }

    #[test]
    fn the_layout_depends_only_on_the_manifest() {
        let m = manifest();
        let a = ReplayFile::new(&m).unwrap();
        let b = ReplayFile::new(&m).unwrap();
        assert_eq!(a.pieces(0..a.len()), b.pieces(0..b.len()));
    }

    #[test]
    fn range_headers_are_read_as_rfc_9110_says() {
        assert_eq!(parse_range(None, 100), RangeRequest::Whole);
        assert_eq!(
            parse_range(Some("bytes=0-"), 100),
            RangeRequest::Part(0..100)
        );
        assert_eq!(
            parse_range(Some("bytes=10-19"), 100),
            RangeRequest::Part(10..20)
        );
        assert_eq!(
            parse_range(Some("bytes=90-200"), 100),
            RangeRequest::Part(90..100)
        );
        assert_eq!(
            parse_range(Some("bytes=-10"), 100),
            RangeRequest::Part(90..100)
        );
        assert_eq!(
            parse_range(Some("bytes=-500"), 100),
            RangeRequest::Part(0..100)
        );
        assert_eq!(
            parse_range(Some("bytes=100-"), 100),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(
            parse_range(Some("bytes=-0"), 100),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=5-1"), 100), RangeRequest::Whole);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), RangeRequest::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), RangeRequest::Whole);
        assert_eq!(parse_range(Some("bytes=x-1"), 100), RangeRequest::Whole);
        assert_eq!(
            parse_range(Some("bytes=99999999999999999999-"), 100),
            RangeRequest::Whole
        );
    }
}
