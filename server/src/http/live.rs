//! Live video over HTTP: playback grants, the stream's status, the HTTP-FLV stream itself, and
//! the Prometheus metrics of the live side. In Redis mode a gig published on another node is
//! watched through this node's relay of it, and its status comes from the stream registry.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bookmygig_api::{AccountId, GigId, Playback, StreamStatus};
use bookmygig_media::flv;
use bookmygig_store::{GigState, Store, StoreError};
use bytes::Bytes;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::auth::Authenticated;
use super::gigs::{gig_id, load};
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::access;
use crate::cluster::relay::RelayError;
use crate::live::metrics::StreamMetrics;
use crate::live::seats::{SeatRefusal, StreamSeat};
use crate::live::stream::{Segment, Subscription};
use crate::live::{LiveMetrics, ViewerFeed};
use crate::money::WatchGuard;
use crate::playback::PlaybackGrant;
use crate::state::AppState;

/// How long a playback URL opens new connections.
const PLAYBACK_TTL: time::Duration = time::Duration::minutes(10);
/// Most waiting segments taken at once for hyper to gather into one write.
const COALESCE_SEGMENTS: usize = 16;
/// Most bytes gathered that way (a few dozen segments of a real stream): beyond the stream's
/// queue, a viewer's response holds no more than this and one segment.
const COALESCE_BYTES: usize = 1 << 20;
/// How often a running FLV viewer's right to watch is checked again.
const ACCESS_RECHECK: Duration = Duration::from_secs(3);

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

/// The status of `gig`'s stream as this node knows it. On one node: the local stream. In
/// Redis mode: the origin's status, with the viewers of every node that relays it.
///
/// # Errors
/// When the stream registry cannot be read.
pub async fn stream_status(state: &AppState, gig: GigId) -> Result<StreamStatus, ApiError> {
    let Some(relays) = &state.relays else {
        return Ok(state
            .hub
            .stream(gig)
            .map_or_else(|| offline_status(gig), |s| s.status()));
    };
    let (origin, relayed_viewers) = relays
        .registry()
        .status(gig)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let mut status = match (state.hub.published_stream(gig), origin) {
        (Some(local), _) => local.status(),
        (None, Some(origin)) => origin,
        (None, None) => return Ok(offline_status(gig)),
    };
    status.viewers = status.viewers.saturating_add(relayed_viewers);
    Ok(status)
}

