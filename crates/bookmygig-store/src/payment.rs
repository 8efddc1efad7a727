//! Payment records: exchanges of money with the outside world.
//!
//! A top-up brings money in from a viewer's Open Payments wallet; a payout sends a creator's
//! earnings out to theirs. Either takes several steps with a network in between (grants,
//! incoming and outgoing payments), so the server drives a state machine over a
//! [`PaymentRecord`], and the store keeps each step exactly once: a record is created and
//! updated only by compare-and-set on its `version`, and a step's ledger booking is written in
//! the same atomic step as the record (see [`crate::Store::create_payment`] and
//! [`crate::Store::update_payment`]).

use bookmygig_api::{AccountId, Money};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Whether money comes in (a top-up) or goes out (a payout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// Money from a viewer's wallet into their BookMyGig wallet.
    TopUp,
    /// A creator's earnings out to their wallet.
    Payout,
}

impl PaymentKind {
    /// Its wire name: `top_up` or `payout`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::TopUp => "top_up",
            PaymentKind::Payout => "payout",
        }
    }
}

/// Where an exchange stands; the final ones never change again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Recorded; nothing asked of any wallet yet.
    Requested,
    /// Waiting for the wallet's owner to approve a grant.
    AwaitingConsent,
    /// The money is on its way (an outgoing payment exists or is being created).
    Sending,
    /// The money arrived. Final.
    Completed,
    /// It could not be done. Final.
    Failed,
    /// The wallet's owner refused consent. Final.
    Declined,
    /// Consent or payment did not come in time. Final.
    Expired,
}

impl PaymentState {
    /// Whether this state is final: `completed`, `failed`, `declined` or `expired`. A record
    /// in a final state can no longer be updated.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            PaymentState::Completed
                | PaymentState::Failed
                | PaymentState::Declined
                | PaymentState::Expired
        )
    }

    /// Its wire name, such as `awaiting_consent`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Requested => "requested",
            PaymentState::AwaitingConsent => "awaiting_consent",
            PaymentState::Sending => "sending",
            PaymentState::Completed => "completed",
            PaymentState::Failed => "failed",
            PaymentState::Declined => "declined",
            PaymentState::Expired => "expired",
        }
    }
}

/// One exchange of money with the outside world, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// Its id: a UUIDv7 chosen by the caller, so ids sort by creation time.
    pub id: Uuid,
    /// The viewer (top-up) or creator (payout).
    pub owner: AccountId,
    /// In or out.
    pub kind: PaymentKind,
    /// How much, in micro-USD; more than zero.
    pub amount: Money,
    /// Where it stands.
    pub state: PaymentState,
    /// Set by the store: 1 on create, one more on every update. An update names the version
    /// it read, and is refused when the record has moved on since.
    pub version: u64,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When a worker should look at it again.
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    /// How many times a worker has tried the current step.
    pub attempts: u32,
    /// The client's idempotency key, scoped to `owner` (and apart from the keys of
    /// [`crate::Store::post`] and [`crate::Store::purchase_ticket`]).
    pub idempotency_key: Option<String>,
    /// Provider-specific state (wallet address, grant continuation, incoming payment URL…);
    /// opaque to the store.
    pub details: serde_json::Value,
    /// The last failure, in words for people.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for state in [
            PaymentState::Requested,
            PaymentState::AwaitingConsent,
            PaymentState::Sending,
            PaymentState::Completed,
            PaymentState::Failed,
            PaymentState::Declined,
            PaymentState::Expired,
        ] {
            let json = serde_json::to_string(&state).ok();
            assert_eq!(json, Some(format!("\"{}\"", state.as_str())));
        }
        for kind in [PaymentKind::TopUp, PaymentKind::Payout] {
            let json = serde_json::to_string(&kind).ok();
            assert_eq!(json, Some(format!("\"{}\"", kind.as_str())));
        }
    }
}
