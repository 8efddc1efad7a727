//! Streaming micropayments as the client sees them: the events of the monetization channel
//! (`GET /monetization`, server-sent events, modelled on the browser's Web Monetization events)
//! and the creator's earnings report (`GET /me/earnings`).

use serde::{Deserialize, Serialize};

use crate::{GigId, GigStatus, Money, PaymentPointer};

/// One event of the monetization channel. On the wire each is an SSE event whose `event:` is
/// the variant's name (`started`, `pending`, `stopped`) and whose `data:` is the JSON body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MonetizationEvent {
    /// Micropayments flow to `recipient`; sent again after each settlement with the new total.
    Started {
        /// The resolved payment pointer of the creator being watched, or the platform's.
        recipient: String,
        /// Micro-USD paid since this channel was opened.
        total: Money,
    },
    /// The payment stream is being set up (no settlement for the current recipient yet).
    Pending {
        /// Micro-USD paid since this channel was opened.
        total: Money,
    },
    /// Micropayments stopped; chat sending is refused until they resume.
    Stopped {
        /// Why.
        reason: StopReason,
        /// Micro-USD paid since this channel was opened.
        total: Money,
    },
}

impl MonetizationEvent {
    /// The SSE `event:` name of this event.
    pub fn name(&self) -> &'static str {
        match self {
            MonetizationEvent::Started { .. } => "started",
            MonetizationEvent::Pending { .. } => "pending",
            MonetizationEvent::Stopped { .. } => "stopped",
        }
    }
}

/// Why micropayments stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The wallet ran dry; a top-up resumes payments.
    WalletEmpty,
    /// A reason this client does not know (sent by a newer server).
    #[serde(other)]
    Other,
}

/// What one gig earned its creator, from the creator's ledger entries for that gig.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GigEarnings {
    /// The gig.
    pub gig_id: GigId,
    /// Its title.
    pub title: String,
    /// Its status now.
    pub status: GigStatus,
    /// Valid (not refunded) tickets.
    pub tickets_sold: u32,
    /// The creator's share of every ticket sale, refunded ones included.
    pub ticket_revenue: Money,
    /// Ticket prices given back (a negative amount, or zero).
    pub refunds: Money,
    /// Streaming micropayments received from viewers.
    pub micropayments: Money,
    /// The listing fee paid (a negative amount).
    pub listing_fee: Money,
    /// The sum of the above: what the gig earned, less its listing fee.
    pub net: Money,
    /// Earnings sent out to the payment pointer, or on their way (negative, or zero).
    #[serde(default)]
    pub paid_out: Money,
    /// What a payout would send now: ticket revenue, refunds and micropayments, less what was
    /// paid out (never below zero; at most the wallet's balance when paid).
    #[serde(default)]
    pub payable: Money,
    /// Where earnings go, as registered.
    pub payment_pointer: PaymentPointer,
    /// The pointer resolved to its HTTPS URL.
    pub payment_url: String,
}

/// `GET /me/earnings`: every gig of the signed-in creator, newest first, and the sum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Earnings {
    /// Per gig, newest first.
    pub gigs: Vec<GigEarnings>,
    /// The sum of every gig's `net`.
    pub net: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_their_state_and_fields() {
        let started = MonetizationEvent::Started {
            recipient: "https://wallet.example/alice".into(),
            total: Money(1_000),
        };
        assert_eq!(started.name(), "started");
        assert_eq!(
            serde_json::to_value(&started).unwrap(),
            serde_json::json!({"state": "started", "recipient": "https://wallet.example/alice", "total": 1000})
        );
        let stopped: MonetizationEvent =
            serde_json::from_str(r#"{"state":"stopped","reason":"wallet_empty","total":5}"#)
                .unwrap();
        assert_eq!(
            stopped,
            MonetizationEvent::Stopped {
                reason: StopReason::WalletEmpty,
                total: Money(5)
            }
        );
    }
}

/// What the platform charges, as this server is configured (`GET /pricing`): shown before a
/// creator registers a gig or a viewer starts watching, so nobody is charged a surprise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pricing {
    /// Charged to the creator's wallet when a gig is registered.
    pub listing_fee: Money,
    /// The platform's share of each ticket sale, in basis points (1/100 of a percent).
    pub ticket_commission_bps: u32,
    /// Micro-USD per hour watched, for gigs that set no rate of their own; also what browsing
    /// pays the platform.
    pub default_micropayment_rate: Money,
}
