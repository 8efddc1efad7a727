//! Pure drawing: every function here takes `&State` and a frame and changes nothing else, so a
//! screen is a function of the state (and snapshot tests render it through `TestBackend`).
//!
//! - [`catalogue`]: category tabs, the gig list with LIVE badges, and the detail pane.
//! - [`status`]: the bottom line (search input, last message, monetization state, help hint).
//! - [`room`]: the live room (stream panel, chat, player; the video in the terminal).
//! - [`video`]: the video drawn with true-colour half-blocks.
//! - [`buy`]: the buy dialog (price, balance, the purchase's outcome).
//! - [`my_gigs`]: the creator's gigs, stream keys, earnings and income chart.
//! - [`wallet`]: the wallet (balance, history, top-up dialog).
//! - [`sign_in`]: the first-run sign-in / sign-up form.
//! - [`help`]: the `?` overlay, listed from the keymap in force.
//! - [`hit`]: what a mouse click at a cell means, from the same layouts as the drawing.
//! - [`theme`]: styles, with colour only when `NO_COLOR` is unset.

mod buy;
mod catalogue;
mod help;
mod hit;
mod my_gigs;
mod popup;
mod room;
mod sign_in;
mod status;
pub mod theme;
pub mod video;

pub use hit::click;
mod wallet;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{Screen, State};

/// The smallest terminal the TUI draws in; below it a "too small" notice is shown instead.
pub const MIN_WIDTH: u16 = 60;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 15;

/// Draws the whole screen for `state`.
pub fn draw(frame: &mut Frame<'_>, state: &State) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area);
        return;
    }
    if let Some(room) = full_screen_room(state) {
        room::full_screen(frame, area, state, room);
        if state.help {
            help::overlay(frame, area, state);
        }
        return;
    }
    let [tabs, body, status_line] = frame_split(area);
    match state.room.as_ref().filter(|_| state.screen == Screen::Room) {
        Some(room) => {
            room::header(frame, tabs, state, room);
            room::body(frame, body, state, room);
        }
        None if state.screen == Screen::MyGigs => {
            catalogue::tabs(frame, tabs, state);
            my_gigs::body(frame, body, state);
        }
        None if state.screen == Screen::Wallet => {
            catalogue::tabs(frame, tabs, state);
            wallet::body(frame, body, state);
        }
        None => {
            catalogue::tabs(frame, tabs, state);
            catalogue::body(frame, body, state);
        }
    }
    status::line(frame, status_line, state);
    if let Some(dialog) = &state.buy {
        buy::dialog(frame, body, state, dialog);
    }
    if let Some(form) = &state.form {
        sign_in::form(frame, body, state, form);
    }
    if state.help {
        help::overlay(frame, body, state);
    }
}

/// The room whose video takes the whole screen, if any.
fn full_screen_room(state: &State) -> Option<&crate::tui::room::Room> {
    state
        .room
        .as_ref()
        .filter(|room| state.screen == Screen::Room && room.full_screen && room.video_in_terminal())
}

/// Where the video is drawn on a screen of size `area`, while the player draws in the
/// terminal: the event loop asks the player for frames of its size (see
/// [`video::pixel_size`]).
pub fn video_area(area: Rect, state: &State) -> Option<Rect> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT || state.screen != Screen::Room {
        return None;
    }
    if full_screen_room(state).is_some() {
        return Some(area);
    }
    let [_, body, _] = frame_split(area);
    room::video_area(body, state.room.as_ref()?)
}

/// The top row (tabs or the room's header), the body and the status line.
fn frame_split(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The notice shown when the terminal is smaller than [`MIN_WIDTH`]×[`MIN_HEIGHT`].
fn too_small(frame: &mut Frame<'_>, area: Rect) {
    let lines = vec![
        Line::from("Terminal too small"),
        Line::from(format!("{}×{}", area.width, area.height)),
        Line::from(format!("BookMyGig needs at least {MIN_WIDTH}×{MIN_HEIGHT}")),
    ];
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let [_, middle, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(height),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(lines).centered().wrap(Wrap { trim: true }),
        middle,
    );
}

#[cfg(test)]
mod tests;
