//! AMF0 decoding, bounded in nesting depth, in the number of values and in size, and never
//! trusting announced counts for allocation.

use super::{Amf0Value, marker};
use crate::MediaError;

/// Deepest nesting of objects and arrays that [`decode_all`] accepts.
pub const MAX_DEPTH: usize = 64;
/// Most values (at every level) that [`decode_all`] builds: each takes a byte or more of input
/// but tens of bytes of memory, so the input's size alone does not bound what decoding costs.
/// `onMetaData` holds a few dozen.
pub const MAX_VALUES: usize = 65_536;

const WHAT: &str = "AMF0 data";

/// How much AMF0 one block may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of objects and arrays.
    pub max_depth: usize,
    /// Most values in all (every property value and array element counts, at every level).
    pub max_values: usize,
    /// Most bytes of encoding.
    pub max_bytes: usize,
}

impl Limits {
    /// What [`decode_all`] allows: [`MAX_DEPTH`], [`MAX_VALUES`], any size.
    pub const DEFAULT: Limits = Limits {
        max_depth: MAX_DEPTH,
        max_values: MAX_VALUES,
        max_bytes: usize::MAX,
    };
}

/// Decodes every value in `bytes` within [`Limits::DEFAULT`].
///
/// Strings that are not valid UTF-8 are decoded lossily (metadata from odd encoders should not
/// cost us the whole block). The element count of an ECMA array is only a hint, as in practice:
/// properties are read up to the end marker, and an ECMA array cut off at the end of the data
/// after a whole property is accepted.
///
/// # Errors
/// As [`decode`].
pub fn decode_all(bytes: &[u8]) -> Result<Vec<Amf0Value>, MediaError> {
    decode(bytes, &Limits::DEFAULT)
}

