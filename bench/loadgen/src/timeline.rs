//! What the publisher and the viewers share: when each video timestamp was sent, and which
//! timestamps make up the measurement window.
//!
//! Both live in one process and read one monotonic clock, so a viewer's latency is simply its
//! receive time minus the publisher's send time of the same timestamp. Everything here is
//! lock-free: a thousand viewers look up thirty timestamps a second each.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Slots of the send-time ring, indexed by timestamp modulo this (65 s of history at 1 ms).
const SLOTS: usize = 1 << 16;
/// An empty slot (no timestamp is `u32::MAX` in a benchmark-length run).
const EMPTY: u64 = u64::MAX;
/// A window bound not set yet.
const UNSET: u64 = u64::MAX;

/// Send times of video timestamps, and the measurement window.
#[derive(Debug)]
pub struct Timeline {
    /// The clock's zero: every time here is microseconds since it.
    epoch: Instant,
    /// `timestamp << 32 | send time in µs (mod 2^32)`, at `timestamp % SLOTS`.
    sent: Box<[AtomicU64]>,
    /// First timestamp inside the window, once the publisher has opened it.
    window_start: AtomicU64,
    /// First timestamp after the window, once the publisher has closed it.
    window_end: AtomicU64,
}

/// Where a timestamp falls relative to the measurement window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before the window (ramp-up) or the window is not open yet.
    Before,
    /// Inside: counted.
    Inside,
    /// After the window closed.
    After,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// An empty timeline whose clock starts now.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            sent: (0..SLOTS).map(|_| AtomicU64::new(EMPTY)).collect(),
            window_start: AtomicU64::new(UNSET),
            window_end: AtomicU64::new(UNSET),
        }
    }

    /// `at` in microseconds on this timeline's clock, modulo 2^32 (71 minutes): differences
    /// are taken with wrapping arithmetic.
    pub fn micros(&self, at: Instant) -> u32 {
        at.saturating_duration_since(self.epoch).as_micros() as u32
    }

    /// Records that the video tag with `timestamp_ms` was handed to the socket at `at`.
    pub fn record_send(&self, timestamp_ms: u32, at: Instant) {
        let packed = (u64::from(timestamp_ms) << 32) | u64::from(self.micros(at));
        self.sent[timestamp_ms as usize % SLOTS].store(packed, Ordering::Release);
    }

    /// Time from sending `timestamp_ms` to `received_us` (from [`Timeline::micros`]), if that
    /// timestamp was sent recently enough to be remembered.
    pub fn latency(&self, timestamp_ms: u32, received_us: u32) -> Option<Duration> {
        let packed = self.sent[timestamp_ms as usize % SLOTS].load(Ordering::Acquire);
        if packed == EMPTY || (packed >> 32) as u32 != timestamp_ms {
            return None;
        }
        let sent_us = packed as u32;
        // Two threads' readings of the monotonic clock may disagree by a microsecond or so: a
        // receive "before" its send is no latency, not four billion microseconds of it.
        Some(Duration::from_micros(u64::from(
            received_us.saturating_sub(sent_us),
        )))
    }

    /// Opens the window at `first_inside` (called by the publisher before it sends that tag).
    pub fn open_window(&self, first_inside: u32) {
        self.window_start
            .store(u64::from(first_inside), Ordering::Release);
    }

    /// Closes the window before `first_after` (called by the publisher before it sends that tag).
    pub fn close_window(&self, first_after: u32) {
        self.window_end
            .store(u64::from(first_after), Ordering::Release);
    }

    /// Whether the publisher has opened the window.
    pub fn is_open(&self) -> bool {
        self.window_start.load(Ordering::Acquire) != UNSET
    }

    /// Whether the publisher has closed the window.
    pub fn is_closed(&self) -> bool {
        self.window_end.load(Ordering::Acquire) != UNSET
    }

    /// Where `timestamp_ms` falls. A tag received after the publisher opened (closed) the window
    /// was sent after it did, so sender and receivers classify every tag alike.
    pub fn phase(&self, timestamp_ms: u32) -> Phase {
        let ts = u64::from(timestamp_ms);
        if ts < self.window_start.load(Ordering::Acquire) {
            Phase::Before
        } else if ts < self.window_end.load(Ordering::Acquire) {
            Phase::Inside
        } else {
            Phase::After
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_receive_minus_send_of_the_same_timestamp() {
        let timeline = Timeline::new();
        let sent = Instant::now();
        timeline.record_send(1_000, sent);
        let received = timeline.micros(sent + Duration::from_millis(7));
        assert_eq!(
            timeline.latency(1_000, received),
            Some(Duration::from_millis(7))
        );
        assert_eq!(timeline.latency(1_001, received), None);
        // The slot of 1_000 reused 65,536 ms later forgets the old timestamp.
        timeline.record_send(1_000 + SLOTS as u32, sent);
        assert_eq!(timeline.latency(1_000, received), None);
    }

    #[test]
    fn window_classifies_timestamps() {
        let timeline = Timeline::new();
        assert_eq!(timeline.phase(5), Phase::Before);
        timeline.open_window(100);
        assert!(timeline.is_open() && !timeline.is_closed());
        assert_eq!(timeline.phase(99), Phase::Before);
        assert_eq!(timeline.phase(100), Phase::Inside);
        assert_eq!(timeline.phase(u32::MAX - 1), Phase::Inside);
        timeline.close_window(200);
        assert_eq!(timeline.phase(199), Phase::Inside);
        assert_eq!(timeline.phase(200), Phase::After);
    }
}
