//! `ViewerFeed`: one viewer's view of a live stream. A viewer that falls more than the queue
//! behind (in segments or in bytes, see [`QueueLimits`](super::stream::QueueLimits)) skips
//! ahead to a keyframe no more than half the queue from live (so the picture stays whole and
//! the viewer has room to keep up), and is cut loose when it keeps falling behind; either way
//! the publisher and the other viewers never wait for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(test)]
use bookmygig_media::gop::MediaTag;
use tokio::sync::broadcast::{
    self,
    error::{RecvError, TryRecvError},
};

use super::metrics::LiveMetrics;
use super::stream::{FeedKind, LiveStream, Segment};

/// Overflows tolerated within [`OVERFLOW_WINDOW`] before the viewer is dropped: one skip is a
/// hiccup, the next within a minute means the viewer cannot keep up with the stream.
const OVERFLOWS_ALLOWED: usize = 2;
/// See [`OVERFLOWS_ALLOWED`].
const OVERFLOW_WINDOW: Duration = Duration::from_secs(60);
/// Most waiting segments a writer gathers behind the one it took, for one write.
pub const COALESCE_SEGMENTS: usize = 16;
/// Most bytes gathered that way (a few dozen segments of a real stream): beyond the stream's
/// queue, a writer holds no more than this and one segment.
pub const COALESCE_BYTES: usize = 1 << 20;

/// Why a feed ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedEnd {
    /// The publisher stopped: the stream is over.
    StreamEnded,
    /// The viewer kept falling behind and was cut loose.
    TooSlow,
}

/// One viewer's feed.
#[derive(Debug)]
pub struct ViewerFeed {
    stream: Arc<LiveStream>,
    receiver: broadcast::Receiver<Arc<Segment>>,
    /// The segment `ViewerFeed::next` (tests only) is handing out tag by tag, and its next
    /// index.
    #[cfg(test)]
    current: Option<(Arc<Segment>, usize)>,
    metrics: Arc<LiveMetrics>,
    /// A viewer or a relay, for the counts when it leaves.
    kind: FeedKind,
    /// After an overflow: drop segments until one a viewer may resume at (a keyframe, or for
    /// audio-only any audio) that is within half the queue of live.
    resyncing: bool,
    overflows: Vec<Instant>,
}

impl ViewerFeed {
    pub(super) fn new(
        stream: Arc<LiveStream>,
        receiver: broadcast::Receiver<Arc<Segment>>,
        metrics: Arc<LiveMetrics>,
        kind: FeedKind,
    ) -> Self {
        ViewerFeed {
            stream,
            receiver,
            #[cfg(test)]
            current: None,
            metrics,
            kind,
            resyncing: false,
            overflows: Vec::new(),
        }
    }

    /// The stream this feed reads.
    pub fn stream(&self) -> &Arc<LiveStream> {
        &self.stream
    }

    /// The next segment to send (HTTP-FLV writes it as it is).
    ///
    /// # Errors
    /// Why the feed is over.
    pub async fn next_segment(&mut self) -> Result<Arc<Segment>, FeedEnd> {
        loop {
            let received = self.receiver.recv().await;
            if let Some(outcome) = self.take(received) {
                return outcome;
            }
        }
    }

    /// The next segment if one is already waiting (`None` when the viewer is caught up), so a
    /// writer can send several in one write.
    pub fn try_next_segment(&mut self) -> Option<Result<Arc<Segment>, FeedEnd>> {
        loop {
            let received = match self.receiver.try_recv() {
                Ok(segment) => Ok(segment),
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                Err(TryRecvError::Closed) => Err(RecvError::Closed),
            };
            if let Some(outcome) = self.take(received) {
                return Some(outcome);
            }
        }
    }

    /// Takes the segments already waiting behind one just taken (of `gathered` bytes as the
    /// writer sends it), so a reader a little behind catches up in one write: hands each to
    /// `take`, which returns the bytes it adds, up to [`COALESCE_SEGMENTS`] segments or
    /// [`COALESCE_BYTES`]. Returns the feed's end when it came meanwhile (the writer sends what
    /// it gathered, then stops).
    pub fn gather_waiting(
        &mut self,
        mut gathered: usize,
        mut take: impl FnMut(Arc<Segment>) -> usize,
    ) -> Option<FeedEnd> {
        for _ in 0..COALESCE_SEGMENTS {
            if gathered >= COALESCE_BYTES {
                break;
            }
            match self.try_next_segment()? {
                Ok(segment) => gathered += take(segment),
                Err(end) => return Some(end),
            }
        }
        None
    }

    /// The next tag, for tests that read the feed tag by tag (every writer sends segments).
    /// Do not mix with the segment methods.
    ///
    /// # Errors
    /// Why the feed is over.
    #[cfg(test)]
    pub async fn next(&mut self) -> Result<Arc<MediaTag>, FeedEnd> {
        loop {
            if let Some((segment, index)) = &mut self.current {
                if let Some(tag) = segment.tags.get(*index) {
                    *index += 1;
                    return Ok(Arc::clone(tag));
                }
                self.current = None;
            }
            let segment = self.next_segment().await?;
            self.current = Some((segment, 0));
        }
    }

