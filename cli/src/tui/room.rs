//! The live room's state: the stream's facts and their recent history, the chat's scrollback
//! and connection, the input line, and the player. Plain data; [`update`](super::update()) changes
//! it.

use std::collections::VecDeque;

use bookmygig_api::{ChatMessage, Gig, MessageId, StreamStatus};
use time::OffsetDateTime;

use super::graphics::Picture;
use super::line_editor::LineEditor;
use super::replay::{self, ReplayView};

/// Most chat lines kept in the scrollback; the oldest go first.
pub const SCROLLBACK: usize = 10_000;

/// Stream samples kept for the sparklines: one per poll, so at one poll every
/// [`STREAM_POLL_SECONDS`] about five minutes.
pub const SAMPLES: usize = 150;

/// How often the stream's facts are polled.
pub const STREAM_POLL_SECONDS: u64 = 2;

/// A player that failed while the stream is live is tried again after this long.
pub const PLAYER_RETRY_SECONDS: i64 = 5;

/// One line of the chat's scrollback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatLine {
    /// Someone said something.
    Message(ChatMessage),
    /// Someone entered (their handle).
    Joined(String),
    /// Someone left (their handle).
    Left(String),
    /// What the client says about the chat (connected, reconnecting, refused…).
    Notice(String),
    /// The server refused something this client sent.
    Error(String),
}

/// Where the chat connection stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Connecting for the first time.
    Connecting,
    /// In the room.
    Connected,
    /// Lost; trying again.
    Reconnecting {
        /// Attempts since the last success.
        attempt: u32,
        /// Why the last attempt failed.
        reason: String,
    },
    /// Refused for good (no ticket, unknown gig): nothing more is tried.
    Refused(String),
}

/// Where the player stands.
#[derive(Clone, Debug, PartialEq)]
pub enum PlayerState {
    /// Not playing (never started, or stopped).
    Off,
    /// Asking the server for the playback URL, or starting mpv.
    Starting,
    /// Asked to play while the stream is offline: opens when the host goes live.
    WaitingForStream,
    /// mpv is connecting to the stream.
    Loading,
    /// Playing.
    Playing {
        /// Position in the stream, in seconds.
        position_s: f64,
    },
    /// Waiting for data.
    Buffering,
    /// Paused in the window.
    Paused,
    /// The stream ended (the host stopped); it re-opens when the host goes live again.
    Ended,
    /// The player failed; the text is for people.
    Failed(String),
}

impl PlayerState {
    /// Whether an mpv instance is (or is being) started for this room.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            PlayerState::Starting
                | PlayerState::Loading
                | PlayerState::Playing { .. }
                | PlayerState::Buffering
                | PlayerState::Paused
        )
    }
}

/// The live room of one gig.
#[derive(Clone, Debug, PartialEq)]
pub struct Room {
    /// Tags the answers of this room's tasks; answers of an earlier room are dropped.
    pub id: u64,
    /// The gig.
    pub gig: Gig,
    /// The stream's facts as last heard (poll or chat); `None` until the first answer.
    pub stream: Option<StreamStatus>,
    /// Why the last poll failed; cleared by the next success.
    pub stream_error: Option<String>,
    /// Bitrate samples in kb/s, oldest first.
    pub bitrate: VecDeque<u64>,
    /// Viewer-count samples, oldest first.
    pub viewers: VecDeque<u64>,
    /// The scrollback, oldest first.
    pub chat: VecDeque<ChatLine>,
    /// Lines scrolled up from the newest; 0 follows new lines.
    pub scroll: usize,
    /// The chat connection.
    pub connection: Connection,
    /// How many times the chat was entered (a second `history` means a reconnection).
    pub entered: u32,
    /// People in the room, from the last `presence`.
    pub presence: Option<u32>,
    /// The input line.
    pub input: LineEditor,
    /// Keys go to the input line.
    pub typing: bool,
    /// The player.
    pub player: PlayerState,
    /// The viewer wants to watch: the player re-opens when the stream comes back.
    pub want_play: bool,
    /// Numbers player runs, tagging their events.
    pub player_run: u64,
    /// When the player may be tried again after a failure while live.
    pub player_retry_at: Option<OffsetDateTime>,
    /// While the player speeds up to get back to the live edge: how far behind it was.
    pub catching_up_from_s: Option<f64>,
    /// The picture goes into the stream panel (mpv's software renderer) rather than to a
    /// window: where there is no display, or by choice.
    pub in_terminal: bool,
    /// The video in the terminal takes the whole screen, the chat's newest line over it.
    pub full_screen: bool,
    /// The newest frame for the terminal, while the player draws there.
    pub picture: Option<Picture>,
    /// The room plays the recording of a show that ended: no chat connection nor stream
    /// polling, the chat's history in step with the position instead.
    pub replay: Option<ReplayView>,
}

