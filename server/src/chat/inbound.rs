//! Parsing what a client sends, sans-IO: a text frame in, a [`ClientMessage`] or the precise
//! [`Refusal`] (sent back as an `error` message) out.

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use bookmygig_api::{ChatErrorCode, ClientMessage, ServerMessage};
use serde::Deserialize;

/// A refused frame or request: what the `error` message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The kind of problem.
    pub code: ChatErrorCode,
    /// What went wrong, for a person.
    pub detail: String,
}

impl Refusal {
    /// A refusal of `code`.
    pub fn new(code: ChatErrorCode, detail: impl Into<String>) -> Self {
        Refusal {
            code,
            detail: detail.into(),
        }
    }

    /// The `error` message that carries it.
    pub fn to_message(&self) -> ServerMessage {
        ServerMessage::Error {
            code: self.code,
            detail: self.detail.clone(),
        }
    }
}

/// Just the tag, to tell "not JSON" from "unknown type" from "bad fields".
#[derive(Deserialize)]
struct Tag {
    #[serde(rename = "type")]
    kind: Option<serde_json::Value>,
}

/// Parses one text frame.
///
/// # Errors
/// `invalid_json` when it is not a JSON object, `unknown_type` when `type` is missing or not
/// one of [`ClientMessage::TYPES`], `invalid_message` when a known type has bad fields.
pub fn parse(text: &str) -> Result<ClientMessage, Refusal> {
    let tag: Tag = serde_json::from_str(text).map_err(|e| {
        Refusal::new(
            ChatErrorCode::InvalidJson,
            format!("send a JSON object such as {{\"type\":\"say\",\"text\":\"hi\"}}: {e}"),
        )
    })?;
    let known = ClientMessage::TYPES.join(", ");
    match tag.kind {
        Some(serde_json::Value::String(kind)) if ClientMessage::TYPES.contains(&kind.as_str()) => {
            serde_json::from_str(text).map_err(|e| {
                Refusal::new(
                    ChatErrorCode::InvalidMessage,
                    format!("a `{kind}` message: {e}"),
                )
            })
        }
        Some(serde_json::Value::String(kind)) => Err(Refusal::new(
            ChatErrorCode::UnknownType,
            format!("unknown message type `{kind}`; known types: {known}"),
        )),
        _ => Err(Refusal::new(
            ChatErrorCode::UnknownType,
            format!("the message needs a string `type`, one of: {known}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> ChatErrorCode {
        parse(text).unwrap_err().code
    }

    #[test]
    fn tells_the_problems_apart() {
        assert_eq!(
            parse(r#"{"type":"say","text":"hi"}"#),
            Ok(ClientMessage::Say { text: "hi".into() })
        );
        assert_eq!(code("not json"), ChatErrorCode::InvalidJson);
        assert_eq!(code("[1,2]"), ChatErrorCode::InvalidJson);
        assert_eq!(code(r#""say""#), ChatErrorCode::InvalidJson);
        assert_eq!(code(r#"{"type":"shout"}"#), ChatErrorCode::UnknownType);
        assert_eq!(code(r#"{"text":"hi"}"#), ChatErrorCode::UnknownType);
        assert_eq!(code(r#"{"type":7}"#), ChatErrorCode::UnknownType);
        assert_eq!(code(r#"{"type":"say"}"#), ChatErrorCode::InvalidMessage);
        assert_eq!(
            code(r#"{"type":"delete","id":"nope"}"#),
            ChatErrorCode::InvalidMessage
        );
        let unknown = parse(r#"{"type":"shout"}"#).unwrap_err();
        assert!(unknown.detail.contains("`shout`") && unknown.detail.contains("say"));
    }
}
