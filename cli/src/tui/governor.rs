//! How often the video in the terminal is redrawn: as often as the terminal takes it, and no
//! more than a ceiling.
//!
//! Every redraw of a video frame costs the time to build the cells and write them to the
//! terminal (which blocks while the terminal, or the link to it, is busy). The governor keeps a
//! moving average of that cost and spaces frames so that drawing video takes at most
//! [`VIDEO_SHARE`] of the time: the rest is left for keys and chat, which therefore stay
//! responsive on a slow terminal or over a slow SSH link. Pure: the caller measures and passes
//! the times.

use std::time::{Duration, Instant};

/// The most frames a second drawn with half-blocks: each frame rewrites every cell of the
/// panel with two true-colour SGR sequences (about 40 bytes a cell).
pub const HALF_BLOCK_FPS: u32 = 15;

/// The share of the time video drawing may take.
pub const VIDEO_SHARE: f64 = 0.5;

/// The longest pause between frames, however slow the terminal: the picture keeps moving.
pub const SLOWEST: Duration = Duration::from_secs(1);

/// Weight of the newest measurement in the moving average.
const SMOOTHING: f64 = 0.3;

/// Spaces video frames by what drawing them costs.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameGovernor {
    /// The shortest interval: one over the ceiling's frame rate.
    fastest: Duration,
    /// Moving average of a frame's draw cost, in seconds; `None` before the first.
    cost_s: Option<f64>,
}

impl FrameGovernor {
    /// A governor allowing at most `max_fps` frames a second (at least 1).
    pub fn new(max_fps: u32) -> Self {
        Self {
            fastest: Duration::from_secs(1) / max_fps.max(1),
            cost_s: None,
        }
    }

    /// Takes what drawing one frame (building the cells and writing them out) cost.
    pub fn record(&mut self, cost: Duration) {
        let cost = cost.as_secs_f64();
        self.cost_s = Some(match self.cost_s {
            None => cost,
            Some(average) => average + SMOOTHING * (cost - average),
        });
    }

    /// The time to leave between the starts of two frames.
    pub fn interval(&self) -> Duration {
        let wanted = Duration::from_secs_f64(self.cost_s.unwrap_or(0.0) / VIDEO_SHARE);
        wanted.clamp(self.fastest, SLOWEST)
    }

    /// When the frame after one drawn at `last` may be drawn.
    pub fn next_at(&self, last: Instant) -> Instant {
        last + self.interval()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn fps(governor: &FrameGovernor) -> f64 {
        1.0 / governor.interval().as_secs_f64()
    }

    #[test]
    fn a_fast_terminal_gets_the_ceiling() {
        let mut governor = FrameGovernor::new(HALF_BLOCK_FPS);
        assert_eq!(
            governor.interval(),
            Duration::from_secs(1) / 15,
            "before any"
        );
        for _ in 0..10 {
            governor.record(2 * MS);
        }
        assert_eq!(governor.interval(), Duration::from_secs(1) / 15);
        assert!((fps(&governor) - 15.0).abs() < 0.01);
    }

    #[test]
    fn a_slow_terminal_gets_fewer_frames_leaving_half_the_time_free() {
        let mut governor = FrameGovernor::new(HALF_BLOCK_FPS);
        for _ in 0..30 {
            governor.record(100 * MS);
        }
        let interval = governor.interval();
        assert!(interval >= 199 * MS && interval <= 201 * MS, "{interval:?}");
        let t0 = Instant::now();
        assert_eq!(governor.next_at(t0), t0 + interval);
    }

    #[test]
    fn the_rate_recovers_when_the_terminal_speeds_up() {
        let mut governor = FrameGovernor::new(HALF_BLOCK_FPS);
        for _ in 0..30 {
            governor.record(150 * MS);
        }
        assert!(fps(&governor) < 4.0, "{}", fps(&governor));
        for _ in 0..30 {
            governor.record(MS);
        }
        assert!((fps(&governor) - 15.0).abs() < 0.01, "{}", fps(&governor));
    }

    #[test]
    fn one_slow_write_does_not_stall_the_picture() {
        let mut governor = FrameGovernor::new(HALF_BLOCK_FPS);
        governor.record(10 * MS);
        governor.record(Duration::from_secs(30));
        assert_eq!(
            governor.interval(),
            SLOWEST,
            "at most a second between frames"
        );
        governor.record(10 * MS);
        assert!(governor.interval() <= SLOWEST);
    }

    #[test]
    fn a_zero_ceiling_means_one_frame_a_second() {
        assert_eq!(FrameGovernor::new(0).interval(), Duration::from_secs(1));
    }
}
