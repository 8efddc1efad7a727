//! The double-entry ledger: its accounts, postings, transactions and entries, and its rules.
//!
//! Every movement of money is one [`Transaction`] whose postings sum to zero, so the sum of all
//! balances is always zero. Only user wallets are held to a floor of zero; `external:topups`
//! goes negative by exactly the money that entered the system, and `external:payouts` positive
//! by exactly the money that left it. Why money moves is an [`EntryKind`] (top-up, ticket,
//! refund, listing fee, commission, micropayment, payout…).
//!
//! The rules (balanced, zero postings skipped, running balances, the wallet floor) are written
//! twice, side by side in this folder, because each backend books inside its own atomic step:
//! [`rules`] in Rust for the embedded store, `ledger.lua` for the Redis store's scripts. The
//! conformance suite and the ledger property tests run both backends through the same cases.
//! Who books what (ticket sales, refunds, fees, micropayments, payouts) is in the store's
//! operations (`Store::purchase`, `Store::cancel_gig`, `Store::post`, the payment records) and,
//! for micropayments, the server's meter.

pub mod rules;

use std::fmt;
use std::str::FromStr;

use bookmygig_api::{AccountId, EntryKind, GigId, LedgerEntry, Money, TransactionId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// An account of the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LedgerAccount {
    /// A person's wallet; never below zero.
    User(AccountId),
    /// What the platform earned: listing fees, commissions, browsing micropayments.
    PlatformRevenue,
    /// The other side of every top-up: money that came from outside.
    ExternalTopups,
    /// Creator earnings held while a payout is on its way: taken from the creator's wallet
    /// when the payout starts, then either sent on to [`LedgerAccount::ExternalPayouts`] or
    /// returned to the wallet.
    PayoutsPending,
    /// Money that left to creators' wallets: the other side of every completed payout.
    ExternalPayouts,
}

impl LedgerAccount {
    /// Whether the zero floor applies.
    pub fn is_user_wallet(&self) -> bool {
        matches!(self, LedgerAccount::User(_))
    }
}

impl fmt::Display for LedgerAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerAccount::User(id) => write!(f, "user:{id}"),
            LedgerAccount::PlatformRevenue => f.write_str("platform:revenue"),
            LedgerAccount::ExternalTopups => f.write_str("external:topups"),
            LedgerAccount::PayoutsPending => f.write_str("payouts:pending"),
            LedgerAccount::ExternalPayouts => f.write_str("external:payouts"),
        }
    }
}

impl FromStr for LedgerAccount {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "platform:revenue" => Ok(LedgerAccount::PlatformRevenue),
            "external:topups" => Ok(LedgerAccount::ExternalTopups),
            "payouts:pending" => Ok(LedgerAccount::PayoutsPending),
            "external:payouts" => Ok(LedgerAccount::ExternalPayouts),
            _ => s
                .strip_prefix("user:")
                .and_then(|id| id.parse().ok())
                .map(LedgerAccount::User)
                .ok_or_else(|| format!("unknown ledger account `{s}`")),
        }
    }
}

/// One side of a transaction: `amount` added to `account` (negative to take).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posting {
    /// Whose balance changes.
    pub account: LedgerAccount,
    /// By how much.
    pub amount: Money,
}

/// A balanced movement of money.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    /// Its id.
    pub id: TransactionId,
    /// Why money moves.
    pub kind: EntryKind,
    /// The postings; they sum to zero.
    pub postings: Vec<Posting>,
    /// A line a person can read.
    pub memo: String,
    /// The gig concerned.
    pub gig_id: Option<GigId>,
    /// When it is booked.
    pub at: OffsetDateTime,
}

impl Transaction {
    /// Moves `amount` from `from` to `to`.
    pub fn transfer(
        kind: EntryKind,
        from: LedgerAccount,
        to: LedgerAccount,
        amount: Money,
        memo: impl Into<String>,
        gig_id: Option<GigId>,
        at: OffsetDateTime,
    ) -> Self {
        Transaction {
            id: TransactionId::new(),
            kind,
            postings: vec![
                Posting {
                    account: from,
                    amount: Money(-amount.0),
                },
                Posting {
                    account: to,
                    amount,
                },
            ],
            memo: memo.into(),
            gig_id,
            at,
        }
    }

    /// Whether the postings sum to exactly zero (without overflow).
    pub fn is_balanced(&self) -> bool {
        self.postings
            .iter()
            .try_fold(0i64, |sum, p| sum.checked_add(p.amount.0))
            == Some(0)
    }

    /// The ledger entry this transaction writes for one posting.
    pub fn entry(&self, posting: &Posting, balance_after: Money) -> LedgerEntry {
        LedgerEntry {
            transaction_id: self.id,
            kind: self.kind,
            amount: posting.amount,
            balance_after,
            memo: self.memo.clone(),
            gig_id: self.gig_id,
            at: self.at,
        }
    }
}

/// A stored ledger entry with its sequence number (the wallet history's cursor).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    /// Position in the ledger; larger is newer.
    pub seq: u64,
    /// The entry.
    #[serde(flatten)]
    pub entry: LedgerEntry,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_round_trip_through_their_names() {
        for account in [
            LedgerAccount::User(AccountId::new()),
            LedgerAccount::PlatformRevenue,
            LedgerAccount::ExternalTopups,
            LedgerAccount::PayoutsPending,
            LedgerAccount::ExternalPayouts,
        ] {
            assert_eq!(account.to_string().parse::<LedgerAccount>(), Ok(account));
        }
        assert_eq!(LedgerAccount::PayoutsPending.to_string(), "payouts:pending");
        assert_eq!(
            LedgerAccount::ExternalPayouts.to_string(),
            "external:payouts"
        );
        assert!(!LedgerAccount::PayoutsPending.is_user_wallet());
        assert!(!LedgerAccount::ExternalPayouts.is_user_wallet());
        assert!("payouts:other".parse::<LedgerAccount>().is_err());
    }
}
