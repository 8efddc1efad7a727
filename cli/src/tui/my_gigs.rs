//! The creator's "My gigs" screen: their gigs, what each earned, and the ledger entries the
//! earnings chart is drawn from. Plain data; [`update`](super::update()) changes it.

use bookmygig_api::{EntryKind, Gig, GigEarnings, GigId, LedgerEntry};
use time::OffsetDateTime;

/// Wallet pages read for the earnings charts (the newest entries first).
pub const CHART_PAGES: usize = 5;

/// What the screen shows, as loaded together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreatorData {
    /// The gigs, newest first, in creator view (with stream keys).
    pub gigs: Vec<Gig>,
    /// Earnings per gig.
    pub earnings: Vec<GigEarnings>,
    /// The newest wallet entries (up to [`CHART_PAGES`] pages), newest first.
    pub entries: Vec<LedgerEntry>,
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
