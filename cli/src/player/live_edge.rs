//! Keeping a live stream near its live edge: a pure decision rule, fed with measurements.
//!
//! mpv never catches up with the live edge by itself: after a stall (network hiccup, a slow
//! machine, a paused window) it keeps playing the backlog at normal speed, forever behind. The
//! backlog is visible as `demuxer-cache-duration`, the seconds of media received but not yet
//! played. [`LiveEdgeController`] turns that number into actions: play slightly faster while the
//! backlog is moderate, back to normal speed once it is small, and reopen the stream (which starts
//! again at the server's newest keyframe) when it is too large to drain in reasonable time.
//!
//! This module only decides; the player thread applies the decisions to mpv.

use std::time::{Duration, Instant};

/// Thresholds of the live-edge control. [`Default`] suits HTTP-FLV from our server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveEdgeConfig {
    /// Start catching up when more than this many seconds are buffered.
    pub catch_up_above_s: f64,
    /// Stop catching up once fewer than this many seconds are buffered. Lower than
    /// [`catch_up_above_s`](Self::catch_up_above_s), so the speed does not flap at one threshold.
    pub settle_below_s: f64,
    /// Reopen the stream when more than this many seconds are buffered: at
    /// [`catch_up_speed`](Self::catch_up_speed) 1.05 every second of backlog takes 20 s to
    /// drain, so a large backlog is better dropped.
    pub reload_above_s: f64,
    /// Playback speed while catching up. mpv keeps the pitch (`audio-pitch-correction`), and a
    /// few percent is hard to notice.
    pub catch_up_speed: f64,
    /// After a reload, wait this long before the next one; in between only speed is used. A
    /// stream whose server sends a long GOP on every (re)connect would otherwise reload forever.
    pub reload_cooldown: Duration,
}

impl Default for LiveEdgeConfig {
    fn default() -> Self {
        Self {
            // Measured with `scripts/bench player`: after a stall under load the backlog
            // settled just under 1 s and stayed there with a 1 s threshold (the picture 1.03 s
            // behind live for the rest of the show); the low-latency profile idles near 0.17 s.
            catch_up_above_s: 0.5,
            settle_below_s: 0.2,
            reload_above_s: 4.0,
            catch_up_speed: 1.05,
            reload_cooldown: Duration::from_secs(10),
        }
    }
}

/// What the player should do to get back to the live edge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LiveEdgeAction {
    /// Play at `speed` (slightly above 1) until told to [`Settle`](Self::Settle).
    CatchUp {
        /// The playback speed to set.
        speed: f64,
    },
    /// Close enough to live again: back to normal speed.
    Settle,
    /// Too far behind: reopen the stream at normal speed.
    Reload,
}

/// Decides, from successive backlog measurements, when to speed up, settle or reload.
///
/// It reports changes only: [`observe`](Self::observe) returns `None` while the right action
/// is already in force.
#[derive(Debug, Clone)]
pub struct LiveEdgeController {
    /// The thresholds.
    config: LiveEdgeConfig,
    /// Whether the last action in force is [`LiveEdgeAction::CatchUp`].
    catching_up: bool,
    /// When the stream was last reloaded, for the cooldown.
    last_reload: Option<Instant>,
}

impl LiveEdgeController {
    /// A controller with the given thresholds, at normal speed.
    pub fn new(config: LiveEdgeConfig) -> Self {
        Self {
            config,
            catching_up: false,
            last_reload: None,
        }
    }

    /// The thresholds in force.
    pub fn config(&self) -> &LiveEdgeConfig {
        &self.config
    }

    /// Whether playback is currently meant to run at the catch-up speed.
    pub fn is_catching_up(&self) -> bool {
        self.catching_up
    }

    /// Takes one measurement of the backlog (`demuxer-cache-duration`, in seconds, at `now`)
    /// and returns the action to take, if it differs from the one in force. Measurements that
    /// are not a finite, non-negative number are ignored.
    pub fn observe(&mut self, backlog_s: f64, now: Instant) -> Option<LiveEdgeAction> {
        if !backlog_s.is_finite() || backlog_s < 0.0 {
            return None;
        }
        let cooled_down = self
            .last_reload
            .is_none_or(|at| now.saturating_duration_since(at) >= self.config.reload_cooldown);
        if backlog_s > self.config.reload_above_s && cooled_down {
            self.last_reload = Some(now);
            // A reloaded stream starts at normal speed.
            self.catching_up = false;
            return Some(LiveEdgeAction::Reload);
        }
        if !self.catching_up && backlog_s > self.config.catch_up_above_s {
            self.catching_up = true;
            return Some(LiveEdgeAction::CatchUp {
                speed: self.config.catch_up_speed,
            });
        }
        if self.catching_up && backlog_s < self.config.settle_below_s {
            self.catching_up = false;
            return Some(LiveEdgeAction::Settle);
        }
        None
    }

