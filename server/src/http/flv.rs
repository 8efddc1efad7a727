//! `GET /live/{gig_id}.flv?token=…`: a gig's live stream as HTTP-FLV, for players such as mpv.
//! Who may play is the [`PlaybackViewer`] extractor's business; the endless body is
//! [`crate::net::flv_body`]'s.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use super::player::PlaybackViewer;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::live::directory::DirectoryError;
use crate::live::seats::SeatRefusal;
use crate::net::flv_body::{ViewerCheck, flv_response};
use crate::state::AppState;

/// `GET /live/{gig_id}.flv?token=…`: the live stream as HTTP-FLV, for players such as mpv.
/// The token (from the playback API) names the account that watches; each account plays a gig
/// on at most `--max-streams-per-ticket` devices at once (409 `too-many-streams` past it).
#[utoipa::path(get, path = "/live/{file}", tag = "live",
    params(("file" = String, Path, description = "`{gig_id}.flv`"),
        ("token" = String, Query, description = "the playback token of `flv_url` from `POST /api/v1/gigs/{id}/playback`")),
    responses((status = 200, content_type = "video/x-flv", body = FlvBytes, description = "the live stream, endless while the gig is on air"),
        (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 409, response = problems::Conflict), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)))]
pub async fn flv(
    State(state): State<AppState>,
    PlaybackViewer(player): PlaybackViewer,
) -> Result<Response, ApiError> {
    let gig_id = player.gig.id;
    let stream = state
        .directory
        .watchable_stream(gig_id)
        .await
        .map_err(|e| match e {
            DirectoryError::Origin(cause) => ApiError::StreamUnavailable(cause),
            other => ApiError::Unavailable(other.to_string()),
        })?
        .ok_or_else(|| ApiError::NotFound("this gig is not live right now".into()))?;
    let seat = state
        .stream_seats
        .take(player.account, gig_id)
        .await
        .map_err(seat_refused)?;
    tracing::info!(gig = %gig_id, account = %player.account, "FLV viewer joined");
    let viewer = ViewerCheck::new(
        Arc::clone(&state.store),
        player.account,
        state.meter.watch(player.account, &player.gig),
        seat,
    );
    Ok(flv_response(
        Arc::clone(&state.hub.metrics),
        state.shutdown.clone(),
        gig_id,
        stream.subscribe(),
        Some(viewer),
    ))
}

/// The bytes of an HTTP-FLV stream, as the OpenAPI document describes them (binary).
pub struct FlvBytes;

impl utoipa::PartialSchema for FlvBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::schema::SchemaFormat::KnownFormat(
                utoipa::openapi::schema::KnownFormat::Binary,
            )))
            .into()
    }
}

impl utoipa::ToSchema for FlvBytes {}

/// The problem for a stream refused a seat: 409 `too-many-streams` naming the limit, or 503
/// when the count could not be read.
pub fn seat_refused(refusal: SeatRefusal) -> ApiError {
    match refusal {
        SeatRefusal::TooMany { max } => ApiError::Conflict {
            code: "too-many-streams",
            title: "Too many streams",
            detail: format!(
                "this ticket already plays on {max} devices at once, the most allowed; \
                 stop one of them, then try again"
            ),
            field: None,
        },
        SeatRefusal::Unavailable(cause) => ApiError::Unavailable(cause.to_string()),
    }
}
