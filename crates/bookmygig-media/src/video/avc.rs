//! AVC (H.264) decoder configuration: the `AVCDecoderConfigurationRecord` of a sequence header
//! and the picture size, profile and level read from its first sequence parameter set.

use super::{VideoCodec, VideoPacket, parse_header};
use crate::MediaError;
use crate::bits::{BitReader, unescape_rbsp};

const RECORD: &str = "AVCDecoderConfigurationRecord";
const SPS: &str = "H.264 SPS";
/// NAL unit type of a sequence parameter set.
const NAL_SPS: u8 = 7;

/// What a viewer needs to know about an H.264 stream, from its decoder configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AvcConfig {
    /// `profile_idc` (66 Baseline, 77 Main, 100 High…).
    pub profile: u8,
    /// `level_idc`, ten times the level (31 is level 3.1).
    pub level: u8,
    /// Picture width in pixels, after cropping.
    pub width: u32,
    /// Picture height in pixels (frames, not fields), after cropping.
    pub height: u32,
    /// Bytes of the length prefix before each NAL unit in coded frames (1, 2 or 4).
    pub nal_length_size: u8,
}

impl AvcConfig {
    /// The profile's name, as ffprobe prints it (`High`, `Main`, `Baseline`…).
    pub fn profile_name(&self) -> &'static str {
        match self.profile {
            66 => "Baseline",
            77 => "Main",
            88 => "Extended",
            100 => "High",
            110 => "High 10",
            122 => "High 4:2:2",
            244 => "High 4:4:4 Predictive",
            44 => "CAVLC 4:4:4",
            _ => "unknown",
        }
    }
}

/// Parses an `AVCDecoderConfigurationRecord` (the data after the 5-byte AVC video tag header),
/// including its first SPS, to get the profile, level and picture size.
///
/// # Errors
/// [`MediaError::Truncated`] when the record or SPS ends early, [`MediaError::Invalid`] when a
/// field is out of range (wrong version, no SPS, cropping larger than the picture…).
pub fn parse_avc_config(record: &[u8]) -> Result<AvcConfig, MediaError> {
    let invalid = |reason| MediaError::Invalid {
        what: RECORD,
        reason,
    };
    let &[
        version,
        _profile,
        _compatibility,
        _level,
        length_size,
        sps_count,
        ..,
    ] = record
    else {
        return Err(MediaError::Truncated(RECORD));
    };
    if version != 1 {
        return Err(invalid("configurationVersion is not 1"));
    }
    if sps_count & 0x1F == 0 {
        return Err(invalid("no sequence parameter set"));
    }
    let sps_len = match record.get(6..8) {
        Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
        _ => return Err(MediaError::Truncated(RECORD)),
    };
    let sps = record
        .get(8..8 + sps_len)
        .ok_or(MediaError::Truncated(RECORD))?;
    let mut config = parse_sps(sps)?;
    config.nal_length_size = (length_size & 0x03) + 1;
    Ok(config)
}

/// Finds the AVC sequence header in a whole video tag's data (legacy or enhanced RTMP) and parses
/// its configuration record.
///
/// # Errors
/// [`MediaError::WrongTag`] if the tag is not a single-track AVC sequence header; otherwise as
/// [`parse_video_tag`](super::parse_video_tag) and [`parse_avc_config`].
pub fn avc_config_from_tag(data: &[u8]) -> Result<AvcConfig, MediaError> {
    let parsed = parse_header(data)?;
    if parsed.info.codec != VideoCodec::Avc
        || parsed.info.packet != VideoPacket::SequenceStart
        || parsed.multitrack
    {
        return Err(MediaError::WrongTag("an AVC sequence header"));
    }
    let record = data
        .get(parsed.body_offset..)
        .ok_or(MediaError::Truncated(RECORD))?;
    parse_avc_config(record)
}

/// Profiles whose SPS carries chroma format, bit depths and scaling matrices.
fn has_chroma_info(profile: u8) -> bool {
    matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    )
}

