//! `GET /api/v1/me/earnings`: what each of the creator's gigs earned, computed from the
//! creator's own ledger entries, so the report and the wallet agree to the micro-unit.

use axum::extract::State;
use bookmygig_api::{Earnings, GigEarnings, Money};
use time::OffsetDateTime;

use super::auth::Authenticated;
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::money::earnings;
use crate::state::AppState;

/// Per gig: ticket revenue, refunds, micropayments, listing fee, net, what was paid out and
/// what a payout would send now, with the payment pointer resolved.
#[utoipa::path(get, path = "/api/v1/me/earnings", tag = "wallet",
    responses((status = 200, body = Earnings), (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)), security(("bearer" = [])))]
pub async fn mine(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<ApiJson<Earnings>, ApiError> {
    let creator = auth.account.id;
    let mut sums = earnings::by_gig(state.store.as_ref(), creator).await?;
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
                net: sums.net(),
                paid_out: Money(sums.paid_out),
                payable: sums.payable(),
                payment_url: gig.details.payment_pointer.resolve(),
                payment_pointer: gig.details.payment_pointer,
            }
        })
        .collect();
    let net = Money(gigs.iter().map(|g| g.net.0).sum());
    Ok(ApiJson(Earnings { gigs, net }))
}
