//! `LiveStream`: one gig on air. The publisher's tags go to a bounded broadcast channel as
//! shared bytes (no copy per viewer) and into the GOP cache, under one lock, so a newcomer's
//! start sequence and its live feed meet without a gap or a duplicate.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bookmygig_api::{AudioFacts, GigId, StreamStatus, VideoFacts};
use bookmygig_media::flv::TagKind;
use bookmygig_media::gop::{GopCache, GopLimits, MediaTag};
use bookmygig_media::metadata::StreamFacts;
use time::OffsetDateTime;
use tokio::sync::broadcast;

use super::feed::ViewerFeed;
use super::metrics::LiveMetrics;

/// Tags a viewer may fall behind before it overflows (about 7 s of 30 fps video with audio).
pub const VIEWER_QUEUE_TAGS: usize = 512;
/// Window over which the ingest bitrate is measured.
const BITRATE_WINDOW: Duration = Duration::from_secs(5);

/// Where a stream's tags come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamSource {
    /// A publisher connected to this node (the stream's origin).
    Publisher,
    /// A relay pulling the stream from the node that holds its publisher (Redis mode).
    Relay,
}

/// Who reads a feed: a person, or another node relaying the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedKind {
    /// A viewer (counted in `viewers`).
    Viewer,
    /// Another node's relay connection (counted in `relay_connections`, not as a viewer).
    Relay,
}

/// One gig on air.
#[derive(Debug)]
pub struct LiveStream {
    /// The gig.
    pub gig_id: GigId,
    /// When the publisher connected (for a relayed stream: when the relay started).
    pub started_at: OffsetDateTime,
    /// A local publisher or a relay.
    pub source: StreamSource,
    state: Mutex<StreamState>,
    viewers: AtomicU32,
    relay_connections: AtomicU32,
    metrics: Arc<LiveMetrics>,
}

#[derive(Debug)]
struct StreamState {
    /// `None` once the publisher is gone: viewers then drain and see the end.
    sender: Option<broadcast::Sender<Arc<MediaTag>>>,
    gop: GopCache,
    facts: StreamFacts,
    has_video: bool,
    has_audio: bool,
    /// (arrival, bytes) of recent media tags, for the bitrate.
    recent: VecDeque<(Instant, usize)>,
    recent_bytes: usize,
}

/// What a new viewer gets: the tags to start with, and the live feed after them.
pub struct Subscription {
    /// Whether the stream has carried audio / video so far (for the FLV header).
    pub has_audio: bool,
    /// See `has_audio`.
    pub has_video: bool,
    /// Metadata, sequence headers and the current GOP from its keyframe.
    pub start: Vec<MediaTag>,
    /// Everything after them.
    pub feed: ViewerFeed,
}

impl LiveStream {
    /// A stream with no media yet.
    pub fn new(gig_id: GigId, source: StreamSource, metrics: Arc<LiveMetrics>) -> Self {
        let (sender, _) = broadcast::channel(VIEWER_QUEUE_TAGS);
        LiveStream {
            gig_id,
            started_at: OffsetDateTime::now_utc(),
            source,
            state: Mutex::new(StreamState {
                sender: Some(sender),
                gop: GopCache::new(GopLimits::default()),
                facts: StreamFacts::default(),
                has_video: false,
                has_audio: false,
                recent: VecDeque::new(),
                recent_bytes: 0,
            }),
            viewers: AtomicU32::new(0),
            relay_connections: AtomicU32::new(0),
            metrics,
        }
    }

    /// Takes one tag from the publisher. Never waits for a viewer. Returns whether the stream
    /// facts changed (a new sequence header or metadata).
    pub fn push(&self, tag: MediaTag) -> bool {
        let now = Instant::now();
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        let changed = match tag.kind {
            TagKind::Video => {
                state.has_video = true;
                tag.sequence_header && state.facts.observe_video_tag(&tag.payload)
            }
            TagKind::Audio => {
                state.has_audio = true;
                tag.sequence_header && state.facts.observe_audio_tag(&tag.payload)
            }
            TagKind::Script => state.facts.observe_script_tag(&tag.payload),
        };
        state.recent.push_back((now, tag.flv.len()));
        state.recent_bytes += tag.flv.len();
        while let Some(&(at, bytes)) = state.recent.front() {
            if now.duration_since(at) <= BITRATE_WINDOW {
                break;
            }
            state.recent.pop_front();
            state.recent_bytes -= bytes;
        }
        state.gop.push(&tag);
        if let Some(sender) = &state.sender {
            // An error only means nobody is watching right now.
            let _ = sender.send(Arc::new(tag));
        }
        changed
    }