/// Parses an SPS NAL unit (header byte included) up to the frame cropping fields.
fn parse_sps(nal: &[u8]) -> Result<AvcConfig, MediaError> {
    let invalid = |reason| MediaError::Invalid { what: SPS, reason };
    let (&header, payload) = nal.split_first().ok_or(MediaError::Truncated(SPS))?;
    if header & 0x1F != NAL_SPS {
        return Err(invalid("first parameter set is not an SPS"));
    }
    let rbsp = unescape_rbsp(payload);
    let mut r = BitReader::new(&rbsp, SPS);

    // Both fit in 8 bits by construction.
    let profile = r.bits(8)? as u8;
    r.skip(8)?; // constraint_set flags and reserved bits
    let level = r.bits(8)? as u8;
    r.ue()?; // seq_parameter_set_id

    let mut chroma_format_idc = 1;
    let mut separate_colour_plane = false;
    if has_chroma_info(profile) {
        chroma_format_idc = r.ue()?;
        if chroma_format_idc > 3 {
            return Err(invalid("chroma_format_idc above 3"));
        }
        if chroma_format_idc == 3 {
            separate_colour_plane = r.bit()?;
        }
        let bit_depth_luma_minus8 = r.ue()?;
        let bit_depth_chroma_minus8 = r.ue()?;
        if bit_depth_luma_minus8 > 6 || bit_depth_chroma_minus8 > 6 {
            return Err(invalid("bit depth above 14"));
        }
        r.bit()?; // qpprime_y_zero_transform_bypass_flag
        if r.bit()? {
            // seq_scaling_matrix_present_flag
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if r.bit()? {
                    skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }

    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bit()?; // delta_pic_order_always_zero_flag
            r.se()?; // offset_for_non_ref_pic
            r.se()?; // offset_for_top_to_bottom_field
            let cycle = r.ue()?;
            if cycle > 255 {
                return Err(invalid("num_ref_frames_in_pic_order_cnt_cycle above 255"));
            }
            for _ in 0..cycle {
                r.se()?; // offset_for_ref_frame
            }
        }
        2 => {}
        _ => return Err(invalid("pic_order_cnt_type above 2")),
    }
    r.ue()?; // max_num_ref_frames
    r.bit()?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(r.ue()?) + 1;
    let height_map_units = u64::from(r.ue()?) + 1;
    let frame_mbs_only = r.bit()?;
    if !frame_mbs_only {
        r.bit()?; // mb_adaptive_frame_field_flag
    }
    r.bit()?; // direct_8x8_inference_flag
    let (crop_left, crop_right, crop_top, crop_bottom) = if r.bit()? {
        (
            u64::from(r.ue()?),
            u64::from(r.ue()?),
            u64::from(r.ue()?),
            u64::from(r.ue()?),
        )
    } else {
        (0, 0, 0, 0)
    };

    // Fields take two map units per frame macroblock row.
    let field_factor: u64 = if frame_mbs_only { 1 } else { 2 };
    let chroma_array_type = if separate_colour_plane {
        0
    } else {
        chroma_format_idc
    };
    let (crop_unit_x, crop_unit_y) = if chroma_array_type == 0 {
        (1, field_factor)
    } else {
        let sub_width_c = if chroma_format_idc == 3 { 1 } else { 2 };
        let sub_height_c = if chroma_format_idc == 1 { 2 } else { 1 };
        (sub_width_c, sub_height_c * field_factor)
    };
    // Every term is below 2^35, so none of this can overflow a u64.
    let full_width = width_mbs * 16;
    let full_height = field_factor * height_map_units * 16;
    let cropped = |full: u64, unit: u64, a: u64, b: u64| {
        full.checked_sub(unit * (a + b))
            .filter(|&size| size > 0)
            .ok_or(invalid("frame cropping removes the whole picture"))
            .and_then(|size| u32::try_from(size).map_err(|_| invalid("picture too large")))
    };
    Ok(AvcConfig {
        profile,
        level,
        width: cropped(full_width, crop_unit_x, crop_left, crop_right)?,
        height: cropped(full_height, crop_unit_y, crop_top, crop_bottom)?,
        nal_length_size: 4,
    })
}

