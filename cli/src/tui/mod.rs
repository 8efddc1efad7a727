//! `bookmygig tui`: the full-screen client, built as Event → [`Action`] → [`update()`] →
//! [`ui::draw`].
//!
//! - [`app`]: the whole state as a plain value.
//! - [`action`]: what can happen ([`Action`]) and the slow work asked for ([`Effect`]).
//! - [`event`]: keys to actions through the keymap (vim keys and arrows).
//! - [`mod@update`]: the only place the state changes; pure, returns effects.
//! - [`room`]: the live room's state; [`replay`]: a replay in it (seeking, the chat history in
//!   step with the position); [`line_editor`]: the chat's input line.
//! - [`ui`]: pure draw functions of `&State`.
//! - `tasks`: carries out effects: requests, the room's chat connection and stream polling,
//!   the player.
//! - `governor`: how often video frames are drawn, after what drawing them costs.
//! - `graphics`: kitty, sixel or half-blocks, as the terminal answers.
//! - `stderr_log`: fd 2 goes to a log file while the TUI owns the screen.
//!
//! This module owns the terminal: raw mode and the alternate screen, restored on exit, on error
//! and by the panic hook (with fd 2); and one event loop that merges terminal events with the
//! answers of background tasks and the frames of a player drawing in the terminal (taken at the
//! pace the governor sets). The loop never awaits the network: effects run in spawned tasks
//! that send an [`Action`] back through a bounded channel.

pub mod action;
pub mod app;
mod backoff;
pub mod event;
pub mod governor;
pub mod graphics;
pub mod line_editor;
pub mod my_gigs;
pub mod replay;
pub mod room;
#[cfg(test)]
mod sample;
pub mod sign_in;
pub mod stderr_log;
mod tasks;
pub mod ui;
pub mod update;
pub mod wallet;

use std::io::{self, Stdout};
use std::path::PathBuf;
use std::time::Instant;

use bookmygig_cli::player::{PlayerOptions, VideoSink};
use bookmygig_client::Client;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt as _;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use self::governor::FrameGovernor;
use self::graphics::Graphics;
use self::sign_in::SignInForm;
use self::tasks::Tasks;

pub use self::action::{Action, Effect};
use self::app::{State, Zone};
pub use self::event::Keymap;
pub use self::update::update;

/// How many finished results may wait for the loop; tasks wait (never drop) beyond it.
const RESULTS_QUEUE: usize = 64;

/// How often the clock ticks (uptimes, retries of the player).
const TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// How often the clock ticks while a change of the search waits to be sent, so it goes about
/// [`SEARCH_DEBOUNCE`](app::SEARCH_DEBOUNCE) after the last key rather than up to a second late.
const SEARCH_TICK: std::time::Duration = std::time::Duration::from_millis(50);

/// Puts the terminal back when dropped: on return, on error, and (through the panic hook,
/// which runs before unwinding) on panic.
struct TerminalGuard {
    /// The ratatui terminal on stdout.
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Raw mode, the alternate screen, and a panic hook that leaves both (and gives fd 2 back)
    /// before printing.
    fn enter() -> io::Result<Self> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            stderr_log::restore();
            previous(info);
        }));
        enable_raw_mode()?;
        if let Err(err) = execute!(io::stdout(), EnterAlternateScreen) {
            restore();
            return Err(err);
        }
        let terminal = match Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(terminal) => terminal,
            Err(err) => {
                restore();
                return Err(err);
            }
        };
        Ok(Self { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        let _ = self.terminal.show_cursor();
    }
}

/// Leaves the alternate screen and raw mode; safe to call more than once.
fn restore() {
    let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen);
    let _ = disable_raw_mode();
}

/// How the TUI runs, besides the server.
#[derive(Debug, Clone)]
pub struct Options {
    /// The keys in force.
    pub keymap: Keymap,
    /// How the player opens mpv.
    pub player: PlayerOptions,
    /// The server's base URL (the client's), shown in the sign-in form.
    pub server: String,
    /// Where a session opened in the sign-in form is saved.
    pub store: crate::settings::Store,
    /// Where fd 2 (and libmpv's messages) go while the TUI runs.
    pub log_file: PathBuf,
}

