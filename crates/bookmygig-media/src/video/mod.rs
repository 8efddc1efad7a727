//! FLV video tag headers, legacy and enhanced RTMP: which codec, which frame type, which packet.
//!
//! Codec configurations carried by sequence headers are parsed in submodules (AVC in
//! [`parse_avc_config`]); the coded frames themselves are passed through untouched.

mod avc;

pub use avc::{AvcConfig, avc_config_from_tag, parse_avc_config};

use std::fmt;

use crate::MediaError;

/// Names the structure in errors.
const WHAT: &str = "video tag header";

/// Legacy FLV codec id of AVC (H.264).
const LEGACY_AVC: u8 = 7;
/// Legacy codec id that many servers and players use for HEVC (not in the FLV specification).
const LEGACY_HEVC: u8 = 12;
/// Enhanced RTMP: bit of the first byte that marks an extended header.
const EX_HEADER: u8 = 0x80;

/// Enhanced RTMP video packet types (low 4 bits of the first byte).
mod packet_type {
    pub(super) const SEQUENCE_START: u8 = 0;
    pub(super) const CODED_FRAMES: u8 = 1;
    pub(super) const SEQUENCE_END: u8 = 2;
    pub(super) const CODED_FRAMES_X: u8 = 3;
    pub(super) const METADATA: u8 = 4;
    pub(super) const MPEG2TS_SEQUENCE_START: u8 = 5;
    pub(super) const MULTITRACK: u8 = 6;
    pub(super) const MOD_EX: u8 = 7;
}

/// Video codecs we recognise. Sequence headers are parsed for AVC only; every codec passes
/// through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// H.264 / AVC: legacy codec id 7 or FourCC `avc1`.
    Avc,
    /// H.265 / HEVC: legacy codec id 12 (non-standard but common) or FourCC `hvc1`.
    Hevc,
    /// AV1: FourCC `av01`.
    Av1,
    /// VP9: FourCC `vp09`.
    Vp9,
    /// Anything else: a legacy codec id (below 16) or an enhanced-RTMP FourCC as a big-endian
    /// number; 0 when the tag does not name a codec (enhanced command frames).
    Other(u32),
}

impl VideoCodec {
    /// The codec for an enhanced-RTMP FourCC.
    pub fn from_fourcc(fourcc: [u8; 4]) -> Self {
        match &fourcc {
            b"avc1" => Self::Avc,
            b"hvc1" | b"hev1" => Self::Hevc,
            b"av01" => Self::Av1,
            b"vp09" => Self::Vp9,
            _ => Self::Other(u32::from_be_bytes(fourcc)),
        }
    }

    /// The codec for a legacy FLV codec id (low 4 bits of the first byte).
    pub fn from_legacy_id(id: u8) -> Self {
        match id {
            LEGACY_AVC => Self::Avc,
            LEGACY_HEVC => Self::Hevc,
            other => Self::Other(u32::from(other)),
        }
    }
}

impl fmt::Display for VideoCodec {
    /// The codec's short name as ffprobe spells it (`h264`, `hevc`, `av1`, `vp9`, `flv1`…); an
    /// unknown FourCC prints as its four characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Avc => f.write_str("h264"),
            Self::Hevc => f.write_str("hevc"),
            Self::Av1 => f.write_str("av1"),
            Self::Vp9 => f.write_str("vp9"),
            Self::Other(2) => f.write_str("flv1"),
            Self::Other(3) => f.write_str("flashsv"),
            Self::Other(4) => f.write_str("vp6f"),
            Self::Other(5) => f.write_str("vp6a"),
            Self::Other(6) => f.write_str("flashsv2"),
            Self::Other(id) if *id < 16 => write!(f, "flv-video-{id}"),
            Self::Other(fourcc) => {
                let text: String = fourcc
                    .to_be_bytes()
                    .iter()
                    .map(|&b| {
                        if b.is_ascii_graphic() {
                            char::from(b)
                        } else {
                            '?'
                        }
                    })
                    .collect();
                f.write_str(&text)
            }
        }
    }
}

/// The frame type of a video tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// A keyframe (1): decoding can start here.
    Key,
    /// An inter frame (2).
    Inter,
    /// A disposable inter frame (3, H.263 only).
    DisposableInter,
    /// A generated keyframe (4, reserved for server use).
    Generated,
    /// A video info / command frame (5), which carries no picture.
    Command,
}

