//! FLV audio tag headers, legacy and enhanced RTMP: which codec, and whether the tag is a
//! sequence header.
//!
//! The AAC decoder configuration is parsed in [`parse_aac_config`]; coded frames pass through.

mod aac;

pub use aac::{AacConfig, aac_config_from_tag, parse_aac_config};

use std::fmt;

use crate::MediaError;
use crate::video::{read_fourcc, skip_mod_ex};

const WHAT: &str = "audio tag header";

/// Legacy sound format of MP3.
const FORMAT_MP3: u8 = 2;
/// Enhanced RTMP: the sound format value that marks an extended header.
const FORMAT_EX_HEADER: u8 = 9;
/// Legacy sound format of AAC.
const FORMAT_AAC: u8 = 10;
/// Legacy sound format of MP3 at 8 kHz.
const FORMAT_MP3_8K: u8 = 14;

/// Enhanced RTMP audio packet types.
mod packet_type {
    pub(super) const SEQUENCE_START: u8 = 0;
    pub(super) const MULTITRACK: u8 = 5;
    pub(super) const MOD_EX: u8 = 7;
}

/// Audio codecs we recognise. The configuration is parsed for AAC only; every codec passes
/// through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// AAC: legacy sound format 10 or FourCC `mp4a`.
    Aac,
    /// MP3: legacy sound formats 2 and 14 or FourCC `.mp3`.
    Mp3,
    /// Opus: FourCC `Opus` (enhanced RTMP only).
    Opus,
    /// Another legacy sound format (the high 4 bits of the first byte).
    Other(u8),
    /// Another enhanced-RTMP FourCC (`fLaC`, `ac-3`, `ec-3`…) as a big-endian number.
    OtherFourCc(u32),
}

impl AudioCodec {
    /// The codec for an enhanced-RTMP FourCC.
    pub fn from_fourcc(fourcc: [u8; 4]) -> Self {
        match &fourcc {
            b"mp4a" => Self::Aac,
            b".mp3" => Self::Mp3,
            b"Opus" => Self::Opus,
            _ => Self::OtherFourCc(u32::from_be_bytes(fourcc)),
        }
    }

