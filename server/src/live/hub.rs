//! `StreamHub`: which gigs are on air on this node, and the one source each may have: a
//! publisher connected here, or (Redis mode) a relay from the node that holds the publisher.
//! Only publishers make [`HubEvent`]s: the origin's events reach every node's chat already.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bookmygig_api::{GigId, StreamStatus};
use bookmygig_media::gop::MediaTag;
use tokio::sync::broadcast;

use super::metrics::LiveMetrics;
use super::stream::{LiveStream, StreamSource};

/// Something other parts (the chat rooms, the store) want to know about a stream.
#[derive(Clone, Debug, PartialEq)]
pub enum HubEvent {
    /// A publisher connected.
    Live(StreamStatus),
    /// The media described itself anew (sequence headers, metadata).
    Facts(StreamStatus),
    /// The publisher left.
    Offline(GigId),
}

/// The live streams of this node.
#[derive(Debug)]
pub struct StreamHub {
    streams: Mutex<HashMap<GigId, Arc<LiveStream>>>,
    events: broadcast::Sender<HubEvent>,
    /// Counters for `/metrics`.
    pub metrics: Arc<LiveMetrics>,
}

/// Refusal of a second publisher for the same gig.
#[derive(Debug, thiserror::Error)]
#[error("this gig already has a publisher")]
pub struct AlreadyPublishing;

/// The right to feed one gig's stream (as its publisher or its relay); dropping it takes the
/// stream off air here and tells its viewers it finished.
#[derive(Debug)]
pub struct Publisher {
    hub: Arc<StreamHub>,
    stream: Arc<LiveStream>,
}

impl StreamHub {
    /// An empty hub.
    pub fn new() -> Arc<Self> {
        let (events, _) = broadcast::channel(256);
        Arc::new(StreamHub {
            streams: Mutex::new(HashMap::new()),
            events,
            metrics: Arc::new(LiveMetrics::default()),
        })
    }

    /// Puts `gig` on air with a new publisher. A relay of the gig still running here is ended
    /// (its origin is gone, or this publisher could not have claimed the gig).
    ///
    /// # Errors
    /// [`AlreadyPublishing`] when the gig has a publisher here.
    pub fn start_publishing(self: &Arc<Self>, gig: GigId) -> Result<Publisher, AlreadyPublishing> {
        let (stream, replaced) = self.insert(gig, StreamSource::Publisher)?;
        if let Some(relay) = replaced {
            relay.end();
        }
        LiveMetrics::add(&self.metrics.publishers, 1);
        let _ = self.events.send(HubEvent::Live(stream.status()));
        Ok(Publisher {
            hub: Arc::clone(self),
            stream,
        })
    }

    /// Puts `gig` on air fed by a relay from another node. No [`HubEvent`] is sent, now or
    /// when the relay ends.
    ///
    /// # Errors
    /// [`AlreadyPublishing`] when the gig is on air here already.
    pub fn start_relay(self: &Arc<Self>, gig: GigId) -> Result<Publisher, AlreadyPublishing> {
        let (stream, _) = self.insert(gig, StreamSource::Relay)?;
        LiveMetrics::add(&self.metrics.relayed_streams, 1);
        Ok(Publisher {
            hub: Arc::clone(self),
            stream,
        })
    }

    /// Registers a new stream for `gig`; a publisher may replace a relay, nothing else replaces
    /// anything. Returns the new stream and the one it replaced.
    fn insert(
        &self,
        gig: GigId,
        source: StreamSource,
    ) -> Result<(Arc<LiveStream>, Option<Arc<LiveStream>>), AlreadyPublishing> {
        let mut streams = self.streams.lock().map_err(|_| AlreadyPublishing)?;
        let replaceable = match streams.get(&gig) {
            None => true,
            Some(existing) => {
                source == StreamSource::Publisher && existing.source == StreamSource::Relay
            }
        };
        if !replaceable {
            return Err(AlreadyPublishing);
        }
        let stream = Arc::new(LiveStream::new(gig, source, Arc::clone(&self.metrics)));
        let replaced = streams.insert(gig, Arc::clone(&stream));
        Ok((stream, replaced))
    }

    /// The stream of `gig`, if it is on air here (published or relayed).
    pub fn stream(&self, gig: GigId) -> Option<Arc<LiveStream>> {
        self.streams.lock().ok()?.get(&gig).cloned()
    }

    /// The stream of `gig` if its publisher is connected to this node.
    pub fn published_stream(&self, gig: GigId) -> Option<Arc<LiveStream>> {
        self.stream(gig)
            .filter(|stream| stream.source == StreamSource::Publisher)
    }

    /// Every stream on air here.
    pub fn streams(&self) -> Vec<Arc<LiveStream>> {
        self.streams
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Announces that `gig`'s publisher, connected to another node that died without a word,
    /// is gone: the [`HubEvent::Offline`] its own node could not send. Nothing if the gig is
    /// published here.
    pub fn announce_gone_elsewhere(&self, gig: GigId) {
        if self.published_stream(gig).is_none() {
            let _ = self.events.send(HubEvent::Offline(gig));
        }
    }

    /// Announces `stream` live again (after a sweeper took it off air while this node's claim
    /// had lapsed). Nothing unless it is the gig's published stream here.
    pub fn announce_live_again(&self, stream: &Arc<LiveStream>) {
        if self
            .published_stream(stream.gig_id)
            .is_some_and(|current| Arc::ptr_eq(&current, stream))
        {
            let _ = self.events.send(HubEvent::Live(stream.status()));
        }
    }

    /// Stream events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.events.subscribe()
    }

