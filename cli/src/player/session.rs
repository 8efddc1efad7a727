//! The player's state machine, without mpv: what mpv reported in, events and commands out.
//!
//! The player thread translates each mpv event into a [`Signal`], feeds it here with the time,
//! and carries out the [`Output`]s: events go to the caller, speed changes and reloads go back
//! to mpv. Keeping this free of mpv makes every rule below testable with plain values.

use std::time::{Duration, Instant};

use super::PlayerEvent;
use super::live_edge::{LiveEdgeAction, LiveEdgeConfig, LiveEdgeController};

/// Position updates go out at most this often (the first one after a change of state at once).
pub(crate) const REPORT_EVERY: Duration = Duration::from_millis(500);

/// Playing, but the position has not moved for this long: report buffering. Under
/// `profile=low-latency` (which sets `cache-pause=no`) mpv itself says nothing when data stops
/// arriving; the position just stops moving.
pub(crate) const STALL_AFTER: Duration = Duration::from_millis(1500);

/// What mpv reported, owned (mpv's event data is only valid until the next wait).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Signal {
    /// A file (or a reload of it) started loading.
    StartFile,
    /// Playback (re)started after loading or seeking: frames are flowing.
    PlaybackRestart,
    /// The `time-pos` property changed.
    TimePos(f64),
    /// The `demuxer-cache-duration` property changed.
    CacheDuration(f64),
    /// The `paused-for-cache` property changed.
    PausedForCache(bool),
    /// The `pause` property changed (the viewer pressed space in the window).
    Pause(bool),
    /// The file ended without an error.
    EndFile(EndReason),
    /// Loading or playing failed; mpv reports this as an error from `wait_event` rather than as
    /// an end-file event.
    Failed(String),
    /// The mpv core is shutting down (the viewer closed the window); the handle is finished.
    Shutdown,
}

/// Why a file ended, from mpv's `mpv_end_file_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// The end of the media: for a live stream, the server ended it.
    Eof,
    /// Replaced by another file: our own reload.
    Stop,
    /// mpv is quitting; [`Signal::Shutdown`] follows.
    Quit,
    /// Failed; normally reported as [`Signal::Failed`] instead.
    Error,
    /// A playlist redirect; the real media follows.
    Redirect,
}

/// What the player thread must do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    /// Tell the caller.
    Event(PlayerEvent),
    /// Set mpv's `speed` property.
    SetSpeed(f64),
    /// Reopen the stream (`loadfile URL replace`).
    Reload,
    /// Stop: destroy the handle, then deliver this last event.
    Finish(PlayerEvent),
}

/// Where playback stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Opening the stream; no frame yet.
    Loading,
    /// Frames are flowing.
    Playing,
    /// Playing was interrupted: waiting for data.
    Buffering,
}

/// The player's state between mpv events.
#[derive(Debug)]
pub(crate) struct Session {
    /// Where playback stands.
    phase: Phase,
    /// Whether the viewer paused; stalls are expected then and the backlog is theirs to keep.
    paused: bool,
    /// Last `time-pos`, in seconds.
    position_s: f64,
    /// When the position last moved, for stall detection.
    last_progress: Instant,
    /// When the last position update went out, for the rate limit.
    last_report: Option<Instant>,
    /// `None` when the live-edge control is off.
    live_edge: Option<LiveEdgeController>,
}

impl Session {
    /// A session that has asked mpv to load its file at `now`.
    pub(crate) fn new(live_edge: Option<LiveEdgeConfig>, now: Instant) -> Self {
        Self {
            phase: Phase::Loading,
            paused: false,
            position_s: 0.0,
            last_progress: now,
            last_report: None,
            live_edge: live_edge.map(LiveEdgeController::new),
        }
    }

