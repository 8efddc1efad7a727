//! Live chat: one room per gig, entered over a WebSocket by ticket holders and the creator.
//!
//! - [`bus`] — the seams the rooms talk to (the bus between rooms, the roster of people, the
//!   speech limit), and the bus's wire form of an event.
//! - [`in_process`] — those seams for a single node.
//! - [`inbound`] — parsing what clients send (sans-IO).
//! - [`text`] — what a message's text may be.
//! - [`rate`] — the per-person token bucket.
//! - [`outbox`] — one socket's outgoing bytes: written at once when they fit, else bounded.
//! - [`frame`] — one serialized message, encoded once for every member.
//! - [`member`] — one socket as its room serves it (greeting, held frames, repeats skipped).
//! - [`room`] — one gig's members and the fan-out to their outboxes.
//! - [`rooms`] — this node's rooms, the seam where room-wide events enter, the stream bridge.
//! - [`session`] — one socket: its writer and reader tasks.
//! - [`command`] — what a client may ask (say, ban, unban, delete), one module each.
//! - [`wire`] — the socket's bytes: frames encoded once for every member, the reading side.
//!
//! The HTTP side (`GET /api/v1/gigs/{id}/chat`: who may enter, the upgrade) is in
//! [`crate::http::chat`]; the protocol's types are in `bookmygig_api::chat`.

pub mod bus;
pub mod command;
pub mod frame;
pub mod in_process;
pub mod inbound;
pub mod member;
pub mod outbox;
pub mod rate;
pub mod room;
pub mod rooms;
pub mod session;
pub mod text;
pub mod wire;

pub use bus::{Arrival, BusError, RoomBus, Roster, SpeechLimit};
pub use in_process::{InProcessBus, InProcessRoster, InProcessSpeechLimit};
pub use room::{ChatRoom, FrameKind, Kick, Outbound};
pub use rooms::{ChatLink, ChatRooms, RoomEvent, Seat};