/// What the video tag's payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoPacket {
    /// The decoder configuration (AVC/HEVC sequence header, enhanced `SequenceStart`).
    SequenceStart,
    /// Coded pictures.
    CodedFrames,
    /// End of sequence.
    SequenceEnd,
    /// Enhanced-RTMP video metadata (e.g. HDR colour information).
    Metadata,
    /// Anything else (command frames, unknown packet types).
    Other,
}

/// What a video tag's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoTagInfo {
    /// The codec.
    pub codec: VideoCodec,
    /// The frame type.
    pub frame_type: FrameType,
    /// The kind of payload.
    pub packet: VideoPacket,
}

impl VideoTagInfo {
    /// Whether the tag is a coded keyframe: where a viewer may start decoding.
    pub fn is_keyframe(&self) -> bool {
        self.frame_type == FrameType::Key && self.packet == VideoPacket::CodedFrames
    }

    /// Whether the tag carries the decoder configuration.
    pub fn is_sequence_header(&self) -> bool {
        self.packet == VideoPacket::SequenceStart
    }
}

/// A parsed header and where the codec payload starts.
pub(crate) struct ParsedHeader {
    pub(crate) info: VideoTagInfo,
    /// Offset of the payload (for a sequence start: the decoder configuration record).
    pub(crate) body_offset: usize,
    /// Enhanced multitrack tags wrap their payload in per-track framing.
    pub(crate) multitrack: bool,
}

/// Parses the FLV video tag header, legacy or enhanced RTMP.
///
/// # Errors
/// [`MediaError::Truncated`] on empty or short data, [`MediaError::Invalid`] on a reserved frame
/// type.
pub fn parse_video_tag(data: &[u8]) -> Result<VideoTagInfo, MediaError> {
    parse_header(data).map(|parsed| parsed.info)
}

pub(crate) fn parse_header(data: &[u8]) -> Result<ParsedHeader, MediaError> {
    let first = *data.first().ok_or(MediaError::Truncated(WHAT))?;
    if first & EX_HEADER != 0 {
        parse_enhanced(data, first)
    } else {
        parse_legacy(data, first)
    }
}

fn frame_type(bits: u8) -> Result<FrameType, MediaError> {
    match bits {
        1 => Ok(FrameType::Key),
        2 => Ok(FrameType::Inter),
        3 => Ok(FrameType::DisposableInter),
        4 => Ok(FrameType::Generated),
        5 => Ok(FrameType::Command),
        _ => Err(MediaError::Invalid {
            what: WHAT,
            reason: "reserved frame type",
        }),
    }
}

fn parse_legacy(data: &[u8], first: u8) -> Result<ParsedHeader, MediaError> {
    let frame_type = frame_type(first >> 4)?;
    let codec_id = first & 0x0F;
    let codec = VideoCodec::from_legacy_id(codec_id);
    let (packet, body_offset) = if frame_type == FrameType::Command {
        (VideoPacket::Other, 1)
    } else if codec_id == LEGACY_AVC || codec_id == LEGACY_HEVC {
        // Codec id byte, AVCPacketType, 24-bit composition time.
        let (Some(kind), true) = (data.get(1), data.len() >= 5) else {
            return Err(MediaError::Truncated(WHAT));
        };
        let packet = match kind {
            0 => VideoPacket::SequenceStart,
            1 => VideoPacket::CodedFrames,
            2 => VideoPacket::SequenceEnd,
            _ => VideoPacket::Other,
        };
        (packet, 5)
    } else {
        (VideoPacket::CodedFrames, 1)
    };
    Ok(ParsedHeader {
        info: VideoTagInfo {
            codec,
            frame_type,
            packet,
        },
        body_offset,
        multitrack: false,
    })
}