    /// Starts a viewer: its start sequence and its feed, consistent with each other.
    pub fn subscribe(self: &Arc<Self>) -> Subscription {
        self.subscribe_as(FeedKind::Viewer)
    }

    /// Starts a feed for `kind` of reader (another node's relay is not counted as a viewer).
    pub fn subscribe_as(self: &Arc<Self>, kind: FeedKind) -> Subscription {
        let ended = || broadcast::channel(1).1;
        let (start, receiver, has_audio, has_video) = match self.state.lock() {
            Ok(state) => match &state.sender {
                Some(sender) => (
                    state.gop.start_sequence(),
                    sender.subscribe(),
                    state.has_audio,
                    state.has_video,
                ),
                None => (Vec::new(), ended(), state.has_audio, state.has_video),
            },
            Err(_) => (Vec::new(), ended(), true, true),
        };
        match kind {
            FeedKind::Viewer => {
                self.viewers.fetch_add(1, Ordering::Relaxed);
                LiveMetrics::add(&self.metrics.viewers, 1);
            }
            FeedKind::Relay => {
                self.relay_connections.fetch_add(1, Ordering::Relaxed);
                LiveMetrics::add(&self.metrics.relay_connections, 1);
            }
        }
        Subscription {
            has_audio,
            has_video,
            start,
            feed: ViewerFeed::new(Arc::clone(self), receiver, Arc::clone(&self.metrics), kind),
        }
    }

    /// Ends the stream: viewers receive what is queued, then the end.
    pub fn end(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.sender = None;
            state.gop.clear();
        }
    }

    /// Called by a feed when its reader leaves.
    pub(super) fn feed_left(&self, kind: FeedKind) {
        match kind {
            FeedKind::Viewer => {
                self.viewers.fetch_sub(1, Ordering::Relaxed);
                self.metrics.viewers.fetch_sub(1, Ordering::Relaxed);
            }
            FeedKind::Relay => {
                self.relay_connections.fetch_sub(1, Ordering::Relaxed);
                self.metrics
                    .relay_connections
                    .fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Viewers watching now (on this node).
    pub fn viewers(&self) -> u32 {
        self.viewers.load(Ordering::Relaxed)
    }

    /// Other nodes relaying this stream now.
    pub fn relay_connections(&self) -> u32 {
        self.relay_connections.load(Ordering::Relaxed)
    }

    /// Ingest bitrate over the last few seconds, in kbit/s.
    pub fn ingest_kbps(&self) -> f64 {
        let Ok(state) = self.state.lock() else {
            return 0.0;
        };
        let span = match (state.recent.front(), state.recent.back()) {
            (Some(first), Some(last)) => last.0.duration_since(first.0).as_secs_f64(),
            _ => return 0.0,
        };
        if span < 0.5 {
            return 0.0;
        }
        state.recent_bytes as f64 * 8.0 / 1000.0 / span
    }

    /// The stream facts as the media describes them.
    pub fn facts(&self) -> StreamFacts {
        self.state
            .lock()
            .map(|s| s.facts.clone())
            .unwrap_or_default()
    }

    /// The API view of this stream.
    pub fn status(&self) -> StreamStatus {
        let facts = self.facts();
        let kbps = self.ingest_kbps();
        StreamStatus {
            gig_id: self.gig_id,
            live: true,
            started_at: Some(self.started_at),
            viewers: self.viewers(),
            video: facts.video_codec.clone().map(|codec| VideoFacts {
                codec,
                width: facts.width,
                height: facts.height,
                fps: facts.fps,
                kbps: (kbps > 0.0).then_some((kbps * 10.0).round() / 10.0),
            }),
            audio: facts.audio_codec.clone().map(|codec| AudioFacts {
                codec,
                sample_rate: facts.audio_sample_rate,
                channels: facts.audio_channels,
            }),
        }
    }
}