    fn stop_publishing(&self, stream: &Arc<LiveStream>) {
        if let Ok(mut streams) = self.streams.lock()
            && streams
                .get(&stream.gig_id)
                .is_some_and(|s| Arc::ptr_eq(s, stream))
        {
            streams.remove(&stream.gig_id);
        }
        stream.end();
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        match stream.source {
            StreamSource::Publisher => {
                self.metrics.publishers.fetch_sub(1, relaxed);
                let _ = self.events.send(HubEvent::Offline(stream.gig_id));
            }
            StreamSource::Relay => {
                self.metrics.relayed_streams.fetch_sub(1, relaxed);
            }
        }
    }
}

impl Publisher {
    /// The stream being published.
    pub fn stream(&self) -> &Arc<LiveStream> {
        &self.stream
    }

    /// Sends one tag to every viewer.
    pub fn push(&self, tag: MediaTag) {
        LiveMetrics::add(&self.hub.metrics.bytes_in, tag.payload.len() as u64);
        if self.stream.push(tag) && self.stream.source == StreamSource::Publisher {
            let _ = self.hub.events.send(HubEvent::Facts(self.stream.status()));
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.hub.stop_publishing(&self.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bookmygig_media::flv::TagKind;
    use bytes::Bytes;

    fn video(ts: u32, key: bool) -> MediaTag {
        // Legacy AVC NALU tag: frame type 1 (key) or 2 (inter), codec 7, packet type 1.
        let first = if key { 0x17 } else { 0x27 };
        MediaTag::new(
            TagKind::Video,
            ts,
            Bytes::from(vec![first, 1, 0, 0, 0, 0xAA]),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn one_publisher_per_gig_and_viewers_see_the_end() {
        let hub = StreamHub::new();
        let gig = GigId::new();
        let publisher = hub.start_publishing(gig).unwrap();
        assert!(hub.start_publishing(gig).is_err());
        publisher.push(video(0, true));
        let mut sub = hub.stream(gig).unwrap().subscribe();
        assert_eq!(sub.start.len(), 1, "the cached keyframe starts the viewer");
        assert_eq!(hub.stream(gig).unwrap().viewers(), 1);
        publisher.push(video(33, false));
        assert_eq!(sub.feed.next().await.unwrap().timestamp_ms, 33);
        drop(publisher);
        assert!(hub.stream(gig).is_none());
        assert_eq!(
            sub.feed.next().await,
            Err(super::super::FeedEnd::StreamEnded)
        );
        assert!(
            hub.start_publishing(gig).is_ok(),
            "the gig can go live again"
        );
    }

    #[tokio::test]
    async fn relays_are_silent_and_give_way_to_a_publisher() {
        let hub = StreamHub::new();
        let mut events = hub.subscribe();
        let gig = GigId::new();
        let relay = hub.start_relay(gig).unwrap();
        assert!(hub.start_relay(gig).is_err(), "one relay per gig and node");
        relay.push(video(0, true));
        let mut sub = hub.stream(gig).unwrap().subscribe();
        assert!(hub.published_stream(gig).is_none());
        let publisher = hub.start_publishing(gig).unwrap();
        assert_eq!(
            sub.feed.next().await,
            Err(super::super::FeedEnd::StreamEnded),
            "the relay's viewers see its end"
        );
        drop(relay);
        assert!(
            hub.published_stream(gig).is_some(),
            "the old relay leaving does not take the publisher's stream off air"
        );
        assert!(matches!(events.try_recv(), Ok(HubEvent::Live(_))));
        assert!(events.try_recv().is_err(), "the relay made no events");
        drop(publisher);
        assert!(matches!(events.try_recv(), Ok(HubEvent::Offline(g)) if g == gig));
    }

    #[tokio::test]
    async fn a_viewer_that_overflows_resumes_at_a_keyframe_then_is_dropped() {
        let hub = StreamHub::new();
        let gig = GigId::new();
        let publisher = hub.start_publishing(gig).unwrap();
        let mut sub = hub.stream(gig).unwrap().subscribe();
        let queue = super::super::stream::VIEWER_QUEUE_SEGMENTS as u32;
        for i in 0..queue * 2 {
            publisher.push(video(i, false));
        }
        publisher.push(video(100_000, true));
        let tag = sub.feed.next().await.unwrap();
        assert!(
            tag.keyframe,
            "after overflowing the viewer skips to the keyframe"
        );
        assert_eq!(tag.timestamp_ms, 100_000);
        for round in 0..2u32 {
            for i in 0..queue * 2 {
                publisher.push(video(200_000 + round * 10_000 + i, false));
            }
            publisher.push(video(300_000 + round, true));
            if round == 0 {
                assert!(
                    sub.feed.next().await.unwrap().keyframe,
                    "a second overflow is forgiven"
                );
            }
        }
        assert_eq!(sub.feed.next().await, Err(super::super::FeedEnd::TooSlow));
        assert_eq!(
            hub.metrics
                .dropped_viewers
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }
}
