//! Live chat: one room per gig, entered over a WebSocket by ticket holders and the creator.
//!
//! - [`bus`] — what the rooms need from a cluster (the bus between nodes, the roster of
//!   people), and the bus's wire form of an event.
//! - [`inbound`] — parsing what clients send (sans-IO).
//! - [`text`] — what a message's text may be.
//! - [`rate`] — the per-person token bucket.
//! - [`outbox`] — one socket's outgoing bytes: written at once when they fit, else bounded.
//! - [`room`] — one gig's members and the fan-out to their outboxes.
//! - [`rooms`] — this node's rooms, the seam where room-wide events enter, the stream bridge.
//! - [`session`] — one socket: its writer and reader tasks.
//! - [`wire`] — the socket's bytes: frames encoded once for every member, the reading side.
//!
//! The HTTP side (`GET /api/v1/gigs/{id}/chat`: who may enter, the upgrade) is in
//! [`crate::http::chat`]; the protocol's types are in `bookmygig_api::chat`.

pub mod bus;
pub mod inbound;
pub mod outbox;
pub mod rate;
pub mod room;
pub mod rooms;
pub mod session;
pub mod text;
pub mod wire;

pub use bus::{BusError, RoomBus, Roster, SpeechLimit};
pub use room::{ChatRoom, FrameKind, Kick, Outbound};
pub use rooms::{ChatRooms, ClusterLink, RoomEvent, Seat};
