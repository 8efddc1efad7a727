//! `FanOut`: one stream's queue of segments to its viewers, bounded in segments and in bytes.
//!
//! The queue is a tokio broadcast ring: one shared `Arc<Segment>` per slot, read by every
//! viewer without a copy. A slot keeps its segment until every viewer has read it or a later
//! send overwrites it, so one viewer that stops reading keeps the whole ring alive: with
//! segments of a few kilobytes that is nothing, with 8 MiB frames it would be gigabytes. The
//! sending side therefore counts the bytes the ring may still hold (those of its last sends,
//! one per slot) and, before a send would take them over the byte limit, pushes the oldest out
//! with empty filler segments, which readers skip. A viewer whose unread segments went that way
//! lags, exactly as when more segments than the ring holds went by (see
//! [`ViewerFeed`](super::super::ViewerFeed)).
//!
//! A stream whose recent segments stay under the byte limit (every stream of a real encoder
//! below about 30 Mbit/s) never sends a filler: the common path costs one entry in a
//! preallocated ring of sizes per segment.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::broadcast;

use super::Segment;

/// How much a stream's queue holds at most, which is also how far behind a viewer may fall
/// before it skips ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLimits {
    /// Segments (rounded up to a power of two, as the ring is).
    pub segments: usize,
    /// Bytes of muxed FLV.
    pub bytes: usize,
}

/// The sending side of one stream's queue, with its byte accounting.
#[derive(Debug)]
pub(super) struct FanOut {
    sender: broadcast::Sender<Arc<Segment>>,
    /// Bytes of the segment in each slot of the ring, oldest first: always as many entries as
    /// slots (0 for a slot never used or holding a filler), so the front is what the next send
    /// overwrites.
    slots: VecDeque<usize>,
    /// Sum of `slots`: what the ring may be holding.
    held: usize,
    /// The byte limit of [`QueueLimits`].
    max_bytes: usize,
    /// The one empty segment every filler shares.
    filler: Arc<Segment>,
}

impl FanOut {
    /// An empty queue within `limits`.
    pub(super) fn new(limits: QueueLimits) -> Self {
        let segments = limits.segments.max(1).next_power_of_two();
        let (sender, _) = broadcast::channel(segments);
        FanOut {
            sender,
            slots: std::iter::repeat_n(0, segments).collect(),
            held: 0,
            max_bytes: limits.bytes,
            filler: Arc::new(Segment::new(Vec::new(), Bytes::new(), false, 0, 0)),
        }
    }

    /// A reader of everything sent from now on.
    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<Segment>> {
        self.sender.subscribe()
    }

    /// Sends `segment` to every reader, first pushing the oldest segments out of the ring as
    /// far as needed to keep it within the byte limit. At most one ring's worth is sent in
    /// all, so a reader that had read everything never lags because of fillers; the newest
    /// segment before this one may therefore stay beside it even if the two are over the limit
    /// (the limit is to be at least two of the largest segments).
    pub(super) fn send(&mut self, segment: Arc<Segment>) {
        let size = segment.flv.len();
        for _ in 1..self.slots.len() {
            if self.held + size <= self.max_bytes {
                break;
            }
            self.push(Arc::clone(&self.filler), 0);
        }
        self.push(segment, size);
    }

    /// Bytes the ring may be holding now.
    pub(super) fn held_bytes(&self) -> usize {
        self.held
    }

    fn push(&mut self, segment: Arc<Segment>, size: usize) {
        if let Some(overwritten) = self.slots.pop_front() {
            self.held -= overwritten;
        }
        self.slots.push_back(size);
        self.held += size;
        // An error only means nobody is reading right now.
        let _ = self.sender.send(segment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(bytes: usize) -> Arc<Segment> {
        Arc::new(Segment::new(
            Vec::new(),
            Bytes::from(vec![0; bytes]),
            true,
            0,
            0,
        ))
    }

    #[test]
    fn the_ring_never_holds_more_than_the_byte_limit() {
        let mut fan_out = FanOut::new(QueueLimits {
            segments: 8,
            bytes: 1000,
        });
        let mut stalled = fan_out.subscribe();
        let sent: Vec<_> = (0..10).map(|_| segment(300)).collect();
        for segment in &sent {
            fan_out.send(Arc::clone(segment));
            assert!(fan_out.held_bytes() <= 1000, "{}", fan_out.held_bytes());
        }
        // Only the ring and this test hold the segments: at most the three newest (1,000 bytes'
        // worth) are still queued, every older one was let go although the stalled reader
        // never read it.
        let alive: Vec<bool> = sent.iter().map(|s| Arc::strong_count(s) > 1).collect();
        let kept = alive.iter().filter(|&&alive| alive).count();
        assert!((1..=3).contains(&kept), "{alive:?}");
        assert!(alive[10 - kept..].iter().all(|&alive| alive), "{alive:?}");
        assert!(matches!(
            stalled.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }

    #[test]
    fn small_segments_send_no_fillers_and_readers_skip_them() {
        let mut fan_out = FanOut::new(QueueLimits {
            segments: 4,
            bytes: 1000,
        });
        let mut reader = fan_out.subscribe();
        for _ in 0..4 {
            fan_out.send(segment(10));
        }
        assert_eq!(fan_out.held_bytes(), 40);
        for _ in 0..4 {
            assert_eq!(
                reader.try_recv().unwrap().flv.len(),
                10,
                "no filler between"
            );
        }
        let mut lengths = Vec::new();
        for size in [990, 20] {
            fan_out.send(segment(size));
            lengths.extend(std::iter::from_fn(|| reader.try_recv().ok()).map(|s| s.flv.len()));
        }
        assert_eq!(
            lengths
                .iter()
                .filter(|&&l| l > 0)
                .copied()
                .collect::<Vec<_>>(),
            [990, 20],
            "a reader that keeps up loses nothing; fillers are empty: {lengths:?}"
        );
        assert_eq!(fan_out.held_bytes(), 20);
    }

    #[test]
    fn a_segment_over_the_limit_goes_out_with_at_most_the_one_before() {
        let mut fan_out = FanOut::new(QueueLimits {
            segments: 4,
            bytes: 100,
        });
        let mut reader = fan_out.subscribe();
        fan_out.send(segment(50));
        fan_out.send(segment(500));
        fan_out.send(segment(600));
        assert!(fan_out.held_bytes() <= 1100, "{}", fan_out.held_bytes());
        let mut lengths = Vec::new();
        loop {
            match reader.try_recv() {
                Ok(segment) if segment.flv.is_empty() => {}
                Ok(segment) => lengths.push(segment.flv.len()),
                Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
        assert_eq!(lengths.last(), Some(&600), "{lengths:?}");
    }
}
