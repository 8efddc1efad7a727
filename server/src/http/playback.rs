//! `POST /api/v1/gigs/{id}/playback`: signed URLs (HTTP-FLV and RTMP) to watch a gig.

use axum::extract::{Path, State};
use bookmygig_api::{GigId, Playback};
use bookmygig_store::{GigState, StoreError};
use time::OffsetDateTime;

use super::auth::Authenticated;
use super::gigs::{gig_id, load};
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::access;
use crate::playback::PlaybackGrant;
use crate::state::AppState;

/// How long a playback URL opens new connections.
const PLAYBACK_TTL: time::Duration = time::Duration::minutes(10);

/// Signed URLs to watch a gig (ticket holders and the creator; not once it is cancelled). The
/// URLs are bound to the signed-in account: whoever plays them watches as that account, on at
/// most `--max-streams-per-ticket` devices at once.
#[utoipa::path(post, path = "/api/v1/gigs/{id}/playback", tag = "live", params(("id" = GigId, Path)),
    responses((status = 200, body = Playback), (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 409, response = problems::Conflict), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn playback(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<ApiJson<Playback>, ApiError> {
    let gig = load(&state, gig_id(&id)?).await?;
    if gig.state == GigState::Cancelled {
        return Err(StoreError::GigClosed.into());
    }
    if !access::may_watch(state.store.as_ref(), &gig, auth.account.id).await? {
        return Err(ApiError::Forbidden(
            "buy a ticket first: POST /api/v1/gigs/{id}/tickets".into(),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let expires_at = (now + PLAYBACK_TTL)
        .replace_nanosecond(0)
        .unwrap_or(now + PLAYBACK_TTL);
    let token = state.playback_key.sign(&PlaybackGrant {
        gig_id: gig.id,
        account_id: auth.account.id,
        expires_at,
    });
    let settings = &state.settings;
    Ok(ApiJson(Playback {
        flv_url: format!("{}/live/{}.flv?token={token}", settings.public_url, gig.id),
        rtmp_url: format!("{}/{}?token={token}", settings.rtmp_url, gig.id),
        expires_at,
    }))
}
