//! `LiveStream`: one gig on air. The publisher's tags are gathered into [`Segment`]s (the audio
//! since the last video frame, then that frame; two frames while the node is slow to hand a
//! segment to its audience, see `BATCH_WHEN_ROUND_OVER`: one write per segment instead of
//! one per tag), each muxed once and fanned out as shared bytes through a queue bounded in
//! segments and in bytes (no copy per viewer; see `queue`), and into the GOP cache, under one
//! lock, so a newcomer's start sequence and its live feed meet without a gap or a duplicate.
//!
//! What one gig can pin in memory is bounded: the queue ([`VIEWER_QUEUE_BYTES`]), the GOP cache
//! ([`GOP_CACHE_BYTES`]) and the segment being gathered, built of tags of at most
//! [`MAX_TAG_BYTES`]; a tag's bytes are held once, whether in a segment, the cache or both.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bookmygig_api::{AudioFacts, GigId, StreamStatus, VideoFacts};
use bookmygig_media::flv::TagKind;
use bookmygig_media::gop::{GopCache, GopLimits, MediaTag};
use bookmygig_media::metadata::StreamFacts;
use bytes::{Bytes, BytesMut};
use time::OffsetDateTime;
use tokio::sync::broadcast;
use tokio::time::Instant as RoundClock;

use super::feed::ViewerFeed;
use super::metrics::LiveMetrics;

mod queue;

use queue::FanOut;
pub use queue::QueueLimits;

/// Largest media tag (one RTMP audio or video message) a stream takes: 8 MiB. The largest
/// frame a real encoder sends is a keyframe: at the 51 Mbit/s that ingest services take for
/// 4K60, a keyframe as large as a whole second of video is about 6 MiB; so 8 MiB refuses no
/// real stream and halves the 16 MiB the RTMP and FLV size fields allow. RTMP ingest refuses a
/// larger message (see `rtmp::guard`); a relay skips a larger tag.
pub const MAX_TAG_BYTES: usize = 8 << 20;
/// Segments a viewer may fall behind before it overflows (about 8 s of 30 fps video).
pub const VIEWER_QUEUE_SEGMENTS: usize = 256;
/// Bytes a viewer may fall behind before it overflows, which is also the most a gig's queue
/// holds however slow its viewers: 32 MiB, four of the largest tags, and more than
/// [`VIEWER_QUEUE_SEGMENTS`] of any stream below about 30 Mbit/s, so only faster streams are
/// bounded by bytes before segments.
pub const VIEWER_QUEUE_BYTES: usize = 32 << 20;
/// The bounds of every stream's queue.
pub const QUEUE_LIMITS: QueueLimits = QueueLimits {
    segments: VIEWER_QUEUE_SEGMENTS,
    bytes: VIEWER_QUEUE_BYTES,
};
/// Most bytes of GOP a newcomer is started with (and a gig keeps for newcomers): 16 MiB, two
/// of the largest tags, or a 2-second GOP of a 4K stream at 51 Mbit/s; a longer GOP is not
/// cached (newcomers wait for the next keyframe).
pub const GOP_CACHE_BYTES: usize = 16 << 20;
/// Tags held per video frame of a segment at most (about 90 ms of AAC for one frame), so audio
/// keeps flowing when the video stalls.
const AUDIO_HELD_MAX: usize = 4;
/// Video frames per segment while the node is slow to hand segments out (see
/// [`BATCH_WHEN_ROUND_OVER`]).
const BATCHED_FRAMES_PER_SEGMENT: usize = 2;
/// Segments gather [`BATCHED_FRAMES_PER_SEGMENT`] video frames once handing one to nine in ten
/// of its audience (the round, measured on every segment and smoothed, see [`ROUND_SMOOTHING`])
/// takes longer than this share of a frame interval: the node's writers are then busy most of
/// the time, and each write to each viewer costs the kernel about as much as its bytes do, so
/// a busy node halves its writes for at most one frame more latency. While the round stays
/// below, every frame goes out at once. Measured with `scripts/bench flv` on 2 cores (see
/// docs/benchmarks.md): at 1,000 HTTP-FLV viewers the round of single frames stays under it
/// (p50 latency 10 ms, 1.19 CPU s per GiB), at 2,000 it does not (batched: 0.9 CPU s per GiB).
const BATCH_WHEN_ROUND_OVER: f64 = 0.75;
/// Segments go back to one frame once the smoothed round is under this share of a frame
/// interval. Far enough below [`BATCH_WHEN_ROUND_OVER`] that a node near the line does not
/// switch back and forth (a batched segment's round is about an unbatched one's: the writes,
/// not their bytes, make most of it).
const UNBATCH_WHEN_ROUND_UNDER: f64 = 0.4;
/// Weight of each new round in the smoothed one (an exponential moving average over about
/// eight segments), so that one slow round, e.g. a keyframe's, does not switch the node.
const ROUND_SMOOTHING: f64 = 1.0 / 8.0;
/// Share of a segment's audience whose taking it ends its round: a few stalled viewers do not
/// make a quick node look slow.
const ROUND_QUORUM: f64 = 0.9;
/// Frame interval assumed until two video frames have told the real one.
const DEFAULT_FRAME_INTERVAL_MS: u32 = 33;
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
    /// This node's recorder of the stream (counted nowhere: it is not an audience).
    Recorder,
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
    /// FLV bytes sent to viewers so far (the `end` of the latest segment).
    sent_bytes: AtomicU64,
    /// Segments sent to viewers so far (the `number` of the latest).
    sent_segments: AtomicU64,
    /// The bounds of the queue.
    limits: QueueLimits,
    viewers: AtomicU32,
    relay_connections: AtomicU32,
    /// How long segments take to reach [`ROUND_QUORUM`] of their audience, smoothed over the
    /// latest ones ([`ROUND_SMOOTHING`]), in µs (see [`BATCH_WHEN_ROUND_OVER`]).
    round_us: AtomicU64,
    metrics: Arc<LiveMetrics>,
}

