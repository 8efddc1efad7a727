//! The status line: the search being typed or the last message on the left; who is signed in,
//! the monetization state and the help hint on the right.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::tui::app::State;

/// What the status line says about money. Until the monetization stream is wired in, the
/// catalogue always supports BookMyGig (DESIGN.md §1: "supporting BookMyGig" elsewhere than in a
/// gig).
const MONETIZATION: &str = "supporting BookMyGig";

/// Draws the status line into `area` (one row).
pub fn line(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let who = state
        .me
        .as_ref()
        .map(|me| format!("@{} · ", me.handle))
        .unwrap_or_default();
    let right = format!("{who}{MONETIZATION} · ? help ");
    let width = u16::try_from(right.chars().count()).unwrap_or(u16::MAX);
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(width)]).areas(area);
    let left = if state.searching {
        Line::from(vec![
            Span::styled(" /", theme.accent()),
            Span::raw(state.search.as_str()),
            Span::styled("▏", theme.accent()),
        ])
    } else if !state.search.is_empty() {
        Line::from(vec![
            Span::styled(" search: ", theme.dim()),
            Span::raw(state.search.as_str()),
            Span::styled(format!("  {}", state.status), theme.dim()),
        ])
    } else {
        Line::from(Span::styled(format!(" {}", state.status), theme.dim()))
    };
    frame.render_widget(Paragraph::new(left), left_area);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(right, theme.dim()))),
        right_area,
    );
}
