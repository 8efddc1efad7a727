//! The creator's "My gigs" screen: their gigs, what each earned, their payouts, and the ledger
//! entries the earnings chart is drawn from. Plain data; [`update`](super::update()) changes it.

use std::collections::BTreeMap;

use bookmygig_api::{EntryKind, Gig, GigEarnings, GigId, GigStatus, LedgerEntry, Money, Payout};
use time::OffsetDateTime;

/// Wallet pages read for the earnings charts (the newest entries first).
pub const CHART_PAGES: usize = 5;

/// The replay windows the replay key steps through, in hours: none, a day, two days, a week,
/// 30 days; after the last, none again.
pub const REPLAY_STEPS: [u32; 5] = [0, 24, 48, 168, 720];

/// The replay window after `hours` among [`REPLAY_STEPS`] (a window between two steps goes to
/// the next one; past the last, to none).
pub fn next_replay_step(hours: u32) -> u32 {
    REPLAY_STEPS
        .iter()
        .copied()
        .find(|step| *step > hours)
        .unwrap_or(0)
}

/// A replay window in words: `no replay`, `24 h`, `48 h`, `7 days` (whole days from three on).
pub fn replay_words(hours: u32) -> String {
    match hours {
        0 => "no replay".to_owned(),
        hours if hours >= 72 && hours % 24 == 0 => format!("{} days", hours / 24),
        hours => format!("{hours} h"),
    }
}

/// A change of one gig's replay window asked for with the replay key, until the server has it.
/// One request at a time: presses while one is on its way only move `wanted`, which is sent
/// when the answer comes (so rapid presses send the first and the last value, no more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayEdit {
    /// The window shown, in hours: the last value asked for.
    pub wanted: u32,
    /// The value of the request on its way, if one is.
    pub sending: Option<u32>,
}

/// What the screen shows, as loaded together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreatorData {
    /// The gigs, newest first, in creator view (with stream keys).
    pub gigs: Vec<Gig>,
    /// Earnings per gig.
    pub earnings: Vec<GigEarnings>,
    /// The newest wallet entries (up to [`CHART_PAGES`] pages), newest first.
    pub entries: Vec<LedgerEntry>,
    /// The payouts of the gigs' earnings, newest first.
    pub payouts: Vec<Payout>,
}

/// The screen's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MyGigsView {
    /// What was loaded.
    pub data: CreatorData,
    /// A load is under way.
    pub loading: bool,
    /// Why the last load failed.
    pub error: Option<String>,
    /// Index of the selected gig.
    pub selected: usize,
    /// The selected gig's stream key is shown (it is a secret: hidden by default, and hidden
    /// again when the selection moves).
    pub key_shown: bool,
    /// The gig a payout was asked for, until the server answers.
    pub requesting: Option<GigId>,
    /// The payouts are being asked about again.
    pub checking: bool,
    /// When payouts still under way are asked about next (while the screen is shown); `None`
    /// when none is under way.
    pub next_check: Option<OffsetDateTime>,
    /// Failed checks in a row (the next waits longer).
    pub check_failures: u32,
    /// Counts fresh views of the payouts (a load, a payout requested): an answer to a check
    /// asked for before one is older than what is shown, and is dropped.
    pub payouts_epoch: u64,
    /// Changes of replay windows the server has not confirmed yet, by gig.
    pub replay_edits: BTreeMap<GigId, ReplayEdit>,
}

impl MyGigsView {
    /// The selected gig.
    pub fn gig(&self) -> Option<&Gig> {
        self.data.gigs.get(self.selected)
    }

    /// The selected gig's earnings.
    pub fn earnings(&self) -> Option<&GigEarnings> {
        let gig = self.gig()?;
        self.data.earnings.iter().find(|e| e.gig_id == gig.id)
    }

    /// The selected gig's replay window as shown: the value last asked for while the server
    /// has not confirmed it, else the gig's; and whether it is unconfirmed.
    pub fn replay_hours(&self) -> Option<(u32, bool)> {
        let gig = self.gig()?;
        Some(match self.replay_edits.get(&gig.id) {
            Some(edit) => (edit.wanted, true),
            None => (gig.replay_hours, false),
        })
    }

    /// Whether any payout is still on its way (requested or sending).
    pub fn payouts_under_way(&self) -> bool {
        self.data
            .payouts
            .iter()
            .any(|payout| !payout.state.is_final())
    }

    /// The title of `gig`, as loaded.
    pub fn title_of(&self, gig: GigId) -> Option<&str> {
        self.data
            .gigs
            .iter()
            .find(|g| g.id == gig)
            .map(|g| g.title.as_str())
            .or_else(|| {
                self.data
                    .earnings
                    .iter()
                    .find(|e| e.gig_id == gig)
                    .map(|e| e.title.as_str())
            })
    }

