//! AMF0 as the media crate decodes it (onMetaData in FLV script tags and RTMP data messages):
//! `decode_all`, then a round trip of whatever decodes, then the metadata readers on top.
#![no_main]

use bookmygig_media::amf0::{decode_all, encode};
use bookmygig_media::metadata::{StreamFacts, parse_on_metadata, strip_set_data_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(values) = decode_all(data) {
        // What decodes re-encodes, and the encoding is stable (compared as bytes: a NaN
        // number is not equal to itself).
        let encoded = encode(&values);
        let again = decode_all(&encoded).expect("what we encode decodes");
        assert_eq!(
            encode(&again),
            encoded,
            "AMF0 round trip changed the values"
        );
    }
    let _ = parse_on_metadata(data);
    let _ = strip_set_data_frame(data);
    let mut facts = StreamFacts::default();
    if facts.observe_script_tag(data) {
        // Facts read from metadata are written back as metadata the reader accepts.
        let written = bookmygig_media::metadata::encode_on_metadata(&facts, &[]);
        parse_on_metadata(&written).expect("our own onMetaData parses");
    }
});
