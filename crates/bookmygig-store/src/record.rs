//! What the store keeps, and the inputs of its compound steps.

use std::fmt;

use bookmygig_api::{
    Account, AccountId, Category, ChatMessage, GigId, GigStatus, Money, PaymentPointer, Ticket,
    TicketId, TransactionId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// SHA-256 of a secret (session token, stream key). Secrets are looked up by hash, so a leaked
/// database does not leak working tokens.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Lower-case hex, as used in Redis keys.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is not the secret, but an 8-character prefix is all a log ever needs.
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

/// A stored account, with its password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// Its id.
    pub id: AccountId,
    /// Unique handle.
    pub handle: String,
    /// Name shown to others.
    pub display_name: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl AccountRecord {
    /// The public view.
    pub fn to_api(&self) -> Account {
        Account {
            id: self.id,
            handle: self.handle.clone(),
            display_name: self.display_name.clone(),
            created_at: self.created_at,
        }
    }
}

/// A stored session: only the token's hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// SHA-256 of the bearer token.
    pub token_hash: TokenHash,
    /// Whose session.
    pub account_id: AccountId,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A gig's editable details: the registration form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GigDetails {
    /// Billed name.
    pub creator_name: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Kind of show.
    pub category: Category,
    /// Ticket price.
    pub price: Money,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// End.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Seats; `None` is unlimited.
    pub capacity: Option<u32>,
    /// Where earnings go.
    pub payment_pointer: PaymentPointer,
    /// Micropayment rate per hour watched.
    pub micropayment_rate: Money,
    /// Hours after the end during which ticket holders may replay the recording (0: none).
    /// Records written before replays existed read as the default window.
    #[serde(default = "default_replay_hours")]
    pub replay_hours: u32,
}

fn default_replay_hours() -> u32 {
    bookmygig_api::limits::REPLAY_HOURS_DEFAULT
}

/// The stored part of a gig's life; `ended` is derived from the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GigState {
    /// Never streamed yet.
    Scheduled,
    /// Publisher connected.
    Live,
    /// Publisher gone.
    Offline,
    /// Cancelled by its creator.
    Cancelled,
}

impl GigState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GigState::Scheduled => "scheduled",
            GigState::Live => "live",
            GigState::Offline => "offline",
            GigState::Cancelled => "cancelled",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            GigState::Scheduled,
            GigState::Live,
            GigState::Offline,
            GigState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// A stored gig.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GigRecord {
    /// Its id.
    pub id: GigId,
    /// Who registered it.
    pub creator_id: AccountId,
    /// The form.
    pub details: GigDetails,
    /// The secret publish key (shown to the creator only).
    pub stream_key: String,
    /// SHA-256 of `stream_key`, the index RTMP publish looks up.
    pub stream_key_hash: TokenHash,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Valid tickets sold.
    pub tickets_sold: u32,
    /// Stored state.
    pub state: GigState,
}

impl GigRecord {
    /// The status people see at `now`.
    pub fn status_at(&self, now: OffsetDateTime) -> GigStatus {
        match self.state {
            GigState::Cancelled => GigStatus::Cancelled,
            GigState::Live => GigStatus::Live,
            _ if now >= self.details.ends_at => GigStatus::Ended,
            GigState::Scheduled => GigStatus::Scheduled,
            GigState::Offline => GigStatus::Offline,
        }
    }

    /// Seats still on sale; `None` when unlimited.
    pub fn seats_left(&self) -> Option<u32> {
        self.details
            .capacity
            .map(|cap| cap.saturating_sub(self.tickets_sold))
    }
}

/// Input of [`crate::Store::purchase_ticket`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purchase {
    /// Id for the new ticket.
    pub ticket_id: TicketId,
    /// Id for the ledger transaction.
    pub transaction_id: TransactionId,
    /// The gig.
    pub gig_id: GigId,
    /// The buyer.
    pub buyer: AccountId,
    /// The buyer's `Idempotency-Key`.
    pub idempotency_key: String,
    /// Platform commission in basis points (1/100 %).
    pub commission_bps: u32,
    /// The time of the purchase.
    pub at: OffsetDateTime,
}

/// What a purchase gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurchaseOutcome {
    /// The ticket.
    pub ticket: Ticket,
    /// Whether this was a retry answered from the first purchase.
    pub replayed: bool,
}

/// Input of [`crate::Store::cancel_gig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancellation {
    /// The gig.
    pub gig_id: GigId,
    /// Id of the refund transaction (one transaction refunds every ticket).
    pub transaction_id: TransactionId,
    /// When.
    pub at: OffsetDateTime,
}

/// A stored chat message: the message as the room saw it, and whose it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRecord {
    /// The gig whose room it was sent in.
    pub gig_id: GigId,
    /// The author's account (handles are shown, ids are what moderation acts on).
    pub author_id: AccountId,
    /// The message.
    pub message: ChatMessage,
}
