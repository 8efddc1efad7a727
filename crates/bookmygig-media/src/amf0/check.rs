//! AMF0 validation without building values: walks the encoding to prove it stays inside
//! [`Limits`] (nesting depth, number of values, total size) before anything that decodes
//! without limits (rml_rtmp's AMF0 decoder recurses on every nested array or object) sees it.

use super::marker;
use crate::MediaError;

const WHAT: &str = "AMF0 data";

/// How much AMF0 one message may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of objects and arrays.
    pub max_depth: usize,
    /// Most values in all (every property value and array element counts, at every level).
    pub max_values: usize,
    /// Most bytes of encoding.
    pub max_bytes: usize,
}

/// What a checked block held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    /// The deepest nesting reached (0 for top-level scalars only).
    pub depth: usize,
    /// How many values there were in all.
    pub values: usize,
    /// How many of them were at the top level.
    pub top_level: usize,
}

/// Checks that `bytes` is a sequence of well-formed AMF0 values within `limits`, allocating
/// nothing and recursing no deeper than `limits.max_depth`.
///
/// Accepts exactly what [`decode_all`](super::decode_all) decodes (the same markers; an ECMA
/// array may end with the data instead of its end marker).
///
/// # Errors
/// [`MediaError::Amf0TooLarge`], [`MediaError::Amf0TooDeep`] or [`MediaError::Amf0TooManyValues`]
/// past a limit; [`MediaError::Truncated`] or [`MediaError::Amf0UnsupportedMarker`] for bytes
/// that are not AMF0.
pub fn check(bytes: &[u8], limits: &Limits) -> Result<Shape, MediaError> {
    if bytes.len() > limits.max_bytes {
        return Err(MediaError::Amf0TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let mut walker = Walker {
        bytes,
        pos: 0,
        limits,
        shape: Shape::default(),
    };
    while walker.pos < bytes.len() {
        walker.value(0)?;
        walker.shape.top_level += 1;
    }
    Ok(walker.shape)
}

struct Walker<'a> {
    bytes: &'a [u8],
    pos: usize,
    limits: &'a Limits,
    shape: Shape,
}

impl Walker<'_> {
    fn skip(&mut self, n: usize) -> Result<(), MediaError> {
        let end = self.pos.checked_add(n).ok_or(MediaError::Truncated(WHAT))?;
        if end > self.bytes.len() {
            return Err(MediaError::Truncated(WHAT));
        }
        self.pos = end;
        Ok(())
    }

    fn be(&mut self, n: usize) -> Result<usize, MediaError> {
        let end = self.pos.checked_add(n).ok_or(MediaError::Truncated(WHAT))?;
        let raw = self
            .bytes
            .get(self.pos..end)
            .ok_or(MediaError::Truncated(WHAT))?;
        self.pos = end;
        Ok(raw
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)))
    }

    fn counted(&mut self) -> Result<(), MediaError> {
        self.shape.values += 1;
        if self.shape.values > self.limits.max_values {
            return Err(MediaError::Amf0TooManyValues(self.limits.max_values));
        }
        Ok(())
    }

    fn nested(&mut self, depth: usize) -> Result<usize, MediaError> {
        if depth >= self.limits.max_depth {
            return Err(MediaError::Amf0TooDeep(self.limits.max_depth));
        }
        self.shape.depth = self.shape.depth.max(depth + 1);
        Ok(depth + 1)
    }

    fn value(&mut self, depth: usize) -> Result<(), MediaError> {
        self.counted()?;
        let kind = *self
            .bytes
            .get(self.pos)
            .ok_or(MediaError::Truncated(WHAT))?;
        self.pos += 1;
        match kind {
            marker::NUMBER => self.skip(8),
            marker::BOOLEAN => self.skip(1),
            marker::STRING => {
                let len = self.be(2)?;
                self.skip(len)
            }
            marker::LONG_STRING => {
                let len = self.be(4)?;
                self.skip(len)
            }
            marker::OBJECT => self.properties(depth, false),
            marker::ECMA_ARRAY => {
                self.skip(4)?; // the count is a hint; the end marker is what counts
                self.properties(depth, true)
            }
            marker::STRICT_ARRAY => {
                let depth = self.nested(depth)?;
                let count = self.be(4)?;
                for _ in 0..count {
                    self.value(depth)?;
                }
                Ok(())
            }
            marker::NULL | marker::UNDEFINED => Ok(()),
            marker::DATE => self.skip(10),
            other => Err(MediaError::Amf0UnsupportedMarker(other)),
        }
    }

    fn properties(&mut self, depth: usize, end_optional: bool) -> Result<(), MediaError> {
        let depth = self.nested(depth)?;
        loop {
            if end_optional && self.pos >= self.bytes.len() {
                return Ok(());
            }
            let len = self.be(2)?;
            if len == 0 && self.bytes.get(self.pos) == Some(&marker::OBJECT_END) {
                self.pos += 1;
                return Ok(());
            }
            self.skip(len)?;
            self.value(depth)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amf0::{Amf0Value, decode_all, encode};

    const RTMP: Limits = Limits {
        max_depth: 16,
        max_values: 1024,
        max_bytes: 64 * 1024,
    };

    /// What OBS sends as its `connect` command.
    fn connect_command() -> Vec<u8> {
        encode(&[
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
        ])
    }

    #[test]
    fn a_real_command_passes_and_its_shape_is_measured() {
        assert_eq!(
            check(&connect_command(), &RTMP),
            Ok(Shape {
                depth: 1,
                values: 7,
                top_level: 3,
            })
        );
    }

    #[test]
    fn the_nested_strict_array_attack_is_refused_at_the_depth_limit() {
        let mut bytes: Vec<u8> = std::iter::repeat_n([10u8, 0, 0, 0, 1], 100_000)
            .flatten()
            .collect();
        bytes.push(5);
        let roomy = Limits {
            max_bytes: usize::MAX,
            ..RTMP
        };
        assert_eq!(check(&bytes, &roomy), Err(MediaError::Amf0TooDeep(16)));
        assert!(matches!(
            check(&bytes, &RTMP),
            Err(MediaError::Amf0TooLarge { .. })
        ));
    }

    #[test]
    fn many_flat_values_are_refused_at_the_value_limit() {
        let bytes = vec![5u8; 1025];
        assert_eq!(
            check(&bytes, &RTMP),
            Err(MediaError::Amf0TooManyValues(1024))
        );
        assert!(check(&bytes[..1024], &RTMP).is_ok());
        // A strict array claiming four billion elements holds only what is there.
        assert_eq!(
            check(&[10, 0xFF, 0xFF, 0xFF, 0xFF, 5], &RTMP),
            Err(MediaError::Truncated(WHAT))
        );
    }

    #[test]
    fn agrees_with_the_decoder_on_what_is_amf0() {
        let samples: [&[u8]; 6] = [
            &[8, 0, 0, 0, 5, 0, 1, b'a', 1, 1],
            &[3, 0, 1, b'a', 5],
            &[7, 0, 1],
            &[2, 0, 5, b'a'],
            &[11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[12, 0, 0, 0, 1, b'x'],
        ];
        let unlimited = Limits {
            max_depth: crate::amf0::MAX_DEPTH,
            max_values: usize::MAX,
            max_bytes: usize::MAX,
        };
        for bytes in samples {
            assert_eq!(
                check(bytes, &unlimited).is_ok(),
                decode_all(bytes).is_ok(),
                "{bytes:02x?}"
            );
        }
    }
}
