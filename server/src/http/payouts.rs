//! `POST /api/v1/me/payouts` and `GET /api/v1/me/payouts`: a creator's earnings sent out to
//! their gigs' payment pointers.

use axum::extract::State;
use axum::http::StatusCode;
use bookmygig_api::{Payout, PayoutRequest, Payouts};
use bookmygig_store::PaymentKind;
use time::OffsetDateTime;

use super::auth::Authenticated;
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::payments::payouts;
use crate::state::AppState;

/// How many payouts the list shows.
const PAYOUTS_LISTED: usize = 100;

/// Pay a gig's earnings out now (the gig yours and over): its ticket revenue, refunds and
/// micropayments less what was paid out, at most the wallet's balance, to its payment pointer.
/// The amount is held at once; the payout is then sent (`sending`, `sent`), or given back to the
/// wallet when it fails. A second request while one is on its way returns that one.
#[utoipa::path(post, path = "/api/v1/me/payouts", tag = "wallet", request_body = PayoutRequest,
    responses((status = 202, body = Payout, description = "the amount is held and the payout on its way"),
        (status = 400, response = problems::BadRequest), (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 409, response = problems::Conflict), (status = 413, response = problems::PayloadTooLarge), (status = 415, response = problems::UnsupportedMediaType), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn request(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(form): ApiJson<PayoutRequest>,
) -> Result<(StatusCode, ApiJson<Payout>), ApiError> {
    let gig = match state.store.gig(form.gig_id).await? {
        Some(gig) if gig.creator_id == auth.account.id => gig,
        _ => return Err(ApiError::NotFound("no gig of yours with this id".into())),
    };
    let record = payouts::request(
        state.store.as_ref(),
        state.payments.as_ref(),
        &gig,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let payout = payouts::payout_view(&record)
        .ok_or_else(|| ApiError::internal("a payout record without its gig"))?;
    Ok((StatusCode::ACCEPTED, ApiJson(payout)))
}

/// Your payouts, newest first: amount, destination and state.
#[utoipa::path(get, path = "/api/v1/me/payouts", tag = "wallet",
    responses((status = 200, body = Payouts), (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn mine(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<ApiJson<Payouts>, ApiError> {
    let items = state
        .store
        .payments_of(auth.account.id, PaymentKind::Payout, PAYOUTS_LISTED)
        .await?
        .iter()
        .filter_map(payouts::payout_view)
        .collect();
    Ok(ApiJson(Payouts { items }))
}
