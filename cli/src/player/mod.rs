//! Watching a gig: one stream played by libmpv in its own window, its state reported through
//! a channel.
//!
//! [`Player::open`] starts an mpv instance on a thread of its own and returns at once; what
//! happens next arrives as [`PlayerEvent`]s on a bounded tokio channel, so a TUI can `select!`
//! on it next to its other inputs. Nothing here blocks the caller for longer than creating the
//! handle (a few milliseconds), and mpv is never blocked by a slow caller.
//!
//! For live streams the player keeps itself near the live edge (see [`live_edge`]): mpv never
//! catches up by itself.
//!
//! This module does not know where URLs come from (the playback API) nor when to reopen a
//! stream that went offline: that is the caller's business.
//!
//! The picture goes to a window of mpv's own, or, with [`VideoOutput::Terminal`], into memory
//! through mpv's software renderer, frame after frame, for a terminal to draw (see
//! [`VideoSink`]).
//!
//! libmpv is not linked: the first [`Player::open`] loads it (`libmpv.so.2`, Debian's `libmpv2`
//! package, which `scripts/bootstrap` installs), so the program starts, and runs everything but
//! playback, without it.

mod engine;
mod libmpv;
pub mod live_edge;
mod outbox;
mod render;
mod session;
mod video;

use std::sync::mpsc;

pub use live_edge::{LiveEdgeAction, LiveEdgeConfig, LiveEdgeController};
pub use video::{Frame, VideoSink};

use engine::Command;
use outbox::Outbox;

/// How many events wait for a slow caller before ordinary ones are dropped: at two position
/// updates a second, about half a minute.
const EVENT_CAPACITY: usize = 64;

/// How to play a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerOptions {
    /// No window and no sound (`vo=null`, `ao=null`): for tests and machines without a display.
    pub headless: bool,
    /// `profile=low-latency` and `cache=no`: about 0.2 s behind live on loopback instead of 1.3 s.
    pub low_latency: bool,
    /// The window's title; `None` keeps mpv's (the media title). Ignored when headless.
    pub title: Option<String>,
    /// Keep playback near the live edge with these thresholds; `None` for recorded media, whose
    /// read-ahead buffer is not a backlog.
    pub live_edge: Option<LiveEdgeConfig>,
    /// Extra certificate authorities (PEM) for an https:// stream (the CLI's `--cacert`); the
    /// server's certificate is always verified.
    pub ca_file: Option<std::path::PathBuf>,
    /// Where the picture goes. Ignored when headless.
    pub video: VideoOutput,
    /// mpv's audio output (`ao`: `null` for none, `alsa`, `pulse`…), over what `headless`
    /// chooses; `None`: mpv's default, the system's default output when there is one.
    pub audio_output: Option<String>,
    /// libmpv's own messages (`info` and above) are appended to this file; `None`: libmpv is
    /// not asked for them.
    pub log_file: Option<std::path::PathBuf>,
    /// Start this many seconds into the media (mpv's `start`): for a replay; `None` from
    /// the beginning (for a live stream: the live edge).
    pub start_s: Option<f64>,
}

/// Where a player's picture goes.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum VideoOutput {
    /// A window of mpv's own (needs a display).
    #[default]
    Window,
    /// Frames in memory for a terminal to draw: mpv's software renderer (`vo=libmpv`) puts
    /// them in this sink, at the size its reader asks for.
    Terminal(VideoSink),
}

impl Default for PlayerOptions {
    /// Watching a live gig: in a window, low latency, live-edge control on.
    fn default() -> Self {
        Self {
            headless: false,
            low_latency: true,
            title: None,
            live_edge: Some(LiveEdgeConfig::default()),
            ca_file: None,
            video: VideoOutput::Window,
            audio_output: None,
            log_file: None,
            start_s: None,
        }
    }
}

impl PlayerOptions {
    /// Watching a recording (a replay) in a window: no live-edge control and mpv's ordinary
    /// cache, so it reads ahead and seeks.
    pub fn replay(title: Option<String>, ca_file: Option<std::path::PathBuf>) -> Self {
        Self {
            low_latency: false,
            live_edge: None,
            title,
            ca_file,
            ..Self::default()
        }
    }
}

/// What the player reports. The last event is always exactly one of [`Ended`](Self::Ended),
/// [`Error`](Self::Error) or [`Closed`](Self::Closed); after it the channel closes.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerEvent {
    /// Connecting to the stream and waiting for its first frames (again after a reload).
    Loading,
    /// Playing; repeated at most twice a second while the position moves.
    Playing {
        /// Position in the stream, in seconds.
        position_s: f64,
    },
    /// Playing stopped moving: waiting for data.
    Buffering,
    /// The viewer paused the window (space); [`Playing`](Self::Playing) follows on resume.
    Paused,
    /// The live-edge control acted.
    LiveEdge {
        /// Seconds of media received but not yet played: how far behind live playback was.
        lag_s: f64,
        /// What was done about it.
        action: LiveEdgeAction,
    },
    /// Last event: the stream ended (for a live gig: the host stopped streaming).
    Ended,
    /// Last event: the stream could not be opened or played; the text is for people.
    Error(String),
    /// Last event: the player was stopped, dropped, or the viewer closed its window.
    Closed,
}

impl PlayerEvent {
    /// Whether this is the last event of its player.
    pub fn is_last(&self) -> bool {
        matches!(self, Self::Ended | Self::Error(_) | Self::Closed)
    }
}

/// How many seeks and pauses may wait for the player thread (which takes them every 0.1 s at
/// the latest); a key held down beyond that loses the extra presses, not the player.
const COMMAND_CAPACITY: usize = 16;

