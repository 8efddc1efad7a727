//! The `?` overlay: every binding of the keymap in force, then the keys of the search line and
//! the chat. When one column does not fit the screen's height, the bindings go in two.

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
    let help_width = state
        .keymap
        .bindings
        .iter()
        .map(|b| b.help.chars().count())
        .max()
        .unwrap_or(0);
    let entries: Vec<Vec<Span<'_>>> = state
        .keymap
        .bindings
        .iter()
        .zip(&keys)
        .map(|(binding, keys)| {
            vec![
                Span::styled(format!(" {keys:<key_width$}  "), theme.accent()),
                Span::raw(format!("{:<help_width$}", binding.help)),
            ]
        })
        .collect();
    let footer = [
        " While searching: Enter stops, Esc clears",
        " In the chat: Enter sends, Esc stops typing,",
        "   ↑ ↓ history, Ctrl-a/e/u/w edit",
    ];
    // Borders, a blank line and the footer around the bindings.
    let fixed = footer.len() + 3;
    let room_for_rows = usize::from(area.height).saturating_sub(fixed).max(1);
    let columns = if entries.len() > room_for_rows { 2 } else { 1 };
    let rows = entries.len().div_ceil(columns);
    let mut lines: Vec<Line<'_>> = (0..rows)
        .map(|row| {
            let mut spans = Vec::new();
            for column in 0..columns {
                if let Some(entry) = entries.get(column * rows + row) {
                    if column > 0 {
                        spans.push(Span::raw("  "));
                    }
                    spans.extend(entry.iter().cloned());
                }
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::from(""));
    for text in footer {
        lines.push(Line::from(Span::styled(text, theme.dim())));
    }
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let width = lines
        .iter()
        .map(Line::width)
        .max()
        .unwrap_or(0)
        .saturating_add(3);
    let width = u16::try_from(width).unwrap_or(u16::MAX).min(area.width);
    popup::centred(frame, area, (width, height), "Keys", lines, &theme);
}