    /// The codec for a legacy sound format (the high 4 bits of the first byte).
    pub fn from_legacy_format(format: u8) -> Self {
        match format {
            FORMAT_AAC => Self::Aac,
            FORMAT_MP3 | FORMAT_MP3_8K => Self::Mp3,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for AudioCodec {
    /// The codec's short name as ffprobe spells it (`aac`, `mp3`, `opus`, `pcm_alaw`…).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Aac => f.write_str("aac"),
            Self::Mp3 => f.write_str("mp3"),
            Self::Opus => f.write_str("opus"),
            Self::Other(0 | 3) => f.write_str("pcm"),
            Self::Other(1) => f.write_str("adpcm_swf"),
            Self::Other(4..=6) => f.write_str("nellymoser"),
            Self::Other(7) => f.write_str("pcm_alaw"),
            Self::Other(8) => f.write_str("pcm_mulaw"),
            Self::Other(11) => f.write_str("speex"),
            Self::Other(format) => write!(f, "flv-audio-{format}"),
            Self::OtherFourCc(fourcc) => match &fourcc.to_be_bytes() {
                b"fLaC" => f.write_str("flac"),
                b"ac-3" => f.write_str("ac3"),
                b"ec-3" => f.write_str("eac3"),
                bytes => {
                    let text: String = bytes
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
            },
        }
    }
}

/// What an audio tag's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioTagInfo {
    /// The codec.
    pub codec: AudioCodec,
    /// Whether the tag carries the decoder configuration (AAC packet type 0, enhanced
    /// `SequenceStart`).
    pub is_sequence_header: bool,
}

/// A parsed header and where the codec payload starts.
pub(crate) struct ParsedHeader {
    pub(crate) info: AudioTagInfo,
    /// Offset of the payload (for a sequence header: the decoder configuration).
    pub(crate) body_offset: usize,
    /// Enhanced multitrack tags wrap their payload in per-track framing.
    pub(crate) multitrack: bool,
}

/// Parses the FLV audio tag header, legacy or enhanced RTMP.
///
/// # Errors
/// [`MediaError::Truncated`] on empty data, an AAC tag without its packet type byte, or an
/// enhanced header without its FourCC.
pub fn parse_audio_tag(data: &[u8]) -> Result<AudioTagInfo, MediaError> {
    parse_header(data).map(|parsed| parsed.info)
}

pub(crate) fn parse_header(data: &[u8]) -> Result<ParsedHeader, MediaError> {
    let first = *data.first().ok_or(MediaError::Truncated(WHAT))?;
    let format = first >> 4;
    match format {
        FORMAT_EX_HEADER => parse_enhanced(data, first & 0x0F),
        FORMAT_AAC => {
            let packet_type = *data.get(1).ok_or(MediaError::Truncated(WHAT))?;
            Ok(ParsedHeader {
                info: AudioTagInfo {
                    codec: AudioCodec::Aac,
                    is_sequence_header: packet_type == 0,
                },
                body_offset: 2,
                multitrack: false,
            })
        }
        _ => Ok(ParsedHeader {
            info: AudioTagInfo {
                codec: AudioCodec::from_legacy_format(format),
                is_sequence_header: false,
            },
            body_offset: 1,
            multitrack: false,
        }),
    }
}

fn parse_enhanced(data: &[u8], mut packet_type: u8) -> Result<ParsedHeader, MediaError> {
    let mut pos = 1;
    // ModEx entries each consume at least two bytes, so the loop ends with the data.
    while packet_type == packet_type::MOD_EX {
        (packet_type, pos) = skip_mod_ex(data, pos, WHAT)?;
    }
    let multitrack = packet_type == packet_type::MULTITRACK;
    if multitrack {
        // High nibble: multitrack type; low nibble: the packet type of the tracks. The FourCC
        // (of all tracks, or of the first one) follows.
        packet_type = data.get(pos).ok_or(MediaError::Truncated(WHAT))? & 0x0F;
        pos += 1;
    }
    let fourcc = read_fourcc(data, pos, WHAT)?;
    Ok(ParsedHeader {
        info: AudioTagInfo {
            codec: AudioCodec::from_fourcc(fourcc),
            is_sequence_header: packet_type == packet_type::SEQUENCE_START,
        },
        body_offset: pos + 4,
        multitrack,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_aac_sequence_header_and_raw_frame() {
        assert_eq!(
            parse_audio_tag(&[0xAF, 0, 0x12, 0x10]).unwrap(),
            AudioTagInfo {
                codec: AudioCodec::Aac,
                is_sequence_header: true
            }
        );
        assert_eq!(
            parse_audio_tag(&[0xAF, 1, 0x21]).unwrap(),
            AudioTagInfo {
                codec: AudioCodec::Aac,
                is_sequence_header: false
            }
        );
    }

    #[test]
    fn legacy_mp3_and_others_have_no_sequence_header() {
        let mp3 = parse_audio_tag(&[0x2F, 0xFF, 0xFB]).unwrap();
        assert_eq!(mp3.codec, AudioCodec::Mp3);
        assert!(!mp3.is_sequence_header);
        assert_eq!(parse_audio_tag(&[0xE2]).unwrap().codec, AudioCodec::Mp3);
        let alaw = parse_audio_tag(&[0x72]).unwrap();
        assert_eq!(alaw.codec, AudioCodec::Other(7));
        assert_eq!(alaw.codec.to_string(), "pcm_alaw");
    }

    #[test]
    fn enhanced_audio_headers_name_their_fourcc() {
        let opus = parse_audio_tag(b"\x90Opus\x01\x02").unwrap();
        assert_eq!(
            opus,
            AudioTagInfo {
                codec: AudioCodec::Opus,
                is_sequence_header: true
            }
        );
        let aac = parse_audio_tag(b"\x91mp4a\x21").unwrap();
        assert_eq!(aac.codec, AudioCodec::Aac);
        assert!(!aac.is_sequence_header);
        let flac = parse_audio_tag(b"\x90fLaC").unwrap();
        assert_eq!(flac.codec.to_string(), "flac");
        // Multitrack (one track) around a SequenceStart, and a ModEx entry before CodedFrames.
        let multi = parse_audio_tag(b"\x95\x00mp4a\x00\x12\x10").unwrap();
        assert!(multi.is_sequence_header);
        let mod_ex = parse_audio_tag(b"\x97\x00\x00\x01.mp3").unwrap();
        assert_eq!(
            mod_ex,
            AudioTagInfo {
                codec: AudioCodec::Mp3,
                is_sequence_header: false
            }
        );
    }

    #[test]
    fn short_audio_headers_are_errors() {
        assert_eq!(parse_audio_tag(&[]), Err(MediaError::Truncated(WHAT)));
        assert_eq!(parse_audio_tag(&[0xAF]), Err(MediaError::Truncated(WHAT)));
        assert_eq!(
            parse_audio_tag(b"\x90Opu"),
            Err(MediaError::Truncated(WHAT))
        );
        assert_eq!(parse_audio_tag(b"\x95"), Err(MediaError::Truncated(WHAT)));
    }
}
