//! The only code that touches libmpv: creating a handle, and the thread that owns it.
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
//! About `LC_NUMERIC=C`: `mpv_create` refuses to run (returns NULL, and libmpv2 reports
//! `Error::Null`) when the process's numeric locale is anything but `C` or `C.UTF-8`, because it
//! parses and prints floating-point option values with the C library. libmpv2 7.0 does not call
//! `setlocale` itself, and we cannot (it is `unsafe`, which the workspace forbids). Nothing is
//! needed: a C program starts in the `C` locale until it calls `setlocale(LC_ALL, "")`, and
//! neither Rust's runtime nor our dependencies call it, so the `LANG`/`LC_*` variables of the
//! environment do not matter. (Checked: with `LC_ALL=de_DE.UTF-8` in the environment `Mpv::new`
//! works; after `setlocale(LC_NUMERIC, "de_DE.UTF-8")` it fails.) Should a future dependency call
//! `setlocale`, [`PlayerError::Create`] says so.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::thread;
use std::time::Instant;

use libmpv2::events::{Event, PropertyData};
use libmpv2::{Format, Mpv, mpv_end_file_reason, mpv_error};

use super::live_edge::LiveEdgeConfig;
use super::outbox::Outbox;
use super::session::{EndReason, Output, Session, Signal};
use super::{PlayerError, PlayerEvent, PlayerOptions};

/// How long one wait for an mpv event lasts at most: the delay before a stop request is seen
/// and the resolution of stall detection.
const WAIT_SLICE_S: f64 = 0.1;

/// The properties the session needs, with the format to receive them in.
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
}

/// The mpv options for `options`, in the order they must be applied (a profile first, so the
/// options after it override it).
pub(crate) fn mpv_options(options: &PlayerOptions) -> Vec<(&'static str, String)> {
    let mut set = Vec::new();
    let mut opt = |name: &'static str, value: &str| set.push((name, value.to_owned()));
    // The URL carries a playback token: never hand it to a youtube-dl subprocess.
    opt("ytdl", "no");
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
    }
    if options.headless {
        opt("vo", "null");
        opt("ao", "null");
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
/// opened and no window is shown yet.
pub(crate) fn create(options: &PlayerOptions) -> Result<Mpv, PlayerError> {
    let settings = mpv_options(options);
    let mut rejected: Option<&'static str> = None;
    // Note: libmpv2 7.0 leaks the unfinished handle when the initializer fails; that only
    // happens on a programming error (an unknown option), so it is not worth working around.
    let created = Mpv::with_initializer(|init| {
        for (name, value) in &settings {
            if let Err(err) = init.set_option(name, value.as_str()) {
                rejected = Some(name);
                return Err(err);
            }
        }
        Ok(())
    });
    created.map_err(|err| match (rejected, err) {
        (Some(name), err) => PlayerError::Option {
            name,
            reason: describe(&err),
        },
        (None, libmpv2::Error::Null) => PlayerError::Create,
        (None, libmpv2::Error::VersionMismatch { loaded, .. }) => PlayerError::Version {
            major: loaded >> 16,
            minor: loaded & 0xffff,
        },
        (None, err) => PlayerError::Init(describe(&err)),
    })
}

/// Starts the thread that owns `mpv`: it loads `url`, reports through `outbox` and ends (after
/// destroying the handle) on [`Command::Stop`], when the [`Player`](super::Player) is dropped,
/// or when playback ends.
pub(crate) fn spawn(
    mpv: Mpv,
    url: String,
    live_edge: Option<LiveEdgeConfig>,
    commands: Receiver<Command>,
    outbox: Outbox,
) -> std::io::Result<()> {
    thread::Builder::new()
        .name("bookmygig-mpv".to_owned())
        .spawn(move || {
            let last = panic::catch_unwind(AssertUnwindSafe(|| {
                drive(&mpv, &url, live_edge, &commands, &outbox)
            }))
            .unwrap_or_else(|_| PlayerEvent::Error("the player crashed".to_owned()));
            // Blocks until the core has stopped and the window is gone; then the last event
            // tells the caller it is over.
            drop(mpv);
            outbox.finish(last);
        })
        // Detached: the thread ends by itself, and joining could block an async caller.
        .map(|_detached| ())
}

/// The event loop; returns the last event once playback is over or a stop was requested.
fn drive(
    mpv: &Mpv,
    url: &str,
    live_edge: Option<LiveEdgeConfig>,
    commands: &Receiver<Command>,
    outbox: &Outbox,
) -> PlayerEvent {
    if let Err(err) = start(mpv, url) {
        return PlayerEvent::Error(describe(&err));
    }
    let mut session = Session::new(live_edge, Instant::now());
    let mut outputs = Vec::new();
    loop {
        match commands.try_recv() {
            Ok(Command::Stop) | Err(TryRecvError::Disconnected) => return PlayerEvent::Closed,
            Err(TryRecvError::Empty) => {}
        }
        // The event borrows from the handle; `to_signal` copies what matters before the next wait.
        let signal = mpv.wait_event(WAIT_SLICE_S).and_then(to_signal);
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
                    let _ = mpv.set_property("speed", speed);
                }
                Output::Reload => {
                    if let Err(err) = mpv.command("loadfile", &[url, "replace"]) {
                        return PlayerEvent::Error(describe(&err));
                    }
                }
                Output::Finish(last) => return last,
            }
        }
    }
}