    /// Applies the overflow policy to what the channel gave; `None` means "skip, read on".
    fn take(
        &mut self,
        received: Result<Arc<Segment>, RecvError>,
    ) -> Option<Result<Arc<Segment>, FeedEnd>> {
        match received {
            Ok(segment) => {
                if segment.is_filler() {
                    return None;
                }
                if self.resyncing {
                    if !(segment.resumes && self.near_live(&segment)) {
                        return None;
                    }
                    self.resyncing = false;
                }
                if self.kind != FeedKind::Recorder {
                    self.stream.segment_taken(&segment);
                }
                Some(Ok(segment))
            }
            Err(RecvError::Lagged(_)) => {
                let now = Instant::now();
                self.overflows
                    .retain(|at| now.duration_since(*at) < OVERFLOW_WINDOW);
                self.overflows.push(now);
                if self.overflows.len() > OVERFLOWS_ALLOWED {
                    LiveMetrics::add(&self.metrics.dropped_viewers, 1);
                    return Some(Err(FeedEnd::TooSlow));
                }
                LiveMetrics::add(&self.metrics.viewer_skips, 1);
                self.resyncing = true;
                None
            }
            Err(RecvError::Closed) => Some(Err(FeedEnd::StreamEnded)),
        }
    }

    /// Whether `segment`, just received, is within half the queue of live in segments and in
    /// bytes: resuming there leaves the viewer room before it would overflow again.
    fn near_live(&self, segment: &Segment) -> bool {
        let limits = self.stream.queue_limits();
        let bytes_behind = self.stream.sent_bytes().saturating_sub(segment.end);
        let segments_behind = self.stream.sent_segments().saturating_sub(segment.number);
        segments_behind <= (limits.segments / 2) as u64 && bytes_behind <= (limits.bytes / 2) as u64
    }
}

impl Drop for ViewerFeed {
    fn drop(&mut self) {
        self.stream.feed_left(self.kind);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;

    use bookmygig_api::GigId;
    use bookmygig_media::flv::TagKind;
    use bytes::Bytes;

    use super::*;
    use crate::live::stream::{QueueLimits, StreamSource};

    /// A stream whose queue holds 2,000 bytes (nine of the frames below) and 256 segments,
    /// and its counters.
    fn small_stream() -> (Arc<LiveStream>, Arc<LiveMetrics>) {
        let metrics = Arc::new(LiveMetrics::default());
        let stream = LiveStream::with_limits(
            GigId::new(),
            StreamSource::Publisher,
            Arc::clone(&metrics),
            QueueLimits {
                segments: 256,
                bytes: 2_000,
            },
        );
        (Arc::new(stream), metrics)
    }

    /// The feed's next tag; everything was pushed before, so it is there at once or never.
    async fn next(feed: &mut ViewerFeed) -> Result<Arc<MediaTag>, FeedEnd> {
        tokio::time::timeout(std::time::Duration::from_secs(5), feed.next())
            .await
            .expect("a tag or the end at once")
    }

    /// An AVC frame of 215 FLV bytes (200 of payload).
    fn frame(ts: u32, key: bool) -> MediaTag {
        let mut payload = vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0];
        payload.resize(200, 0xAA);
        MediaTag::new(TagKind::Video, ts, Bytes::from(payload)).unwrap()
    }

    #[tokio::test]
    async fn a_viewer_more_bytes_behind_than_the_queue_skips_to_a_keyframe_near_live() {
        let (stream, metrics) = small_stream();
        let mut viewer = stream.subscribe();
        for ts in 0..10 {
            stream.push(frame(ts, false));
        }
        // A keyframe still queued but more than half the queue behind live, then the one to
        // resume at.
        stream.push(frame(100, true));
        for ts in 101..107 {
            stream.push(frame(ts, false));
        }
        stream.push(frame(200, true));
        stream.push(frame(201, false));
        let resumed = next(&mut viewer.feed).await.unwrap();
        assert_eq!((resumed.timestamp_ms, resumed.keyframe), (200, true));
        assert_eq!(next(&mut viewer.feed).await.unwrap().timestamp_ms, 201);
        assert_eq!(metrics.viewer_skips.load(Relaxed), 1);
    }

    #[tokio::test]
    async fn a_viewer_that_never_reads_pins_no_more_than_the_queue_and_the_gop() {
        let (stream, _) = small_stream();
        let stalled = stream.subscribe();
        for ts in 0..100 {
            stream.push(frame(ts, ts % 20 == 0));
            assert!(
                stream.held_bytes() <= 2_000 + 20 * 215,
                "{} bytes held",
                stream.held_bytes()
            );
        }
        assert_eq!(
            stream.viewers(),
            1,
            "still connected; its backlog is what went"
        );
        drop(stalled);
    }

    #[tokio::test]
    async fn a_viewer_that_keeps_falling_behind_by_bytes_is_dropped() {
        let (stream, metrics) = small_stream();
        let mut viewer = stream.subscribe();
        let mut ts = 0;
        for round in 0..=OVERFLOWS_ALLOWED {
            for _ in 0..20 {
                stream.push(frame(ts, false));
                ts += 1;
            }
            stream.push(frame(ts, true));
            ts += 1;
            if round < OVERFLOWS_ALLOWED {
                assert!(
                    next(&mut viewer.feed).await.unwrap().keyframe,
                    "skip {round}"
                );
            }
        }
        assert_eq!(next(&mut viewer.feed).await, Err(FeedEnd::TooSlow));
        assert_eq!(metrics.dropped_viewers.load(Relaxed), 1);
        assert_eq!(metrics.viewer_skips.load(Relaxed), OVERFLOWS_ALLOWED as u64);
    }
}
