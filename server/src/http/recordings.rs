//! The creator's recordings: `GET|DELETE /api/v1/gigs/{id}/recording` and
//! `GET /api/v1/me/recordings` (what is stored and how much space it takes).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use bookmygig_api::{GigId, GigStatus, Recording, Recordings};
use bookmygig_store::GigRecord;
use time::OffsetDateTime;

use super::auth::Authenticated;
use super::gigs::load_own;
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::recording::{Manifest, replay_until};
use crate::state::AppState;

/// What the creator sees of one stored recording.
fn view(gig: &GigRecord, manifest: &Manifest) -> Recording {
    Recording {
        gig_id: gig.id,
        title: gig.details.title.clone(),
        recorded_from: manifest.recorded_from,
        duration_ms: manifest.end_ms(),
        bytes: manifest.bytes(),
        gaps: manifest.gaps(),
        lost_segments: manifest.lost_segments,
        trimmed_segments: manifest.trimmed_segments,
        replay_hours: gig.details.replay_hours,
        replay_until: replay_until(gig),
    }
}

async fn stored(state: &AppState, gig: &GigRecord) -> Result<Option<Manifest>, ApiError> {
    state
        .recordings
        .manifest(gig.id)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))
}

/// A gig's recording as stored (its creator only).
#[utoipa::path(get, path = "/api/v1/gigs/{id}/recording", tag = "gigs", params(("id" = GigId, Path)),
    responses((status = 200, body = Recording), (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<ApiJson<Recording>, ApiError> {
    let gig = load_own(&state, &id, auth.account.id).await?;
    let manifest = stored(&state, &gig)
        .await?
        .ok_or_else(|| ApiError::NotFound("this gig has no recording".into()))?;
    Ok(ApiJson(view(&gig, &manifest)))
}

/// Deletes a gig's recording (its creator only; not while the show is on air): its replay is
/// gone for everyone (404) and the gig's replay window becomes 0.
#[utoipa::path(delete, path = "/api/v1/gigs/{id}/recording", tag = "gigs", params(("id" = GigId, Path)),
    responses((status = 204, description = "deleted"), (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 409, response = problems::Conflict), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let gig = load_own(&state, &id, auth.account.id).await?;
    if gig.status_at(OffsetDateTime::now_utc()) == GigStatus::Live {
        return Err(ApiError::Conflict {
            code: "live",
            title: "Show on air",
            detail: "the show is being recorded now; delete its recording after it ends".into(),
            field: None,
        });
    }
    let lock = state.recordings.writer_lock(gig.id);
    let _writing = lock.lock().await;
    if stored(&state, &gig).await?.is_none() {
        return Err(ApiError::NotFound("this gig has no recording".into()));
    }
    // The window closes first: should deleting fail half-way, nobody but the creator can
    // replay what is left, and deleting again finishes the job.
    if gig.details.replay_hours != 0 {
        let mut details = gig.details.clone();
        details.replay_hours = 0;
        let updated = state.store.update_gig(gig.id, &details).await?;
        state.gig_changed(&updated);
    }
    state
        .recordings
        .delete(gig.id)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    tracing::info!(gig = %gig.id, "recording deleted by its creator");
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in creator's stored recordings, newest first, and the storage they use.
#[utoipa::path(get, path = "/api/v1/me/recordings", tag = "gigs",
    responses((status = 200, body = Recordings), (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn mine(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<ApiJson<Recordings>, ApiError> {
    let mut gigs = state.store.gigs_by_creator(auth.account.id).await?;
    gigs.retain(|g| g.state != bookmygig_store::GigState::Scheduled);
    gigs.sort_by_key(|g| std::cmp::Reverse(g.details.starts_at));
    let mut recordings = Vec::new();
    for gig in &gigs {
        if let Some(manifest) = stored(&state, gig).await? {
            recordings.push(view(gig, &manifest));
        }
    }
    Ok(ApiJson(Recordings {
        total_bytes: recordings.iter().map(|r| r.bytes).sum(),
        recordings,
    }))
}
