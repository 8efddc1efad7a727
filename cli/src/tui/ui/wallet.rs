//! The wallet screen: the balance, the top-ups under way, the history (newest first, older
//! pages loaded on scroll) and the top-up dialog.

use bookmygig_api::{EntryKind, Money, TopUpState, TopUpStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};

use super::popup;
use super::sign_in::field_spans;
use super::theme::Theme;
use crate::tui::app::{BuyPhase, State};
use crate::tui::wallet::{TopUpDialog, TopUpField, TopUpPhase, WalletView};

/// Width of the top-up dialog's labels column.
const LABEL: usize = 13;

/// The balance box (with a line for top-ups when there is news of one) and the history below
/// it.
pub fn split(body: Rect, view: &WalletView) -> [Rect; 2] {
    let rows = if topups_line(view, "").is_some() {
        4
    } else {
        3
    };
    Layout::vertical([Constraint::Length(rows), Constraint::Min(0)]).areas(body)
}

/// The balance box above the history.
pub fn body(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let view = &state.wallet;
    let [balance_area, history_area] = split(area, view);
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
    let mut lines = vec![balance];
    if let Some((text, under_way)) = topups_line(view, &key("open")) {
        let style = if under_way {
            theme.accent()
        } else {
            theme.dim()
        };
        lines.push(Line::from(Span::styled(text, style)));
    }
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Wallet ")),
        balance_area,
    );
    history(frame, history_area, state, &theme);
    if let Some(dialog) = &view.top_up {
        top_up(frame, area, state, dialog, &theme);
    }
}

/// The news of top-ups from outside wallets, and whether any is under way: those under way,
/// else the last one when it added nothing (a completed one is in the history).
fn topups_line(view: &WalletView, open: &str) -> Option<(String, bool)> {
    let under_way: Vec<&TopUpStatus> = view
        .topups
        .iter()
        .filter(|topup| !topup.state.is_final())
        .collect();
    match under_way.as_slice() {
        [] => {
            let last = view.topups.first()?;
            (last.state != TopUpState::Completed).then(|| {
                let why = last
                    .error
                    .as_deref()
                    .map_or_else(String::new, |error| format!(": {error}"));
                let text = format!(
                    "Last top-up of {} {}{why}",
                    last.amount,
                    state_words(last.state)
                );
                (text, false)
            })
        }
        [one] => Some((
            format!(
                "Top-up of {}: {} ({open}: its page) · from {}",
                one.amount,
                state_words(one.state),
                one.from
            ),
            true,
        )),
        several => {
            let each: Vec<String> = several
                .iter()
                .map(|topup| format!("{} {}", topup.amount, state_words(topup.state)))
                .collect();
            Some((
                format!("Top-ups: {} ({open}: the newest's page)", each.join(" · ")),
                true,
            ))
        }
    }
}