/// Tags that go to viewers together, muxed once for all of them.
#[derive(Debug)]
pub struct Segment {
    /// The tags, in order; their bytes are slices of `flv`.
    pub tags: Vec<Arc<MediaTag>>,
    /// The same tags as FLV bytes, ready for every HTTP-FLV viewer.
    pub flv: Bytes,
    /// A viewer that skipped ahead may resume here: the segment holds a keyframe, a sequence
    /// header or metadata (or it is audio of a stream without video).
    pub resumes: bool,
    /// FLV bytes the stream had sent once this segment was (see [`LiveStream::sent_bytes`]),
    /// so a reader knows how far behind it is.
    pub end: u64,
    /// Segments the stream had sent once this one was, this one included (see
    /// [`LiveStream::sent_segments`]).
    pub number: u64,
    /// The same tags as RTMP chunks for every player on the shared framing, encoded by the
    /// first RTMP player that sends the segment (a stream without RTMP players never pays
    /// for them).
    rtmp: OnceLock<Bytes>,
    /// When the segment was sent.
    sent_at: RoundClock,
    /// Readers whose taking it ends its round (see [`ROUND_QUORUM`]); 0 when nobody watched.
    quorum: u32,
    /// Viewers and relays that have taken it so far.
    taken: AtomicU32,
}

impl Segment {
    /// A segment of `tags` muxed into `flv` (see the fields).
    pub fn new(tags: Vec<Arc<MediaTag>>, flv: Bytes, resumes: bool, end: u64, number: u64) -> Self {
        Segment {
            tags,
            flv,
            resumes,
            end,
            number,
            rtmp: OnceLock::new(),
            sent_at: RoundClock::now(),
            quorum: 0,
            taken: AtomicU32::new(0),
        }
    }

    /// The segment as RTMP chunks on the shared framing: encoded by `encode` the first time it
    /// is asked for, then the same bytes for every player.
    pub fn shared_rtmp(&self, encode: impl FnOnce(&Segment) -> Bytes) -> Bytes {
        self.rtmp.get_or_init(|| encode(self)).clone()
    }

    /// An empty segment the queue sends to push older ones out (see `queue`); readers skip
    /// it.
    pub fn is_filler(&self) -> bool {
        self.tags.is_empty()
    }
}

