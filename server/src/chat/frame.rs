//! One serialized server message as the rooms pass it around: its JSON, what it is as far as
//! delivery cares, and its WebSocket frame, encoded once for every member it goes to.

use axum::extract::ws::Utf8Bytes;
use bookmygig_api::{AccountId, MessageId, ServerMessage};
use bytes::Bytes;

use super::wire;

/// What a frame is, as far as delivery cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// A `message` (so a newcomer can skip one that its history already holds).
    Message(MessageId),
    /// A `presence` (a newcomer's greeting follows the first one it gets).
    Presence,
    /// A `join` of this account, which the account's own sockets do not get (in a cluster,
    /// where it comes back through the bus after the newcomer joined).
    Join(AccountId),
    /// Anything else.
    Other,
}

/// One serialized server message, shared by every member it goes to.
#[derive(Clone, Debug)]
pub struct Outbound {
    /// The JSON text.
    pub frame: Utf8Bytes,
    /// What it is.
    pub kind: FrameKind,
    /// `frame` as a WebSocket text frame, encoded once for every socket it is written to.
    pub(super) wire: Bytes,
}

impl Outbound {
    /// Serializes `message` once.
    pub fn new(message: &ServerMessage) -> Self {
        let kind = match message {
            ServerMessage::Message(m) => FrameKind::Message(m.id),
            ServerMessage::Presence { .. } => FrameKind::Presence,
            _ => FrameKind::Other,
        };
        let json = serde_json::to_string(message).unwrap_or_else(|e| {
            // Not reachable with these types; a member still gets a well-formed frame.
            tracing::error!(error = %e, "cannot serialize a chat message");
            r#"{"type":"error","code":"unavailable","detail":"internal error"}"#.to_owned()
        });
        Self::from_json(Utf8Bytes::from(json), kind)
    }

    /// A message already serialized (e.g. by another node).
    pub fn from_json(frame: Utf8Bytes, kind: FrameKind) -> Self {
        let wire = wire::text(frame.as_str());
        Outbound { frame, kind, wire }
    }

    /// The WebSocket frame to write.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    /// The chat message it carries, if it is a `message`.
    pub fn message(&self) -> Option<MessageId> {
        match self.kind {
            FrameKind::Message(id) => Some(id),
            _ => None,
        }
    }
}

/// The frames' bytes, one after the other.
pub(super) fn wire_of<'a>(frames: impl Iterator<Item = &'a Outbound>) -> Vec<u8> {
    let mut bytes = Vec::new();
    for frame in frames {
        bytes.extend_from_slice(frame.wire());
    }
    bytes
}

/// `frames` without the `presence` frames that a later one supersedes.
pub(super) fn only_last_presence(mut frames: Vec<Outbound>) -> Vec<Outbound> {
    let Some(last) = frames.iter().rposition(|f| f.kind == FrameKind::Presence) else {
        return frames;
    };
    let mut index = 0;
    frames.retain(|f| {
        let keep = f.kind != FrameKind::Presence || index == last;
        index += 1;
        keep
    });
    frames
}
