//! Wallets: a balance and the ledger entries that made it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{GigId, Money, TransactionId};

/// Why money moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Funds added through a top-up provider.
    TopUp,
    /// The fee for listing a gig.
    ListingFee,
    /// A ticket bought (buyer side) or sold (creator side).
    TicketSale,
    /// A ticket price given back.
    Refund,
    /// Streaming micropayments.
    Micropayment,
    /// Earnings sent out to the creator's own wallet (negative), or given back after a payout
    /// failed (positive).
    Payout,
}

/// One line of a wallet's history: its side of one balanced transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerEntry {
    /// The transaction this entry belongs to.
    pub transaction_id: TransactionId,
    /// Why money moved.
    pub kind: EntryKind,
    /// Signed change of this wallet, in micro-USD.
    pub amount: Money,
    /// The wallet's balance right after.
    pub balance_after: Money,
    /// A line a person can read, e.g. `Ticket: Late Night Laughs`.
    pub memo: String,
    /// The gig concerned, if any.
    pub gig_id: Option<GigId>,
    /// When it was booked.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// `GET /wallet`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Wallet {
    /// Current balance in micro-USD; never below zero.
    pub balance: Money,
    /// History, newest first.
    pub entries: Vec<LedgerEntry>,
    /// Pass as `cursor` for older entries; `null` when there are none.
    pub next_cursor: Option<String>,
    /// Top-ups from outside wallets, newest first: every unfinished one and the latest
    /// finished ones (at most 10 in all). Empty on servers without Open Payments.
    #[serde(default)]
    pub topups: Vec<TopUpStatus>,
}

/// `POST /wallet/topups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TopUp {
    /// Micro-USD to add, more than 0 and at most $10,000.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = i64, minimum = 1, maximum = 10_000_000_000_i64)
    )]
    pub amount: Money,
    /// Where the money comes from, on a server paid through Open Payments: the viewer's wallet
    /// address (`https://wallet.example/bob`) or payment pointer (`$wallet.example/bob`), at
    /// most 256 characters. Required there; the development provider takes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 256, min_length = 1))]
    pub from: Option<String>,
}

/// Where a top-up from an outside wallet stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TopUpState {
    /// Waiting for the wallet's holder to approve the payment at `consent_url`.
    AwaitingConsent,
    /// Approved: the payment is on its way.
    Sending,
    /// The funds arrived and were credited.
    Completed,
    /// The holder declined.
    Declined,
    /// Nobody approved it in time.
    Expired,
    /// The payment could not be made (the reason is in `error`); nothing was credited.
    Failed,
}

impl TopUpState {
    /// Whether it will change no more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TopUpState::Completed | TopUpState::Declined | TopUpState::Expired | TopUpState::Failed
        )
    }
}

/// A top-up from an outside wallet (Open Payments): `202` answer of `POST /wallet/topups` and
/// `GET /wallet/topups/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopUpStatus {
    /// Its id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: uuid::Uuid,
    /// Micro-USD asked for.
    pub amount: Money,
    /// The wallet address paying.
    pub from: String,
    /// Where it stands.
    pub state: TopUpState,
    /// The page where the wallet's holder approves the payment, while that is awaited.
    pub consent_url: Option<String>,
    /// Why it did not complete, in words for people.
    pub error: Option<String>,
    /// When it was asked for.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// `POST /me/payouts`: pay a gig's earnings out now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PayoutRequest {
    /// The gig (yours, ended) whose earnings to send to its payment pointer.
    pub gig_id: GigId,
}

/// Where a payout stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayoutState {
    /// Recorded; the amount is held for it.
    Requested,
    /// On its way to the creator's wallet.
    Sending,
    /// Arrived.
    Sent,
    /// Could not be made; the amount is back in the BookMyGig wallet (`error` says why).
    Failed,
}

impl PayoutState {
    /// Whether it will change no more.
    pub fn is_final(self) -> bool {
        matches!(self, PayoutState::Sent | PayoutState::Failed)
    }
}

/// A payout of a gig's earnings to its payment pointer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payout {
    /// Its id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: uuid::Uuid,
    /// The gig whose earnings it pays.
    pub gig_id: GigId,
    /// Micro-USD sent.
    pub amount: Money,
    /// The wallet address it goes to (the gig's payment pointer, resolved).
    pub to: String,
    /// Where it stands.
    pub state: PayoutState,
    /// Why it failed, or what it waits for, in words for people.
    pub error: Option<String>,
    /// When it was asked for.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// `GET /me/payouts`: the signed-in creator's payouts, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payouts {
    /// Newest first (at most 100).
    pub items: Vec<Payout>,
}

/// `201` answer of `POST /wallet/topups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopUpReceipt {
    /// Which provider credited the funds; `development` credits play money for testing.
    pub provider: String,
    /// The entry booked.
    pub entry: LedgerEntry,
    /// The balance after it.
    pub balance: Money,
}
