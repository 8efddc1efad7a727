//! What each of a creator's gigs earned and paid out, summed from the creator's own ledger
//! entries, so the earnings report, the payouts and the wallet agree to the micro-unit.

use std::collections::HashMap;

use bookmygig_api::{AccountId, EntryKind, GigId, Money};
use bookmygig_store::{LedgerAccount, Store, StoreResult};

/// Entries read from the store per call while adding up.
const ENTRIES_PER_READ: usize = 500;

/// Signed sums of a creator's entries for one gig, by kind (micro-USD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GigSums {
    /// The creator's share of ticket sales.
    pub tickets: i64,
    /// Ticket prices given back (negative).
    pub refunds: i64,
    /// Streaming micropayments received.
    pub micropayments: i64,
    /// The listing fee (negative).
    pub listing_fee: i64,
    /// Payouts sent or on their way (negative), less payouts given back (positive).
    pub paid_out: i64,
    /// How many payout entries (holds and returns) the gig has: tells payouts apart.
    pub payout_entries: u32,
}

impl GigSums {
    fn add(&mut self, kind: EntryKind, amount: Money) {
        if kind == EntryKind::Payout {
            self.payout_entries += 1;
        }
        let slot = match kind {
            EntryKind::TicketSale => &mut self.tickets,
            EntryKind::Refund => &mut self.refunds,
            EntryKind::Micropayment => &mut self.micropayments,
            EntryKind::ListingFee => &mut self.listing_fee,
            EntryKind::Payout => &mut self.paid_out,
            // Top-ups name no gig.
            EntryKind::TopUp => return,
        };
        *slot += amount.0;
    }

    /// What the gig earned, less its listing fee (payouts not counted).
    pub fn net(&self) -> Money {
        Money(self.tickets + self.refunds + self.micropayments + self.listing_fee)
    }

    /// What a payout would send now: earnings (not the listing fee, paid up front) less what
    /// was paid out, never below zero.
    pub fn payable(&self) -> Money {
        Money((self.tickets + self.refunds + self.micropayments + self.paid_out).max(0))
    }
}

/// Every gig's sums from `creator`'s wallet entries.
///
/// # Errors
/// When the store fails.
pub async fn by_gig(store: &dyn Store, creator: AccountId) -> StoreResult<HashMap<GigId, GigSums>> {
    let wallet = LedgerAccount::User(creator);
    let mut sums: HashMap<GigId, GigSums> = HashMap::new();
    let mut before = None;
    loop {
        let page = store.entries(&wallet, before, ENTRIES_PER_READ).await?;
        for record in &page {
            if let Some(gig) = record.entry.gig_id {
                sums.entry(gig)
                    .or_default()
                    .add(record.entry.kind, record.entry.amount);
            }
        }
        match page.last() {
            Some(last) if page.len() == ENTRIES_PER_READ => before = Some(last.seq),
            _ => break,
        }
    }
    Ok(sums)
}