/// Runs the TUI against `client` until the user quits; closes the player (if any) before
/// returning.
///
/// # Errors
/// When the terminal cannot be set up, drawn to, or read from.
pub async fn run(client: Client, options: Options) -> io::Result<()> {
    // Before the screen is taken: from here on nothing but the TUI writes on it. A log file
    // that cannot be opened is said in the status line, and stderr is dropped instead.
    let (_stderr, log_problem) = match stderr_log::redirect(&options.log_file) {
        Ok(redirect) => (Some(redirect), None),
        Err(err) => (
            stderr_log::discard().ok(),
            Some(format!(
                "cannot write the log {}: {err}",
                options.log_file.display()
            )),
        ),
    };
    let mut player_options = options.player;
    if log_problem.is_none() {
        player_options.log_file = Some(options.log_file.clone());
    }
    let display = player_options.headless
        || bookmygig_cli::player::display_available(|name| std::env::var_os(name));
    let mut guard = TerminalGuard::enter()?;
    // In raw mode, before the event stream reads the answers as keys.
    let graphics = Graphics::query();
    let mut state = State::new(
        Zone::Local,
        ui::theme::color_from_env(),
        options.keymap,
        bookmygig_client::new_idempotency_key(),
    );
    state.now = OffsetDateTime::now_utc();
    state.server = options.server;
    state.display = display;
    if let Some(problem) = log_problem {
        state.status = problem;
    }
    // Only the top-up dialog's suggestion depends on it: an unreadable config costs nothing else.
    if let Ok(config) = options.store.config() {
        state.topup_wallets = config.topup_wallets;
    }
    let signed_in = client.token().is_some();
    if !signed_in {
        state.form = Some(SignInForm::new(&state.server));
    }
    let (results, mut incoming) = mpsc::channel::<Action>(RESULTS_QUEUE);
    let video = VideoSink::new();
    let mut tasks = Tasks::new(
        client,
        results,
        (player_options, video.clone()),
        options.store,
    );
    let mut events = EventStream::new();
    let mut effects = update(&mut state, Action::Refresh);
    if signed_in {
        state.monetization = app::Monetization::Connecting;
        effects.extend([
            Effect::FetchMe,
            Effect::FetchTickets,
            Effect::WatchMonetization,
        ]);
    }
    for effect in effects {
        tasks.run(effect);
    }
    let mut clock = tokio::time::interval(TICK);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut search_clock = tokio::time::interval(SEARCH_TICK);
    search_clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // What the terminal does now; made to follow `state.mouse` before every draw.
    let mut capturing = false;
    // Video frames: one is waiting in the sink, to be taken when the governor allows.
    let mut governor = FrameGovernor::new(graphics.max_fps());
    // Where the video is drawn, as of the last draw.
    let mut video_area = None;
    let mut frame_waiting = false;
    let mut last_frame_at = Instant::now();
    // A frame was taken since the last draw, and what encoding it cost: that draw's cost (and
    // this) is the video's.
    let mut frame_taken: Option<std::time::Duration> = None;
    // Nothing changed since the last draw (a frame merely became ready).
    let mut unchanged = false;
    let outcome = loop {
        if state.quit {
            break Ok(());
        }
        if state.mouse != capturing {
            let switched = if state.mouse {
                execute!(io::stdout(), EnableMouseCapture)
            } else {
                execute!(io::stdout(), DisableMouseCapture)
            };
            if let Err(err) = switched {
                break Err(err);
            }
            capturing = state.mouse;
        }
        if !unchanged {
            let size = guard.terminal.size().unwrap_or_default();
            let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
            video_area = ui::video_area(area, &state);
            let (width, height) = video_area.map_or((0, 0), |area| graphics.pixel_size(area));
            video.set_size(width, height);
            let started = Instant::now();
            if let Err(err) = guard.terminal.draw(|frame| ui::draw(frame, &state)) {
                break Err(err);
            }
            // What the frame cost: encoding it (when taken) and drawing it.
            if let Some(encoding) = frame_taken.take() {
                governor.record(encoding + started.elapsed());
            }
        }
        unchanged = false;
        let action = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => event::map_key(&state, &key),
                Some(Ok(Event::Mouse(mouse))) => {
                    let size = guard.terminal.size().unwrap_or_default();
                    let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
                    event::map_mouse(&state, area, &mouse)
                }
                // A resize needs only the redraw at the top of the loop.
                Some(Ok(_)) => None,
                Some(Err(err)) => break Err(err),
                None => break Ok(()),
            },
            Some(action) = incoming.recv() => Some(action),
            _ = clock.tick() => Some(Action::Tick(OffsetDateTime::now_utc())),
            _ = search_clock.tick(), if state.search_pending => {
                Some(Action::Tick(OffsetDateTime::now_utc()))
            }
            () = video.ready(), if !frame_waiting => {
                frame_waiting = true;
                unchanged = true;
                None
            }
            () = tokio::time::sleep_until(governor.next_at(last_frame_at).into()), if frame_waiting => {
                frame_waiting = false;
                last_frame_at = Instant::now();
                let started = Instant::now();
                let picture = video
                    .take()
                    .zip(video_area)
                    .and_then(|(frame, area)| graphics.picture(frame, area));
                frame_taken = picture.as_ref().map(|_| started.elapsed());
                picture.map(Action::VideoFrame)
            }
        };
        if let Some(action) = action {
            for effect in update(&mut state, action) {
                tasks.run(effect);
            }
        }
    };
    // The terminal is given back first: closing mpv may take a moment.
    drop(guard);
    tasks.shutdown().await;
    outcome
}
