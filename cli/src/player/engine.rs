//! The only code that drives libmpv (through the [`libmpv`] binding): creating a handle, and the
//! thread that owns it.
//!
//! Rules of libmpv this follows (checked against libmpv 0.35.1, client API 2.0):
//! - One thread waits on a handle, and the data of an event is only valid until the next wait,
//!   so each event becomes an owned [`Signal`] at once.
//! - Destroying a handle blocks until the core has stopped (tens of milliseconds, longer for a
//!   stuck network read), so it happens on this thread, never on the caller's.
//! - A failed load arrives as an error from `wait_event`, not as an end-file event.
//! - After `quit` (or the viewer closing the window) the handle is finished; playing again needs a
//!   new one, so a [`Player`](super::Player) plays one stream once.
//!
//! libmpv itself is loaded at the first [`create`], not linked: see [`libmpv`].
//!
//! About `LC_NUMERIC=C`: `mpv_create` refuses to run (returns NULL) when the process's numeric
//! locale is anything but `C` or `C.UTF-8`, because it parses and prints floating-point option
//! values with the C library. We do not call `setlocale`, and nothing is needed: a C program
//! starts in the `C` locale until it calls `setlocale(LC_ALL, "")`, and neither Rust's runtime
//! nor our dependencies call it, so the `LANG`/`LC_*` variables of the environment do not matter.
//! (Checked: with `LC_ALL=de_DE.UTF-8` in the environment `mpv_create` works; after
//! `setlocale(LC_NUMERIC, "de_DE.UTF-8")` it fails.) Should a future dependency call `setlocale`,
//! [`PlayerError::Create`] says so.

use std::fs::File;
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::thread;
use std::time::Instant;

use super::libmpv::{self, EndFileReason, Error, Event, Format, Handle, PropertyValue, error_code};
use super::live_edge::LiveEdgeConfig;
use super::outbox::Outbox;
use super::render::{Renderer, StartError};
use super::session::{EndReason, Output, Session, Signal};
use super::video::VideoSink;
use super::{PlayerError, PlayerEvent, PlayerOptions, VideoOutput};

/// The lowest level of libmpv's own messages that goes to the log file.
const LOG_LEVEL: &str = "info";

/// How long one wait for an mpv event lasts at most: the delay before a stop request is seen
/// and the resolution of stall detection.
const WAIT_SLICE_S: f64 = 0.1;

/// The properties the session needs, with the format to receive them in. Each is observed with
/// its position here plus one as its id, which its change events carry.
const OBSERVED: [(&str, Format); 4] = [
    ("time-pos", Format::Double),
    ("demuxer-cache-duration", Format::Double),
    ("paused-for-cache", Format::Flag),
    ("pause", Format::Flag),
];

/// Requests from the [`Player`](super::Player) to its thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// Close the window and end the thread.
    Stop,
    /// Move the position by this many seconds (negative: back); for recorded media.
    Seek(f64),
    /// Pause when playing, play when paused.
    TogglePause,
}

