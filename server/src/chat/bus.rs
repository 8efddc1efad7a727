//! What a node's rooms need from a cluster (Redis mode), as traits the chat module talks to
//! and [`crate::cluster`] implements: a [`RoomBus`] that carries room-wide events to the gig's
//! room on every node, a [`Roster`] that counts people across nodes and announces their
//! comings and goings, and a [`SpeechLimit`] that rate-limits a person across nodes. A single
//! node uses the in-process implementations in [`super::in_process`], so the rooms have one
//! code path whatever the number of nodes.
//!
//! Also the bus's wire form of a [`RoomEvent`] ([`encode`], [`decode`]): one tag byte, then
//! the payload. Scripts that run inside Redis publish the same form, so it is kept tiny.

use std::fmt;

use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use bookmygig_api::{AccountId, ChatUser, GigId, MessageId};
use tokio::sync::oneshot;

use super::room::{FrameKind, Outbound};
use super::rooms::RoomEvent;

/// Why an event could not be sent or a room could not start listening.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis refused or failed the command (the text never holds the URL).
    #[error("chat bus: {0}")]
    Redis(String),
    /// The bus stopped (the server is shutting down).
    #[error("chat bus stopped")]
    Stopped,
}

/// Carries room-wide events to the gig's room on every node.
#[async_trait]
pub trait RoomBus: Send + Sync + fmt::Debug {
    /// Sends `event` to the gig's room on every node, this one included: every node delivers
    /// the events of one gig in the same order.
    ///
    /// # Errors
    /// When the event could not be handed to the bus.
    async fn publish(&self, gig: GigId, event: &RoomEvent) -> Result<(), BusError>;

    /// This node now has a room for `gig`: its events should start arriving here. Called under
    /// the rooms' lock, so it must not block.
    fn want(&self, gig: GigId);

    /// This node's room for `gig` is gone. Called under the rooms' lock.
    fn unwant(&self, gig: GigId);

    /// Completes once `gig`'s events reach this node (after [`RoomBus::want`]).
    ///
    /// # Errors
    /// When the bus stopped before that.
    async fn listening(&self, gig: GigId) -> Result<(), BusError>;
}

/// Counts the people in each gig's room and announces arrivals (`join`, `presence`) and
/// departures (`leave`, `presence`): on one node at once, in frames the room delivers itself;
/// across nodes through the bus.
///
/// Both calls are made under the room's lock, in the order things happened, so they must not
/// block nor call back into the room.
pub trait Roster: Send + Sync + fmt::Debug {
    /// A socket of `account` joined `gig`'s room on this node.
    fn arrived(&self, gig: GigId, account: AccountId, user: &ChatUser) -> Arrival;

    /// The last socket of `account` in `gig`'s room on this node went. Returns the frames the
    /// room delivers itself (none when the bus carries the announcement).
    fn departed(&self, gig: GigId, account: AccountId, user: &ChatUser) -> Vec<Outbound>;
}

/// How an arrival is announced.
#[derive(Debug)]
pub enum Arrival {
    /// At once, on this node: the frames the room delivers itself (`join` for a person's first
    /// socket, then `presence`).
    Now(Vec<Outbound>),
    /// Through the bus, later: true once the announcement is on its way (the newcomer's
    /// `presence` follows), false if it could not be made.
    Later(oneshot::Receiver<bool>),
}

/// Rate-limits each person's messages (burst 5, then 1 a second, however many sockets on
/// however many nodes).
#[async_trait]
pub trait SpeechLimit: Send + Sync + fmt::Debug {
    /// Takes a token for `account` in `gig`'s room: `Ok(Err(wait))` when none is left, with
    /// how long until the next.
    ///
    /// # Errors
    /// When the shared bucket cannot be reached.
    async fn take_token(
        &self,
        gig: GigId,
        account: AccountId,
    ) -> Result<Result<(), std::time::Duration>, BusError>;
}

/// Tag of a `message` frame: the tag, the message id (36 characters), the JSON.
pub const TAG_MESSAGE: u8 = b'M';
/// Tag of a `presence` frame: the tag, the JSON.
pub const TAG_PRESENCE: u8 = b'P';
/// Tag of a `join` frame: the tag, the joiner's account id (36 characters), the JSON.
pub const TAG_JOIN: u8 = b'J';
/// Tag of any other frame for everyone: the tag, the JSON.
pub const TAG_OTHER: u8 = b'O';
/// Tag of a ban: the tag, the account id.
pub const TAG_BAN: u8 = b'X';
/// Tag of an unban: the tag, the account id.
pub const TAG_UNBAN: u8 = b'U';
/// Tag of a cancellation: the tag alone.
pub const TAG_CANCELLED: u8 = b'C';

