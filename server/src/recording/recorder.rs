//! `Recorder`: records every stream published on this node, as a viewer that never slows
//! anything down. Its feed is bounded like any viewer's (falling behind skips to a keyframe),
//! and storing runs in a task of its own behind a short queue: when storage is slower than the
//! stream, segments are dropped, counted and logged, never the viewers' frames.
//!
//! A publisher that drops and comes back, here or after a restart, continues the same
//! recording: the next session waits for the previous one's last segments, reads the stored
//! manifest and goes on after a gap as long as the publisher was away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bookmygig_api::GigId;
use bookmygig_media::gop::MediaTag;
use time::OffsetDateTime;
use tokio::sync::{OwnedMutexGuard, broadcast, mpsc, watch};

use super::archive::Archive;
use super::cutter::{Cut, Cutter, Headers};
use super::manifest::{Manifest, SegmentEntry};
use crate::live::metrics::LiveMetrics;
use crate::live::stream::{FeedKind, LiveStream};
use crate::live::{FeedEnd, HubEvent, StreamHub};

/// Segments waiting to be stored, at most (about 16 s of stream): beyond it storage is too
/// slow and the newest segment is dropped.
const STORE_QUEUE_SEGMENTS: usize = 8;
/// Bytes of segments waiting to be stored, at most: a publisher of huge tags (up to the
/// chunk stream's 16 MiB message) fills [`STORE_QUEUE_SEGMENTS`] long before its seconds, and
/// the node's memory must not pay for a disk that cannot keep up.
const STORE_QUEUE_BYTES: u64 = 24 << 20;
/// Tries to read a stored manifest before giving up on recording a session (never overwrite
/// a recording that could not be read).
const MANIFEST_TRIES: u32 = 3;

/// Records the streams published on this node.
pub struct Recorder {
    hub: Arc<StreamHub>,
    archive: Arc<Archive>,
    /// Longest recording kept; older segments are dropped from the start.
    max_ms: u64,
    metrics: Arc<LiveMetrics>,
    /// The stream each gig is being recorded from.
    recording: Mutex<HashMap<GigId, Weak<LiveStream>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("max_ms", &self.max_ms)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder of `hub`'s published streams into `archive`, keeping at most `max` of each.
    pub fn new(hub: Arc<StreamHub>, archive: Arc<Archive>, max: Duration) -> Arc<Self> {
        Arc::new(Recorder {
            metrics: Arc::clone(&hub.metrics),
            hub,
            archive,
            max_ms: u64::try_from(max.as_millis()).unwrap_or(u64::MAX),
            recording: Mutex::new(HashMap::new()),
        })
    }

