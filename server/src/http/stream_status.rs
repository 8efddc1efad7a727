//! `GET /api/v1/gigs/{id}/stream`: whether a gig is on air and what its media says, as the
//! stream directory reports it (with the viewers of every node).

use axum::extract::{Path, State};
use bookmygig_api::{GigId, StreamStatus};

use super::gigs::{gig_id, load};
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::state::AppState;

/// Whether the gig is on air, since when, for how many (every node of a cluster counted, as of
/// the last second), and what the media says about itself.
#[utoipa::path(get, path = "/api/v1/gigs/{id}/stream", tag = "live", params(("id" = GigId, Path)),
    responses((status = 200, body = StreamStatus), (status = 404, response = problems::NotFound), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)))]
pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<ApiJson<StreamStatus>, ApiError> {
    let gig = load(&state, gig_id(&id)?).await?;
    Ok(ApiJson(stream_status(&state, gig.id).await?))
}

/// The status of `gig`'s stream, from the stream directory (the chat's join message uses it
/// too).
///
/// # Errors
/// When the stream directory cannot be read.
pub async fn stream_status(state: &AppState, gig: GigId) -> Result<StreamStatus, ApiError> {
    state
        .directory
        .status(gig)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))
}
