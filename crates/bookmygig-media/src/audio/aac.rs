//! AAC decoder configuration: the `AudioSpecificConfig` of an AAC sequence header (object type,
//! sample rate, channels).

use super::{AudioCodec, parse_header};
use crate::MediaError;
use crate::bits::BitReader;

const ASC: &str = "AudioSpecificConfig";

/// Sample rates by `samplingFrequencyIndex` (13 and 14 are reserved, 15 means explicit).
const SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];
/// Audio object type of SBR (HE-AAC) with explicit signalling.
const AOT_SBR: u8 = 5;
/// Audio object type of parametric stereo (HE-AAC v2) with explicit signalling.
const AOT_PS: u8 = 29;

/// What a viewer needs to know about an AAC stream, from its `AudioSpecificConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AacConfig {
    /// Audio object type (2 is AAC-LC, 5 HE-AAC, 29 HE-AAC v2; escaped values up to 95).
    pub object_type: u8,
    /// Output sample rate in Hz (for explicitly signalled HE-AAC, the SBR rate).
    pub sample_rate: u32,
    /// Number of channels; 0 when a program config element defines them.
    pub channels: u8,
}

/// Parses an `AudioSpecificConfig` (the data after the 2-byte AAC tag header), including the
/// escaped object type (31) and the explicit 24-bit sample rate (frequency index 15).
///
/// # Errors
/// [`MediaError::Truncated`] when the data ends early, [`MediaError::Invalid`] for object type 0,
/// a reserved frequency index or channel configuration, or a sample rate of 0.
pub fn parse_aac_config(asc: &[u8]) -> Result<AacConfig, MediaError> {
    let mut r = BitReader::new(asc, ASC);
    let object_type = object_type(&mut r)?;
    if object_type == 0 {
        return Err(invalid("audio object type 0"));
    }
    let mut sample_rate = sample_rate(&mut r)?;
    let channels = match r.bits(4)? {
        // Both fit in 4 bits.
        config @ 0..=6 => config as u8,
        7 | 12 | 14 => 8,
        11 => 7,
        13 => 24,
        _ => return Err(invalid("reserved channel configuration")),
    };
    if object_type == AOT_SBR || object_type == AOT_PS {
        // Explicit hierarchical signalling: the output rate follows.
        sample_rate = self::sample_rate(&mut r)?;
    }
    Ok(AacConfig {
        object_type,
        sample_rate,
        channels,
    })
}

/// Finds the AAC sequence header in a whole audio tag's data (legacy or enhanced RTMP) and parses
/// its `AudioSpecificConfig`.
///
/// # Errors
/// [`MediaError::WrongTag`] if the tag is not a single-track AAC sequence header; otherwise as
/// [`parse_audio_tag`](super::parse_audio_tag) and [`parse_aac_config`].
pub fn aac_config_from_tag(data: &[u8]) -> Result<AacConfig, MediaError> {
    let parsed = parse_header(data)?;
    if parsed.info.codec != AudioCodec::Aac || !parsed.info.is_sequence_header || parsed.multitrack
    {
        return Err(MediaError::WrongTag("an AAC sequence header"));
    }
    let asc = data
        .get(parsed.body_offset..)
        .ok_or(MediaError::Truncated(ASC))?;
    parse_aac_config(asc)
}

fn invalid(reason: &'static str) -> MediaError {
    MediaError::Invalid { what: ASC, reason }
}

fn object_type(r: &mut BitReader<'_>) -> Result<u8, MediaError> {
    // 5 bits, or 32 + 6 more bits after the escape value 31: at most 95, so it fits in a u8.
    let aot = r.bits(5)?;
    let aot = if aot == 31 { 32 + r.bits(6)? } else { aot };
    Ok(aot as u8)
}