fn offline_status(gig: GigId) -> StreamStatus {
    StreamStatus {
        gig_id: gig,
        live: false,
        started_at: None,
        viewers: 0,
        video: None,
        audio: None,
    }
}

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
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let gig_id: GigId = file
        .strip_suffix(".flv")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| ApiError::NotFound("play /live/{gig_id}.flv?token=…".into()))?;
    let token = query.as_deref().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .filter(|t| !t.is_empty())
    });
    let grant = state
        .playback_key
        .verify(token, gig_id, OffsetDateTime::now_utc())
        .map_err(|e| ApiError::Forbidden(e.to_string()))?;
    let gig = load(&state, gig_id).await?;
    if !access::may_watch(state.store.as_ref(), &gig, grant.account_id).await? {
        return Err(ApiError::Forbidden("no valid ticket for this gig".into()));
    }
    let stream = crate::cluster::relay::stream_to_watch(&state.hub, state.relays.as_ref(), gig_id)
        .await
        .map_err(|e| match e {
            RelayError::Registry(e) => ApiError::Unavailable(e.to_string()),
            RelayError::Origin(cause) => ApiError::StreamUnavailable(cause),
        })?
        .ok_or_else(|| ApiError::NotFound("this gig is not live right now".into()))?;
    let seat = state
        .stream_seats
        .take(grant.account_id, gig_id)
        .await
        .map_err(seat_refused)?;
    tracing::info!(gig = %gig_id, account = %grant.account_id, "FLV viewer joined");
    let viewer = ViewerCheck {
        store: Arc::clone(&state.store),
        account: grant.account_id,
        recheck: tokio::time::interval_at(
            tokio::time::Instant::now() + ACCESS_RECHECK,
            ACCESS_RECHECK,
        ),
        _watching: state.meter.watch(grant.account_id, &gig),
        _seat: seat,
    };
    Ok(flv_response(
        &state,
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

/// An endless HTTP-FLV response: the file header, `subscription`'s start sequence, then its
/// feed. `viewer`, when given, is re-checked and metered while the response lives.
pub(super) fn flv_response(
    state: &AppState,
    gig_id: GigId,
    subscription: Subscription,
    viewer: Option<ViewerCheck>,
) -> Response {
    let (has_audio, has_video) = if subscription.has_audio || subscription.has_video {
        (subscription.has_audio, subscription.has_video)
    } else {
        (true, true)
    };
    let mut pending = VecDeque::with_capacity(subscription.start.len() + 1);
    pending.push_back(Bytes::copy_from_slice(&flv::file_header(
        has_audio, has_video,
    )));
    pending.extend(subscription.start.iter().map(|tag| tag.flv.clone()));
    let body = FlvBody {
        pending,
        feed: subscription.feed,
        gig: gig_id,
        metrics: Arc::clone(&state.hub.metrics),
        viewer,
        stopping: stopping(state.shutdown.clone()),
        pending_end: false,
    };
    // Boxed, so each chunk's step moves a pointer rather than the whole body.
    let stream = futures::stream::unfold(Box::new(body), FlvBody::next_chunk);
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "video/x-flv"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// What woke an FLV body up.
enum Woke {
    /// The feed gave a segment (or ended).
    Segment(Result<Arc<Segment>, crate::live::FeedEnd>),
    /// Time to check the viewer's right to watch again.
    Recheck,
}

/// A person watching through an FLV response: their right to watch is checked again now and
/// then, and they pay while it lives. (Another node's relay connection has none.)
pub(super) struct ViewerCheck {
    store: Arc<dyn Store>,
    account: AccountId,
    recheck: tokio::time::Interval,
    /// Accrues micropayments while the body lives; a disconnect drops it and settles.
    _watching: WatchGuard,
    /// One of the account's `--max-streams-per-ticket`, given back when the body goes.
    _seat: StreamSeat,
}

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

/// The state of one FLV response body.
struct FlvBody {
    /// Header and start sequence, sent first.
    pending: VecDeque<Bytes>,
    feed: ViewerFeed,
    gig: GigId,
    metrics: Arc<LiveMetrics>,
    /// `None` for a relay connection.
    viewer: Option<ViewerCheck>,
    /// Resolves when the server stops; made once, not per wake-up (a fresh `wait_for` per
    /// segment registers and drops a waiter every time, for every viewer).
    stopping: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// The feed ended while gathering waiting segments: send `pending`, then finish.
    pending_end: bool,
}

impl FlvBody {
    async fn next_chunk(mut self: Box<Self>) -> Option<(Result<Bytes, std::io::Error>, Box<Self>)> {
        let bytes = match self.pending.pop_front() {
            Some(bytes) => bytes,
            None if self.pending_end => return None,
            None => loop {
                let woke = tokio::select! {
                    segment = self.feed.next_segment() => Woke::Segment(segment),
                    () = recheck_due(self.viewer.as_mut()) => Woke::Recheck,
                    () = &mut self.stopping => return None,
                };
                match woke {
                    Woke::Segment(Ok(segment)) => break self.with_waiting_segments(&segment),
                    Woke::Segment(Err(end)) => {
                        tracing::info!(gig = %self.gig, ?end, "FLV viewer's stream ended");
                        return None;
                    }
                    Woke::Recheck if !self.still_allowed().await => {
                        tracing::info!(gig = %self.gig, "FLV viewer's access ended");
                        return None;
                    }
                    Woke::Recheck => {}
                }
            },
        };
        LiveMetrics::add(&self.metrics.bytes_out, bytes.len() as u64);
        Some((Ok(bytes), self))
    }

    /// `first`'s bytes; the segments already waiting go to `pending`, so hyper gathers them
    /// into one write without copying (a viewer a little behind catches up at once).
    fn with_waiting_segments(&mut self, first: &Segment) -> Bytes {
        let mut gathered = first.flv.len();
        while self.pending.len() < COALESCE_SEGMENTS && gathered < COALESCE_BYTES {
            match self.feed.try_next_segment() {
                Some(Ok(segment)) => {
                    gathered += segment.flv.len();
                    self.pending.push_back(segment.flv.clone());
                }
                Some(Err(end)) => {
                    tracing::info!(gig = %self.gig, ?end, "FLV viewer's stream ended");
                    self.pending_end = true;
                    break;
                }
                None => break,
            }
        }
        first.flv.clone()
    }

    /// Whether the viewer may still watch (a relay always may). Borrows nothing across the
    /// store call, so the body need not be `Sync`.
    fn still_allowed(&self) -> impl Future<Output = bool> + Send + use<> {
        let viewer = self
            .viewer
            .as_ref()
            .map(|viewer| (Arc::clone(&viewer.store), viewer.account));
        let gig = self.gig;
        async move {
            match viewer {
                Some((store, account)) => {
                    access::still_may_watch(store.as_ref(), gig, account).await
                }
                None => true,
            }
        }
    }
}

/// Resolves once `shutdown` says the server is stopping.
fn stopping(mut shutdown: watch::Receiver<bool>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let _ = shutdown.wait_for(|stopping| *stopping).await;
    })
}

/// Resolves when a viewer's next access check is due; never for a relay connection.
async fn recheck_due(viewer: Option<&mut ViewerCheck>) {
    match viewer {
        Some(viewer) => {
            viewer.recheck.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Prometheus metrics of the live side, and whether payouts wait for the host.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let streams: Vec<StreamMetrics> = state
        .hub
        .streams()
        .iter()
        .filter(|s| s.source == crate::live::StreamSource::Publisher)
        .map(|s| StreamMetrics {
            gig: s.gig_id.to_string(),
            ingest_kbps: s.ingest_kbps(),
            relay_connections: s.relay_connections(),
        })
        .collect();
    let mut text = state.hub.metrics.render(&streams);
    text.push_str(&format!(
        "# HELP bookmygig_payouts_waiting Whether payouts wait for the host (e.g. a spent payout \
         grant; /healthz says why).\n# TYPE bookmygig_payouts_waiting gauge\n\
         bookmygig_payouts_waiting {}\n",
        u8::from(state.payments.attention().is_some())
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
