//! `GET /api/v1/me/earnings`: what each of the creator's gigs earned, computed from the
//! creator's own ledger entries, so the report and the wallet agree to the micro-unit.

use std::collections::HashMap;

use axum::extract::State;
use bookmygig_api::{Earnings, EntryKind, GigEarnings, GigId, Money};
use bookmygig_store::LedgerAccount;
use time::OffsetDateTime;

use super::auth::Authenticated;
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::state::AppState;

/// Entries read from the store per call while adding up.
const ENTRIES_PER_READ: usize = 500;

/// Per gig: ticket revenue, refunds, micropayments, listing fee and net, with the payment
/// pointer resolved.
#[utoipa::path(get, path = "/api/v1/me/earnings", tag = "wallet",
    responses((status = 200, body = Earnings), (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)), security(("bearer" = [])))]
pub async fn mine(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<ApiJson<Earnings>, ApiError> {
    let creator = auth.account.id;
    let wallet = LedgerAccount::User(creator);
    let mut sums: HashMap<GigId, Sums> = HashMap::new();
    let mut before = None;
    loop {
        let page = state
            .store
            .entries(&wallet, before, ENTRIES_PER_READ)
            .await?;
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
    let now = OffsetDateTime::now_utc();
    let gigs: Vec<GigEarnings> = state
        .store
        .gigs_by_creator(creator)
        .await?
        .into_iter()
        .map(|gig| {
            let sums = sums.remove(&gig.id).unwrap_or_default();
            GigEarnings {
                gig_id: gig.id,
                title: gig.details.title.clone(),
                status: gig.status_at(now),
                tickets_sold: gig.tickets_sold,
                ticket_revenue: Money(sums.tickets),
                refunds: Money(sums.refunds),
                micropayments: Money(sums.micropayments),
                listing_fee: Money(sums.listing_fee),
                net: Money(sums.tickets + sums.refunds + sums.micropayments + sums.listing_fee),
                payment_url: gig.details.payment_pointer.resolve(),
                payment_pointer: gig.details.payment_pointer,
            }
        })
        .collect();
    let net = Money(gigs.iter().map(|g| g.net.0).sum());
    Ok(ApiJson(Earnings { gigs, net }))
}

/// Signed sums of a creator's entries for one gig, by kind.
#[derive(Default)]
struct Sums {
    tickets: i64,
    refunds: i64,
    micropayments: i64,
    listing_fee: i64,
}

impl Sums {
    fn add(&mut self, kind: EntryKind, amount: Money) {
        let slot = match kind {
            EntryKind::TicketSale => &mut self.tickets,
            EntryKind::Refund => &mut self.refunds,
            EntryKind::Micropayment => &mut self.micropayments,
            EntryKind::ListingFee => &mut self.listing_fee,
            // Top-ups name no gig.
            EntryKind::TopUp => return,
        };
        *slot += amount.0;
    }
}
