//! Replays over HTTP: `POST /api/v1/gigs/{id}/replay` grants a signed URL, and
//! `GET /replay/{gig_id}.flv?token=…` serves the recording as one seekable FLV file with range
//! requests, metered like live watching. Who may replay is [`crate::recording::replay_refusal`]'s
//! business; the file's layout is [`ReplayFile`]'s.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bookmygig_api::{GigId, Replay};
use bookmygig_store::GigRecord;
use bytes::Bytes;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::auth::Authenticated;
use super::flv::FlvBytes;
use super::gigs::{gig_id, load};
use super::json::ApiJson;
use super::player::PlaybackViewer;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::access;
use crate::money::meter::WatchGuard;
use crate::playback::PlaybackGrant;
use crate::recording::replay_file::{Piece, RangeRequest, parse_range};
use crate::recording::{Archive, Manifest, ReplayFile, ReplayRefusal, replay_refusal};
use crate::state::AppState;

/// How long a replay URL opens new connections (each seek is one): a long evening, capped by
/// the replay window.
const REPLAY_URL_TTL: time::Duration = time::Duration::hours(12);
/// Media a player may fetch ahead of where it started, before the server paces it.
const AHEAD_MS: u64 = 60_000;
/// Past [`AHEAD_MS`], media is sent at most this many times faster than real time: a player
/// streams as it watches (and pays for watching, like live), never the whole file at once.
const PACE: u64 = 2;

/// A signed URL to watch a show's recording (ticket holders within the replay window, and the
/// creator). The URL is bound to the signed-in account, who pays the gig's micropayment rate
/// while playing it, as when watching live.
#[utoipa::path(post, path = "/api/v1/gigs/{id}/replay", tag = "live", params(("id" = GigId, Path)),
    responses((status = 200, body = Replay), (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 409, response = problems::Conflict), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn grant(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<ApiJson<Replay>, ApiError> {
    let gig = load(&state, gig_id(&id)?).await?;
    let account = auth.account.id;
    let now = OffsetDateTime::now_utc();
    if gig.state != bookmygig_store::GigState::Cancelled
        && !access::may_watch(state.store.as_ref(), &gig, account).await?
    {
        return Err(ApiError::Forbidden(
            "buy a ticket first: POST /api/v1/gigs/{id}/tickets".into(),
        ));
    }
    let manifest = permitted(&state.recordings, &gig, account, now).await?;
    let until = crate::recording::replay_until(&gig);
    let expires_at = until
        .map_or(now + REPLAY_URL_TTL, |until| {
            until.min(now + REPLAY_URL_TTL)
        })
        .max(now + time::Duration::minutes(1));
    let expires_at = expires_at.replace_nanosecond(0).unwrap_or(expires_at);
    let token = state.playback_key.sign(&PlaybackGrant {
        gig_id: gig.id,
        account_id: account,
        expires_at,
    });
    Ok(ApiJson(Replay {
        url: format!(
            "{}/replay/{}.flv?token={token}",
            state.settings.public_url, gig.id
        ),
        expires_at,
        available_until: until.unwrap_or(expires_at),
        recorded_from: manifest.recorded_from,
        duration_ms: manifest.end_ms(),
    }))
}

/// The recording `account` (who may watch `gig`) may replay at `now`. A cancelled gig or a
/// show not over yet is refused first; then a recording deleted is 404 for everyone, even
/// once its window has closed (deleting closes it).
async fn permitted(
    archive: &Archive,
    gig: &GigRecord,
    account: bookmygig_api::AccountId,
    now: OffsetDateTime,
) -> Result<Manifest, ApiError> {
    let refusal = replay_refusal(gig, account, now);
    if let Err(early @ (ReplayRefusal::Cancelled | ReplayRefusal::NotEnded)) = refusal {
        return Err(refused(early));
    }
    let manifest = recording(archive, gig).await?;
    refusal.map_err(refused)?;
    Ok(manifest)
}

/// The stored recording of `gig`, or 404.
async fn recording(archive: &Archive, gig: &GigRecord) -> Result<Manifest, ApiError> {
    archive
        .manifest(gig.id)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?
        .filter(|m| !m.segments.is_empty())
        .ok_or_else(|| ApiError::NotFound("this gig has no recording (or it was deleted)".into()))
}

/// The problem for a replay refused.
fn refused(refusal: ReplayRefusal) -> ApiError {
    match refusal {
        ReplayRefusal::NotEnded => ApiError::Conflict {
            code: "not-ended",
            title: "Show not ended",
            detail: refusal.to_string(),
            field: None,
        },
        other => ApiError::Forbidden(other.to_string()),
    }
}

/// `GET /replay/{gig_id}.flv?token=…`: a show's recording as one FLV file with a keyframe
/// index, for players such as mpv and VLC, which seek with `Range` requests (206); a range past
/// the end is 416. The token comes from `POST /api/v1/gigs/{id}/replay`.
#[utoipa::path(get, path = "/replay/{file}", tag = "live",
    params(("file" = String, Path, description = "`{gig_id}.flv`"),
        ("token" = String, Query, description = "the token of `url` from `POST /api/v1/gigs/{id}/replay`"),
        ("Range" = Option<String>, Header, description = "one byte range, e.g. `bytes=1000-`")),
    responses((status = 200, content_type = "video/x-flv", body = FlvBytes, description = "the whole recording",
            headers(("Accept-Ranges" = String, description = "`bytes`"))),
        (status = 206, content_type = "video/x-flv", body = FlvBytes, description = "the range asked for",
            headers(("Content-Range" = String, description = "`bytes first-last/length`"))),
        (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 409, response = problems::Conflict), (status = 416, response = problems::RangeNotSatisfiable), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)))]