    /// Handles one thing mpv reported at `now`, appending what to do to `out`.
    pub(crate) fn on_signal(&mut self, signal: Signal, now: Instant, out: &mut Vec<Output>) {
        match signal {
            Signal::StartFile => {
                self.phase = Phase::Loading;
                if let Some(controller) = &mut self.live_edge {
                    controller.reset();
                }
                out.push(Output::Event(PlayerEvent::Loading));
            }
            Signal::PlaybackRestart => {
                self.phase = Phase::Playing;
                self.last_progress = now;
                self.report_position(now, out);
            }
            Signal::TimePos(position_s) => {
                let moved = position_s != self.position_s;
                self.position_s = position_s;
                // mpv knows a position as soon as the file is loaded, before any frame plays.
                if self.phase == Phase::Loading || !moved {
                    return;
                }
                self.last_progress = now;
                if self.phase == Phase::Buffering {
                    self.phase = Phase::Playing;
                    self.report_position(now, out);
                } else if self.last_report.is_none_or(|at| now - at >= REPORT_EVERY) {
                    self.report_position(now, out);
                }
            }
            Signal::CacheDuration(backlog_s) => {
                if self.phase != Phase::Playing || self.paused {
                    return;
                }
                let Some(controller) = &mut self.live_edge else {
                    return;
                };
                let Some(action) = controller.observe(backlog_s, now) else {
                    return;
                };
                out.push(Output::Event(PlayerEvent::LiveEdge {
                    lag_s: backlog_s,
                    action,
                }));
                match action {
                    LiveEdgeAction::CatchUp { speed } => out.push(Output::SetSpeed(speed)),
                    LiveEdgeAction::Settle => out.push(Output::SetSpeed(1.0)),
                    LiveEdgeAction::Reload => {
                        out.push(Output::SetSpeed(1.0));
                        out.push(Output::Reload);
                    }
                }
            }
            Signal::PausedForCache(true) => {
                if self.phase == Phase::Playing {
                    self.phase = Phase::Buffering;
                    out.push(Output::Event(PlayerEvent::Buffering));
                }
            }
            // Resumption shows as the position moving again.
            Signal::PausedForCache(false) => {}
            Signal::Pause(paused) => {
                if paused == self.paused {
                    return;
                }
                self.paused = paused;
                if paused {
                    out.push(Output::Event(PlayerEvent::Paused));
                } else {
                    self.last_progress = now;
                    if self.phase != Phase::Loading {
                        self.phase = Phase::Playing;
                        self.report_position(now, out);
                    }
                }
            }
            Signal::EndFile(EndReason::Eof) => out.push(Output::Finish(PlayerEvent::Ended)),
            Signal::EndFile(EndReason::Error) => {
                out.push(Output::Finish(PlayerEvent::Error(
                    "playback failed".to_owned(),
                )));
            }
            Signal::EndFile(EndReason::Stop | EndReason::Quit | EndReason::Redirect) => {}
            Signal::Failed(reason) => out.push(Output::Finish(PlayerEvent::Error(reason))),
            Signal::Shutdown => out.push(Output::Finish(PlayerEvent::Closed)),
        }
    }

    /// Called at least every few hundred milliseconds: notices playback that stopped moving.
    pub(crate) fn on_tick(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.phase == Phase::Playing
            && !self.paused
            && now.saturating_duration_since(self.last_progress) >= STALL_AFTER
        {
            self.phase = Phase::Buffering;
            out.push(Output::Event(PlayerEvent::Buffering));
        }
    }

