//! "My gigs", for creators: the list of one's gigs, and beside it the selected one's status,
//! replay window (with the key that changes it), OBS settings (the stream key hidden until
//! asked for), earnings (what was paid out, what a payout would send now), and a chart of its
//! ticket and streaming income over time; below both, the payouts, newest first.

use bookmygig_api::{Gig, GigStatus, Money, Payout, PayoutState};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Chart, Dataset, GraphType, List, ListItem, ListState, Paragraph, Wrap,
};

use super::theme::Theme;
use crate::tui::app::State;
use crate::tui::my_gigs::{EarningsSeries, MyGigsView, has_ended, replay_words};

/// Columns of the detail pane's labels.
const LABEL: usize = 14;

/// The list, the detail pane and (when there are gigs) the payouts below both: one row per
/// payout shown, at most a fifth of the body, with a row under each failed or waiting one.
pub fn split(body: Rect, view: &MyGigsView) -> [Rect; 3] {
    let rows = if view.data.payouts.is_empty() {
        // The notice that there are none (nothing at all before the first gig).
        if view.data.gigs.is_empty() { 0 } else { 3 }
    } else {
        let wanted: usize = view
            .data
            .payouts
            .iter()
            .map(|payout| if payout.error.is_some() { 2 } else { 1 })
            .sum();
        let most = usize::from(body.height / 5).max(1);
        // Borders and the header row around the rows.
        u16::try_from(wanted.clamp(1, most) + 3).unwrap_or(u16::MAX)
    };
    let [top, payouts] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(rows)]).areas(body);
    let [list, detail] =
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(top);
    [list, detail, payouts]
}

/// The list, the detail pane and the payouts.
pub fn body(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let [list_area, detail_area, payouts_area] = split(area, &state.my_gigs);
    list(frame, list_area, state);
    detail(frame, detail_area, state);
    if payouts_area.height > 0 {
        payouts(frame, payouts_area, state);
    }
}

/// The gigs, or the loading / error / empty notice.
fn list(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let view = &state.my_gigs;
    let title = if view.loading {
        " My gigs (loading…) ".to_owned()
    } else {
        format!(" My gigs ({}) ", view.data.gigs.len())
    };
    let block = Block::bordered().title(title);
    let key = |name| state.keymap.first_key(name).unwrap_or_default();
    let notice = if let Some(error) = &view.error {
        Some(vec![
            Line::from(Span::styled("Could not load your gigs", theme.error())),
            Line::from(error.as_str()),
            Line::from(""),
            Line::from(Span::styled(
                format!("Press {} to retry.", key("refresh")),
                theme.dim(),
            )),
        ])
    } else if view.data.gigs.is_empty() && view.loading {
        Some(vec![Line::from(Span::styled("Loading…", theme.dim()))])
    } else if view.data.gigs.is_empty() {
        Some(vec![
            Line::from("You have no gigs yet."),
            Line::from(Span::styled(
                "Register one with `bookmygig gig register`.",
                theme.dim(),
            )),
        ])
    } else {
        None
    };
    if let Some(lines) = notice {
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
            area,
        );
        return;
    }
    let items: Vec<ListItem<'_>> = view
        .data
        .gigs
        .iter()
        .map(|gig| {
            let mut spans = if gig.status == GigStatus::Live {
                vec![Span::styled(" LIVE ", theme.live()), Span::raw("    ")]
            } else {
                vec![Span::styled(
                    format!("{:<10}", gig.status.as_str()),
                    theme.dim(),
                )]
            };
            spans.extend([
                Span::styled(state.zone.short(gig.starts_at), theme.dim()),
                Span::raw(" "),
                Span::raw(gig.title.as_str()),
            ]);
            ListItem::new(Line::from(spans))
        })
        .collect();
    let mut list_state = ListState::default().with_selected(Some(view.selected));
    frame.render_stateful_widget(
        List::new(items)
            .highlight_style(theme.selected())
            .block(block),
        area,
        &mut list_state,
    );
}

