//! The `onMetaData` script tag: building its data from [`StreamFacts`] and parsing the one a
//! publisher sends (with or without the RTMP `@setDataFrame` wrapper).

use super::StreamFacts;
use crate::MediaError;
use crate::amf0::{self, Amf0Value};

/// Name of the metadata handler.
const ON_METADATA: &str = "onMetaData";
/// How `@setDataFrame` starts in AMF0: string marker, 16-bit length 13, the text.
const SET_DATA_FRAME: &[u8] = b"\x02\x00\x0d@setDataFrame";

/// The data of an FLV script tag `onMetaData` with an ECMA array made from `facts`, followed by
/// `extra` (an `extra` property replaces a same-named one from the facts).
///
/// Codec ids follow ffmpeg: legacy ids for H.264 (7), AAC (10) and MP3 (2); FourCCs as numbers
/// for HEVC, AV1, VP9 and Opus; other codec names are written as strings.
pub fn encode_on_metadata(facts: &StreamFacts, extra: &[(String, Amf0Value)]) -> Vec<u8> {
    let mut props = facts.to_properties();
    props.retain(|(name, _)| !extra.iter().any(|(extra_name, _)| extra_name == name));
    props.extend(extra.iter().cloned());
    amf0::encode(&[
        Amf0Value::String(ON_METADATA.to_owned()),
        Amf0Value::EcmaArray(props),
    ])
}

/// The properties of an `onMetaData` script tag's data. A leading `@setDataFrame` string, as
/// ffmpeg and OBS send it over RTMP, is skipped; an object instead of an ECMA array is accepted.
///
/// # Errors
/// [`MediaError::NotOnMetaData`] if the data is another script tag (or has no properties);
/// AMF0 decoding errors as [`amf0::decode_all`].
pub fn parse_on_metadata(script_data: &[u8]) -> Result<Vec<(String, Amf0Value)>, MediaError> {
    let values = amf0::decode_all(strip_set_data_frame(script_data))?;
    match values.as_slice() {
        [
            Amf0Value::String(name),
            Amf0Value::EcmaArray(props) | Amf0Value::Object(props),
            ..,
        ] if name == ON_METADATA => Ok(props.clone()),
        _ => Err(MediaError::NotOnMetaData),
    }
}

/// `script_data` without a leading `@setDataFrame` string: RTMP publishers wrap their
/// `onMetaData` in it, FLV files and players must not see it. Returns the input when absent.
pub fn strip_set_data_frame(script_data: &[u8]) -> &[u8] {
    script_data
        .strip_prefix(SET_DATA_FRAME)
        .unwrap_or(script_data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_metadata_parses_back_with_extras_last() {
        let facts = StreamFacts {
            video_codec: Some("h264".into()),
            width: Some(1280),
            height: Some(720),
            audio_sample_rate: Some(48_000),
            ..StreamFacts::default()
        };
        let extra = vec![
            ("encoder".to_string(), Amf0Value::String("BookMyGig".into())),
            ("width".to_string(), Amf0Value::Number(640.0)),
        ];
        let data = encode_on_metadata(&facts, &extra);
        let props = parse_on_metadata(&data).unwrap();
        let names: Vec<_> = props.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "height",
                "videocodecid",
                "audiosamplerate",
                "encoder",
                "width"
            ]
        );
        assert_eq!(props[1].1, Amf0Value::Number(7.0));
        assert_eq!(props[4].1, Amf0Value::Number(640.0));
    }

    #[test]
    fn set_data_frame_wrapper_is_stripped() {
        let data = amf0::encode(&[
            Amf0Value::String("@setDataFrame".into()),
            Amf0Value::String("onMetaData".into()),
            Amf0Value::Object(vec![("framerate".into(), Amf0Value::Number(30.0))]),
        ]);
        assert_eq!(strip_set_data_frame(&data)[..3], [2, 0, 10]);
        assert_eq!(
            parse_on_metadata(&data),
            Ok(vec![("framerate".into(), Amf0Value::Number(30.0))])
        );
        assert_eq!(
            strip_set_data_frame(b"\x02\x00\x0aonMetaData"),
            b"\x02\x00\x0aonMetaData"
        );
    }

    #[test]
    fn other_script_tags_are_not_metadata() {
        let cue = amf0::encode(&[
            Amf0Value::String("onCuePoint".into()),
            Amf0Value::Object(vec![]),
        ]);
        assert_eq!(parse_on_metadata(&cue), Err(MediaError::NotOnMetaData));
        let bare = amf0::encode(&[Amf0Value::String("onMetaData".into())]);
        assert_eq!(parse_on_metadata(&bare), Err(MediaError::NotOnMetaData));
        assert_eq!(
            parse_on_metadata(&[0x42]),
            Err(MediaError::Amf0UnsupportedMarker(0x42))
        );
    }
}
