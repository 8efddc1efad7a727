//! The chat protocol of `GET /api/v1/gigs/{id}/chat`: JSON text frames over a WebSocket, each an
//! object tagged by `type`.
//!
//! A client sends [`ClientMessage`]s (`say`, and for the gig's creator `ban`, `unban`,
//! `delete`); the server sends [`ServerMessage`]s. On entering, a member receives `history`,
//! then `presence` (sent to everyone), then the current `stream`. Limits are in
//! [`crate::limits`] (`CHAT_*`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{MessageId, StreamStatus};

/// What a client sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// `{"type":"say","text":"…"}`: post a message (1–500 characters after trimming).
    Say {
        /// The message; control characters are stripped and whitespace trimmed.
        text: String,
    },
    /// `{"type":"ban","user":"<handle>"}`: the creator closes the user's sockets and keeps
    /// them out until unbanned.
    Ban {
        /// Handle of the account to ban.
        user: String,
    },
    /// `{"type":"unban","user":"<handle>"}`: the creator lets a banned user back in.
    Unban {
        /// Handle of the account to let back in.
        user: String,
    },
    /// `{"type":"delete","id":"…"}`: the creator removes a message from history; everyone
    /// receives `deleted`.
    Delete {
        /// The message to remove.
        id: MessageId,
    },
}

impl ClientMessage {
    /// Every `type` a client may send, for error messages and for telling an unknown type
    /// from a known one with bad fields.
    pub const TYPES: [&'static str; 4] = ["say", "ban", "unban", "delete"];
}

/// What the server sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// On entering: the last messages (at most 100), oldest first.
    History {
        /// Oldest first.
        messages: Vec<ChatMessage>,
    },
    /// A new message, to everyone in the room (its author included).
    Message(ChatMessage),
    /// Someone entered (sent to the others when a person's first socket joins).
    Join(ChatUser),
    /// Someone left (when a person's last socket goes).
    Leave(ChatUser),
    /// How many people are in the room (distinct accounts, however many sockets each has).
    Presence {
        /// People in the room.
        count: u32,
    },
    /// The gig's stream went live or offline, or its facts changed.
    Stream(StreamStatus),
    /// The creator removed a message.
    Deleted {
        /// The removed message.
        id: MessageId,
    },
    /// Something this socket sent was refused; the socket stays open.
    Error {
        /// What kind of problem.
        code: ChatErrorCode,
        /// What went wrong, for a person.
        detail: String,
    },
}

/// One chat message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatMessage {
    /// Its id (UUIDv7, so ids sort in sending order).
    pub id: MessageId,
    /// The author's handle.
    pub author: String,
    /// The author's display name when the message was sent.
    pub display_name: String,
    /// The text, 1–500 characters.
    pub text: String,
    /// When the server accepted it.
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
}

/// A person in a room, as `join` and `leave` name them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatUser {
    /// Their handle.
    pub handle: String,
    /// Their display name.
    pub display_name: String,
}

/// The `code` of an `error` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChatErrorCode {
    /// A binary frame: the protocol is JSON text frames.
    BinaryFrame,
    /// The frame is not a JSON object.
    InvalidJson,
    /// The `type` is missing or not one the server knows.
    UnknownType,
    /// A known `type` with missing or ill-typed fields.
    InvalidMessage,
    /// The text is empty after trimming.
    EmptyText,
    /// The text is over 500 characters.
    TextTooLong,
    /// Too many messages: at most 5 at once, then 1 per second.
    RateLimited,
    /// Only the gig's creator may do this.
    Forbidden,
    /// No such user or message.
    NotFound,
    /// The server could not do it now; try again.
    Unavailable,
    /// The sender's wallet is empty, so micropayments stopped; a top-up lets them speak again.
    WalletEmpty,
    /// A code this client does not know (sent by a newer server).
    #[serde(other)]
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GigId;

    #[test]
    fn client_messages_are_tagged_by_type() {
        let say: ClientMessage = serde_json::from_str(r#"{"type":"say","text":"hi"}"#).unwrap();
        assert_eq!(say, ClientMessage::Say { text: "hi".into() });
        let id = MessageId::new();
        let delete = ClientMessage::Delete { id };
        assert_eq!(
            serde_json::to_value(&delete).unwrap(),
            serde_json::json!({"type": "delete", "id": id.to_string()})
        );
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"shout"}"#).is_err());
    }

    #[test]
    fn server_messages_flatten_their_payload_next_to_type() {
        let message = ServerMessage::Message(ChatMessage {
            id: MessageId::new(),
            author: "bob".into(),
            display_name: "Bob".into(),
            text: "hello".into(),
            sent_at: time::macros::datetime!(2030-01-01 12:00 UTC),
        });
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["type"], "message");
        assert_eq!(json["author"], "bob");
        assert_eq!(json["sent_at"], "2030-01-01T12:00:00Z");
        let stream = ServerMessage::Stream(StreamStatus {
            gig_id: GigId::new(),
            live: false,
            started_at: None,
            viewers: 0,
            video: None,
            audio: None,
        });
        let back: ServerMessage =
            serde_json::from_str(&serde_json::to_string(&stream).unwrap()).unwrap();
        assert_eq!(back, stream);
        let error: ServerMessage =
            serde_json::from_str(r#"{"type":"error","code":"brand_new","detail":"x"}"#).unwrap();
        assert!(matches!(
            error,
            ServerMessage::Error {
                code: ChatErrorCode::Other,
                ..
            }
        ));
    }
}