    /// Starts recording each stream that goes live here, until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut events = self.hub.subscribe();
        for stream in self.hub.streams() {
            self.record_if_published(&stream);
        }
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(HubEvent::Live(status)) => {
                        if let Some(stream) = self.hub.published_stream(status.gig_id) {
                            self.record_if_published(&stream);
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        for stream in self.hub.streams() {
                            self.record_if_published(&stream);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        return;
                    }
                }
            }
        }
    }

    /// Starts recording `stream` unless it is a relay or already being recorded.
    fn record_if_published(self: &Arc<Self>, stream: &Arc<LiveStream>) {
        if self
            .hub
            .published_stream(stream.gig_id)
            .is_none_or(|s| !Arc::ptr_eq(&s, stream))
        {
            return;
        }
        {
            let mut recording = self.recording.lock().unwrap_or_else(|e| e.into_inner());
            if recording
                .get(&stream.gig_id)
                .and_then(Weak::upgrade)
                .is_some_and(|current| Arc::ptr_eq(&current, stream))
            {
                return;
            }
            recording.retain(|_, s| s.strong_count() > 0);
            recording.insert(stream.gig_id, Arc::downgrade(stream));
        }
        tokio::spawn(Arc::clone(self).record(Arc::clone(stream)));
    }

    /// Records one publisher session of a stream until it ends.
    async fn record(self: Arc<Self>, stream: Arc<LiveStream>) {
        let gig = stream.gig_id;
        // Subscribed before waiting for the writer lock, so nothing is missed meanwhile.
        let mut subscription = stream.subscribe_as(FeedKind::Recorder);
        let lock = self.archive.writer_lock(gig).lock_owned().await;
        let Some(mut manifest) = self.stored_manifest(gig).await else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        let away = u64::try_from((now - manifest.recorded_from).whole_milliseconds()).unwrap_or(0);
        let base_ms = if manifest.segments.is_empty() {
            manifest.recorded_from = now;
            0
        } else {
            away.max(manifest.end_ms())
        };
        manifest.sessions += 1;
        let headers = Headers {
            video: manifest.video_header.clone(),
            audio: manifest.audio_header.clone(),
            has_video: manifest.has_video,
            has_audio: manifest.has_audio,
        };
        tracing::info!(gig = %gig, session = manifest.sessions, from_ms = base_ms, "recording");
        LiveMetrics::add(&self.metrics.recordings, 1);
        let lost = Arc::new(AtomicU64::new(0));
        let queued = Arc::new(AtomicU64::new(0));
        let (pieces, queue) = mpsc::channel(STORE_QUEUE_SEGMENTS);
        let writer = tokio::spawn(
            Writer {
                archive: Arc::clone(&self.archive),
                metrics: Arc::clone(&self.metrics),
                max_ms: self.max_ms,
                lost: Arc::clone(&lost),
                queued: Arc::clone(&queued),
                manifest,
                _lock: lock,
            }
            .run(queue),
        );
        let mut session = Session {
            gig,
            cutter: Cutter::new(base_ms, headers),
            pieces,
            lost,
            queued,
            metrics: Arc::clone(&self.metrics),
        };
        for tag in std::mem::take(&mut subscription.start) {
            session.take(&tag);
        }
        loop {
            match subscription.feed.next_segment().await {
                Ok(segment) => {
                    for tag in &segment.tags {
                        session.take(tag);
                    }
                }
                Err(FeedEnd::StreamEnded) => break,
                Err(FeedEnd::TooSlow) => {
                    // Only a starved task falls this far behind; go on from live (the stream's
                    // clock continues, so the timeline does too).
                    tracing::warn!(gig = %gig, "the recorder fell behind the stream; seconds are lost");
                    subscription = stream.subscribe_as(FeedKind::Recorder);
                }
            }
        }
        session.finish();
        let _ = writer.await;
        self.metrics.recordings.fetch_sub(1, Ordering::Relaxed);
        tracing::info!(gig = %gig, "recording session ended");
    }

    /// The stored manifest of `gig`, a new one if there is none, or `None` when it cannot be
    /// read (this session is then not recorded rather than overwrite what is stored).
    async fn stored_manifest(&self, gig: GigId) -> Option<Manifest> {
        let mut pause = Duration::from_millis(500);
        for attempt in 1..=MANIFEST_TRIES {
            match self.archive.manifest(gig).await {
                Ok(Some(manifest)) => return Some(manifest),
                Ok(None) => return Some(Manifest::new(gig, OffsetDateTime::now_utc())),
                Err(error) if attempt == MANIFEST_TRIES => {
                    tracing::error!(gig = %gig, %error, "cannot read the recording's manifest: this session is not recorded");
                }
                Err(error) => {
                    tracing::warn!(gig = %gig, %error, "cannot read the recording's manifest; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
        None
    }
}

/// One publisher session being cut into segments and queued for storing.
struct Session {
    gig: GigId,
    cutter: Cutter,
    pieces: mpsc::Sender<Piece>,
    lost: Arc<AtomicU64>,
    /// Bytes queued and not yet stored (see [`STORE_QUEUE_BYTES`]).
    queued: Arc<AtomicU64>,
    metrics: Arc<LiveMetrics>,
}

impl Session {
    fn take(&mut self, tag: &MediaTag) {
        match self.cutter.push(tag) {
            Ok(Some(cut)) => self.queue(cut),
            Ok(None) => {}
            Err(error) => tracing::warn!(gig = %self.gig, %error, "tag not recorded"),
        }
    }

    /// Queues the last segment; the writer then stores what is queued and stops.
    fn finish(mut self) {
        if let Some(cut) = self.cutter.finish() {
            self.queue(cut);
        }
    }

    fn queue(&mut self, cut: Cut) {
        let bytes = cut.bytes.len() as u64;
        let piece = Piece {
            cut,
            headers: self.cutter.headers().clone(),
        };
        // Counted before it is sent, so the writer never takes away what was not added; only
        // this session adds, so nothing else can push the count past the budget meanwhile.
        let before = self.queued.fetch_add(bytes, Ordering::AcqRel);
        let sent = before + bytes <= STORE_QUEUE_BYTES && self.pieces.try_send(piece).is_ok();
        if !sent {
            self.queued.fetch_sub(bytes, Ordering::AcqRel);
            self.lost.fetch_add(1, Ordering::Relaxed);
            LiveMetrics::add(&self.metrics.recording_segments_lost, 1);
            tracing::warn!(gig = %self.gig, "recording storage is too slow: a segment is lost");
        }
    }
}

/// A closed segment and the recording's headers as known when it closed.
struct Piece {
    cut: Cut,
    headers: Headers,
}

/// Stores one session's segments and keeps the manifest current, holding the gig's writer
/// lock until the last one is stored.
struct Writer {
    archive: Arc<Archive>,
    metrics: Arc<LiveMetrics>,
    max_ms: u64,
    /// Segments the session dropped since the last manifest written.
    lost: Arc<AtomicU64>,
    /// Bytes queued and not yet stored, given back as each segment is done with.
    queued: Arc<AtomicU64>,
    manifest: Manifest,
    _lock: OwnedMutexGuard<()>,
}

impl Writer {
    async fn run(mut self, mut queue: mpsc::Receiver<Piece>) {
        let gig = self.manifest.gig_id;
        while let Some(Piece { cut, headers }) = queue.recv().await {
            let manifest = &mut self.manifest;
            manifest.video_header = manifest.video_header.take().or(headers.video);
            manifest.audio_header = manifest.audio_header.take().or(headers.audio);
            manifest.has_video |= headers.has_video;
            manifest.has_audio |= headers.has_audio;
            manifest.lost_segments += self.lost.swap(0, Ordering::Relaxed);
            let number = manifest.next_number();
            let bytes = cut.bytes.len() as u64;
            let stored = self.archive.put_segment(gig, number, cut.bytes).await;
            self.queued.fetch_sub(bytes, Ordering::AcqRel);
            if let Err(error) = stored {
                manifest.lost_segments += 1;
                LiveMetrics::add(&self.metrics.recording_segments_lost, 1);
                tracing::warn!(gig = %gig, %error, "a recording segment could not be stored");
                continue;
            }
            LiveMetrics::add(&self.metrics.recording_segments, 1);
            LiveMetrics::add(&self.metrics.recording_bytes, bytes);
            manifest.segments.push(SegmentEntry {
                number,
                start_ms: cut.start_ms,
                end_ms: cut.end_ms,
                bytes,
                keyframes: cut.keyframes,
            });
            let trimmed = manifest.trim_to(self.max_ms);
            if let Err(error) = self.archive.put_manifest(manifest).await {
                tracing::warn!(gig = %gig, %error, "the recording's manifest could not be stored");
                continue;
            }
            if !trimmed.is_empty() {
                tracing::info!(gig = %gig, segments = trimmed.len(), "recording longer than --max-recording-hours: oldest segments dropped");
                let numbers: Vec<u64> = trimmed.iter().map(|s| s.number).collect();
                if let Err(error) = self.archive.delete_segments(gig, &numbers).await {
                    tracing::warn!(gig = %gig, %error, "trimmed segments could not be deleted");
                }
            }
        }
        let lost = self.lost.swap(0, Ordering::Relaxed);
        if lost > 0 && !self.manifest.segments.is_empty() {
            self.manifest.lost_segments += lost;
            if let Err(error) = self.archive.put_manifest(&self.manifest).await {
                tracing::warn!(gig = %gig, %error, "the recording's manifest could not be stored");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;

    use bookmygig_media::flv::TagKind;
    use bytes::Bytes;
    use object_store::memory::InMemory;
    use object_store::path::Path;
    use object_store::throttle::{ThrottleConfig, ThrottledStore};

    use super::*;
    use crate::live::hub::Publisher;

    fn frame(ts: u32, key: bool) -> MediaTag {
        sized_frame(ts, key, 2_000)
    }

    fn sized_frame(ts: u32, key: bool, bytes: usize) -> MediaTag {
        let mut payload = vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0];
        payload.resize(bytes, 0xAA);
        MediaTag::new(TagKind::Video, ts, Bytes::from(payload)).unwrap()
    }

    /// A recorder of `hub` on storage whose every put takes a minute; it runs until the
    /// returned sender is dropped or says stop.
    fn recorder_on_slow_storage(hub: &Arc<StreamHub>) -> watch::Sender<bool> {
        let slow = ThrottledStore::new(
            InMemory::new(),
            ThrottleConfig {
                wait_put_per_call: Duration::from_secs(60),
                ..ThrottleConfig::default()
            },
        );
        let archive = Arc::new(Archive::new(Arc::new(slow), Path::from("recordings")));
        let recorder = Recorder::new(Arc::clone(hub), archive, Duration::from_secs(3_600));
        let (stop, stopping) = watch::channel(false);
        tokio::spawn(recorder.run(stopping));
        stop
    }

    /// A gig published on `hub` once its recorder (on storage as slow as
    /// [`recorder_on_slow_storage`]'s) has started, and the hub's counters.
    async fn recorded_gig(hub: &Arc<StreamHub>) -> (Publisher, Arc<LiveMetrics>) {
        let publisher = hub.start_publishing(GigId::new()).unwrap();
        let metrics = Arc::clone(&hub.metrics);
        until("the recorder starts", || {
            metrics.recordings.load(Relaxed) == 1
        })
        .await;
        (publisher, metrics)
    }

    #[tokio::test]
    async fn huge_segments_waiting_for_slow_storage_stay_within_the_byte_budget() {
        let hub = StreamHub::new();
        let _stop = recorder_on_slow_storage(&hub);
        let (publisher, metrics) = recorded_gig(&hub).await;
        // 30 keyframes of 4 MiB: segments of 3 (the 16 MiB cap), 10 of about 12 MiB. Two fit
        // the 24 MiB budget; the eight slots of the queue alone would have taken nine.
        for i in 0..30u32 {
            publisher.push(sized_frame(i * 100, true, 4 << 20));
            tokio::task::yield_now().await;
        }
        drop(publisher);
        until("segments past the byte budget are counted lost", || {
            metrics.recording_segments_lost.load(Relaxed) >= 7
        })
        .await;
    }

    async fn until(what: &str, done: impl Fn() -> bool) {
        tokio::time::timeout(Duration::from_secs(20), async {
            while !done() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{what}"));
    }

    #[tokio::test]
    async fn storage_slower_than_the_stream_loses_segments_never_frames_of_viewers() {
        let hub = StreamHub::new();
        // Every put takes a minute: the recorder's queue fills at once.
        let _stop = recorder_on_slow_storage(&hub);
        let (publisher, metrics) = recorded_gig(&hub).await;
        let mut viewer = publisher.stream().subscribe();
        let watching = tokio::spawn(async move {
            let mut seen = 0;
            while viewer.feed.next().await.is_ok() {
                seen += 1;
            }
            seen
        });
        // 40 s of 10 fps video with a keyframe a second: 20 segments of 2 s.
        for i in 0..400u32 {
            publisher.push(frame(i * 100, i % 10 == 0));
            tokio::task::yield_now().await;
        }
        drop(publisher);
        assert_eq!(watching.await.unwrap(), 400, "the viewer got every frame");
        until("segments are counted lost", || {
            metrics.recording_segments_lost.load(Relaxed) >= 10
        })
        .await;
        assert_eq!(metrics.dropped_viewers.load(Relaxed), 0);
    }
}
