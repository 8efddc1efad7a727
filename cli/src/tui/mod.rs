//! `bookmygig tui`: the full-screen client, built as Event → [`Action`] → [`update()`] →
//! [`ui::draw`].
//!
//! - [`app`]: the whole state as a plain value.
//! - [`action`]: what can happen ([`Action`]) and the slow work asked for ([`Effect`]).
//! - [`event`]: keys to actions through the keymap (vim keys and arrows).
//! - [`mod@update`]: the only place the state changes; pure, returns effects.
//! - [`ui`]: pure draw functions of `&State`.
//!
//! This module owns the terminal: raw mode and the alternate screen, restored on exit, on error
//! and by the panic hook; and one event loop that merges terminal events with the answers of
//! background tasks. The loop never awaits the network: effects run in spawned tasks that send
//! an [`Action`] back through a bounded channel.

pub mod action;
pub mod app;
pub mod event;
#[cfg(test)]
mod sample;
pub mod ui;
pub mod update;

use std::io::{self, Stdout};

use bookmygig_client::Client;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt as _;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

pub use self::action::{Action, Effect};
use self::app::{State, Zone};
pub use self::event::Keymap;
pub use self::update::update;

/// How many finished results may wait for the loop; tasks wait (never drop) beyond it.
const RESULTS_QUEUE: usize = 64;

/// Puts the terminal back when dropped: on return, on error, and (through the panic hook,
/// which runs before unwinding) on panic.
struct TerminalGuard {
    /// The ratatui terminal on stdout.
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    /// Raw mode, the alternate screen, and a panic hook that leaves both before printing.
    fn enter() -> io::Result<Self> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
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

/// Runs the TUI against `client` until the user quits.
///
/// # Errors
/// When the terminal cannot be set up, drawn to, or read from.
pub async fn run(client: Client, keymap: Keymap) -> io::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let mut state = State::new(
        Zone::Local,
        ui::theme::color_from_env(),
        keymap,
        bookmygig_client::new_idempotency_key(),
    );
    let (results, mut incoming) = mpsc::channel::<Action>(RESULTS_QUEUE);
    let mut events = EventStream::new();
    for effect in update(&mut state, Action::Refresh) {
        spawn(effect, &client, &results);
    }
    // What the terminal does now; made to follow `state.mouse` before every draw.
    let mut capturing = false;
    while !state.quit {
        if state.mouse != capturing {
            if state.mouse {
                execute!(io::stdout(), EnableMouseCapture)?;
            } else {
                execute!(io::stdout(), DisableMouseCapture)?;
            }
            capturing = state.mouse;
        }
        guard.terminal.draw(|frame| ui::draw(frame, &state))?;
        let action = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => event::map_key(&state, &key),
                Some(Ok(Event::Mouse(mouse))) => event::map_mouse(&mouse),
                // A resize needs only the redraw at the top of the loop.
                Some(Ok(_)) => None,
                Some(Err(err)) => return Err(err),
                None => break,
            },
            Some(action) = incoming.recv() => Some(action),
        };
        if let Some(action) = action {
            for effect in update(&mut state, action) {
                spawn(effect, &client, &results);
            }
        }
    }
    Ok(())
}

/// Starts `effect` in a task that reports back on `results`.
fn spawn(effect: Effect, client: &Client, results: &mpsc::Sender<Action>) {
    let client = client.clone();
    let results = results.clone();
    tokio::spawn(async move {
        let action = match effect {
            Effect::FetchCatalogue { request, query } => {
                let more = query.cursor.is_some();
                let result = client
                    .list_gigs(&query)
                    .await
                    .map_err(|err| crate::error::CliError::from(err).to_string());
                if more {
                    Action::MoreLoaded { request, result }
                } else {
                    Action::CatalogueLoaded { request, result }
                }
            }
            Effect::FetchTickets => Action::TicketsLoaded(
                client
                    .my_tickets()
                    .await
                    .map(|page| page.items)
                    .map_err(|err| crate::error::CliError::from(err).to_string()),
            ),
            Effect::FetchWallet => Action::WalletLoaded(
                client
                    .wallet(None, Some(1))
                    .await
                    .map(|wallet| wallet.balance)
                    .map_err(|err| crate::error::CliError::from(err).to_string()),
            ),
            Effect::BuyTicket {
                gig,
                idempotency_key,
            } => Action::TicketBought {
                gig,
                result: client
                    .buy_ticket(gig, &idempotency_key)
                    .await
                    .map_err(|err| crate::error::CliError::from(err).to_string()),
            },
        };
        // The loop has ended when the channel is closed: nobody wants the answer.
        let _ = results.send(action).await;
    });
}