/// Subscribes to what the session needs and starts loading `url`.
fn start(mpv: &Mpv, url: &str) -> libmpv2::Result<()> {
    // `idle` and `tick` are deprecated and only wake us up for nothing.
    mpv.disable_deprecated_events()?;
    for (id, (name, format)) in (1..).zip(OBSERVED) {
        mpv.observe_property(name, format, id)?;
    }
    mpv.command("loadfile", &[url])
}

/// Translates one mpv event into what the session understands.
fn to_signal(event: libmpv2::Result<Event<'_>>) -> Option<Signal> {
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
            mpv_end_file_reason::Eof => EndReason::Eof,
            mpv_end_file_reason::Stop => EndReason::Stop,
            mpv_end_file_reason::Quit => EndReason::Quit,
            mpv_end_file_reason::Redirect => EndReason::Redirect,
            _ => EndReason::Error,
        }),
        Event::PropertyChange { name, change, .. } => match (name, change) {
            ("time-pos", PropertyData::Double(v)) => Signal::TimePos(v),
            ("demuxer-cache-duration", PropertyData::Double(v)) => Signal::CacheDuration(v),
            ("paused-for-cache", PropertyData::Flag(b)) => Signal::PausedForCache(b),
            ("pause", PropertyData::Flag(b)) => Signal::Pause(b),
            // `None` data: the property is unavailable (between files).
            _ => return None,
        },
        _ => return None,
    })
}

/// A sentence for a libmpv error, for people (libmpv2 only offers its `Debug` form).
fn describe(err: &libmpv2::Error) -> String {
    match err {
        libmpv2::Error::Raw(code) => match *code {
            mpv_error::LoadingFailed => {
                "could not load the stream (unreachable, refused, or not media)".to_owned()
            }
            mpv_error::UnknownFormat => "the stream is in a format mpv does not know".to_owned(),
            mpv_error::NothingToPlay => "the stream has no audio or video to play".to_owned(),
            mpv_error::Unsupported => "the stream uses something mpv does not support".to_owned(),
            mpv_error::AoInitFailed => "could not open the audio output".to_owned(),
            mpv_error::VoInitFailed => "could not open the video output".to_owned(),
            mpv_error::OptionNotFound => "no such option in this mpv".to_owned(),
            mpv_error::OptionFormat | mpv_error::OptionError => "invalid option value".to_owned(),
            code => format!("mpv error {code}"),
        },
        libmpv2::Error::InvalidUtf8 => "mpv returned text that is not UTF-8".to_owned(),
        libmpv2::Error::Null => "text with a NUL byte, or mpv could not start".to_owned(),
        libmpv2::Error::VersionMismatch { .. } => "libmpv client API version mismatch".to_owned(),
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
        assert_eq!(
            describe(&libmpv2::Error::Raw(mpv_error::LoadingFailed)),
            "could not load the stream (unreachable, refused, or not media)"
        );
        assert_eq!(describe(&libmpv2::Error::Raw(-999)), "mpv error -999");
    }
}
