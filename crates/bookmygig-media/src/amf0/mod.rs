//! AMF0, the value encoding of FLV script tags and RTMP data messages: the [`Amf0Value`] type,
//! [`encode`], and [`decode`] within [`Limits`] ([`decode_all`] within the defaults).
//!
//! Only the types that appear in media metadata are decoded; references, typed objects, XML and
//! the AMF3 switch are refused. Decoding is bounded in nesting depth and in the number of values,
//! so hostile input can exhaust neither the stack nor memory.

mod decode;
mod encode;

pub use decode::{Limits, MAX_DEPTH, MAX_VALUES, decode, decode_all};
pub use encode::encode;

/// Type markers, one byte before each value.
mod marker {
    pub(super) const NUMBER: u8 = 0x00;
    pub(super) const BOOLEAN: u8 = 0x01;
    pub(super) const STRING: u8 = 0x02;
    pub(super) const OBJECT: u8 = 0x03;
    pub(super) const NULL: u8 = 0x05;
    pub(super) const UNDEFINED: u8 = 0x06;
    pub(super) const ECMA_ARRAY: u8 = 0x08;
    pub(super) const OBJECT_END: u8 = 0x09;
    pub(super) const STRICT_ARRAY: u8 = 0x0A;
    pub(super) const DATE: u8 = 0x0B;
    pub(super) const LONG_STRING: u8 = 0x0C;
}

/// One AMF0 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Amf0Value {
    /// A number (IEEE 754 double).
    Number(f64),
    /// A boolean.
    Boolean(bool),
    /// A string of up to 65,535 UTF-8 bytes (longer ones are encoded as long strings).
    String(String),
    /// An anonymous object: properties in order.
    Object(Vec<(String, Amf0Value)>),
    /// Null.
    Null,
    /// Undefined.
    Undefined,
    /// An ECMA (associative) array: properties in order, as `onMetaData` uses.
    EcmaArray(Vec<(String, Amf0Value)>),
    /// A strict (dense) array.
    StrictArray(Vec<Amf0Value>),
    /// A date: milliseconds since the Unix epoch, UTC (the time-zone field is written as 0 and
    /// ignored when read).
    Date(f64),
    /// A string longer than 65,535 bytes.
    LongString(String),
}

impl Amf0Value {
    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The text, if this is a string or long string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) | Self::LongString(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The properties, if this is an object or ECMA array.
    pub fn properties(&self) -> Option<&[(String, Amf0Value)]> {
        match self {
            Self::Object(props) | Self::EcmaArray(props) => Some(props),
            _ => None,
        }
    }

    /// The first property called `key`, if this is an object or ECMA array that has one.
    pub fn get(&self, key: &str) -> Option<&Amf0Value> {
        self.properties()?
            .iter()
            .find_map(|(name, value)| (name == key).then_some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_see_through_the_variant() {
        let object = Amf0Value::EcmaArray(vec![
            ("width".into(), Amf0Value::Number(1280.0)),
            ("encoder".into(), Amf0Value::String("obs".into())),
            ("stereo".into(), Amf0Value::Boolean(true)),
        ]);
        assert_eq!(
            object.get("width").and_then(Amf0Value::as_f64),
            Some(1280.0)
        );
        assert_eq!(
            object.get("encoder").and_then(Amf0Value::as_str),
            Some("obs")
        );
        assert_eq!(
            object.get("stereo").and_then(Amf0Value::as_bool),
            Some(true)
        );
        assert_eq!(object.get("height"), None);
        assert_eq!(Amf0Value::Null.get("width"), None);
        assert_eq!(Amf0Value::LongString("x".into()).as_str(), Some("x"));
    }
}