fn parse_enhanced(data: &[u8], first: u8) -> Result<ParsedHeader, MediaError> {
    let frame_type = frame_type((first >> 4) & 0x07)?;
    let mut packet_type = first & 0x0F;
    let mut pos = 1;
    // ModEx entries each consume at least two bytes, so the loop ends with the data.
    while packet_type == packet_type::MOD_EX {
        (packet_type, pos) = skip_mod_ex(data, pos, WHAT)?;
    }
    let byte_at = |pos: usize| data.get(pos).copied().ok_or(MediaError::Truncated(WHAT));
    if frame_type == FrameType::Command && packet_type != packet_type::METADATA {
        // A command byte instead of a FourCC and payload.
        byte_at(pos)?;
        return Ok(ParsedHeader {
            info: VideoTagInfo {
                codec: VideoCodec::Other(0),
                frame_type,
                packet: VideoPacket::Other,
            },
            body_offset: pos + 1,
            multitrack: false,
        });
    }
    let multitrack = packet_type == packet_type::MULTITRACK;
    if multitrack {
        // High nibble: multitrack type; low nibble: the packet type of the tracks. With one
        // codec for all tracks the FourCC follows; with many, the first track's FourCC does.
        packet_type = byte_at(pos)? & 0x0F;
        pos += 1;
    }
    let fourcc = read_fourcc(data, pos, WHAT)?;
    pos += 4;
    let packet = match packet_type {
        packet_type::SEQUENCE_START | packet_type::MPEG2TS_SEQUENCE_START => {
            VideoPacket::SequenceStart
        }
        packet_type::CODED_FRAMES | packet_type::CODED_FRAMES_X => VideoPacket::CodedFrames,
        packet_type::SEQUENCE_END => VideoPacket::SequenceEnd,
        packet_type::METADATA => VideoPacket::Metadata,
        _ => VideoPacket::Other,
    };
    Ok(ParsedHeader {
        info: VideoTagInfo {
            codec: VideoCodec::from_fourcc(fourcc),
            frame_type,
            packet,
        },
        body_offset: pos,
        multitrack,
    })
}

/// Skips one enhanced-RTMP ModEx entry starting at `pos` and returns the packet type that follows
/// and the position after it. Shared with the audio tag parser, which has the same layout.
pub(crate) fn skip_mod_ex(
    data: &[u8],
    mut pos: usize,
    what: &'static str,
) -> Result<(u8, usize), MediaError> {
    let byte_at = |pos: usize| data.get(pos).copied().ok_or(MediaError::Truncated(what));
    let mut size = usize::from(byte_at(pos)?) + 1;
    pos += 1;
    if size == 256 {
        size = usize::from(u16::from_be_bytes([byte_at(pos)?, byte_at(pos + 1)?])) + 1;
        pos += 2;
    }
    pos += size;
    // High nibble: ModEx type (ignored); low nibble: the next packet type.
    let packet_type = byte_at(pos)? & 0x0F;
    Ok((packet_type, pos + 1))
}