/// Reads past one `scaling_list()` of `size` entries.
fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Result<(), MediaError> {
    let mut last_scale: i64 = 8;
    let mut next_scale: i64 = 8;
    for _ in 0..size {
        if next_scale != 0 {
            let delta_scale = r.se()?;
            next_scale = (last_scale + delta_scale).rem_euclid(256);
        }
        if next_scale != 0 {
            last_scale = next_scale;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Video tag data of the sequence header ffmpeg/libx264 (`-preset veryfast`) wrote for
    /// `testsrc2=size=1280x720`: High profile, level 3.1.
    const X264_720P_HIGH: &str = "17000000000164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000468ef8fcbfdf8f800";
    /// libx264 1920x1080: the coded height is 1088, cropped by 8 lines.
    const X264_1080P_HIGH: &str = "170000000001640028ffe1001b67640028acd940780227e5c044000003000400000300f03c60c65801000468ef8fcbfdf8f800";
    /// libx264 `-pix_fmt yuv444p` 640x360: High 4:4:4 Predictive, chroma_format_idc 3.
    const X264_360P_444: &str = "170000000001f4001effe1001b67f4001e919b281405ff138088000003000800000301e078b16cb001000668ef8f192190fff8f800";
    /// libx264 `interlaced=1` 720x576: frame_mbs_only_flag 0.
    const X264_576I: &str = "17000000000164001effe100186764001eacd940b424d8088000000300800000190f8a14cb01000468fe8fcbfdf8f800";
    /// libx264 `-profile:v baseline` 320x240.
    const X264_240P_BASELINE: &str = "17000000000142c00dffe100186742c00dd90141fb011000000300100000030320f142a48001000568cb83cb20";

    #[test]
    fn x264_720p_high_profile_sequence_header() {
        let config = avc_config_from_tag(&hex(X264_720P_HIGH)).unwrap();
        assert_eq!(
            config,
            AvcConfig {
                profile: 100,
                level: 31,
                width: 1280,
                height: 720,
                nal_length_size: 4
            }
        );
        assert_eq!(config.profile_name(), "High");
    }

    #[test]
    fn x264_1080p_is_cropped_from_1088() {
        let config = avc_config_from_tag(&hex(X264_1080P_HIGH)).unwrap();
        assert_eq!(
            (config.width, config.height, config.level),
            (1920, 1080, 40)
        );
    }

    #[test]
    fn x264_444_profile_reads_chroma_format_3() {
        let config = avc_config_from_tag(&hex(X264_360P_444)).unwrap();
        assert_eq!(
            (config.profile, config.width, config.height),
            (244, 640, 360)
        );
    }

    #[test]
    fn x264_interlaced_counts_field_pairs() {
        let config = avc_config_from_tag(&hex(X264_576I)).unwrap();
        assert_eq!((config.width, config.height), (720, 576));
    }

    #[test]
    fn x264_baseline_has_no_chroma_info() {
        let config = avc_config_from_tag(&hex(X264_240P_BASELINE)).unwrap();
        assert_eq!(
            (config.profile, config.width, config.height),
            (66, 320, 240)
        );
        assert_eq!(config.profile_name(), "Baseline");
    }

    /// Builds RBSP bits for hand-made SPS vectors.
    #[derive(Default)]
    struct BitWriter {
        bits: Vec<bool>,
    }

    impl BitWriter {
        fn put(&mut self, value: u64, n: u32) -> &mut Self {
            for i in (0..n).rev() {
                self.bits.push((value >> i) & 1 == 1);
            }
            self
        }
        fn ue(&mut self, value: u64) -> &mut Self {
            let code = value + 1;
            let len = 64 - code.leading_zeros();
            self.put(0, len - 1).put(code, len)
        }
        fn se(&mut self, value: i64) -> &mut Self {
            let k = if value > 0 { 2 * value - 1 } else { -2 * value };
            self.ue(k as u64)
        }
        fn bytes(&mut self) -> Vec<u8> {
            self.put(1, 1); // rbsp_stop_one_bit
            while !self.bits.len().is_multiple_of(8) {
                self.bits.push(false);
            }
            self.bits
                .chunks(8)
                .map(|byte| byte.iter().fold(0u8, |acc, &b| (acc << 1) | u8::from(b)))
                .collect()
        }
    }

    fn record_with_sps(sps_rbsp: &[u8]) -> Vec<u8> {
        let mut record = vec![1, sps_rbsp[0], 0, sps_rbsp[2], 0xFF, 0xE1];
        record.extend_from_slice(&(sps_rbsp.len() as u16 + 1).to_be_bytes());
        record.push(0x67);
        record.extend_from_slice(sps_rbsp);
        record.extend_from_slice(&[1, 0, 1, 0x68]);
        record
    }

    #[test]
    fn scaling_lists_and_poc_type_1_are_skipped_correctly() {
        let mut w = BitWriter::default();
        w.put(100, 8).put(0, 8).put(40, 8).ue(0); // High, level 4.0, sps id 0
        w.ue(1).ue(0).ue(0).put(0, 1); // 4:2:0, 8-bit, no bypass
        w.put(1, 1); // seq_scaling_matrix_present_flag
        w.put(1, 1).se(-8); // list 0: "use the default" after one delta
        for _ in 1..6 {
            w.put(0, 1);
        }
        w.put(1, 1); // list 6: 64 explicit entries
        for _ in 0..64 {
            w.se(1);
        }
        w.put(0, 1); // list 7 absent
        w.ue(0).ue(1); // log2_max_frame_num_minus4, pic_order_cnt_type 1
        w.put(0, 1).se(-2).se(1).ue(2).se(3).se(-3);
        w.ue(4).put(0, 1); // max_num_ref_frames, gaps
        w.ue(119).ue(67).put(1, 1).put(1, 1); // 120x68 MBs, frame_mbs_only, direct_8x8
        w.put(1, 1).ue(0).ue(0).ue(0).ue(4); // crop 8 lines at the bottom
        w.put(0, 1); // no VUI
        let record = record_with_sps(&w.bytes());
        let config = parse_avc_config(&record).unwrap();
        assert_eq!((config.width, config.height), (1920, 1080));
    }

    #[test]
    fn separate_colour_planes_crop_in_luma_units() {
        let mut w = BitWriter::default();
        w.put(244, 8).put(0, 8).put(30, 8).ue(0);
        w.ue(3).put(1, 1).ue(0).ue(0).put(0, 1).put(0, 1); // 4:4:4, separate planes, no matrix
        w.ue(0).ue(2); // poc type 2
        w.ue(1).put(0, 1);
        w.ue(19).ue(14).put(1, 1).put(1, 1); // 320x240
        w.put(1, 1).ue(1).ue(1).ue(2).ue(2); // crop 2 columns, 4 rows
        w.put(0, 1);
        let config = parse_avc_config(&record_with_sps(&w.bytes())).unwrap();
        assert_eq!((config.width, config.height), (318, 236));
    }

    #[test]
    fn cropping_everything_is_invalid() {
        let mut w = BitWriter::default();
        w.put(66, 8).put(0, 8).put(30, 8).ue(0);
        w.ue(0).ue(0).ue(0).ue(1).put(0, 1);
        w.ue(0).ue(0).put(1, 1).put(1, 1); // 16x16
        w.put(1, 1).ue(4).ue(4).ue(0).ue(0); // crop 8 + 8 columns
        w.put(0, 1);
        assert!(matches!(
            parse_avc_config(&record_with_sps(&w.bytes())),
            Err(MediaError::Invalid { .. })
        ));
    }

    #[test]
    fn malformed_records_are_errors() {
        assert_eq!(parse_avc_config(&[]), Err(MediaError::Truncated(RECORD)));
        assert!(matches!(
            parse_avc_config(&[2, 100, 0, 31, 0xFF, 0xE1, 0, 0]),
            Err(MediaError::Invalid { .. })
        ));
        assert!(matches!(
            parse_avc_config(&[1, 100, 0, 31, 0xFF, 0xE0, 0, 0]),
            Err(MediaError::Invalid { .. })
        ));
        assert_eq!(
            parse_avc_config(&[1, 100, 0, 31, 0xFF, 0xE1, 0, 9, 0x67]),
            Err(MediaError::Truncated(RECORD))
        );
        // A PPS where the SPS should be.
        assert!(matches!(
            parse_avc_config(&[1, 100, 0, 31, 0xFF, 0xE1, 0, 2, 0x68, 0xEE]),
            Err(MediaError::Invalid { .. })
        ));
        // An SPS cut short.
        let full = hex(X264_720P_HIGH);
        let mut short = full[5..13].to_vec();
        short[7] = 4;
        short.extend_from_slice(&full[13..17]);
        assert_eq!(parse_avc_config(&short), Err(MediaError::Truncated(SPS)));
    }

    #[test]
    fn non_avc_tags_are_the_wrong_tag() {
        assert_eq!(
            avc_config_from_tag(&[0x27, 1, 0, 0, 0]),
            Err(MediaError::WrongTag("an AVC sequence header"))
        );
        assert_eq!(
            avc_config_from_tag(b"\x90hvc1\x01"),
            Err(MediaError::WrongTag("an AVC sequence header"))
        );
    }

    #[test]
    fn enhanced_avc1_sequence_start_is_accepted() {
        let legacy = hex(X264_720P_HIGH);
        let mut enhanced = b"\x90avc1".to_vec();
        enhanced.extend_from_slice(&legacy[5..]);
        let config = avc_config_from_tag(&enhanced).unwrap();
        assert_eq!((config.width, config.height), (1280, 720));
    }
}