/// The selected gig's facts, OBS settings, earnings and chart.
fn detail(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let view = &state.my_gigs;
    let block = Block::bordered().title(" Gig ");
    let Some(gig) = view.gig() else {
        frame.render_widget(
            Paragraph::new(Span::styled("Nothing selected.", theme.dim())).block(block),
            area,
        );
        return;
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let key = |name| state.keymap.first_key(name).unwrap_or_default();
    let field = |label: &'static str, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<14}"), theme.dim()),
            Span::raw(value),
        ])
    };
    let stream_key = match (&gig.stream_key, view.key_shown) {
        (Some(stream_key), true) => Span::raw(stream_key.expose().to_owned()),
        (Some(_), false) => Span::styled(
            format!("•••••••• ({} shows)", key("reveal_key")),
            theme.dim(),
        ),
        (None, _) => Span::styled("–", theme.dim()),
    };
    let mut lines = vec![
        Line::from(Span::styled(gig.title.as_str(), theme.accent())),
        field(
            "When",
            format!(
                "{} {}",
                state.zone.date(gig.starts_at),
                state.zone.range(gig.starts_at, gig.ends_at)
            ),
        ),
        field("Status", gig.status.as_str().to_owned()),
        replay_line(state, gig, &theme, usize::from(inner.width)),
        field(
            "OBS server",
            gig.rtmp_url.clone().unwrap_or_else(|| "–".to_owned()),
        ),
        Line::from(vec![
            Span::styled(format!("{:<14}", "Stream key"), theme.dim()),
            stream_key,
        ]),
    ];
    match view.earnings() {
        Some(earnings) => {
            lines.push(field(
                "Tickets sold",
                format!(
                    "{} for {} (refunds {})",
                    earnings.tickets_sold, earnings.ticket_revenue, earnings.refunds
                ),
            ));
            lines.push(field("Streaming", earnings.micropayments.to_string()));
            lines.push(Line::from(vec![
                Span::styled(format!("{:<14}", "Net"), theme.dim()),
                Span::styled(earnings.net.to_string(), theme.accent()),
                Span::styled(
                    format!(" (listing fee {})", earnings.listing_fee),
                    theme.dim(),
                ),
            ]));
            let paid_out = Money::ZERO
                .checked_sub(earnings.paid_out)
                .unwrap_or(earnings.paid_out);
            let hint = if view.requesting == Some(gig.id) {
                " (asking…)".to_owned()
            } else if earnings.payable <= Money::ZERO {
                String::new()
            } else if has_ended(gig, state.now) {
                format!(" ({} pays out)", key("pay_out"))
            } else {
                " (once it has ended)".to_owned()
            };
            lines.push(field("Paid out", paid_out.to_string()));
            lines.push(Line::from(vec![
                Span::styled(format!("{:<14}", "Payable"), theme.dim()),
                Span::styled(earnings.payable.to_string(), theme.accent()),
                Span::styled(hint, theme.dim()),
            ]));
        }
        None => lines.push(field("Earnings", "–".to_owned())),
    }
    let text_height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let [text_area, chart_area] =
        Layout::vertical([Constraint::Length(text_height), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), text_area);
    chart(
        frame,
        chart_area,
        state,
        &EarningsSeries::of(gig.id, &view.data.entries),
    );
}

/// The selected gig's replay window: `48 h · until Tue 8 Dec 19:00`, `48 h after the end`
/// before the show, `48 h · no recording` after one never on air, `no replay`; `(saving…)` while the server has not confirmed a change; and
/// the key that changes it (`(e changes)`, or `(e)` when `width` is short of that).
fn replay_line(state: &State, gig: &Gig, theme: &Theme, width: usize) -> Line<'static> {
    let view = &state.my_gigs;
    let (hours, unconfirmed) = view.replay_hours().unwrap_or((gig.replay_hours, false));
    let words = replay_words(hours);
    let value = match gig.replay_until {
        _ if unconfirmed || hours == 0 => words,
        Some(until) if until <= state.now => {
            format!("{words} · closed {}", state.zone.day_time(until))
        }
        Some(until) => format!("{words} · until {}", state.zone.day_time(until)),
        // Over without a window: it never went on air, or its recording was deleted.
        None if has_ended(gig, state.now) => format!("{words} · no recording"),
        None => format!("{words} after the end"),
    };
    let hint = if unconfirmed {
        " (saving…)".to_owned()
    } else if gig.status == GigStatus::Cancelled {
        String::new()
    } else {
        let key = state.keymap.first_key("replay_window").unwrap_or_default();
        let room = width.saturating_sub(LABEL + value.chars().count());
        let long = format!(" ({key} changes)");
        if long.chars().count() <= room {
            long
        } else {
            format!(" ({key})")
        }
    };
    Line::from(vec![
        Span::styled(format!("{:<LABEL$}", "Replay"), theme.dim()),
        Span::raw(value),
        Span::styled(hint, theme.dim()),
    ])
}

