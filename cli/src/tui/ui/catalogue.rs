//! The catalogue: category tabs across the top, the list of gigs (LIVE badge or start time,
//! title, billed name; a ★ on a live gig one holds a ticket for) and the selected gig's details
//! beside it, or full width once opened; and "My tickets", drawn the same way. A gig that ended
//! with its replay window open says until when it can be watched.

use bookmygig_api::{Category, Gig, GigStatus};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Tabs, Wrap};

use super::theme::Theme;
use crate::tui::app::{Screen, State};
use crate::tui::replay::replayable;

/// The list and the detail pane of the catalogue and of "My tickets".
pub fn split(body: Rect) -> [Rect; 2] {
    Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body)
}

/// Columns of the app's name before the tabs.
const NAME_WIDTH: u16 = 11;

/// The titles of the tabs: "All" and every category, capitalised.
fn tab_titles() -> Vec<String> {
    std::iter::once("All".to_owned())
        .chain(Category::ALL.iter().map(|c| {
            let name = c.as_str();
            let mut chars = name.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }))
        .collect()
}

/// The tab under `column` of the tab row, if any (ratatui's `Tabs` pads each title with a
/// space on both sides and puts a one-column divider between them).
pub fn tab_at(column: u16) -> Option<usize> {
    let mut start = NAME_WIDTH;
    for (i, title) in tab_titles().iter().enumerate() {
        let width = u16::try_from(title.chars().count()).unwrap_or(u16::MAX) + 2;
        if (start..start + width).contains(&column) {
            return Some(i);
        }
        start += width + 1;
    }
    None
}

/// The tab row: the app's name, then "All" and every category.
pub fn tabs(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let titles = tab_titles();
    let [name, rest] =
        Layout::horizontal([Constraint::Length(NAME_WIDTH), Constraint::Min(0)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(" BookMyGig", theme.accent())),
        name,
    );
    frame.render_widget(
        Tabs::new(titles)
            .select(state.tab)
            .highlight_style(theme.selected())
            .divider("│"),
        rest,
    );
}

/// The list and the detail pane (catalogue), the detail alone (an opened gig), or the
/// tickets with their gig's details.
pub fn body(frame: &mut Frame<'_>, area: Rect, state: &State) {
    match state.screen {
        // The other screens have drawers of their own; the gig stands in.
        Screen::Gig | Screen::Room | Screen::Wallet | Screen::MyGigs => {
            detail(frame, area, state, state.selected_gig())
        }
        Screen::Catalogue => {
            let [list_area, detail_area] = split(area);
            list(frame, list_area, state);
            detail(frame, detail_area, state, state.selected_gig());
        }
        Screen::Tickets => {
            let [list_area, detail_area] = split(area);
            tickets(frame, list_area, state);
            let gig = state.tickets.get(state.ticket_selected).map(|t| &t.gig);
            detail(frame, detail_area, state, gig);
        }
    }
}

/// The gig list, or the loading / error / empty notice in its place.
fn list(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let visible = state.visible();
    let title = if state.loading {
        " Gigs (loading…) ".to_owned()
    } else if state.next_cursor.is_some() {
        format!(" Gigs ({}, more below) ", visible.len())
    } else {
        format!(" Gigs ({}) ", visible.len())
    };
    let block = Block::bordered().title(title);
    let notice = if let Some(error) = &state.error {
        Some(vec![
            Line::from(Span::styled("Could not load the gigs", theme.error())),
            Line::from(error.as_str()),
            Line::from(""),
            Line::from(Span::styled(
                match &state.catalogue_retry {
                    Some(retry) => format!(
                        "Retrying in {} s (attempt {}); r: now.",
                        (retry.at - state.now).whole_seconds().max(0),
                        retry.attempt + 1
                    ),
                    None => "Press r to retry.".to_owned(),
                },
                theme.dim(),
            )),
        ])
    } else if visible.is_empty() && state.loading {
        Some(vec![Line::from(Span::styled("Loading gigs…", theme.dim()))])
    } else if visible.is_empty() && !state.search.is_empty() {
        Some(vec![
            Line::from("No gig matches the search."),
            Line::from(Span::styled("Esc clears it.", theme.dim())),
        ])
    } else if visible.is_empty() {
        Some(vec![
            Line::from("No gigs here yet."),
            Line::from(Span::styled(
                "Try another category, or r to refresh.",
                theme.dim(),
            )),
        ])
    } else {
        None
    };
    if let Some(lines) = notice {
        frame.render_widget(
            Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let items: Vec<ListItem<'_>> = visible.iter().map(|gig| row(gig, state)).collect();
    // A local selection for this frame only: drawing never writes back into the state.
    let mut selection = ListState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(block)
            .highlight_style(theme.selected()),
        area,
        &mut selection,
    );
}

/// Whether `gig` is live and the account holds a ticket for it: the show it came for is on.
fn on_now(gig: &Gig, state: &State) -> bool {
    gig.status == GigStatus::Live && state.held.contains(&gig.id)
}

/// One list row: the LIVE badge or the start time, then the title and billed name.
fn row<'a>(gig: &'a Gig, state: &State) -> ListItem<'a> {
    ListItem::new(Line::from(row_spans(gig, state)))
}

