//! Wire types of the BookMyGig HTTP API and chat protocol, shared by the server, the client and
//! the tests.
//!
//! Everything here is plain data with serde derives: request and response bodies, chat
//! messages, the RFC 9457 [`Problem`] body, [`Money`] in integer micro-USD, typed ids, and the
//! validation rules that both sides of the wire must agree on (handles, payment pointers,
//! limits). No I/O lives here.

pub mod account;
pub mod chat;
pub mod gig;
pub mod ids;
pub mod limits;
pub mod live;
pub mod monetization;
pub mod money;
pub mod page;
pub mod pointer;
pub mod problem;
pub mod replay;
pub mod ticket;
pub mod wallet;

pub use account::{Account, NewAccount, NewSession, PasswordChange, Session, SignedUp};
pub use chat::{ChatErrorCode, ChatMessage, ChatUser, ClientMessage, ServerMessage};
pub use gig::{Category, Gig, GigPatch, GigStatus, NewGig, StreamKey, StreamKeyInfo};
pub use ids::{AccountId, GigId, MessageId, TicketId, TransactionId};
pub use live::{AudioFacts, Playback, StreamStatus, VideoFacts};
pub use monetization::{Earnings, GigEarnings, MonetizationEvent, Pricing, StopReason};
pub use money::Money;
pub use page::Page;
pub use pointer::PaymentPointer;
pub use problem::Problem;
pub use replay::{Recording, Recordings, Replay};
pub use ticket::{MyTicket, Purchased, Ticket, TicketStatus};
pub use wallet::{
    EntryKind, LedgerEntry, Payout, PayoutRequest, PayoutState, Payouts, TopUp, TopUpReceipt,
    TopUpState, TopUpStatus, Wallet,
};

/// Path prefix of every REST endpoint.
pub const API_PREFIX: &str = "/api/v1";

/// Name of the header that makes a money-moving request safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