/// Ticket and streaming income over time, as running totals.
fn chart(frame: &mut Frame<'_>, area: Rect, state: &State, series: &EarningsSeries) {
    let theme = Theme::new(state.color);
    // Fewer rows than this draw a flat line that says nothing.
    if area.height < 6 {
        return;
    }
    let (Some(start), Some(end)) = (series.start, series.end) else {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "No income yet: ticket sales and streaming payments will be charted here.",
                theme.dim(),
            ))
            .wrap(Wrap { trim: true }),
            area,
        );
        return;
    };
    let last_t = series
        .tickets
        .iter()
        .chain(&series.micropayments)
        .map(|(t, _)| *t)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let top = series
        .tickets
        .iter()
        .chain(&series.micropayments)
        .map(|(_, dollars)| *dollars)
        .fold(0.0_f64, f64::max)
        .max(0.01);
    let datasets = vec![
        Dataset::default()
            .name("tickets")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.accent())
            .data(&series.tickets),
        Dataset::default()
            .name("streaming")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.chart())
            .data(&series.micropayments),
    ];
    let chart = Chart::new(datasets)
        .block(Block::new().title(Span::styled("Income over time", theme.dim())))
        .x_axis(
            Axis::default()
                .bounds([0.0, last_t])
                .labels([
                    Span::raw(state.zone.short(start)),
                    Span::raw(state.zone.short(end)),
                ])
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top * 1.1])
                .labels([Span::raw("$0"), Span::raw(format!("${top:.2}"))])
                .style(theme.dim()),
        );
    frame.render_widget(chart, area);
}

/// The payouts, newest first: when, the gig, the amount, where it went and its state; under a
/// failed or waiting one, why.
fn payouts(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let view = &state.my_gigs;
    let list = &view.data.payouts;
    let under_way = list.iter().filter(|p| !p.state.is_final()).count();
    let title = if under_way > 0 {
        format!(" Payouts ({}, {under_way} on the way) ", list.len())
    } else {
        format!(" Payouts ({}) ", list.len())
    };
    let block = Block::bordered().title(title);
    if list.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "No payouts yet: earnings are paid out a while after each gig ends.",
                theme.dim(),
            ))
            .block(block),
            area,
        );
        return;
    }
    let width = usize::from(block.inner(area).width);
    let columns = Columns::fit(width);
    let mut lines = vec![Line::from(Span::styled(
        columns.row("When", "Gig", "Amount", "To", "State"),
        theme.dim(),
    ))];
    for payout in list {
        lines.extend(payout_lines(payout, state, &columns, width, &theme));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The widths of the payouts' columns in `width` cells: the gig and the destination share
/// what the date, the amount and the state leave.
struct Columns {
    /// The gig's title.
    gig: usize,
    /// The destination.
    to: usize,
}

impl Columns {
    /// `May 02 21:40`.
    const WHEN: usize = 12;
    /// `$10,000.00`.
    const AMOUNT: usize = 10;
    /// `requested`.
    const STATE: usize = 9;

    /// The columns in `width` cells.
    fn fit(width: usize) -> Self {
        let rest = width.saturating_sub(Self::WHEN + Self::AMOUNT + Self::STATE + 8);
        let gig = (rest * 2 / 5).max(4);
        Self {
            gig,
            to: rest.saturating_sub(gig).max(4),
        }
    }

    /// One row, each cell clipped to its column.
    fn row(&self, when: &str, gig: &str, amount: &str, to: &str, state: &str) -> String {
        format!(
            "{:<w$}  {:<g$}  {:>a$}  {:<t$}  {state}",
            clip(when, Self::WHEN),
            clip(gig, self.gig),
            clip(amount, Self::AMOUNT),
            clip(to, self.to),
            w = Self::WHEN,
            g = self.gig,
            a = Self::AMOUNT,
            t = self.to,
        )
    }
}

/// A payout's row, and under it the reason of a failed or waiting one.
fn payout_lines(
    payout: &Payout,
    state: &State,
    columns: &Columns,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let view = &state.my_gigs;
    let gig = view
        .title_of(payout.gig_id)
        .map_or_else(|| payout.gig_id.to_string(), str::to_owned);
    let state_word = match payout.state {
        PayoutState::Requested => "requested",
        PayoutState::Sending => "sending",
        PayoutState::Sent => "sent",
        PayoutState::Failed => "failed",
    };
    let text = columns.row(
        &state.zone.short(payout.created_at),
        &gig,
        &payout.amount.to_string(),
        &payout.to,
        state_word,
    );
    let style = match payout.state {
        PayoutState::Failed => theme.error(),
        PayoutState::Sent => theme.dim(),
        PayoutState::Requested | PayoutState::Sending => theme.accent(),
    };
    let mut lines = vec![Line::from(Span::styled(text, style))];
    if let Some(error) = &payout.error {
        let indent = " ".repeat(Columns::WHEN + 2);
        let why = if payout.state == PayoutState::Failed {
            format!("{indent}↳ {error}")
        } else {
            format!("{indent}↳ waiting: {error}")
        };
        lines.push(Line::from(Span::styled(clip(&why, width), style)));
    }
    lines
}

/// `text` cut to `width` characters, with `…` when cut.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