fn sample_rate(r: &mut BitReader<'_>) -> Result<u32, MediaError> {
    let index = r.bits(4)?;
    let rate = if index == 15 {
        r.bits(24)?
    } else {
        *SAMPLE_RATES
            .get(index as usize)
            .ok_or(invalid("reserved sampling frequency index"))?
    };
    if rate == 0 {
        return Err(invalid("sample rate 0"));
    }
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(object_type: u8, sample_rate: u32, channels: u8) -> AacConfig {
        AacConfig {
            object_type,
            sample_rate,
            channels,
        }
    }

    #[test]
    fn aac_lc_common_configs() {
        assert_eq!(parse_aac_config(&[0x12, 0x10]), Ok(config(2, 44_100, 2)));
        assert_eq!(parse_aac_config(&[0x11, 0x90]), Ok(config(2, 48_000, 2)));
        assert_eq!(parse_aac_config(&[0x11, 0x88]), Ok(config(2, 48_000, 1)));
        // 7.1: channel configuration 7.
        assert_eq!(parse_aac_config(&[0x11, 0xB8]), Ok(config(2, 48_000, 8)));
    }

    #[test]
    fn escaped_object_type_is_32_plus_six_bits() {
        // 11111 | 001010 (42: USAC) | 0011 (48 kHz) | 0010 (stereo) | pad
        let bits = "11111001010001100100000";
        assert_eq!(parse_aac_config(&pack(bits)), Ok(config(42, 48_000, 2)));
    }

    #[test]
    fn explicit_24_bit_sample_rate() {
        // 00010 (LC) | 1111 | 24 bits of 50_000 | 0001 (mono) | pad
        let bits = format!("000101111{:024b}0001", 50_000);
        assert_eq!(parse_aac_config(&pack(&bits)), Ok(config(2, 50_000, 1)));
    }

    #[test]
    fn explicit_he_aac_reports_the_sbr_rate() {
        // 00101 (SBR) | 0110 (24 kHz core) | 0010 | 0011 (48 kHz output) | 00010 (LC)
        let bits = "00101011000100011000100";
        assert_eq!(parse_aac_config(&pack(bits)), Ok(config(5, 48_000, 2)));
    }

    #[test]
    fn bad_configs_are_errors() {
        assert_eq!(parse_aac_config(&[]), Err(MediaError::Truncated(ASC)));
        assert_eq!(parse_aac_config(&[0x12]), Err(MediaError::Truncated(ASC)));
        assert!(matches!(
            parse_aac_config(&[0x00, 0x10]),
            Err(MediaError::Invalid { .. })
        ));
        // Frequency index 13 is reserved.
        assert!(matches!(
            parse_aac_config(&pack("000101101")),
            Err(MediaError::Invalid { .. })
        ));
        // Explicit rate of zero.
        assert!(matches!(
            parse_aac_config(&pack(&format!("000101111{:024b}0010", 0))),
            Err(MediaError::Invalid { .. })
        ));
        // Channel configuration 8 is reserved.
        assert!(matches!(
            parse_aac_config(&pack("0001000111000")),
            Err(MediaError::Invalid { .. })
        ));
    }

    #[test]
    fn config_from_legacy_and_enhanced_tags() {
        assert_eq!(
            aac_config_from_tag(&[0xAF, 0, 0x12, 0x10]),
            Ok(config(2, 44_100, 2))
        );
        assert_eq!(
            aac_config_from_tag(b"\x90mp4a\x11\x90"),
            Ok(config(2, 48_000, 2))
        );
        assert_eq!(
            aac_config_from_tag(&[0xAF, 1, 0x21]),
            Err(MediaError::WrongTag("an AAC sequence header"))
        );
        assert_eq!(
            aac_config_from_tag(b"\x90Opus\x01"),
            Err(MediaError::WrongTag("an AAC sequence header"))
        );
    }

    /// Packs a string of '0'/'1' into bytes, zero-padded.
    fn pack(bits: &str) -> Vec<u8> {
        bits.as_bytes()
            .chunks(8)
            .map(|chunk| {
                let byte = chunk
                    .iter()
                    .fold(0u8, |acc, &b| (acc << 1) | u8::from(b == b'1'));
                byte << (8 - chunk.len())
            })
            .collect()
    }
}
