//! The wallet screen: the balance, the history (newest first, older pages loaded on scroll)
//! and the top-up dialog.

use bookmygig_api::{EntryKind, Money};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::popup;
use super::theme::Theme;
use crate::tui::app::State;
use crate::tui::wallet::{TopUpDialog, TopUpPhase};

/// The balance box and the history below it.
pub fn split(body: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(body)
}

/// The balance box above the history.
pub fn body(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let view = &state.wallet;
    let [balance_area, history_area] = split(area);
    let key = |name| state.keymap.first_key(name).unwrap_or_default();
    let balance = match (&view.balance, &view.error) {
        (_, Some(error)) => Line::from(vec![
            Span::styled("Could not load the wallet: ", theme.error()),
            Span::raw(error.as_str()),
            Span::styled(format!("  ({} to retry)", key("refresh")), theme.dim()),
        ]),
        (Some(balance), None) => Line::from(vec![
            Span::styled("Balance  ", theme.dim()),
            Span::styled(balance.to_string(), theme.accent()),
            Span::styled(format!("   {}: top up", key("top_up")), theme.dim()),
        ]),
        (None, None) => Line::from(Span::styled("Loading…", theme.dim())),
    };
    frame.render_widget(
        Paragraph::new(balance).block(Block::bordered().title(" Wallet ")),
        balance_area,
    );
    history(frame, history_area, state, &theme);
    if let Some(dialog) = &view.top_up {
        top_up(frame, area, dialog, &theme);
    }
}

/// The history table.
fn history(frame: &mut Frame<'_>, area: Rect, state: &State, theme: &Theme) {
    let view = &state.wallet;
    let title = if view.loading_more || view.loading {
        " History (loading…) ".to_owned()
    } else if view.next_cursor.is_some() {
        format!(" History ({}, more below) ", view.entries.len())
    } else {
        format!(" History ({}) ", view.entries.len())
    };
    let block = Block::bordered().title(title);
    if view.entries.is_empty() {
        let text = if view.loading {
            "Loading…"
        } else {
            "Nothing yet: top-ups, tickets and streaming payments will show here."
        };
        frame.render_widget(
            Paragraph::new(Span::styled(text, theme.dim())).block(block),
            area,
        );
        return;
    }
    let rows = view.entries.iter().map(|entry| {
        let amount_style = if entry.amount < Money::ZERO {
            theme.error()
        } else {
            theme.accent()
        };
        let sign = if entry.amount > Money::ZERO { "+" } else { "" };
        Row::new(vec![
            Cell::from(Span::styled(state.zone.short(entry.at), theme.dim())),
            Cell::from(kind(entry.kind)),
            Cell::from(entry.memo.as_str()),
            Cell::from(
                Line::from(Span::styled(
                    format!("{sign}{}", entry.amount),
                    amount_style,
                ))
                .right_aligned(),
            ),
            Cell::from(Line::from(entry.balance_after.to_string()).right_aligned()),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(12),
            Constraint::Length(12),
            Constraint::Min(10),
            Constraint::Length(11),
            Constraint::Length(11),
        ],
    )
    .header(Row::new(["When", "What", "Memo", "Amount", "Balance"]).style(theme.dim()))
    .row_highlight_style(theme.selected())
    .block(block);
    let mut table_state = TableState::default().with_selected(Some(view.selected));
    frame.render_stateful_widget(table, area, &mut table_state);
}

/// An entry's kind in words.
fn kind(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::TopUp => "top-up",
        EntryKind::ListingFee => "listing fee",
        EntryKind::TicketSale => "ticket",
        EntryKind::Refund => "refund",
        EntryKind::Micropayment => "streaming",
        EntryKind::Payout => "payout",
    }
}

/// The top-up dialog.
fn top_up(frame: &mut Frame<'_>, area: Rect, dialog: &TopUpDialog, theme: &Theme) {
    let text = dialog.amount.text();
    let chars: Vec<char> = text.chars().collect();
    let cursor = dialog.amount.cursor().min(chars.len());
    let before: String = chars[..cursor].iter().collect();
    let under = chars.get(cursor).map_or(" ".to_owned(), char::to_string);
    let after: String = chars.iter().skip(cursor + 1).collect();
    let mut lines = vec![
        Line::from(Span::styled(
            " Development provider: play money.",
            theme.dim(),
        )),
        Line::from(""),
        Line::from(vec![
            Span::raw(" Amount  $"),
            Span::raw(before),
            Span::styled(under, theme.selected()),
            Span::raw(after),
        ]),
        Line::from(""),
    ];
    lines.push(match &dialog.phase {
        TopUpPhase::Editing => Line::from(""),
        TopUpPhase::Sending => Line::from(Span::styled(" Adding…", theme.dim())),
        TopUpPhase::Failed(reason) => Line::from(Span::styled(format!(" {reason}"), theme.error())),
    });
    lines.push(Line::from(Span::styled(
        " Enter: add · Esc: cancel",
        theme.dim(),
    )));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    popup::centred(
        frame,
        area,
        (area.width.min(64), height),
        "Top up",
        lines,
        theme,
    );
}