    /// Forgets the speed in force, for a new file (a reload resets mpv's speed to 1). The
    /// reload cooldown is kept.
    pub fn reset(&mut self) {
        self.catching_up = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn controller() -> (LiveEdgeController, Instant) {
        (
            LiveEdgeController::new(LiveEdgeConfig::default()),
            Instant::now(),
        )
    }

    #[test]
    fn small_backlog_needs_no_action() {
        let (mut c, t) = controller();
        for backlog in [0.0, 0.17, 0.3, 0.49, 0.5] {
            assert_eq!(c.observe(backlog, t), None, "backlog {backlog}");
        }
        assert!(!c.is_catching_up());
    }

    #[test]
    fn growing_backlog_speeds_up_once_then_settles_below_the_lower_threshold() {
        let (mut c, t) = controller();
        assert_eq!(
            c.observe(1.2, t),
            Some(LiveEdgeAction::CatchUp { speed: 1.05 })
        );
        assert!(c.is_catching_up());
        // Already catching up: nothing new, including in the hysteresis band.
        for backlog in [2.0, 1.0, 0.6, 0.3, 0.2] {
            assert_eq!(c.observe(backlog, t), None, "backlog {backlog}");
        }
        assert_eq!(c.observe(0.19, t), Some(LiveEdgeAction::Settle));
        assert!(!c.is_catching_up());
        assert_eq!(c.observe(0.5, t), None);
    }

    #[test]
    fn large_backlog_reloads_and_returns_to_normal_speed() {
        let (mut c, t) = controller();
        assert_eq!(
            c.observe(1.5, t),
            Some(LiveEdgeAction::CatchUp { speed: 1.05 })
        );
        assert_eq!(c.observe(4.5, t), Some(LiveEdgeAction::Reload));
        assert!(!c.is_catching_up());
    }

    #[test]
    fn reloads_wait_for_the_cooldown_and_speed_up_meanwhile() {
        let (mut c, t) = controller();
        assert_eq!(c.observe(5.0, t), Some(LiveEdgeAction::Reload));
        let soon = t + Duration::from_secs(3);
        assert_eq!(
            c.observe(6.0, soon),
            Some(LiveEdgeAction::CatchUp { speed: 1.05 })
        );
        assert_eq!(c.observe(6.0, soon), None);
        let later = t + Duration::from_secs(10);
        assert_eq!(c.observe(6.0, later), Some(LiveEdgeAction::Reload));
    }

    #[test]
    fn nonsense_measurements_are_ignored() {
        let (mut c, t) = controller();
        for backlog in [f64::NAN, f64::INFINITY, -1.0] {
            assert_eq!(c.observe(backlog, t), None);
        }
        assert!(!c.is_catching_up());
    }

    #[test]
    fn reset_forgets_the_speed_but_not_the_cooldown() {
        let (mut c, t) = controller();
        assert_eq!(c.observe(5.0, t), Some(LiveEdgeAction::Reload));
        assert_eq!(
            c.observe(2.0, t),
            Some(LiveEdgeAction::CatchUp { speed: 1.05 })
        );
        c.reset();
        assert!(!c.is_catching_up());
        // Still inside the cooldown: a large backlog speeds up rather than reloading again.
        assert_eq!(
            c.observe(5.0, t),
            Some(LiveEdgeAction::CatchUp { speed: 1.05 })
        );
    }

    #[test]
    fn custom_thresholds_are_used() {
        let config = LiveEdgeConfig {
            catch_up_above_s: 0.5,
            settle_below_s: 0.1,
            reload_above_s: 2.0,
            catch_up_speed: 1.1,
            reload_cooldown: Duration::ZERO,
        };
        let mut c = LiveEdgeController::new(config);
        let t = Instant::now();
        assert_eq!(c.config(), &config);
        assert_eq!(
            c.observe(0.6, t),
            Some(LiveEdgeAction::CatchUp { speed: 1.1 })
        );
        assert_eq!(c.observe(2.5, t), Some(LiveEdgeAction::Reload));
        assert_eq!(c.observe(2.5, t), Some(LiveEdgeAction::Reload));
    }
}