pub async fn file(
    State(state): State<AppState>,
    headers: HeaderMap,
    PlaybackViewer(player): PlaybackViewer,
) -> Result<Response, ApiError> {
    let now = OffsetDateTime::now_utc();
    let manifest = permitted(&state.recordings, &player.gig, player.account, now).await?;
    let file = ReplayFile::new(&manifest).map_err(ApiError::internal)?;
    let len = file.len();
    let asked = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok());
    let (status, range) = match parse_range(asked, len) {
        RangeRequest::Whole => (StatusCode::OK, 0..len),
        RangeRequest::Part(range) => (StatusCode::PARTIAL_CONTENT, range),
        RangeRequest::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable(len)),
    };
    let pieces: VecDeque<Piece> = file.pieces(range.clone()).into();
    let body = Body::from_stream(futures::stream::unfold(
        Sending {
            archive: Arc::clone(&state.recordings),
            gig: player.gig.id,
            pieces,
            started: Instant::now(),
            from_ms: None,
            _meter: state.meter.watch_replay(player.account, &player.gig),
        },
        Sending::next,
    ));
    tracing::info!(gig = %player.gig.id, account = %player.account, from = range.start, "replay viewer");
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("video/x-flv"),
    );
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    out.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(range.end - range.start),
    );
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{len}",
            range.start,
            range.end.saturating_sub(1)
        ))
    {
        out.insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}

/// The body of one replay response: its pieces fetched one by one, paced past [`AHEAD_MS`],
/// metered while it is open.
struct Sending {
    archive: Arc<Archive>,
    gig: GigId,
    pieces: VecDeque<Piece>,
    started: Instant,
    /// Position of the first segment bytes sent.
    from_ms: Option<u64>,
    _meter: WatchGuard,
}

impl Sending {
    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        let piece = self.pieces.pop_front()?;
        let bytes = match piece {
            Piece::Prefix(bytes) => Ok(bytes),
            Piece::Segment {
                number,
                within,
                position_ms,
            } => {
                let from = *self.from_ms.get_or_insert(position_ms);
                let ahead = position_ms.saturating_sub(from).saturating_sub(AHEAD_MS);
                let due = self.started + Duration::from_millis(ahead / PACE);
                tokio::time::sleep_until(due).await;
                self.archive
                    .segment_range(self.gig, number, within)
                    .await
                    .map_err(std::io::Error::other)
            }
        };
        if bytes.is_err() {
            // The recording was deleted or trimmed meanwhile, or storage failed: end here.
            self.pieces.clear();
        }
        Some((bytes, self))
    }
}