/// The mpv options for `options`, in the order they must be applied (a profile first, so the
/// options after it override it).
pub(crate) fn mpv_options(options: &PlayerOptions) -> Vec<(&'static str, String)> {
    let mut set = Vec::new();
    let mut opt = |name: &'static str, value: &str| set.push((name, value.to_owned()));
    // The URL carries a playback token: never hand it to a youtube-dl subprocess.
    opt("ytdl", "no");
    // The URL carries a playback token: only a server proven genuine may see it (mpv leaves
    // certificate checks off by default).
    opt("tls-verify", "yes");
    if let Some(ca_file) = &options.ca_file {
        opt("tls-ca-file", &ca_file.to_string_lossy());
    }
    if options.low_latency {
        // Measured on loopback: about 1.3 s behind live with defaults, 0.17 s with these two.
        opt("profile", "low-latency");
        opt("cache", "no");
    }
    if let Some(live_edge) = &options.live_edge {
        // With `cache=no` the demuxer stops reading 1 s ahead (`demuxer-readahead-secs`), so any
        // larger backlog waits in socket buffers where `demuxer-cache-duration` cannot see it:
        // after a 3 s stall mpv stays about 3 s behind while the property reads 1.0. Reading
        // further ahead than the reload threshold makes the whole backlog visible.
        let readahead_s = (live_edge.reload_above_s * 2.0).max(5.0);
        opt("demuxer-readahead-secs", &format!("{readahead_s}"));
        // Positions on the stream's own clock (time since the host went live), not since this
        // viewer joined: comparable with the stream's timestamps, and stable across reloads.
        opt("rebase-start-time", "no");
    }
    if let Some(start_s) = options.start_s.filter(|s| s.is_finite() && *s > 0.0) {
        opt("start", &format!("{start_s}"));
    }
    if options.headless {
        opt("vo", "null");
        opt("ao", "null");
    } else if options.video != VideoOutput::Window {
        // Frames go to our software renderer (see `render`), not to a window.
        opt("vo", "libmpv");
    } else {
        // Open the window while connecting, so the viewer sees something happen.
        opt("force-window", "yes");
        // libmpv turns these off; a side window wants its keys (f fullscreen, m mute, 9/0
        // volume, space pause, q close) and the close button, which is bound to `quit` too.
        opt("input-default-bindings", "yes");
        opt("input-vo-keyboard", "yes");
        if let Some(title) = &options.title {
            opt("title", &escape_property_expansion(title));
        }
    }
    if let Some(audio_output) = &options.audio_output {
        opt("ao", audio_output);
    }
    set
}

/// mpv expands `${property}` in `title`; `$$` is a literal `$`. A gig's title is not a template.
fn escape_property_expansion(text: &str) -> String {
    text.replace('$', "$$")
}

/// Whether a window can be opened. Without a display mpv would fall back to no video at all,
/// while libwayland writes its complaints straight to stderr, across a TUI's screen.
pub(crate) fn display_available(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> bool {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| var(name).is_some_and(|v| !v.is_empty()))
}

/// Creates and initializes an mpv handle with `options`. Cheap (a few milliseconds): no file is
/// opened and no window is shown yet. The first call also loads libmpv (tens of milliseconds).
pub(crate) fn create(options: &PlayerOptions) -> Result<Handle, PlayerError> {
    let api = libmpv::load().map_err(|err| match err {
        libmpv::LoadError::Version { major, minor } => PlayerError::Version { major, minor },
        err => PlayerError::Library(err.to_string()),
    })?;
    // On an error below, dropping the unfinished handle destroys it.
    let mpv = Handle::create(api).ok_or(PlayerError::Create)?;
    for (name, value) in mpv_options(options) {
        mpv.set_option(name, &value)
            .map_err(|err| PlayerError::Option {
                name,
                reason: describe(&err),
            })?;
    }
    mpv.initialize()
        .map_err(|err| PlayerError::Init(describe(&err)))?;
    Ok(mpv)
}

/// What one player thread plays, and where its picture and messages go.
#[derive(Debug)]
pub(crate) struct Run {
    /// The stream.
    pub(crate) url: String,
    /// Live-edge control, if on.
    pub(crate) live_edge: Option<LiveEdgeConfig>,
    /// Frames go here (the core runs with `vo=libmpv`); `None` for a window or no video.
    pub(crate) sink: Option<VideoSink>,
    /// libmpv's own messages are appended here; `None`: they are not asked for.
    pub(crate) log: Option<File>,
}

/// Starts the thread that owns `mpv`: it plays `run`, reports through `outbox` and ends (after
/// destroying the handle) on [`Command::Stop`], when the [`Player`](super::Player) is dropped,
/// or when playback ends.
pub(crate) fn spawn(
    mpv: Handle,
    mut run: Run,
    commands: Receiver<Command>,
    outbox: Outbox,
) -> std::io::Result<()> {
    thread::Builder::new()
        .name("bookmygig-mpv".to_owned())
        .spawn(move || {
            let last = panic::catch_unwind(AssertUnwindSafe(|| {
                drive(&mpv, &mut run, &commands, &outbox)
            }))
            .unwrap_or_else(|_| PlayerEvent::Error("the player crashed".to_owned()));
            // Blocks until the core has stopped and the window is gone; then the last event
            // tells the caller it is over.
            drop(mpv);
            if let Some(sink) = &run.sink {
                sink.clear();
            }
            outbox.finish(last);
        })
        // Detached: the thread ends by itself, and joining could block an async caller.
        .map(|_detached| ())
}