/// Why a player could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PlayerError {
    /// libmpv could not be loaded: it is not installed, or one of the libraries it needs is
    /// missing. The text is the dynamic loader's reason.
    #[error(
        "libmpv, which plays the streams, could not be loaded; install it with \
         `sudo apt-get install -y libmpv2` (or run scripts/bootstrap) ({0})"
    )]
    Library(String),
    /// `mpv_create` refused. The likely cause: something in this process called `setlocale`
    /// and the numeric locale is no longer `C`.
    #[error(
        "libmpv could not create a player; it refuses to when the process's numeric locale \
         (LC_NUMERIC) is not \"C\""
    )]
    Create,
    /// The libmpv found at run time speaks another major client API version.
    #[error("the installed libmpv has client API {major}.{minor}; this build needs 2.x")]
    Version {
        /// Major version of the loaded library's client API.
        major: u64,
        /// Minor version of the loaded library's client API.
        minor: u64,
    },
    /// libmpv rejected an option we set.
    #[error("libmpv rejected the option `{name}`: {reason}")]
    Option {
        /// The mpv option.
        name: &'static str,
        /// libmpv's reason.
        reason: String,
    },
    /// libmpv failed to initialize.
    #[error("libmpv failed to initialize: {0}")]
    Init(String),
    /// A window was asked for but there is no display (neither `DISPLAY` nor `WAYLAND_DISPLAY`).
    #[error("no display to open the player window on (DISPLAY and WAYLAND_DISPLAY are unset)")]
    NoDisplay,
    /// The player thread could not be started.
    #[error("could not start the player thread")]
    Thread(#[source] std::io::Error),
    /// The log file for libmpv's messages could not be opened.
    #[error("cannot open the player's log file {path}: {source}")]
    LogFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Whether a player window can be opened: on Linux and the BSDs there must be a display
/// (`DISPLAY` or `WAYLAND_DISPLAY` non-empty, read through `var`); macOS and Windows always
/// have one.
pub fn display_available(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    engine::display_available(var)
}

/// A stream playing in its own mpv instance, on its own thread.
///
/// Dropping it stops playback like [`stop`](Self::stop).
#[derive(Debug)]
pub struct Player {
    /// Requests to the player thread; the thread also stops when this is dropped.
    commands: mpsc::SyncSender<Command>,
}

impl Player {
    /// Opens `url` (HTTP-FLV, RTMP, a file, anything mpv plays) in a new mpv instance on a new
    /// thread, and returns at once with the receiver of its [`PlayerEvent`]s. The channel is
    /// bounded: when the caller falls behind, ordinary events are dropped (never the last one),
    /// so mpv never waits for the caller.
    ///
    /// The URL may carry a token; it is never logged nor put in an error.
    ///
    /// # Errors
    /// [`PlayerError`] if there is no display for a window, or libmpv cannot be set up. A URL
    /// that cannot be played is not an error here: it arrives as [`PlayerEvent::Error`].
    pub fn open(
        url: &str,
        options: PlayerOptions,
    ) -> Result<(Player, tokio::sync::mpsc::Receiver<PlayerEvent>), PlayerError> {
        let window = !options.headless && options.video == VideoOutput::Window;
        if window && !engine::display_available(|name| std::env::var_os(name)) {
            return Err(PlayerError::NoDisplay);
        }
        let log = match &options.log_file {
            Some(path) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| PlayerError::LogFile {
                        path: path.clone(),
                        source,
                    })?,
            ),
            None => None,
        };
        let mpv = engine::create(&options)?;
        let (outbox, events) = Outbox::channel(EVENT_CAPACITY);
        // Room for a burst of seeks; beyond it they are dropped (see `seek`), and a stop is
        // never lost: dropping the sender after it ends the thread all the same.
        let (commands, command_rx) = mpsc::sync_channel(COMMAND_CAPACITY);
        let sink = match (&options.video, options.headless) {
            (VideoOutput::Terminal(sink), false) => Some(sink.clone()),
            _ => None,
        };
        let run = engine::Run {
            url: url.to_owned(),
            live_edge: options.live_edge,
            sink,
            log,
        };
        engine::spawn(mpv, run, command_rx, outbox).map_err(PlayerError::Thread)?;
        Ok((Player { commands }, events))
    }

    /// Moves the position by `seconds` (negative: back), as mpv's relative seek does: to the
    /// nearest keyframe, clamped to the media. Meant for recorded media (a replay); a live
    /// stream cannot go forward. Returns at once; dropped when too many are queued.
    pub fn seek(&self, seconds: f64) {
        if seconds.is_finite() {
            let _ = self.commands.try_send(Command::Seek(seconds));
        }
    }

    /// Pauses when playing, plays when paused (the events say which: [`PlayerEvent::Paused`],
    /// then [`PlayerEvent::Playing`] on resume). Returns at once.
    pub fn toggle_pause(&self) {
        let _ = self.commands.try_send(Command::TogglePause);
    }

    /// Asks mpv to close and returns at once, without waiting for it: destroying an mpv
    /// handle can block, and that happens on the player's thread. The event channel then
    /// delivers [`PlayerEvent::Closed`] (once the window is gone) and closes; await that if you
    /// need mpv to be gone, e.g. before exiting.
    pub fn stop(self) {
        // Full means the queue holds seeks; dropping `self` disconnects it, which the thread
        // takes as a stop once it has read them. Disconnected means the thread is already gone.
        let _ = self.commands.try_send(Command::Stop);
    }
}
