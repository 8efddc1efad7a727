//! What is owed: an [`Accrual`] per payer and recipient, brought up to date to the millisecond
//! with the sub-micro remainder carried, and a [`Payer`]'s accruals, channels and status.

use std::collections::HashMap;
use std::time::Duration;

use bookmygig_api::{GigId, Money};
use bookmygig_store::LedgerAccount;
use tokio::sync::watch;
use tokio::time::Instant;

/// Milliseconds per hour: rates are per hour, elapsed time is in milliseconds.
const MS_PER_HOUR: u128 = 3_600_000;

/// Where an account's micropayments go right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The ledger account credited.
    pub account: LedgerAccount,
    /// The resolved payment pointer shown to the viewer.
    pub url: String,
    /// The ledger memo.
    pub memo: String,
    /// The gig concerned (none when browsing).
    pub gig: Option<GigId>,
}

/// What an account's monetization channels show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelStatus {
    /// Where payments go now.
    pub recipient: String,
    /// A settlement paid the current recipient since it became the recipient.
    pub started: bool,
    /// The wallet ran dry; nothing accrues until a top-up.
    pub stopped: bool,
    /// Micro-USD this account paid since the meter started tracking it (channels subtract
    /// what it was when they opened).
    pub paid: Money,
}

/// One accrual: a payer paying one recipient at one rate since `last`.
#[derive(Debug)]
pub(super) struct Accrual {
    pub(super) to: Recipient,
    /// Micro-USD per hour.
    pub(super) rate: Money,
    /// Open connections sharing it (two devices on one gig pay once).
    pub(super) connections: u32,
    /// Accrued up to here.
    pub(super) last: Instant,
    /// Sub-micro remainder, in micro-USD × ms / hour units (< 3,600,000).
    pub(super) carry: u128,
    /// Accrued, not yet posted.
    pub(super) due: i64,
    /// This node charges it (holds its lease, or there are no leases) since `last`.
    pub(super) charging: bool,
}

impl Accrual {
    pub(super) fn new(to: Recipient, rate: Money, now: Instant, charging: bool) -> Self {
        Accrual {
            to,
            rate,
            connections: 1,
            last: now,
            carry: 0,
            due: 0,
            charging,
        }
    }

    /// Brings the accrual up to `now`; time spent stopped, or not charging here, is free.
    pub(super) fn accrue(&mut self, now: Instant, stopped: bool) {
        let ms = now.saturating_duration_since(self.last).as_millis();
        // Whole milliseconds only; the fraction stays for next time.
        self.last += Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
        if stopped || !self.charging || self.rate.0 <= 0 {
            return;
        }
        let rate = u128::try_from(self.rate.0).unwrap_or(0);
        let owed = rate * ms + self.carry;
        self.carry = owed % MS_PER_HOUR;
        let micros = i64::try_from(owed / MS_PER_HOUR).unwrap_or(i64::MAX);
        self.due = self.due.saturating_add(micros);
    }
}

/// Everything the meter knows about one account.
#[derive(Debug)]
pub(super) struct Payer {
    /// Gigs being watched.
    pub(super) watches: HashMap<GigId, Accrual>,
    /// Accruing to the platform: some channel is open and nothing is watched.
    pub(super) browse: Option<Accrual>,
    /// Monetization channels open.
    pub(super) channels: u32,
    /// Ended accruals waiting for their last settlement.
    pub(super) ended: Vec<Accrual>,
    pub(super) stopped: bool,
    /// Pushed to the account's channels.
    pub(super) status: watch::Sender<ChannelStatus>,
}

impl Payer {
    pub(super) fn is_idle(&self) -> bool {
        self.watches.is_empty() && self.browse.is_none() && self.channels == 0
    }

    pub(super) fn current(&self) -> Option<&Recipient> {
        self.watches
            .values()
            .next()
            .or(self.browse.as_ref())
            .map(|a| &a.to)
    }
}