    fn report_position(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.last_report = Some(now);
        out.push(Output::Event(PlayerEvent::Playing {
            position_s: self.position_s,
        }));
        // A seek while paused moves the position without playing: say where, then that it is
        // still paused.
        if self.paused {
            out.push(Output::Event(PlayerEvent::Paused));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// A session (live-edge control on or off) and the instant it started.
    fn session(live_edge: bool) -> (Session, Instant) {
        let t0 = Instant::now();
        (
            Session::new(live_edge.then(LiveEdgeConfig::default), t0),
            t0,
        )
    }

    fn feed(session: &mut Session, signal: Signal, at: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        session.on_signal(signal, at, &mut out);
        out
    }

    fn tick(session: &mut Session, at: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        session.on_tick(at, &mut out);
        out
    }

    fn playing(position_s: f64) -> Output {
        Output::Event(PlayerEvent::Playing { position_s })
    }

    /// A session that has loaded and started playing at `t0`.
    fn started(live_edge: bool) -> (Session, Instant) {
        let (mut s, t0) = session(live_edge);
        feed(&mut s, Signal::StartFile, t0);
        feed(&mut s, Signal::PlaybackRestart, t0);
        (s, t0)
    }

    #[test]
    fn a_seek_while_paused_reports_the_new_position_and_stays_paused() {
        let (mut s, t0) = started(false);
        feed(&mut s, Signal::Pause(true), t0 + MS);
        assert_eq!(
            feed(&mut s, Signal::PlaybackRestart, t0 + 2 * MS),
            [playing(0.0), Output::Event(PlayerEvent::Paused)]
        );
        assert_eq!(
            feed(&mut s, Signal::TimePos(40.0), t0 + 1000 * MS),
            [playing(40.0), Output::Event(PlayerEvent::Paused)]
        );
        assert_eq!(tick(&mut s, t0 + 5000 * MS), [], "paused is not a stall");
    }

    #[test]
    fn loading_is_reported_and_the_position_waits_for_the_first_frame() {
        let (mut s, t0) = session(false);
        assert_eq!(
            feed(&mut s, Signal::StartFile, t0),
            [Output::Event(PlayerEvent::Loading)]
        );
        assert_eq!(feed(&mut s, Signal::TimePos(0.0), t0 + MS), []);
        assert_eq!(feed(&mut s, Signal::TimePos(2.0), t0 + 2 * MS), []);
        assert_eq!(
            feed(&mut s, Signal::PlaybackRestart, t0 + 3 * MS),
            [playing(2.0)]
        );
    }

    #[test]
    fn position_updates_are_limited_to_two_per_second() {
        let (mut s, t0) = started(false);
        let mut reported = Vec::new();
        // 30 frames a second for two seconds.
        for frame in 1..=60_u32 {
            let at = t0 + Duration::from_millis(u64::from(frame) * 1000 / 30);
            reported.extend(feed(&mut s, Signal::TimePos(f64::from(frame) / 30.0), at));
        }
        assert_eq!(reported.len(), 4, "{reported:?}");
        assert!(
            reported
                .iter()
                .all(|o| matches!(o, Output::Event(PlayerEvent::Playing { .. })))
        );
    }

    #[test]
    fn a_position_that_stops_moving_is_buffering_and_moving_again_is_playing() {
        let (mut s, t0) = started(false);
        feed(&mut s, Signal::TimePos(0.1), t0 + 100 * MS);
        assert_eq!(tick(&mut s, t0 + 1000 * MS), []);
        assert_eq!(
            feed(&mut s, Signal::TimePos(0.1), t0 + 1500 * MS),
            [],
            "not a move"
        );
        assert_eq!(
            tick(&mut s, t0 + 1600 * MS),
            [Output::Event(PlayerEvent::Buffering)]
        );
        assert_eq!(tick(&mut s, t0 + 1700 * MS), [], "reported once");
        assert_eq!(
            feed(&mut s, Signal::TimePos(0.2), t0 + 1800 * MS),
            [playing(0.2)]
        );
    }

    #[test]
    fn paused_for_cache_is_buffering() {
        let (mut s, t0) = started(false);
        assert_eq!(
            feed(&mut s, Signal::PausedForCache(true), t0 + MS),
            [Output::Event(PlayerEvent::Buffering)]
        );
        assert_eq!(feed(&mut s, Signal::PausedForCache(false), t0 + 2 * MS), []);
        assert_eq!(
            feed(&mut s, Signal::TimePos(0.5), t0 + 3 * MS),
            [playing(0.5)]
        );
    }

    #[test]
    fn a_paused_window_is_paused_not_buffering() {
        let (mut s, t0) = started(false);
        assert_eq!(feed(&mut s, Signal::Pause(false), t0), [], "initial value");
        assert_eq!(
            feed(&mut s, Signal::Pause(true), t0),
            [Output::Event(PlayerEvent::Paused)]
        );
        assert_eq!(tick(&mut s, t0 + 10_000 * MS), []);
        assert_eq!(
            feed(&mut s, Signal::Pause(false), t0 + 10_000 * MS),
            [playing(0.0)]
        );
        assert_eq!(
            tick(&mut s, t0 + 11_000 * MS),
            [],
            "stall clock restarted on resume"
        );
    }

    #[test]
    fn end_of_stream_error_and_window_close_are_final() {
        let (mut s, t0) = started(false);
        assert_eq!(
            feed(&mut s, Signal::EndFile(EndReason::Eof), t0),
            [Output::Finish(PlayerEvent::Ended)]
        );
        assert_eq!(
            feed(&mut s, Signal::Failed("refused".to_owned()), t0),
            [Output::Finish(PlayerEvent::Error("refused".to_owned()))]
        );
        assert_eq!(
            feed(&mut s, Signal::Shutdown, t0),
            [Output::Finish(PlayerEvent::Closed)]
        );
        assert!(matches!(
            feed(&mut s, Signal::EndFile(EndReason::Error), t0)[..],
            [Output::Finish(PlayerEvent::Error(_))]
        ));
    }

    #[test]
    fn a_replaced_file_is_not_the_end() {
        let (mut s, t0) = started(true);
        for reason in [EndReason::Stop, EndReason::Quit, EndReason::Redirect] {
            assert_eq!(feed(&mut s, Signal::EndFile(reason), t0), []);
        }
    }

    #[test]
    fn backlog_while_playing_speeds_up_then_settles() {
        let (mut s, t0) = started(true);
        assert_eq!(feed(&mut s, Signal::CacheDuration(0.5), t0), []);
        assert_eq!(
            feed(&mut s, Signal::CacheDuration(1.5), t0),
            [
                Output::Event(PlayerEvent::LiveEdge {
                    lag_s: 1.5,
                    action: LiveEdgeAction::CatchUp { speed: 1.05 }
                }),
                Output::SetSpeed(1.05),
            ]
        );
        assert_eq!(
            feed(&mut s, Signal::CacheDuration(0.1), t0),
            [
                Output::Event(PlayerEvent::LiveEdge {
                    lag_s: 0.1,
                    action: LiveEdgeAction::Settle
                }),
                Output::SetSpeed(1.0),
            ]
        );
    }

    #[test]
    fn a_large_backlog_reloads_at_normal_speed_and_loads_again() {
        let (mut s, t0) = started(true);
        assert_eq!(
            feed(&mut s, Signal::CacheDuration(6.0), t0),
            [
                Output::Event(PlayerEvent::LiveEdge {
                    lag_s: 6.0,
                    action: LiveEdgeAction::Reload
                }),
                Output::SetSpeed(1.0),
                Output::Reload,
            ]
        );
        assert_eq!(feed(&mut s, Signal::EndFile(EndReason::Stop), t0), []);
        assert_eq!(
            feed(&mut s, Signal::StartFile, t0),
            [Output::Event(PlayerEvent::Loading)]
        );
        // While loading, the backlog is not ours to judge.
        assert_eq!(feed(&mut s, Signal::CacheDuration(6.0), t0), []);
    }

    #[test]
    fn backlog_is_left_alone_when_control_is_off_loading_or_paused() {
        let (mut off, t0) = started(false);
        assert_eq!(feed(&mut off, Signal::CacheDuration(9.0), t0), []);

        let (mut loading, t0) = session(true);
        feed(&mut loading, Signal::StartFile, t0);
        assert_eq!(feed(&mut loading, Signal::CacheDuration(9.0), t0), []);

        let (mut paused, t0) = started(true);
        feed(&mut paused, Signal::Pause(true), t0);
        assert_eq!(feed(&mut paused, Signal::CacheDuration(9.0), t0), []);
    }
}