/// A top-up's state, in words.
fn state_words(state: TopUpState) -> &'static str {
    match state {
        TopUpState::AwaitingConsent => "waiting for approval in your wallet",
        TopUpState::Sending => "approved, on its way",
        TopUpState::Completed => "added",
        TopUpState::Declined => "declined",
        TopUpState::Expired => "expired",
        TopUpState::Failed => "failed",
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

/// The top-up dialog: the fields, or the consent page while the wallet asks its holder (over
/// the wallet, or over the buy dialog whose ticket it pays for).
pub(super) fn top_up(
    frame: &mut Frame<'_>,
    area: Rect,
    state: &State,
    dialog: &TopUpDialog,
    theme: &Theme,
) {
    // Wider while waiting, so a long consent page takes fewer lines.
    let width = area
        .width
        .min(if dialog.waiting().is_some() { 100 } else { 72 });
    // Inside the border, one blank column each side.
    let inner = usize::from(width).saturating_sub(4);
    let lines = match &dialog.phase {
        TopUpPhase::Waiting { status, trouble } => {
            waiting(state, status, trouble.as_deref(), inner, theme)
        }
        _ => fields(dialog, purpose(state).as_deref(), inner, theme),
    };
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    popup::centred(frame, area, (width, height), "Top up", lines, theme);
}

/// What the top-up pays for, when it was opened from the buy dialog.
fn purpose(state: &State) -> Option<String> {
    let dialog = state
        .buy
        .as_ref()
        .filter(|dialog| dialog.phase == BuyPhase::ToppingUp)?;
    Some(format!(
        "For a ticket to {} ({}): once the money is in, the ticket is bought.",
        dialog.gig.title, dialog.gig.price
    ))
}

/// The dialog's fields, what went wrong under the field at fault, and the keys; `purpose`
/// first when the top-up pays for a ticket.
fn fields(
    dialog: &TopUpDialog,
    purpose: Option<&str>,
    inner: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let (field_error, error) = match &dialog.phase {
        TopUpPhase::Failed { field, reason } => (*field, Some(reason.as_str())),
        _ => (None, None),
    };
    let mut lines: Vec<Line<'static>> = Vec::new();
    if let Some(purpose) = purpose {
        lines.extend(
            wrap(purpose, inner)
                .into_iter()
                .map(|text| Line::from(format!(" {text}"))),
        );
    }
    lines.extend(
        wrap(
            "From your Open Payments wallet: its address or payment pointer. Empty where the \
             server gives play money.",
            inner,
        )
        .into_iter()
        .map(|text| Line::from(Span::styled(format!(" {text}"), theme.dim()))),
    );
    lines.push(Line::from(""));
    let field_width = inner.saturating_sub(LABEL + 3);
    for (field, label, editor) in [
        (TopUpField::Amount, "Amount", &dialog.amount),
        (TopUpField::From, "From wallet", &dialog.from),
    ] {
        let focused = dialog.focus == field && dialog.editable();
        let mut spans = vec![
            if focused {
                Span::styled(" › ", theme.accent())
            } else {
                Span::raw("   ")
            },
            Span::styled(format!("{label:<LABEL$}"), theme.dim()),
        ];
        if field == TopUpField::Amount {
            spans.push(Span::raw("$"));
        }
        spans.extend(field_spans(
            &editor.text(),
            editor.cursor(),
            focused,
            field_width,
            theme,
        ));
        lines.push(Line::from(spans));
        if let (Some(reason), true) = (error, field_error == Some(field)) {
            let indent = " ".repeat(LABEL + 3);
            lines.extend(
                wrap(reason, inner.saturating_sub(LABEL + 2))
                    .into_iter()
                    .map(|text| Line::from(Span::styled(format!("{indent}{text}"), theme.error()))),
            );
        }
    }
    lines.push(Line::from(""));
    match (&dialog.phase, error) {
        (TopUpPhase::Sending, _) => {
            lines.push(Line::from(Span::styled(" Asking the server…", theme.dim())));
        }
        (_, Some(reason)) if field_error.is_none() => lines.extend(
            wrap(reason, inner)
                .into_iter()
                .map(|text| Line::from(Span::styled(format!(" {text}"), theme.error()))),
        ),
        _ => lines.push(Line::from("")),
    }
    lines.push(Line::from(Span::styled(
        " Enter: add · Tab: next field · Esc: cancel",
        theme.dim(),
    )));
    lines
}

/// While the wallet's holder is asked: the consent page, prominent, and how far it got.
fn waiting(
    state: &State,
    status: &TopUpStatus,
    trouble: Option<&str>,
    inner: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let dim = |text: String| Line::from(Span::styled(format!(" {text}"), theme.dim()));
    let mut lines: Vec<Line<'static>> = wrap(
        &format!(
            "Approve the payment of {} from {} in your wallet, at this page (it opens in your \
             browser on a desktop):",
            status.amount, status.from
        ),
        inner,
    )
    .into_iter()
    .map(|text| Line::from(format!(" {text}")))
    .collect();
    lines.push(Line::from(""));
    match &status.consent_url {
        Some(url) => lines.extend(
            chunks(url, inner)
                .into_iter()
                .map(|part| Line::from(Span::styled(format!(" {part}"), theme.accent()))),
        ),
        None => lines.push(dim("(the server gave no page: see your wallet)".to_owned())),
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        match status.state {
            TopUpState::Sending => " Approved: the money is on its way…",
            _ => " Waiting for approval in your wallet…",
        },
        theme.bold(),
    )));
    match trouble {
        Some(trouble) => lines.extend(
            wrap(
                &format!("could not check it: {trouble} (trying again)"),
                inner,
            )
            .into_iter()
            .map(|text| Line::from(Span::styled(format!(" {text}"), theme.error()))),
        ),
        None => lines.push(Line::from("")),
    }
    let mouse = state.keymap.first_key("mouse").unwrap_or_default();
    let select = if state.mouse {
        format!(" · {mouse}: mouse off, to select the page")
    } else {
        String::new()
    };
    lines.push(Line::from(Span::styled(
        format!(" Esc: close (the top-up goes on){select}"),
        theme.dim(),
    )));
    lines
}

/// `text` in lines of at most `width` characters, broken between words (a longer word, an
/// address, is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let used = line.chars().count();
        let len = word.chars().count();
        if used > 0 && used + 1 + len <= width {
            line.push(' ');
            line.push_str(word);
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut line));
        }
        let mut parts = chunks(word, width);
        line = parts.pop().unwrap_or_default();
        lines.extend(parts);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` cut into pieces of `width` characters (the last one shorter).
fn chunks(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(width.max(1))
        .map(|piece| piece.iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_wraps_between_words_and_addresses_are_cut() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(
            wrap("from https://w.example/bob now", 10),
            ["from", "https://w.", "example/bo", "b now"]
        );
        assert_eq!(chunks("abcdefg", 3), ["abc", "def", "g"]);
        assert!(wrap("", 5).is_empty());
    }
}
