//! `GET /api/v1/pricing`: the fees this server charges, public so clients can show them before
//! anyone pays.

use axum::extract::State;
use bookmygig_api::Pricing;

use super::json::ApiJson;
use crate::state::AppState;

/// The listing fee, the ticket commission and the default micropayment rate in force.
#[utoipa::path(get, path = "/api/v1/pricing", tag = "operations", responses((status = 200, body = Pricing)))]
pub async fn show(State(state): State<AppState>) -> ApiJson<Pricing> {
    let settings = &state.settings;
    ApiJson(Pricing {
        listing_fee: settings.listing_fee,
        ticket_commission_bps: settings.ticket_commission_bps,
        default_micropayment_rate: settings.default_micropayment_rate,
    })
}
