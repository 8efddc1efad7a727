//! Property tests: round trips of the encoders through the parsers, and parsers that never panic
//! on arbitrary bytes.

use bookmygig_media::amf0::{self, Amf0Value};
use bookmygig_media::audio::{aac_config_from_tag, parse_aac_config, parse_audio_tag};
use bookmygig_media::flv::{FlvReader, Tag, TagKind, encode_tag, file_header};
use bookmygig_media::gop::{GopCache, GopLimits, MediaTag};
use bookmygig_media::metadata::parse_on_metadata;
use bookmygig_media::video::{avc_config_from_tag, parse_avc_config, parse_video_tag};
use bytes::Bytes;
use proptest::prelude::*;

fn tag_kind() -> impl Strategy<Value = TagKind> {
    prop_oneof![
        Just(TagKind::Audio),
        Just(TagKind::Video),
        Just(TagKind::Script)
    ]
}

fn tags() -> impl Strategy<Value = Vec<(TagKind, u32, Vec<u8>)>> {
    prop::collection::vec(
        (
            tag_kind(),
            any::<u32>(),
            prop::collection::vec(any::<u8>(), 0..300),
        ),
        0..12,
    )
}

/// Numbers that compare equal to themselves.
fn number() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("NaN is not equal to itself", |n| !n.is_nan())
}

fn amf0_value() -> impl Strategy<Value = Amf0Value> {
    let key = "[a-zA-Z0-9_é ]{0,12}";
    let leaf = prop_oneof![
        number().prop_map(Amf0Value::Number),
        any::<bool>().prop_map(Amf0Value::Boolean),
        ".{0,40}".prop_map(Amf0Value::String),
        Just(Amf0Value::Null),
        Just(Amf0Value::Undefined),
        number().prop_map(Amf0Value::Date),
        ".{0,40}".prop_map(Amf0Value::LongString),
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec((key, inner.clone()), 0..6).prop_map(Amf0Value::Object),
            prop::collection::vec((key, inner.clone()), 0..6).prop_map(Amf0Value::EcmaArray),
            prop::collection::vec(inner, 0..6).prop_map(Amf0Value::StrictArray),
        ]
    })
}

proptest! {
    #[test]
    fn encoded_tags_read_back_whatever_the_push_sizes(
        tags in tags(),
        has_audio in any::<bool>(),
        has_video in any::<bool>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let mut stream = file_header(has_audio, has_video).to_vec();
        for (kind, ts, data) in &tags {
            stream.extend_from_slice(&encode_tag(*kind, *ts, data).unwrap());
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.push(0);
        cuts.push(stream.len());
        cuts.sort_unstable();

        let mut reader = FlvReader::new();
        let mut read = Vec::new();
        for pair in cuts.windows(2) {
            reader.push(&stream[pair[0]..pair[1]]);
            while let Some(tag) = reader.next_tag().unwrap() {
                read.push(tag);
            }
        }
        let expected: Vec<Tag> = tags
            .into_iter()
            .map(|(kind, timestamp_ms, data)| Tag { kind, timestamp_ms, data: Bytes::from(data) })
            .collect();
        prop_assert_eq!(read, expected);
        prop_assert_eq!(reader.buffered_len(), 0);
        let header = reader.header().unwrap();
        prop_assert_eq!((header.has_audio, header.has_video), (has_audio, has_video));
    }

    #[test]
    fn amf0_values_round_trip(values in prop::collection::vec(amf0_value(), 0..5)) {
        prop_assert_eq!(amf0::decode_all(&amf0::encode(&values)).unwrap(), values);
    }

    #[test]
    fn flv_reader_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        with_header in any::<bool>(),
        split in any::<prop::sample::Index>(),
    ) {
        let mut reader = FlvReader::new().with_max_tag_size(256);
        let mut stream = if with_header { file_header(true, true).to_vec() } else { Vec::new() };
        stream.extend_from_slice(&bytes);
        let split = split.index(stream.len() + 1);
        for part in [&stream[..split], &stream[split..]] {
            reader.push(part);
            while let Ok(Some(_)) = reader.next_tag() {}
        }
    }

    #[test]
    fn tag_and_config_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_video_tag(&bytes);
        let _ = parse_avc_config(&bytes);
        let _ = avc_config_from_tag(&bytes);
        let _ = parse_audio_tag(&bytes);
        let _ = parse_aac_config(&bytes);
        let _ = aac_config_from_tag(&bytes);
        let _ = amf0::decode_all(&bytes);
        let _ = parse_on_metadata(&bytes);
    }

    #[test]
    fn avc_config_parser_never_panics_on_mutated_records(
        sps in prop::collection::vec(any::<u8>(), 0..64),
        profile in prop_oneof![Just(66u8), Just(100u8), Just(244u8), any::<u8>()],
    ) {
        // A plausible record around arbitrary SPS bits reaches deep into the SPS parser.
        let mut record = vec![1, profile, 0, 31, 0xFF, 0xE1];
        record.extend_from_slice(&(sps.len() as u16 + 4).to_be_bytes());
        record.extend_from_slice(&[0x67, profile, 0, 31]);
        record.extend_from_slice(&sps);
        let _ = parse_avc_config(&record);
    }

    #[test]
    fn gop_cache_stays_within_its_limits(
        tags in prop::collection::vec(
            (tag_kind(), 0u32..10_000, prop::collection::vec(any::<u8>(), 0..64)),
            0..200,
        ),
    ) {
        let limits = GopLimits { max_bytes: 2_000, max_tags: 20, audio_window_ms: 500 };
        let mut cache = GopCache::new(limits);
        for (kind, ts, data) in tags {
            let tag = MediaTag::new(kind, ts, Bytes::from(data)).unwrap();
            cache.push(&tag);
            prop_assert!(cache.cached_tags() <= limits.max_tags);
            prop_assert!(cache.cached_bytes() <= limits.max_bytes);
            prop_assert!(cache.start_sequence().len() <= limits.max_tags + 3);
        }
    }
}