#[derive(Debug)]
struct StreamState {
    /// `None` once the publisher is gone: viewers then drain and see the end.
    fan_out: Option<FanOut>,
    /// Tags waiting for the end of their segment (not yet in the GOP cache or sent).
    held: Vec<MediaTag>,
    /// Video frames among `held`.
    held_frames: usize,
    /// Whether segments gather [`BATCHED_FRAMES_PER_SEGMENT`] frames now.
    batching: bool,
    /// Timestamp of the latest video frame, and the interval between the latest two.
    last_video_ms: Option<u32>,
    frame_interval_ms: u32,
    gop: GopCache,
    facts: StreamFacts,
    has_video: bool,
    has_audio: bool,
    /// (arrival, bytes) of recent media tags, for the bitrate.
    recent: VecDeque<(Instant, usize)>,
    recent_bytes: usize,
}

impl StreamState {
    /// Closes the segment of the held tags: into the GOP cache, muxed, to every viewer.
    /// `sent` holds the stream's counts of bytes and segments sent, advanced by the segment.
    fn send_held(&mut self, sent: (&AtomicU64, &AtomicU64), quorum: u32) {
        if self.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        self.held_frames = 0;
        let has_video = self.has_video;
        // One tag is its own segment; several are muxed into one buffer that their bytes are
        // then slices of, so no frame is held twice.
        let flv = match held.as_slice() {
            [only] => only.flv.clone(),
            _ => {
                let mut flv = BytesMut::with_capacity(held.iter().map(|tag| tag.flv.len()).sum());
                for tag in &held {
                    flv.extend_from_slice(&tag.flv);
                }
                flv.freeze()
            }
        };
        let mut resumes = false;
        let mut tags = Vec::with_capacity(held.len());
        let mut offset = 0;
        for tag in held {
            let len = tag.flv.len();
            let tag = tag.rebased(flv.slice(offset..offset + len));
            offset += len;
            self.gop.push(&tag);
            resumes |= tag.keyframe
                || tag.sequence_header
                || tag.metadata
                || (tag.kind == TagKind::Audio && !has_video);
            tags.push(Arc::new(tag));
        }
        if let Some(fan_out) = &mut self.fan_out {
            let (sent_bytes, sent_segments) = sent;
            // Written under the state lock only, so load-then-store does not race.
            let end = sent_bytes.load(Ordering::Relaxed) + flv.len() as u64;
            sent_bytes.store(end, Ordering::Relaxed);
            let number = sent_segments.load(Ordering::Relaxed) + 1;
            sent_segments.store(number, Ordering::Relaxed);
            let mut segment = Segment::new(tags, flv, resumes, end, number);
            segment.quorum = quorum;
            fan_out.send(Arc::new(segment));
        }
    }
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
    /// A stream with no media yet, queued within [`QUEUE_LIMITS`].
    pub fn new(gig_id: GigId, source: StreamSource, metrics: Arc<LiveMetrics>) -> Self {
        Self::with_limits(gig_id, source, metrics, QUEUE_LIMITS)
    }

    /// A stream with no media yet whose queue holds at most `limits`.
    pub fn with_limits(
        gig_id: GigId,
        source: StreamSource,
        metrics: Arc<LiveMetrics>,
        limits: QueueLimits,
    ) -> Self {
        LiveStream {
            gig_id,
            started_at: OffsetDateTime::now_utc(),
            source,
            sent_bytes: AtomicU64::new(0),
            sent_segments: AtomicU64::new(0),
            limits,
            state: Mutex::new(StreamState {
                fan_out: Some(FanOut::new(limits)),
                held: Vec::new(),
                held_frames: 0,
                batching: false,
                last_video_ms: None,
                frame_interval_ms: DEFAULT_FRAME_INTERVAL_MS,
                gop: GopCache::new(GopLimits {
                    max_bytes: GOP_CACHE_BYTES,
                    ..GopLimits::default()
                }),
                facts: StreamFacts::default(),
                has_video: false,
                has_audio: false,
                recent: VecDeque::new(),
                recent_bytes: 0,
            }),
            viewers: AtomicU32::new(0),
            relay_connections: AtomicU32::new(0),
            round_us: AtomicU64::new(0),
            metrics,
        }
    }