/// The spans of [`row`].
fn row_spans<'a>(gig: &'a Gig, state: &State) -> Vec<Span<'a>> {
    let theme = Theme::new(state.color);
    let when = if gig.status == GigStatus::Live {
        Span::styled(" LIVE ", theme.live())
    } else {
        Span::styled(state.zone.short(gig.starts_at), theme.dim())
    };
    let pad = 13usize.saturating_sub(when.width());
    let mut spans = vec![when, Span::raw(" ".repeat(pad))];
    if on_now(gig, state) {
        spans.push(Span::styled("★ ", theme.accent()));
    }
    spans.extend([
        Span::raw(gig.title.as_str()),
        Span::styled(format!(" · {}", gig.creator_name), theme.dim()),
    ]);
    if let Some(until) = replay_until(gig) {
        spans.push(Span::styled(
            format!(" · replay until {}", state.zone.short(until)),
            theme.accent(),
        ));
    }
    spans
}

/// Until when `gig` can be watched as a replay, when it is one (it ended, its window is open).
fn replay_until(gig: &Gig) -> Option<time::OffsetDateTime> {
    gig.replay_until.filter(|_| replayable(gig))
}

/// The selected gig's details: title, host, category, local date and time range, price,
/// seats left, status and description.
fn detail(frame: &mut Frame<'_>, area: Rect, state: &State, gig: Option<&Gig>) {
    let theme = Theme::new(state.color);
    let block = Block::bordered().title(" Gig ");
    let Some(gig) = gig else {
        frame.render_widget(
            Paragraph::new(Span::styled("Nothing selected.", theme.dim())).block(block),
            area,
        );
        return;
    };
    let field = |label: &'static str, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<11}"), theme.dim()),
            Span::raw(value),
        ])
    };
    let seats = match gig.seats_left {
        None => "unlimited".to_owned(),
        Some(0) => "sold out".to_owned(),
        Some(n) => n.to_string(),
    };
    let mut title = vec![Span::styled(gig.title.as_str(), theme.accent())];
    if gig.status == GigStatus::Live {
        title.push(Span::raw(" "));
        title.push(Span::styled(" LIVE ", theme.live()));
    }
    if on_now(gig, state) {
        let open = state.keymap.first_key("open").unwrap_or_default();
        title.push(Span::styled(
            format!(" ★ your show is on: {open} to go in"),
            theme.accent(),
        ));
    }
    let mut lines = vec![
        Line::from(title),
        Line::from(format!("by {}", gig.creator_name)),
        Line::from(""),
        field("Category", gig.category.to_string()),
        field("Date", state.zone.date(gig.starts_at)),
        field("Time", state.zone.range(gig.starts_at, gig.ends_at)),
        field("Price", gig.price.to_string()),
        field("Seats left", seats),
        field("Status", gig.status.as_str().to_owned()),
    ];
    if let Some(until) = replay_until(gig) {
        let open = state.keymap.first_key("open").unwrap_or_default();
        let how = if state.may_enter(gig) {
            format!(" ({open} to watch)")
        } else {
            String::new()
        };
        lines.push(field(
            "Replay",
            format!(
                "until {} {}{how}",
                state.zone.date(until),
                state.zone.clock(until)
            ),
        ));
    }
    lines.push(Line::from(""));
    if gig.description.is_empty() {
        lines.push(Line::from(Span::styled("No description.", theme.dim())));
    } else {
        lines.push(Line::from(gig.description.as_str()));
    }
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}

/// "My tickets": one row per ticket (LIVE badge or start time, title, price paid, refunded).
fn tickets(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let title = if state.tickets_loading {
        " My tickets (loading…) ".to_owned()
    } else {
        format!(" My tickets ({}) ", state.tickets.len())
    };
    let block = Block::bordered().title(title);
    let notice = if let Some(error) = &state.tickets_error {
        Some(vec![
            Line::from(Span::styled("Could not load your tickets", theme.error())),
            Line::from(error.as_str()),
            Line::from(""),
            Line::from(Span::styled("Press t to try again.", theme.dim())),
        ])
    } else if state.tickets.is_empty() && state.tickets_loading {
        Some(vec![Line::from(Span::styled(
            "Loading your tickets…",
            theme.dim(),
        ))])
    } else if state.tickets.is_empty() {
        Some(vec![
            Line::from("No tickets yet."),
            Line::from(Span::styled(
                "Esc for the catalogue, then b on a gig to buy one.",
                theme.dim(),
            )),
        ])
    } else {
        None
    };
    if let Some(lines) = notice {
        frame.render_widget(
            Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let items: Vec<ListItem<'_>> = state
        .tickets
        .iter()
        .map(|mine| {
            let mut spans = vec![Span::styled(
                format!("{:13}paid {}", "", mine.ticket.price),
                theme.dim(),
            )];
            if mine.ticket.status == bookmygig_api::TicketStatus::Refunded {
                spans.push(Span::styled(" refunded", theme.error()));
            }
            ListItem::new(Text::from(vec![
                Line::from(row_spans(&mine.gig, state)),
                Line::from(spans),
            ]))
        })
        .collect();
    let mut selection = ListState::default().with_selected(Some(state.ticket_selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(block)
            .highlight_style(theme.selected()),
        area,
        &mut selection,
    );
}