/// Length of a hyphenated UUID.
const UUID_LEN: usize = 36;

/// The bus's wire form of `event`.
pub fn encode(event: &RoomEvent) -> Vec<u8> {
    let (tag, body): (u8, &str) = match event {
        RoomEvent::Broadcast(out) => match out.kind {
            FrameKind::Message(id) => return tagged(TAG_MESSAGE, id, out.frame.as_str()),
            FrameKind::Join(account) => return tagged(TAG_JOIN, account, out.frame.as_str()),
            FrameKind::Presence => (TAG_PRESENCE, out.frame.as_str()),
            FrameKind::Other => (TAG_OTHER, out.frame.as_str()),
        },
        RoomEvent::Ban(account) => return tagged(TAG_BAN, account, ""),
        RoomEvent::Unban(account) => return tagged(TAG_UNBAN, account, ""),
        RoomEvent::Cancelled => return vec![TAG_CANCELLED],
    };
    let mut bytes = Vec::with_capacity(1 + body.len());
    bytes.push(tag);
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// The tag, an id, then `body`.
pub fn tagged(tag: u8, id: impl fmt::Display, body: &str) -> Vec<u8> {
    let id = id.to_string();
    let mut bytes = Vec::with_capacity(1 + id.len() + body.len());
    bytes.push(tag);
    bytes.extend_from_slice(id.as_bytes());
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// Reads an event in the bus's wire form; `None` for anything else.
pub fn decode(bytes: &[u8]) -> Option<RoomEvent> {
    let (&tag, rest) = bytes.split_first()?;
    let text = std::str::from_utf8(rest).ok()?;
    let frame = |kind, json: &str| {
        RoomEvent::Broadcast(Outbound::from_json(Utf8Bytes::from(json.to_owned()), kind))
    };
    match tag {
        TAG_MESSAGE => {
            let id: MessageId = text.get(..UUID_LEN)?.parse().ok()?;
            Some(frame(FrameKind::Message(id), text.get(UUID_LEN..)?))
        }
        TAG_JOIN => {
            let account: AccountId = text.get(..UUID_LEN)?.parse().ok()?;
            Some(frame(FrameKind::Join(account), text.get(UUID_LEN..)?))
        }
        TAG_PRESENCE => Some(frame(FrameKind::Presence, text)),
        TAG_OTHER => Some(frame(FrameKind::Other, text)),
        TAG_BAN => Some(RoomEvent::Ban(text.parse().ok()?)),
        TAG_UNBAN => Some(RoomEvent::Unban(text.parse().ok()?)),
        TAG_CANCELLED if text.is_empty() => Some(RoomEvent::Cancelled),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use bookmygig_api::{ChatMessage, ServerMessage};

    use super::*;

    fn round_trip(event: &RoomEvent) -> RoomEvent {
        decode(&encode(event)).expect("decodes")
    }

    #[test]
    fn every_event_survives_the_wire_with_its_kind() {
        let message = ChatMessage {
            id: MessageId::new(),
            author: "bob".into(),
            display_name: "Bob".into(),
            text: "héllo 🎤".into(),
            sent_at: time::macros::datetime!(2030-01-01 12:00 UTC),
        };
        let id = message.id;
        for sent in [
            ServerMessage::Message(message),
            ServerMessage::Presence { count: 3 },
            ServerMessage::Deleted { id },
        ] {
            let out = Outbound::new(&sent);
            let RoomEvent::Broadcast(back) = round_trip(&RoomEvent::Broadcast(out.clone())) else {
                panic!("a broadcast stays a broadcast");
            };
            assert_eq!(back.frame, out.frame);
            assert_eq!(back.kind, out.kind);
        }
        let account = AccountId::new();
        let join = Outbound {
            kind: FrameKind::Join(account),
            ..Outbound::new(&ServerMessage::Presence { count: 1 })
        };
        let RoomEvent::Broadcast(back) = round_trip(&RoomEvent::Broadcast(join)) else {
            panic!("a broadcast stays a broadcast");
        };
        assert_eq!(back.kind, FrameKind::Join(account));
        assert!(matches!(round_trip(&RoomEvent::Ban(account)), RoomEvent::Ban(a) if a == account));
        assert!(
            matches!(round_trip(&RoomEvent::Unban(account)), RoomEvent::Unban(a) if a == account)
        );
        assert!(matches!(
            round_trip(&RoomEvent::Cancelled),
            RoomEvent::Cancelled
        ));
    }

    #[test]
    fn garbage_is_not_an_event() {
        for junk in [&b""[..], b"Z{}", b"Xnot-an-id", b"Mshort", b"P\xff\xfe"] {
            assert!(decode(junk).is_none(), "{junk:?}");
        }
    }
}
