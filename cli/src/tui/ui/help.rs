//! The `?` overlay: every binding of the keymap in force, then the keys of the search line.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::popup;
use super::theme::Theme;
use crate::tui::app::State;

/// Draws the overlay centred over `area`.
pub fn overlay(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let keys: Vec<String> = state
        .keymap
        .bindings
        .iter()
        .map(|binding| {
            binding
                .keys
                .iter()
                .map(|key| key.label())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let key_width = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
    let mut lines: Vec<Line<'_>> = state
        .keymap
        .bindings
        .iter()
        .zip(&keys)
        .map(|(binding, keys)| {
            Line::from(vec![
                Span::styled(format!(" {keys:<key_width$}  "), theme.accent()),
                Span::raw(binding.help),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        " While searching: Enter sends, Esc clears",
        theme.dim(),
    )));
    lines.push(Line::from(Span::styled(
        " In the chat: Enter sends, Esc stops typing,",
        theme.dim(),
    )));
    lines.push(Line::from(Span::styled(
        "   ↑ ↓ history, Ctrl-a/e/u/w edit",
        theme.dim(),
    )));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let width = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .saturating_add(3);
    let width = u16::try_from(width).unwrap_or(u16::MAX);
    popup::centred(frame, area, (width, height), "Keys", lines, &theme);
}