    /// Whether the selected gig's earnings can be paid out now (as far as is known here): it
    /// has ended by `now` and something is payable. Else why not, in words.
    pub fn payable_now(&self, now: OffsetDateTime) -> Result<(&Gig, Money), String> {
        let Some(gig) = self.gig() else {
            return Err("no gig selected".to_owned());
        };
        if !has_ended(gig, now) {
            return Err(format!(
                "{} has not ended yet: its earnings can be paid out once it is over",
                gig.title
            ));
        }
        match self.earnings() {
            Some(earnings) if earnings.payable > Money::ZERO => Ok((gig, earnings.payable)),
            _ => Err(format!("nothing to pay out for {}", gig.title)),
        }
    }
}

/// Whether `gig` is over by `now` (a cancelled one never is: its tickets were refunded).
pub fn has_ended(gig: &Gig, now: OffsetDateTime) -> bool {
    match gig.status {
        GigStatus::Ended => true,
        GigStatus::Cancelled => false,
        GigStatus::Scheduled | GigStatus::Live | GigStatus::Offline => gig.ends_at <= now,
    }
}

/// Running totals over time of one gig's income, for the chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EarningsSeries {
    /// (seconds since the first entry, dollars so far) of ticket sales net of refunds.
    pub tickets: Vec<(f64, f64)>,
    /// (seconds since the first entry, dollars so far) of streaming micropayments.
    pub micropayments: Vec<(f64, f64)>,
    /// When the first entry was booked.
    pub start: Option<OffsetDateTime>,
    /// When the last entry was booked.
    pub end: Option<OffsetDateTime>,
}

impl EarningsSeries {
    /// The cumulative series of `gig` from `entries` (any order).
    pub fn of(gig: GigId, entries: &[LedgerEntry]) -> Self {
        let mut mine: Vec<&LedgerEntry> = entries
            .iter()
            .filter(|e| e.gig_id == Some(gig))
            .filter(|e| {
                matches!(
                    e.kind,
                    EntryKind::TicketSale | EntryKind::Refund | EntryKind::Micropayment
                )
            })
            .collect();
        mine.sort_by_key(|e| e.at);
        let (Some(first), Some(last)) = (mine.first(), mine.last()) else {
            return Self::default();
        };
        let start = first.at;
        let mut series = Self {
            start: Some(start),
            end: Some(last.at),
            ..Self::default()
        };
        let (mut tickets, mut streaming) = (0_i64, 0_i64);
        for entry in mine {
            let t = (entry.at - start).as_seconds_f64();
            let dollars = |micros: i64| micros as f64 / 1_000_000.0;
            if entry.kind == EntryKind::Micropayment {
                streaming += entry.amount.micros();
                series.micropayments.push((t, dollars(streaming)));
            } else {
                tickets += entry.amount.micros();
                series.tickets.push((t, dollars(tickets)));
            }
        }
        series
    }
}

#[cfg(test)]
mod tests {
    use bookmygig_api::{Money, TransactionId};

    use super::*;

    fn entry(gig: GigId, kind: EntryKind, micros: i64, minute: i64) -> LedgerEntry {
        LedgerEntry {
            transaction_id: TransactionId::from_bytes([1; 16]),
            kind,
            amount: Money(micros),
            balance_after: Money::ZERO,
            memo: String::new(),
            gig_id: Some(gig),
            at: time::macros::datetime!(2026-05-02 18:00 UTC) + time::Duration::minutes(minute),
        }
    }

    #[test]
    fn the_replay_steps_cycle_and_a_window_between_steps_goes_to_the_next() {
        assert_eq!(next_replay_step(0), 24);
        assert_eq!(next_replay_step(48), 168);
        assert_eq!(next_replay_step(100), 168);
        assert_eq!(next_replay_step(720), 0);
        assert_eq!(next_replay_step(8_760), 0);
        let words: Vec<String> = [0, 24, 48, 168, 720, 100]
            .into_iter()
            .map(replay_words)
            .collect();
        assert_eq!(
            words,
            ["no replay", "24 h", "48 h", "7 days", "30 days", "100 h"]
        );
    }

    #[test]
    fn the_series_are_running_totals_of_the_gigs_own_income() {
        let gig = GigId::from_bytes([1; 16]);
        let other = GigId::from_bytes([2; 16]);
        let entries = vec![
            entry(gig, EntryKind::Micropayment, 500_000, 30),
            entry(gig, EntryKind::TicketSale, 5_000_000, 0),
            entry(other, EntryKind::TicketSale, 9_000_000, 1),
            entry(gig, EntryKind::TicketSale, 5_000_000, 10),
            entry(gig, EntryKind::ListingFee, -99_000_000, 0),
            entry(gig, EntryKind::Refund, -5_000_000, 20),
            entry(gig, EntryKind::Micropayment, 250_000, 40),
        ];
        let series = EarningsSeries::of(gig, &entries);
        assert_eq!(series.tickets, [(0.0, 5.0), (600.0, 10.0), (1200.0, 5.0)]);
        assert_eq!(series.micropayments, [(1800.0, 0.5), (2400.0, 0.75)]);
        assert_eq!(EarningsSeries::of(other, &[]), EarningsSeries::default());
    }
}
