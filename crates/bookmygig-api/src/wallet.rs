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
