//! The HTTP-FLV response body: the FLV file header and a subscription's start sequence, then
//! its feed's segments, gathered so hyper writes a backlog in one go without copying. A
//! viewer's body re-checks their right to watch now and then and meters them while it lives;
//! a relay connection's body (another node pulling a stream) does neither. Who may open one is
//! decided above this layer (the FLV handler, the internal relay endpoint).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bookmygig_api::{AccountId, GigId};
use bookmygig_media::flv;
use bookmygig_store::Store;
use bytes::Bytes;
use tokio::sync::watch;

use crate::access;
use crate::live::LiveMetrics;
use crate::live::ViewerFeed;
use crate::live::seats::StreamSeat;
use crate::live::stream::{Segment, Subscription};
use crate::money::WatchGuard;

/// How often a running FLV viewer's right to watch is checked again.
const ACCESS_RECHECK: Duration = Duration::from_secs(3);

/// An endless HTTP-FLV response: the file header, `subscription`'s start sequence, then its
/// feed. `viewer`, when given, is re-checked and metered while the response lives; `metrics`
/// counts the bytes sent; the response ends when `shutdown` turns true.
pub fn flv_response(
    metrics: Arc<LiveMetrics>,
    shutdown: watch::Receiver<bool>,
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
        metrics,
        viewer,
        stopping: stopping(shutdown),
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
pub struct ViewerCheck {
    store: Arc<dyn Store>,
    account: AccountId,
    recheck: tokio::time::Interval,
    /// Accrues micropayments while the body lives; a disconnect drops it and settles.
    _watching: WatchGuard,
    /// One of the account's `--max-streams-per-ticket`, given back when the body goes.
    _seat: StreamSeat,
}

impl ViewerCheck {
    /// `account`, watching through an FLV response: re-checked in `store` every
    /// few seconds, paying through `watching` and holding `seat` while it lives.
    pub fn new(
        store: Arc<dyn Store>,
        account: AccountId,
        watching: WatchGuard,
        seat: StreamSeat,
    ) -> Self {
        ViewerCheck {
            store,
            account,
            recheck: tokio::time::interval_at(
                tokio::time::Instant::now() + ACCESS_RECHECK,
                ACCESS_RECHECK,
            ),
            _watching: watching,
            _seat: seat,
        }
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

    /// `first`'s bytes; the segments already waiting go to `pending` (see
    /// [`ViewerFeed::gather_waiting`]), so hyper gathers them into one write without copying.
    fn with_waiting_segments(&mut self, first: &Segment) -> Bytes {
        let pending = &mut self.pending;
        let ended = self.feed.gather_waiting(first.flv.len(), |segment| {
            pending.push_back(segment.flv.clone());
            segment.flv.len()
        });
        if let Some(end) = ended {
            tracing::info!(gig = %self.gig, ?end, "FLV viewer's stream ended");
            self.pending_end = true;
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