/// The event loop; returns the last event once playback is over or a stop was requested. The
/// render thread, if any, lives exactly as long as this call, so it is gone before the core.
fn drive(
    mpv: &Handle,
    run: &mut Run,
    commands: &Receiver<Command>,
    outbox: &Outbox,
) -> PlayerEvent {
    if run.log.is_some() {
        // Best effort: without them the log merely says less.
        let _ = mpv.request_log_messages(LOG_LEVEL);
    }
    let _renderer = match run.sink.clone().map(|sink| Renderer::start(mpv, sink)) {
        None => None,
        Some(Ok(renderer)) => Some(renderer),
        Some(Err(StartError::Mpv(err))) => {
            return PlayerEvent::Error(format!(
                "cannot draw the video in the terminal: {}",
                describe(&err)
            ));
        }
        Some(Err(StartError::Thread(err))) => {
            return PlayerEvent::Error(format!("cannot start the video's render thread: {err}"));
        }
    };
    let url = run.url.clone();
    let url = url.as_str();
    if let Err(err) = start(mpv, url) {
        return PlayerEvent::Error(describe(&err));
    }
    let mut session = Session::new(run.live_edge, Instant::now());
    let mut outputs = Vec::new();
    loop {
        loop {
            match commands.try_recv() {
                Ok(Command::Stop) | Err(TryRecvError::Disconnected) => return PlayerEvent::Closed,
                // Best effort: a seek or pause mpv refuses (nothing loaded yet) changes nothing,
                // and the viewer sees so in the position.
                Ok(Command::Seek(seconds)) => {
                    let _ = mpv.command(&["seek", &format!("{seconds}"), "relative"]);
                }
                Ok(Command::TogglePause) => {
                    let _ = mpv.command(&["cycle", "pause"]);
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        let event = match mpv.wait_event(WAIT_SLICE_S) {
            Some(Ok(Event::LogMessage {
                prefix,
                level,
                text,
            })) => {
                if let Some(log) = &mut run.log {
                    let text = redact(&text, url);
                    // Best effort: a full disk must not stop the show.
                    let _ = writeln!(log, "mpv [{prefix}] {level}: {text}");
                }
                None
            }
            other => other,
        };
        let signal = event.and_then(to_signal);
        let now = Instant::now();
        if let Some(signal) = signal {
            session.on_signal(signal, now, &mut outputs);
        }
        session.on_tick(now, &mut outputs);
        for output in outputs.drain(..) {
            match output {
                Output::Event(event) => outbox.send(event),
                // Best effort: if mpv refused, playing on at the old speed is the safe outcome.
                Output::SetSpeed(speed) => {
                    let _ = mpv.set_property_f64("speed", speed);
                }
                Output::Reload => {
                    if let Err(err) = mpv.command(&["loadfile", url, "replace"]) {
                        return PlayerEvent::Error(describe(&err));
                    }
                }
                Output::Finish(last) => return last,
            }
        }
    }
}

/// `text` without the query of `url` (where a playback URL carries its token), which libmpv
/// names in some messages (a failed open): the token never reaches a log.
fn redact(text: &str, url: &str) -> String {
    match url.split_once('?') {
        Some((_, query)) if !query.is_empty() => text.replace(query, "…"),
        _ => text.to_owned(),
    }
}

/// Subscribes to what the session needs and starts loading `url`.
fn start(mpv: &Handle, url: &str) -> Result<(), Error> {
    mpv.disable_deprecated_events()?;
    for (id, (name, format)) in (1..).zip(OBSERVED) {
        mpv.observe_property(id, name, format)?;
    }
    mpv.command(&["loadfile", url])
}

/// Translates one mpv event into what the session understands.
fn to_signal(event: Result<Event, Error>) -> Option<Signal> {
    let event = match event {
        Ok(event) => event,
        // We make no asynchronous requests, so an error here is a failed (re)load.
        Err(err) => return Some(Signal::Failed(describe(&err))),
    };
    Some(match event {
        Event::StartFile => Signal::StartFile,
        Event::PlaybackRestart => Signal::PlaybackRestart,
        Event::Shutdown => Signal::Shutdown,
        Event::EndFile(reason) => Signal::EndFile(match reason {
            EndFileReason::Eof => EndReason::Eof,
            EndFileReason::Stop => EndReason::Stop,
            EndFileReason::Quit => EndReason::Quit,
            EndFileReason::Redirect => EndReason::Redirect,
            EndFileReason::Error | EndFileReason::Unknown(_) => EndReason::Error,
        }),
        Event::PropertyChange { id, value } => match (observed_name(id)?, value) {
            ("time-pos", PropertyValue::Double(v)) => Signal::TimePos(v),
            ("demuxer-cache-duration", PropertyValue::Double(v)) => Signal::CacheDuration(v),
            ("paused-for-cache", PropertyValue::Flag(b)) => Signal::PausedForCache(b),
            ("pause", PropertyValue::Flag(b)) => Signal::Pause(b),
            // `None`: the property is unavailable (between files).
            _ => return None,
        },
        Event::LogMessage { .. } | Event::Other => return None,
    })
}

/// The name of the property observed with `id` (see [`OBSERVED`]).
fn observed_name(id: u64) -> Option<&'static str> {
    let index = usize::try_from(id).ok()?.checked_sub(1)?;
    OBSERVED.get(index).map(|(name, _)| *name)
}

/// A sentence for a libmpv error, for people.
fn describe(err: &Error) -> String {
    match *err {
        Error::Mpv { code, text } => match code {
            error_code::LOADING_FAILED => {
                "could not load the stream (unreachable, refused, or not media)".to_owned()
            }
            error_code::UNKNOWN_FORMAT => "the stream is in a format mpv does not know".to_owned(),
            error_code::NOTHING_TO_PLAY => "the stream has no audio or video to play".to_owned(),
            error_code::UNSUPPORTED => "the stream uses something mpv does not support".to_owned(),
            error_code::AO_INIT_FAILED => "could not open the audio output".to_owned(),
            error_code::VO_INIT_FAILED => "could not open the video output".to_owned(),
            error_code::OPTION_NOT_FOUND => "no such option in this mpv".to_owned(),
            error_code::OPTION_FORMAT | error_code::OPTION_ERROR => {
                "invalid option value".to_owned()
            }
            code => format!("mpv error {code}: {text}"),
        },
        Error::Nul => "text with a NUL byte".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    fn names(options: &PlayerOptions) -> Vec<&'static str> {
        mpv_options(options)
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    #[test]
    fn headless_means_no_video_and_no_audio_output() {
        let options = PlayerOptions {
            headless: true,
            ..PlayerOptions::default()
        };
        let set = mpv_options(&options);
        assert!(set.contains(&("vo", "null".to_owned())));
        assert!(set.contains(&("ao", "null".to_owned())));
        assert!(!names(&options).contains(&"force-window"));
    }

    #[test]
    fn terminal_video_renders_into_memory_and_audio_output_can_be_chosen() {
        let options = PlayerOptions {
            video: VideoOutput::Terminal(crate::player::VideoSink::new()),
            audio_output: Some("alsa".to_owned()),
            ..PlayerOptions::default()
        };
        let set = mpv_options(&options);
        assert!(set.contains(&("vo", "libmpv".to_owned())), "{set:?}");
        assert!(set.contains(&("ao", "alsa".to_owned())), "{set:?}");
        assert!(!names(&options).contains(&"force-window"));
        assert!(
            !names(&PlayerOptions::default()).contains(&"ao"),
            "the system's default output"
        );
    }

    #[test]
    fn logged_messages_never_carry_the_playback_token() {
        let url = "http://127.0.0.1:8080/live/g.flv?token=s3cr3t&exp=1";
        assert_eq!(
            redact(&format!("Failed to open {url}."), url),
            "Failed to open http://127.0.0.1:8080/live/g.flv?…."
        );
        assert_eq!(redact("AO: [null]", url), "AO: [null]");
        assert_eq!(redact("x?y", "file.flv"), "x?y");
    }

    #[test]
    fn low_latency_applies_the_profile_before_overriding_options() {
        let options = PlayerOptions::default();
        let names = names(&options);
        let profile = names.iter().position(|n| *n == "profile");
        let cache = names.iter().position(|n| *n == "cache");
        assert!(profile.is_some() && profile < cache, "{names:?}");

        let plain = PlayerOptions {
            low_latency: false,
            ..PlayerOptions::default()
        };
        assert!(
            !super::mpv_options(&plain)
                .iter()
                .any(|(n, _)| *n == "profile")
        );
    }

    #[test]
    fn live_edge_control_reads_ahead_past_the_reload_threshold() {
        let set = mpv_options(&PlayerOptions::default());
        let readahead = set.iter().find(|(n, _)| *n == "demuxer-readahead-secs");
        assert_eq!(readahead.map(|(_, v)| v.as_str()), Some("8"));

        let recorded = PlayerOptions {
            live_edge: None,
            ..PlayerOptions::default()
        };
        assert!(!names(&recorded).contains(&"demuxer-readahead-secs"));
    }

    #[test]
    fn a_replay_reads_ahead_without_live_edge_control_and_may_start_later() {
        let options = PlayerOptions {
            start_s: Some(90.0),
            ..PlayerOptions::replay(None, None)
        };
        let set = mpv_options(&options);
        assert!(set.contains(&("start", "90".to_owned())), "{set:?}");
        let names = names(&options);
        for live_only in [
            "profile",
            "cache",
            "rebase-start-time",
            "demuxer-readahead-secs",
        ] {
            assert!(!names.contains(&live_only), "{live_only} in {names:?}");
        }
        assert!(!self::names(&PlayerOptions::default()).contains(&"start"));
    }

    #[test]
    fn https_streams_are_verified_against_the_given_authorities() {
        let plain = mpv_options(&PlayerOptions::default());
        assert!(plain.contains(&("tls-verify", "yes".to_owned())));
        assert!(!plain.iter().any(|(n, _)| *n == "tls-ca-file"));

        let private = PlayerOptions {
            ca_file: Some("/etc/bookmygig/ca.pem".into()),
            ..PlayerOptions::default()
        };
        assert!(
            mpv_options(&private).contains(&("tls-ca-file", "/etc/bookmygig/ca.pem".to_owned()))
        );
    }

    #[test]
    fn window_title_is_not_a_property_template() {
        let options = PlayerOptions {
            title: Some("Pay ${me} $5".to_owned()),
            ..PlayerOptions::default()
        };
        let set = mpv_options(&options);
        assert!(
            set.contains(&("title", "Pay $${me} $$5".to_owned())),
            "{set:?}"
        );
    }

    #[test]
    fn a_window_needs_a_display() {
        let env = |set: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                set.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert!(display_available(env(&[("DISPLAY", ":0")])));
        assert!(display_available(env(&[("WAYLAND_DISPLAY", "wayland-0")])));
        if cfg!(target_os = "linux") {
            assert!(!display_available(env(&[])));
            assert!(!display_available(env(&[("DISPLAY", "")])));
        }
    }

    #[test]
    fn load_failures_read_as_sentences() {
        let error = |code| Error::Mpv {
            code,
            text: "unknown error",
        };
        assert_eq!(
            describe(&error(error_code::LOADING_FAILED)),
            "could not load the stream (unreachable, refused, or not media)"
        );
        assert_eq!(describe(&error(-999)), "mpv error -999: unknown error");
    }

    #[test]
    fn property_changes_are_told_apart_by_their_observation_id() {
        let change = |id, value| to_signal(Ok(Event::PropertyChange { id, value }));
        assert_eq!(
            change(1, PropertyValue::Double(1.5)),
            Some(Signal::TimePos(1.5))
        );
        assert_eq!(
            change(3, PropertyValue::Flag(true)),
            Some(Signal::PausedForCache(true))
        );
        assert_eq!(change(1, PropertyValue::None), None);
        assert_eq!(change(0, PropertyValue::Double(1.0)), None);
        assert_eq!(change(9, PropertyValue::Double(1.0)), None);
    }
}
