//! `ViewerFeed`: one viewer's view of a live stream. A viewer that falls more than the queue
//! behind skips to the next keyframe (so the picture stays whole) and is cut loose when it
//! keeps falling behind; either way the publisher and the other viewers never wait for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// The segment [`ViewerFeed::next`] is handing out tag by tag, and its next index.
    current: Option<(Arc<Segment>, usize)>,
    metrics: Arc<LiveMetrics>,
    /// A viewer or a relay, for the counts when it leaves.
    kind: FeedKind,
    /// After an overflow: drop tags until a keyframe (or, for audio-only, any audio).
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

    /// The next tag to send, for writers that send tag by tag (RTMP play). Do not mix with
    /// the segment methods.
    ///
    /// # Errors
    /// Why the feed is over.
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
                if self.resyncing {
                    if !segment.resumes {
                        return None;
                    }
                    self.resyncing = false;
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
}

impl Drop for ViewerFeed {
    fn drop(&mut self) {
        self.stream.feed_left(self.kind);
    }
}