    /// Takes one tag from the publisher. Never waits for a viewer. Returns whether the stream
    /// facts changed (a new sequence header or metadata). A tag over [`MAX_TAG_BYTES`] is
    /// dropped (ingest refuses those before they get here).
    pub fn push(&self, tag: MediaTag) -> bool {
        if tag.payload.len() > MAX_TAG_BYTES {
            return false;
        }
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
        // A segment ends with its last video frame; metadata and sequence headers end one at
        // once (rare, and newcomers need them), as does audio when the stream has no video or
        // has been held long enough.
        if tag.kind == TagKind::Video && !tag.sequence_header {
            state.held_frames += 1;
            if let Some(last) = state.last_video_ms
                && let Some(interval) = tag.timestamp_ms.checked_sub(last)
                && interval > 0
            {
                state.frame_interval_ms = interval.min(1_000);
            }
            state.last_video_ms = Some(tag.timestamp_ms);
        }
        let frames = self.frames_per_segment(&mut state);
        let ends_segment = tag.kind == TagKind::Script
            || tag.sequence_header
            || (tag.kind == TagKind::Audio && !state.has_video)
            || state.held_frames >= frames
            || state.held.len() >= frames * AUDIO_HELD_MAX;
        state.held.push(tag);
        if ends_segment {
            state.send_held((&self.sent_bytes, &self.sent_segments), self.round_quorum());
        }
        changed
    }

    /// Video frames the next segment gathers: one, or [`BATCHED_FRAMES_PER_SEGMENT`] while
    /// rounds take too long (see [`BATCH_WHEN_ROUND_OVER`]).
    fn frames_per_segment(&self, state: &mut StreamState) -> usize {
        let round_ms = self.round_us.load(Ordering::Relaxed) as f64 / 1_000.0;
        let interval_ms = f64::from(state.frame_interval_ms);
        if round_ms > interval_ms * BATCH_WHEN_ROUND_OVER {
            state.batching = true;
        } else if round_ms < interval_ms * UNBATCH_WHEN_ROUND_UNDER {
            state.batching = false;
        }
        if state.batching {
            BATCHED_FRAMES_PER_SEGMENT
        } else {
            1
        }
    }

    /// Called by a viewer's or relay's feed as it takes `segment`: the reader that completes
    /// the segment's quorum ends its round, which is measured.
    pub(super) fn segment_taken(&self, segment: &Segment) {
        let taken = segment.taken.fetch_add(1, Ordering::Relaxed) + 1;
        if taken == segment.quorum {
            let round = segment.sent_at.elapsed().as_secs_f64() * 1e6;
            // Only the reader completing a quorum writes, one segment after another: a lost
            // update between two nearly simultaneous quorums costs one sample, no more.
            let smoothed = self.round_us.load(Ordering::Relaxed) as f64;
            let smoothed = smoothed + (round - smoothed) * ROUND_SMOOTHING;
            self.round_us.store(smoothed as u64, Ordering::Relaxed);
        }
    }

    /// Readers of a segment sent now whose taking it ends its round: nine in ten of the
    /// viewers and relays (0 when there are none: nothing to measure).
    fn round_quorum(&self) -> u32 {
        let audience = self.viewers() + self.relay_connections();
        (f64::from(audience) * ROUND_QUORUM).ceil() as u32
    }

    /// How long segments take to reach nine in ten of their audience (smoothed).
    pub fn round(&self) -> Duration {
        Duration::from_micros(self.round_us.load(Ordering::Relaxed))
    }

    /// Starts a viewer: its start sequence and its feed, consistent with each other.
    pub fn subscribe(self: &Arc<Self>) -> Subscription {
        self.subscribe_as(FeedKind::Viewer)
    }

