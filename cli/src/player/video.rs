//! Video for a terminal: where a player drawing in memory puts its frames ([`VideoSink`]) and
//! what one frame is ([`Frame`]).
//!
//! The sink is shared by the player's render thread and its reader (the TUI). The reader says
//! how many pixels it wants ([`VideoSink::set_size`]), awaits [`VideoSink::ready`] and takes the
//! newest frame with [`VideoSink::take`]: a reader slower than the video only ever sees the
//! newest frame, and the render thread never waits for it. Turning frames into terminal cells is
//! the reader's business.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

/// One video frame: packed `rgb0` pixels (4 bytes each: red, green, blue, and a byte to
/// ignore), row after row.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 4` bytes.
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}×{})", self.width, self.height)
    }
}

impl Frame {
    /// A `width`×`height` frame of one colour (for tests and placeholders).
    pub fn filled(width: usize, height: usize, [r, g, b]: [u8; 3]) -> Self {
        Self {
            width,
            height,
            pixels: [r, g, b, 0].repeat(width * height),
        }
    }

    /// The colour at (`x`, `y`); black outside the frame.
    pub fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        if x >= self.width || y >= self.height {
            return [0, 0, 0];
        }
        let at = (y * self.width + x) * 4;
        match self.pixels.get(at..at + 3) {
            Some(&[r, g, b]) => [r, g, b],
            _ => [0, 0, 0],
        }
    }
}

/// Where a player with [`VideoOutput::Terminal`](super::VideoOutput::Terminal) puts its frames.
/// Cheap to clone: clones share one sink. Equal when they are the same sink.
#[derive(Clone, Default)]
pub struct VideoSink {
    /// What the render thread and the reader share.
    shared: Arc<Shared>,
}

/// The shared part of a [`VideoSink`].
#[derive(Default)]
struct Shared {
    /// The wanted size and the newest frame.
    slot: Mutex<Slot>,
    /// Raised when a frame is put; it keeps one wake-up for a reader not waiting yet.
    ready: Notify,
}

/// The wanted size and the newest frame not taken yet.
#[derive(Default)]
struct Slot {
    /// Pixels wide and high the reader wants; (0, 0) until it says.
    size: (usize, usize),
    /// The newest frame, until taken.
    newest: Option<Arc<Frame>>,
}

impl std::fmt::Debug for VideoSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VideoSink")
    }
}

impl PartialEq for VideoSink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl VideoSink {
    /// A sink that wants no pixels yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Frames from now on are `width`×`height` pixels (the player scales the video to fit,
    /// with black bars). Cheap; call it before every draw.
    pub fn set_size(&self, width: usize, height: usize) {
        self.slot().size = (width, height);
    }

    /// The size asked for with [`set_size`](Self::set_size).
    pub fn size(&self) -> (usize, usize) {
        self.slot().size
    }

    /// The newest frame put since the last take, if any.
    pub fn take(&self) -> Option<Arc<Frame>> {
        self.slot().newest.take()
    }

    /// Forgets a frame not taken yet (a player that stopped leaves none behind).
    pub fn clear(&self) {
        self.slot().newest = None;
    }

    /// Resolves once a frame has been put since the last time this resolved (at once if one
    /// was put meanwhile). Cancel-safe.
    pub async fn ready(&self) {
        self.shared.ready.notified().await;
    }

    /// Puts a frame, replacing one not taken yet, and wakes the reader.
    pub(crate) fn put(&self, frame: Frame) {
        self.slot().newest = Some(Arc::new(frame));
        self.shared.ready.notify_one();
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // The slot holds plain values, consistent even if a holder panicked.
        self.shared
            .slot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_reader_gets_only_the_newest_frame() {
        let sink = VideoSink::new();
        sink.put(Frame::filled(1, 1, [1, 0, 0]));
        sink.put(Frame::filled(1, 1, [2, 0, 0]));
        assert_eq!(sink.take().map(|f| f.rgb(0, 0)), Some([2, 0, 0]));
        assert_eq!(sink.take(), None);
    }

    #[tokio::test]
    async fn a_frame_put_before_waiting_still_wakes_the_reader() {
        let sink = VideoSink::new();
        sink.put(Frame::filled(2, 2, [0, 0, 0]));
        tokio::time::timeout(std::time::Duration::from_secs(5), sink.ready())
            .await
            .unwrap_or_else(|_| panic!("not woken"));
    }

    #[test]
    fn pixels_are_read_in_rgb0_rows() {
        let frame = Frame {
            width: 2,
            height: 1,
            pixels: vec![1, 2, 3, 0, 4, 5, 6, 0],
        };
        assert_eq!(frame.rgb(1, 0), [4, 5, 6]);
        assert_eq!(frame.rgb(2, 0), [0, 0, 0], "outside");
        assert!(VideoSink::new() != VideoSink::new());
        let sink = VideoSink::new();
        assert!(sink.clone() == sink);
    }
}
