//! AMF0 encoding.

use super::{Amf0Value, marker};

/// Encodes values one after another, as a script tag or RTMP data message carries them.
///
/// Encoding cannot fail: a [`Amf0Value::String`] longer than 65,535 bytes is written as a long
/// string, and a property name longer than 65,535 bytes is cut at the last character boundary
/// that fits (the format has no way to express it).
pub fn encode(values: &[Amf0Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for value in values {
        encode_value(&mut out, value);
    }
    out
}

fn encode_value(out: &mut Vec<u8>, value: &Amf0Value) {
    match value {
        Amf0Value::Number(n) => {
            out.push(marker::NUMBER);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Amf0Value::Boolean(b) => {
            out.push(marker::BOOLEAN);
            out.push(u8::from(*b));
        }
        Amf0Value::String(s) => match u16::try_from(s.len()) {
            Ok(len) => {
                out.push(marker::STRING);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Err(_) => long_string(out, s),
        },
        Amf0Value::LongString(s) => long_string(out, s),
        Amf0Value::Object(props) => {
            out.push(marker::OBJECT);
            properties(out, props);
        }
        Amf0Value::EcmaArray(props) => {
            out.push(marker::ECMA_ARRAY);
            out.extend_from_slice(&count(props.len()).to_be_bytes());
            properties(out, props);
        }
        Amf0Value::StrictArray(items) => {
            out.push(marker::STRICT_ARRAY);
            out.extend_from_slice(&count(items.len()).to_be_bytes());
            for item in items {
                encode_value(out, item);
            }
        }
        Amf0Value::Null => out.push(marker::NULL),
        Amf0Value::Undefined => out.push(marker::UNDEFINED),
        Amf0Value::Date(ms) => {
            out.push(marker::DATE);
            out.extend_from_slice(&ms.to_be_bytes());
            out.extend_from_slice(&0i16.to_be_bytes());
        }
    }
}

/// A 32-bit count or length; nothing this crate builds comes near 4 GiB.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn long_string(out: &mut Vec<u8>, s: &str) {
    out.push(marker::LONG_STRING);
    out.extend_from_slice(&count(s.len()).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn properties(out: &mut Vec<u8>, props: &[(String, Amf0Value)]) {
    for (name, value) in props {
        let name = truncate_to_u16(name);
        // truncate_to_u16 guarantees the length fits.
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        encode_value(out, value);
    }
    out.extend_from_slice(&[0, 0, marker::OBJECT_END]);
}

/// The longest prefix of `s` that is at most 65,535 bytes and ends on a character boundary.
fn truncate_to_u16(s: &str) -> &str {
    let mut end = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_encode_as_the_spec_shows() {
        assert_eq!(
            encode(&[Amf0Value::Number(1.0)]),
            [0, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(encode(&[Amf0Value::Boolean(true)]), [1, 1]);
        assert_eq!(
            encode(&[Amf0Value::String("ab".into())]),
            [2, 0, 2, b'a', b'b']
        );
        assert_eq!(encode(&[Amf0Value::Null, Amf0Value::Undefined]), [5, 6]);
        assert_eq!(
            encode(&[Amf0Value::Date(0.0)]),
            [11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn containers_are_terminated() {
        let props = vec![("a".to_string(), Amf0Value::Null)];
        assert_eq!(
            encode(&[Amf0Value::Object(props.clone())]),
            [3, 0, 1, b'a', 5, 0, 0, 9]
        );
        assert_eq!(
            encode(&[Amf0Value::EcmaArray(props)]),
            [8, 0, 0, 0, 1, 0, 1, b'a', 5, 0, 0, 9]
        );
        assert_eq!(
            encode(&[Amf0Value::StrictArray(vec![Amf0Value::Boolean(false)])]),
            [10, 0, 0, 0, 1, 1, 0]
        );
    }

    #[test]
    fn long_text_becomes_a_long_string_and_long_keys_are_cut() {
        let text = "x".repeat(70_000);
        let bytes = encode(&[Amf0Value::String(text.clone())]);
        assert_eq!(bytes[..5], [12, 0, 1, 0x11, 0x70]);
        assert_eq!(bytes.len(), 5 + text.len());

        let key = format!("{}é", "k".repeat(65_534)); // 65,536 bytes, 'é' straddles the limit
        let bytes = encode(&[Amf0Value::Object(vec![(key, Amf0Value::Null)])]);
        assert_eq!(bytes[1..3], [0xFF, 0xFE]);
    }
}