/// Reads the FourCC at `pos`.
pub(crate) fn read_fourcc(
    data: &[u8],
    pos: usize,
    what: &'static str,
) -> Result<[u8; 4], MediaError> {
    match data.get(pos..pos + 4) {
        Some(&[a, b, c, d]) => Ok([a, b, c, d]),
        _ => Err(MediaError::Truncated(what)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(codec: VideoCodec, frame_type: FrameType, packet: VideoPacket) -> VideoTagInfo {
        VideoTagInfo {
            codec,
            frame_type,
            packet,
        }
    }

    #[test]
    fn legacy_avc_sequence_header_keyframe_and_inter_frame() {
        let seq = parse_video_tag(&[0x17, 0, 0, 0, 0, 1, 0x64]).unwrap();
        assert_eq!(
            seq,
            info(VideoCodec::Avc, FrameType::Key, VideoPacket::SequenceStart)
        );
        assert!(seq.is_sequence_header());
        assert!(!seq.is_keyframe());

        let key = parse_video_tag(&[0x17, 1, 0, 0, 0x21, 0, 0, 0, 1, 0x65]).unwrap();
        assert!(key.is_keyframe());
        assert!(!key.is_sequence_header());

        let inter = parse_video_tag(&[0x27, 1, 0, 0, 0x21]).unwrap();
        assert_eq!(
            inter,
            info(VideoCodec::Avc, FrameType::Inter, VideoPacket::CodedFrames)
        );
        assert!(!inter.is_keyframe());

        let end = parse_video_tag(&[0x17, 2, 0, 0, 0]).unwrap();
        assert_eq!(end.packet, VideoPacket::SequenceEnd);
    }

    #[test]
    fn legacy_hevc_id_12_is_recognised() {
        let key = parse_video_tag(&[0x1C, 1, 0, 0, 0]).unwrap();
        assert_eq!(key.codec, VideoCodec::Hevc);
        assert!(key.is_keyframe());
    }

    #[test]
    fn legacy_non_avc_codecs_are_coded_frames() {
        let vp6 = parse_video_tag(&[0x14, 0xAB]).unwrap();
        assert_eq!(
            vp6,
            info(
                VideoCodec::Other(4),
                FrameType::Key,
                VideoPacket::CodedFrames
            )
        );
        assert_eq!(vp6.codec.to_string(), "vp6f");
        let h263 = parse_video_tag(&[0x32]).unwrap();
        assert_eq!(h263.frame_type, FrameType::DisposableInter);
    }

    #[test]
    fn legacy_command_frame_carries_no_picture() {
        let cmd = parse_video_tag(&[0x57, 0]).unwrap();
        assert_eq!(
            cmd,
            info(VideoCodec::Avc, FrameType::Command, VideoPacket::Other)
        );
    }

    #[test]
    fn enhanced_hevc_av1_vp9_headers_parse() {
        let seq = parse_video_tag(b"\x90hvc1\x01\x02").unwrap();
        assert_eq!(
            seq,
            info(VideoCodec::Hevc, FrameType::Key, VideoPacket::SequenceStart)
        );
        let key = parse_video_tag(b"\x91hvc1\0\0\0data").unwrap();
        assert!(key.is_keyframe());
        let key_x = parse_video_tag(b"\x93av01data").unwrap();
        assert_eq!(
            key_x,
            info(VideoCodec::Av1, FrameType::Key, VideoPacket::CodedFrames)
        );
        let inter = parse_video_tag(b"\xA1vp09\0\0\0").unwrap();
        assert_eq!(
            inter,
            info(VideoCodec::Vp9, FrameType::Inter, VideoPacket::CodedFrames)
        );
        let end = parse_video_tag(b"\x92avc1").unwrap();
        assert_eq!(end.packet, VideoPacket::SequenceEnd);
        let meta = parse_video_tag(b"\x94hvc1\x02").unwrap();
        assert_eq!(meta.packet, VideoPacket::Metadata);
        let unknown = parse_video_tag(b"\x91vvc1").unwrap();
        assert_eq!(unknown.codec.to_string(), "vvc1");
    }

    #[test]
    fn enhanced_command_frame_has_no_fourcc() {
        let cmd = parse_video_tag(&[0xD1, 0]).unwrap();
        assert_eq!(
            cmd,
            info(VideoCodec::Other(0), FrameType::Command, VideoPacket::Other)
        );
    }

    #[test]
    fn enhanced_multitrack_and_mod_ex_are_unwrapped() {
        // Multitrack, one track, packet type SequenceStart.
        let multi = parse_video_tag(b"\x96\x00hvc1\x00\x01").unwrap();
        assert_eq!(
            multi,
            info(VideoCodec::Hevc, FrameType::Key, VideoPacket::SequenceStart)
        );
        // ModEx with 3 bytes of data (size byte 2), then CodedFrames.
        let mod_ex = parse_video_tag(b"\x97\x02abc\x01avc1\0\0\0").unwrap();
        assert!(mod_ex.is_keyframe());
        assert_eq!(mod_ex.codec, VideoCodec::Avc);
        // Two chained ModEx entries, the first with a 16-bit size.
        let mut data = vec![0xA7, 0xFF, 0x00, 0x01, 0xEE, 0xEE, 0x07, 0x00, 0xEE, 0x01];
        data.extend_from_slice(b"av01");
        let chained = parse_video_tag(&data).unwrap();
        assert_eq!(
            chained,
            info(VideoCodec::Av1, FrameType::Inter, VideoPacket::CodedFrames)
        );
    }

    #[test]
    fn empty_short_and_reserved_headers_are_errors() {
        assert_eq!(parse_video_tag(&[]), Err(MediaError::Truncated(WHAT)));
        assert_eq!(
            parse_video_tag(&[0x17, 1, 0]),
            Err(MediaError::Truncated(WHAT))
        );
        assert_eq!(
            parse_video_tag(b"\x90hvc"),
            Err(MediaError::Truncated(WHAT))
        );
        assert_eq!(
            parse_video_tag(b"\x97\x05ab"),
            Err(MediaError::Truncated(WHAT))
        );
        assert!(matches!(
            parse_video_tag(&[0x07, 1, 0, 0, 0]),
            Err(MediaError::Invalid { .. })
        ));
        assert!(matches!(
            parse_video_tag(b"\xE1avc1"),
            Err(MediaError::Invalid { .. })
        ));
    }
}