impl Room {
    /// A room being entered.
    pub fn new(id: u64, gig: Gig) -> Self {
        Self {
            id,
            gig,
            stream: None,
            stream_error: None,
            bitrate: VecDeque::new(),
            viewers: VecDeque::new(),
            chat: VecDeque::new(),
            scroll: 0,
            connection: Connection::Connecting,
            entered: 0,
            presence: None,
            input: LineEditor::default(),
            typing: false,
            player: PlayerState::Off,
            want_play: false,
            player_run: 0,
            player_retry_at: None,
            catching_up_from_s: None,
            in_terminal: false,
            full_screen: false,
            picture: None,
            replay: None,
        }
    }

    /// Scrolls the chat of a replay to its position: the messages sent by then are shown, the
    /// newest of them at the bottom. Nothing while the recording's start is not known yet.
    pub fn align_chat(&mut self) {
        let Some((recorded_from, position_s)) = self
            .replay
            .as_ref()
            .and_then(|view| Some((view.grant?.recorded_from, view.position_s)))
        else {
            return;
        };
        let sent = self.chat.iter().map(|line| match line {
            ChatLine::Message(message) => Some(message.sent_at),
            _ => None,
        });
        let shown = replay::lines_by(sent, recorded_from, position_s);
        self.scroll = self.chat.len() - shown.min(self.chat.len());
    }

    /// Whether the video is drawn in the terminal now: the player plays there.
    pub fn video_in_terminal(&self) -> bool {
        self.in_terminal && self.player.is_active()
    }

    /// Whether the stream is known to be live.
    pub fn live(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.live)
    }

    /// Appends a scrollback line, dropping the oldest beyond [`SCROLLBACK`]; a reader scrolled
    /// up keeps their place.
    pub fn push(&mut self, line: ChatLine) {
        self.chat.push_back(line);
        if self.chat.len() > SCROLLBACK {
            self.chat.pop_front();
        }
        if self.scroll > 0 {
            self.scroll = (self.scroll + 1).min(self.chat.len().saturating_sub(1));
        }
    }

    /// Replaces the scrollback's messages with the server's history (on every (re)connect),
    /// keeping the notices after the last message shown.
    pub fn replace_history(&mut self, messages: Vec<ChatMessage>) {
        let since_last_message = self
            .chat
            .iter()
            .rposition(|line| matches!(line, ChatLine::Message(_)))
            .map_or(0, |at| at + 1);
        let notices: Vec<ChatLine> = self
            .chat
            .drain(since_last_message..)
            .filter(|line| matches!(line, ChatLine::Notice(_) | ChatLine::Error(_)))
            .collect();
        self.chat = messages.into_iter().map(ChatLine::Message).collect();
        self.chat.extend(notices);
        self.scroll = 0;
    }

    /// Marks a removed message.
    pub fn delete(&mut self, id: MessageId) {
        for line in &mut self.chat {
            if let ChatLine::Message(message) = line
                && message.id == id
            {
                message.text = "(deleted)".to_owned();
            }
        }
    }

    /// Takes a poll's answer: the new facts and one sample for each sparkline.
    pub fn sample(&mut self, status: StreamStatus) {
        let kbps = status
            .video
            .as_ref()
            .and_then(|video| video.kbps)
            .filter(|kbps| kbps.is_finite() && *kbps > 0.0)
            .map_or(0, |kbps| kbps.round() as u64);
        push_capped(&mut self.bitrate, if status.live { kbps } else { 0 });
        push_capped(&mut self.viewers, u64::from(status.viewers));
        self.stream = Some(status);
        self.stream_error = None;
    }
}

/// Appends `value`, keeping the last [`SAMPLES`].
fn push_capped(samples: &mut VecDeque<u64>, value: u64) {
    samples.push_back(value);
    if samples.len() > SAMPLES {
        samples.pop_front();
    }
}
