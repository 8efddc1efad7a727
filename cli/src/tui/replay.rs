//! A replay in the room: the recording of a show that ended, played with seeking, and its chat
//! history kept in step with the position. Plain data and pure functions; the room's
//! [`update`](super::update()) changes it.
//!
//! The recording's position 0 is the wall-clock time of its first frame (`recorded_from`), and
//! its timeline follows the clock (gaps included), so a chat message sent at `sent_at` belongs
//! at position `sent_at - recorded_from`: the chat shows every message up to the position.

use bookmygig_api::{Gig, GigStatus, Replay};
use time::OffsetDateTime;

/// ← and → move the position this far, in seconds.
pub const SEEK_SHORT_S: i32 = 10;

/// Shift-← and Shift-→ move the position this far, in seconds.
pub const SEEK_LONG_S: i32 = 60;

/// What a room playing a replay knows of it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayView {
    /// The server's grant (URL aside): where position 0 is on the clock, the length, until
    /// when it can be watched. `None` until the first player run has it.
    pub grant: Option<Grant>,
    /// The position, in seconds from the recording's start: as the player last reported it,
    /// or where a seek asked for.
    pub position_s: f64,
    /// The viewer paused the replay.
    pub paused: bool,
    /// The chat history arrived (its messages are the room's scrollback).
    pub history_loaded: bool,
}

/// The server's grant of a replay, without its URL (which only the player needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Wall-clock time of the recording's first frame.
    pub recorded_from: OffsetDateTime,
    /// Length of the recording in milliseconds.
    pub duration_ms: u64,
    /// When the replay window closes.
    pub available_until: OffsetDateTime,
}

impl From<&Replay> for Grant {
    fn from(replay: &Replay) -> Self {
        Self {
            recorded_from: replay.recorded_from,
            duration_ms: replay.duration_ms,
            available_until: replay.available_until,
        }
    }
}

impl ReplayView {
    /// The length in seconds, once known.
    pub fn duration_s(&self) -> Option<f64> {
        self.grant.map(|grant| grant.duration_ms as f64 / 1000.0)
    }

    /// The position after moving it by `delta_s`, kept within the recording (within what is
    /// known of it: from 0 on until its length arrives).
    pub fn seek_target(&self, delta_s: i32) -> f64 {
        let target = (self.position_s + f64::from(delta_s)).max(0.0);
        match self.duration_s() {
            Some(duration) => target.min(duration),
            None => target,
        }
    }

    /// The share of the recording played, 0 to 1 (0 while its length is unknown).
    pub fn progress(&self) -> f64 {
        match self.duration_s() {
            Some(duration) if duration > 0.0 => (self.position_s / duration).clamp(0.0, 1.0),
            _ => 0.0,
        }
    }
}

/// Whether `gig` is watched as a replay: it ended and has a replay window open.
pub fn replayable(gig: &Gig) -> bool {
    gig.status == GigStatus::Ended && gig.replay_until.is_some()
}

/// Where a message sent at `sent_at` sits in a recording that starts at `recorded_from`, in
/// seconds (negative: before the first frame).
pub fn position_of(sent_at: OffsetDateTime, recorded_from: OffsetDateTime) -> f64 {
    (sent_at - recorded_from).as_seconds_f64()
}

/// How many of the chat's lines, oldest first (as the history comes), belong by `position_s`
/// of a recording starting at `recorded_from`: the chat shows these. Each line is given by its
/// message's send time, or `None` for a line without one (a notice), which goes with the lines
/// before it.
pub fn lines_by(
    sent_at: impl IntoIterator<Item = Option<OffsetDateTime>>,
    recorded_from: OffsetDateTime,
    position_s: f64,
) -> usize {
    sent_at
        .into_iter()
        .take_while(|at| at.is_none_or(|at| position_of(at, recorded_from) <= position_s))
        .count()
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    const FROM: OffsetDateTime = datetime!(2026-05-02 20:00:00 UTC);

    fn at(seconds: i64) -> OffsetDateTime {
        FROM + Duration::seconds(seconds)
    }

    #[test]
    fn a_message_sits_at_its_send_time_minus_the_recordings_start() {
        assert_eq!(position_of(at(95), FROM), 95.0);
        assert_eq!(position_of(at(-30), FROM), -30.0);
        assert_eq!(position_of(FROM + Duration::milliseconds(1500), FROM), 1.5);
    }

    #[test]
    fn the_chat_shows_the_messages_sent_up_to_the_position() {
        let sent = [at(-10), at(5), at(60), at(61), at(3600)].map(Some);
        assert_eq!(lines_by(sent, FROM, 0.0), 1, "said before the show began");
        assert_eq!(lines_by(sent, FROM, 4.9), 1);
        assert_eq!(lines_by(sent, FROM, 5.0), 2, "at its second exactly");
        assert_eq!(lines_by(sent, FROM, 60.5), 3);
        assert_eq!(lines_by(sent, FROM, 120.0), 4);
        assert_eq!(lines_by(sent, FROM, 7200.0), 5);
        assert_eq!(lines_by([], FROM, 7200.0), 0);
        let with_notice = [Some(at(5)), None, Some(at(60))];
        assert_eq!(
            lines_by(with_notice, FROM, 10.0),
            2,
            "a notice follows its message"
        );
        assert_eq!(lines_by(with_notice, FROM, 1.0), 0);
    }

    #[test]
    fn seeks_stay_within_the_recording() {
        let mut view = ReplayView {
            position_s: 5.0,
            ..ReplayView::default()
        };
        assert_eq!(view.seek_target(-SEEK_SHORT_S), 0.0);
        assert_eq!(view.seek_target(SEEK_LONG_S), 65.0, "length unknown yet");
        view.grant = Some(Grant {
            recorded_from: FROM,
            duration_ms: 30_000,
            available_until: at(86_400),
        });
        assert_eq!(view.seek_target(SEEK_SHORT_S), 15.0);
        assert_eq!(view.seek_target(SEEK_LONG_S), 30.0);
        assert!((view.progress() - 5.0 / 30.0).abs() < 1e-9);
    }
}