    /// Starts a feed for `kind` of reader (another node's relay is not counted as a viewer).
    pub fn subscribe_as(self: &Arc<Self>, kind: FeedKind) -> Subscription {
        let ended = || broadcast::channel(1).1;
        let (start, receiver, has_audio, has_video) = match self.state.lock() {
            Ok(state) => match &state.fan_out {
                Some(fan_out) => (
                    state.gop.start_sequence(),
                    fan_out.subscribe(),
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
            FeedKind::Recorder => {}
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
            state.send_held((&self.sent_bytes, &self.sent_segments), self.round_quorum());
            state.fan_out = None;
            state.gop.clear();
        }
    }

    /// FLV bytes sent to viewers so far; a reader at a segment is `sent_bytes() - end` behind.
    pub fn sent_bytes(&self) -> u64 {
        self.sent_bytes.load(Ordering::Relaxed)
    }

    /// Segments sent to viewers so far; a reader at a segment is `sent_segments() - number`
    /// behind.
    pub fn sent_segments(&self) -> u64 {
        self.sent_segments.load(Ordering::Relaxed)
    }

    /// The bounds of this stream's queue.
    pub fn queue_limits(&self) -> QueueLimits {
        self.limits
    }

    /// Bytes this stream holds for its viewers now: its queue and its GOP cache (a tag in both
    /// is counted twice, so this is an upper bound).
    pub fn held_bytes(&self) -> usize {
        self.state.lock().map_or(0, |state| {
            state.fan_out.as_ref().map_or(0, FanOut::held_bytes) + state.gop.cached_bytes()
        })
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
            FeedKind::Recorder => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(kind: TagKind, ts: u32, payload: &[u8]) -> MediaTag {
        MediaTag::new(kind, ts, Bytes::copy_from_slice(payload)).unwrap()
    }
    /// A published stream with no media yet, its own counters.
    fn new_stream() -> Arc<LiveStream> {
        Arc::new(LiveStream::new(
            GigId::new(),
            StreamSource::Publisher,
            Arc::default(),
        ))
    }
    /// AAC raw frame (sound format 10, 44 kHz, 16-bit, stereo; packet type 1).
    fn audio(ts: u32) -> MediaTag {
        tag(TagKind::Audio, ts, &[0xAF, 0x01, 0x21])
    }
    /// AVC NALU, key or inter frame.
    fn video(ts: u32, key: bool) -> MediaTag {
        tag(
            TagKind::Video,
            ts,
            &[if key { 0x17 } else { 0x27 }, 1, 0, 0, 0, 0xAA],
        )
    }
    fn stamps(segment: &Segment) -> Vec<u32> {
        segment.tags.iter().map(|t| t.timestamp_ms).collect()
    }

    #[tokio::test]
    async fn audio_waits_for_the_next_video_frame_and_goes_out_with_it() {
        let stream = new_stream();
        stream.push(video(0, true));
        let mut viewer = stream.subscribe();
        stream.push(audio(10));
        stream.push(audio(33));
        assert!(
            viewer.feed.try_next_segment().is_none(),
            "audio is held for the next video frame"
        );
        stream.push(video(33, false));
        let segment = viewer.feed.next_segment().await.unwrap();
        assert_eq!(stamps(&segment), vec![10, 33, 33]);
        let muxed: Vec<u8> = segment
            .tags
            .iter()
            .flat_map(|t| t.flv.iter().copied())
            .collect();
        assert_eq!(
            segment.flv.as_ref(),
            muxed.as_slice(),
            "muxed once, in order"
        );
        assert!(!segment.resumes, "no keyframe in it");
    }

    #[tokio::test]
    async fn held_audio_is_bounded_and_audio_only_streams_are_not_held() {
        let stream = new_stream();
        let mut viewer = stream.subscribe();
        stream.push(audio(0));
        let first = viewer.feed.next_segment().await.unwrap();
        assert_eq!(stamps(&first), vec![0], "without video, audio goes at once");
        assert!(first.resumes);
        stream.push(video(10, true));
        viewer.feed.next_segment().await.unwrap();
        for ts in 20..20 + AUDIO_HELD_MAX as u32 {
            stream.push(audio(ts));
        }
        assert!(viewer.feed.try_next_segment().is_none());
        stream.push(audio(99));
        let stalled_video = viewer.feed.next_segment().await.unwrap();
        assert_eq!(stalled_video.tags.len(), AUDIO_HELD_MAX + 1);
    }

    /// Pushes a video frame at `ts` and has `viewer` take what it completes after `delay`;
    /// returns the timestamps it took (empty when the frame was held for a batch).
    async fn frame_taken_after(
        stream: &LiveStream,
        viewer: &mut Subscription,
        ts: u32,
        delay: Duration,
    ) -> Vec<u32> {
        stream.push(video(ts, false));
        tokio::time::advance(delay).await;
        match viewer.feed.try_next_segment() {
            Some(segment) => stamps(&segment.unwrap()),
            None => Vec::new(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn segments_gather_two_frames_while_rounds_are_slow_and_one_once_they_are_quick() {
        let stream = new_stream();
        stream.push(video(0, true));
        let mut viewer = stream.subscribe();
        let frame_ms = 33;
        let mut ts = 0;
        let mut next = || {
            ts += frame_ms;
            ts
        };
        // Quick rounds: every frame alone.
        for _ in 0..4 {
            let ts = next();
            let taken = frame_taken_after(&stream, &mut viewer, ts, Duration::ZERO).await;
            assert_eq!(taken, vec![ts]);
        }
        // Rounds of 30 ms (over three quarters of the 33 ms interval): once the smoothed round
        // is over the line, frames go out in twos.
        let slow = Duration::from_millis(30);
        let mut singles = 0;
        loop {
            let ts = next();
            let taken = frame_taken_after(&stream, &mut viewer, ts, slow).await;
            if taken.is_empty() {
                break;
            }
            singles += 1;
            assert!(singles < 50, "never batched; round {:?}", stream.round());
        }
        assert!(singles > 1, "one slow round alone does not switch");
        let ts = next();
        assert_eq!(
            frame_taken_after(&stream, &mut viewer, ts, slow).await,
            vec![ts - frame_ms, ts]
        );
        // Quick again: back to single frames once the smoothed round is under 40 %.
        let mut batched = 0;
        loop {
            let first = next();
            let taken = frame_taken_after(&stream, &mut viewer, first, Duration::ZERO).await;
            if taken == vec![first] {
                break;
            }
            if taken.is_empty() {
                let second = next();
                let pair = frame_taken_after(&stream, &mut viewer, second, Duration::ZERO).await;
                assert_eq!(pair, vec![first, second]);
            }
            batched += 1;
            assert!(batched < 50, "never unbatched; round {:?}", stream.round());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_ends_with_nine_in_ten_of_the_audience_not_the_slowest() {
        let stream = new_stream();
        stream.push(video(0, true));
        let mut viewers: Vec<_> = (0..10).map(|_| stream.subscribe()).collect();
        stream.push(video(33, false));
        for viewer in &mut viewers[..9] {
            viewer.feed.next_segment().await.unwrap();
        }
        // The tenth takes it a second later; the round was already measured.
        tokio::time::advance(Duration::from_secs(1)).await;
        viewers[9].feed.next_segment().await.unwrap();
        assert_eq!(stream.round(), Duration::ZERO);
        // Had the ninth been that late, the round would say so.
        stream.push(video(66, false));
        for viewer in &mut viewers[..8] {
            viewer.feed.next_segment().await.unwrap();
        }
        tokio::time::advance(Duration::from_secs(1)).await;
        viewers[8].feed.next_segment().await.unwrap();
        assert!(
            stream.round() > Duration::from_millis(100),
            "{:?}",
            stream.round()
        );
    }

    #[test]
    fn the_rtmp_chunks_of_a_segment_are_encoded_once_and_shared() {
        let segment = Segment::new(Vec::new(), Bytes::from_static(b"flv"), true, 3, 1);
        let mut encodings = 0;
        let first = segment.shared_rtmp(|_| {
            encodings += 1;
            Bytes::from(vec![1, 2, 3])
        });
        let second = segment.shared_rtmp(|_| {
            encodings += 1;
            Bytes::from(vec![9])
        });
        assert_eq!(encodings, 1);
        assert_eq!(
            first.as_ptr(),
            second.as_ptr(),
            "the same bytes, not a copy"
        );
    }

    #[tokio::test]
    async fn a_newcomer_gets_held_tags_once_and_the_end_flushes_them() {
        let stream = new_stream();
        stream.push(video(0, true));
        stream.push(audio(5));
        // The held audio is in no start sequence yet: it arrives in the live feed.
        let mut newcomer = stream.subscribe();
        assert_eq!(
            newcomer
                .start
                .iter()
                .map(|t| t.timestamp_ms)
                .collect::<Vec<_>>(),
            vec![0]
        );
        stream.end();
        let rest = newcomer.feed.next_segment().await.unwrap();
        assert_eq!(stamps(&rest), vec![5]);
        assert!(newcomer.feed.next_segment().await.is_err(), "then the end");
    }
}
