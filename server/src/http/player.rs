//! `PlaybackViewer`: the extractor that lets a player into `GET /live/{gig_id}.flv?token=…`.
//! The check itself is [`crate::access::admit_player`], the one RTMP play passes too, so no
//! handler has to remember it.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse as _, Response};
use bookmygig_api::GigId;
use time::OffsetDateTime;

use super::problem::ApiError;
use crate::access::{self, Player, PlayerRefusal};
use crate::state::AppState;

/// A player let in: the token in the query opens the gig named by the path, and its account
/// may watch it (a ticket holder or the creator).
#[derive(Debug)]
pub struct PlaybackViewer(pub Player);

impl FromRequestParts<AppState> for PlaybackViewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(file) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| rejection.into_response())?;
        let gig: GigId = file
            .strip_suffix(".flv")
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| {
                ApiError::NotFound("play /live/{gig_id}.flv?token=…".into()).into_response()
            })?;
        let token = parts.uri.query().and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("token="))
                .filter(|token| !token.is_empty())
        });
        let now = OffsetDateTime::now_utc();
        access::admit_player(state.store.as_ref(), &state.playback_key, token, gig, now)
            .await
            .map(PlaybackViewer)
            .map_err(|refusal| refused(refusal).into_response())
    }
}

/// The problem for a player refused.
fn refused(refusal: PlayerRefusal) -> ApiError {
    match refusal {
        PlayerRefusal::Token(error) => ApiError::Forbidden(error.to_string()),
        PlayerRefusal::UnknownGig(gig) => ApiError::NotFound(format!("no gig with id {gig}")),
        PlayerRefusal::NoTicket => ApiError::Forbidden("no valid ticket for this gig".into()),
        PlayerRefusal::Store(error) => error.into(),
    }
}