/// Decodes every value in `bytes`, refusing input past `limits` before building more of it,
/// and recursing no deeper than `limits.max_depth`.
///
/// # Errors
/// [`MediaError::Amf0TooLarge`] over `max_bytes`, [`MediaError::Amf0TooDeep`] beyond
/// `max_depth` levels of nesting, [`MediaError::Amf0TooManyValues`] beyond `max_values` values,
/// [`MediaError::Truncated`] when a value ends early, [`MediaError::Amf0UnsupportedMarker`] for
/// types we do not decode.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Vec<Amf0Value>, MediaError> {
    if bytes.len() > limits.max_bytes {
        return Err(MediaError::Amf0TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let mut decoder = Decoder {
        bytes,
        pos: 0,
        values: 0,
        limits,
    };
    let mut values = Vec::new();
    while decoder.pos < bytes.len() {
        values.push(decoder.value(0)?);
    }
    Ok(values)
}

struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Values decoded so far.
    values: usize,
    limits: &'a Limits,
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MediaError> {
        let end = self.pos.checked_add(n).ok_or(MediaError::Truncated(WHAT))?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(MediaError::Truncated(WHAT))?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], MediaError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, MediaError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, MediaError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, MediaError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn f64(&mut self) -> Result<f64, MediaError> {
        Ok(f64::from_be_bytes(self.array()?))
    }

    fn string(&mut self, len: usize) -> Result<String, MediaError> {
        Ok(String::from_utf8_lossy(self.take(len)?).into_owned())
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The depth one level down, or the error if that is too deep.
    fn nested(&self, depth: usize) -> Result<usize, MediaError> {
        if depth >= self.limits.max_depth {
            Err(MediaError::Amf0TooDeep(self.limits.max_depth))
        } else {
            Ok(depth + 1)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Amf0Value, MediaError> {
        self.values += 1;
        if self.values > self.limits.max_values {
            return Err(MediaError::Amf0TooManyValues(self.limits.max_values));
        }
        match self.u8()? {
            marker::NUMBER => Ok(Amf0Value::Number(self.f64()?)),
            marker::BOOLEAN => Ok(Amf0Value::Boolean(self.u8()? != 0)),
            marker::STRING => {
                let len = usize::from(self.u16()?);
                Ok(Amf0Value::String(self.string(len)?))
            }
            marker::LONG_STRING => {
                let len = self.u32()? as usize;
                Ok(Amf0Value::LongString(self.string(len)?))
            }
            marker::OBJECT => Ok(Amf0Value::Object(self.properties(depth, false)?)),
            marker::ECMA_ARRAY => {
                self.u32()?; // the count is a hint; the end marker is what counts
                Ok(Amf0Value::EcmaArray(self.properties(depth, true)?))
            }
            marker::STRICT_ARRAY => {
                let depth = self.nested(depth)?;
                let count = self.u32()? as usize;
                // Every value takes at least one byte: never allocate more than the input.
                let mut items = Vec::with_capacity(count.min(self.remaining()));
                for _ in 0..count {
                    items.push(self.value(depth)?);
                }
                Ok(Amf0Value::StrictArray(items))
            }
            marker::NULL => Ok(Amf0Value::Null),
            marker::UNDEFINED => Ok(Amf0Value::Undefined),
            marker::DATE => {
                let ms = self.f64()?;
                self.u16()?; // time zone, reserved
                Ok(Amf0Value::Date(ms))
            }
            other => Err(MediaError::Amf0UnsupportedMarker(other)),
        }
    }

    /// Reads properties up to the `00 00 09` end marker.
    fn properties(
        &mut self,
        depth: usize,
        end_optional: bool,
    ) -> Result<Vec<(String, Amf0Value)>, MediaError> {
        let depth = self.nested(depth)?;
        let mut props = Vec::new();
        loop {
            if end_optional && self.remaining() == 0 {
                return Ok(props);
            }
            let len = usize::from(self.u16()?);
            if len == 0 && self.bytes.get(self.pos) == Some(&marker::OBJECT_END) {
                self.pos += 1;
                return Ok(props);
            }
            let name = self.string(len)?;
            let value = self.value(depth)?;
            props.push((name, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amf0::encode;

    #[test]
    fn decodes_the_values_rtmp_publishers_send() {
        let values = vec![
            Amf0Value::String("@setDataFrame".into()),
            Amf0Value::String("onMetaData".into()),
            Amf0Value::EcmaArray(vec![
                ("width".into(), Amf0Value::Number(1280.0)),
                ("stereo".into(), Amf0Value::Boolean(true)),
                (
                    "nested".into(),
                    Amf0Value::Object(vec![(
                        "list".into(),
                        Amf0Value::StrictArray(vec![Amf0Value::Null, Amf0Value::Undefined]),
                    )]),
                ),
                ("when".into(), Amf0Value::Date(1.5e12)),
                ("long".into(), Amf0Value::LongString("x".into())),
            ]),
        ];
        assert_eq!(decode_all(&encode(&values)), Ok(values));
    }

    #[test]
    fn ecma_array_count_is_only_a_hint_and_end_marker_may_be_missing() {
        // Count says 5, one property, no end marker.
        let bytes = [8, 0, 0, 0, 5, 0, 1, b'a', 1, 1];
        assert_eq!(
            decode_all(&bytes),
            Ok(vec![Amf0Value::EcmaArray(vec![(
                "a".into(),
                Amf0Value::Boolean(true)
            )])])
        );
        // An object must be terminated.
        assert_eq!(
            decode_all(&[3, 0, 1, b'a', 5]),
            Err(MediaError::Truncated(WHAT))
        );
    }

    #[test]
    fn invalid_utf8_is_decoded_lossily() {
        assert_eq!(
            decode_all(&[2, 0, 2, b'a', 0xFF]),
            Ok(vec![Amf0Value::String("a\u{FFFD}".into())])
        );
    }

    #[test]
    fn unsupported_markers_and_truncation_are_errors() {
        assert_eq!(
            decode_all(&[7, 0, 1]),
            Err(MediaError::Amf0UnsupportedMarker(7))
        );
        assert_eq!(
            decode_all(&[0x11]),
            Err(MediaError::Amf0UnsupportedMarker(0x11))
        );
        assert_eq!(decode_all(&[0, 1, 2]), Err(MediaError::Truncated(WHAT)));
        assert_eq!(
            decode_all(&[2, 0, 5, b'a']),
            Err(MediaError::Truncated(WHAT))
        );
        assert_eq!(
            decode_all(&[12, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(MediaError::Truncated(WHAT))
        );
        assert_eq!(decode_all(&[]), Ok(vec![]));
    }

    /// What an RTMP command message may hold (the server's guard uses these).
    const RTMP: Limits = Limits {
        max_depth: 16,
        max_values: 1024,
        max_bytes: 64 * 1024,
    };

    #[test]
    fn a_real_command_decodes_within_tight_limits() {
        let connect = encode(&[
            Amf0Value::String("connect".into()),
            Amf0Value::Number(1.0),
            Amf0Value::Object(vec![
                ("app".into(), Amf0Value::String("live".into())),
                ("type".into(), Amf0Value::String("nonprivate".into())),
                ("flashVer".into(), Amf0Value::String("FMLE/3.0".into())),
                (
                    "tcUrl".into(),
                    Amf0Value::String("rtmp://127.0.0.1/live".into()),
                ),
            ]),
        ]);
        assert_eq!(decode(&connect, &RTMP).map(|v| v.len()), Ok(3));
    }

    #[test]
    fn the_nested_strict_array_attack_is_refused_at_each_limit() {
        let mut bytes: Vec<u8> = std::iter::repeat_n([10u8, 0, 0, 0, 1], 100_000)
            .flatten()
            .collect();
        bytes.push(5);
        let roomy = Limits {
            max_bytes: usize::MAX,
            ..RTMP
        };
        assert_eq!(decode(&bytes, &roomy), Err(MediaError::Amf0TooDeep(16)));
        assert!(matches!(
            decode(&bytes, &RTMP),
            Err(MediaError::Amf0TooLarge { .. })
        ));
    }

    #[test]
    fn many_flat_values_are_refused_at_the_value_limit() {
        let bytes = vec![5u8; 1025];
        assert_eq!(
            decode(&bytes, &RTMP),
            Err(MediaError::Amf0TooManyValues(1024))
        );
        assert!(decode(&bytes[..1024], &RTMP).is_ok());
    }

    #[test]
    fn more_values_than_the_limit_are_refused() {
        let mut bytes = vec![10, 0, 1, 0, 0];
        bytes.extend(std::iter::repeat_n(5u8, MAX_VALUES));
        assert_eq!(
            decode_all(&bytes),
            Err(MediaError::Amf0TooManyValues(MAX_VALUES))
        );
        assert_eq!(decode_all(&bytes[5..]).map(|v| v.len()), Ok(MAX_VALUES));
    }

    #[test]
    fn huge_strict_array_count_does_not_allocate_it() {
        assert_eq!(
            decode_all(&[10, 0xFF, 0xFF, 0xFF, 0xFF, 5]),
            Err(MediaError::Truncated(WHAT))
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let bytes: Vec<u8> = std::iter::repeat_n([10u8, 0, 0, 0, 1], 100_000)
            .flatten()
            .collect();
        assert_eq!(decode_all(&bytes), Err(MediaError::Amf0TooDeep(MAX_DEPTH)));

        let mut ok = Amf0Value::Null;
        for _ in 0..MAX_DEPTH {
            ok = Amf0Value::Object(vec![("k".into(), ok)]);
        }
        assert!(decode_all(&encode(std::slice::from_ref(&ok))).is_ok());
        let too_deep = Amf0Value::StrictArray(vec![ok]);
        assert_eq!(
            decode_all(&encode(&[too_deep])),
            Err(MediaError::Amf0TooDeep(MAX_DEPTH))
        );
    }
}
