//! "My gigs", for creators: the list of one's gigs, and beside it the selected one's status,
//! OBS settings (the stream key hidden until asked for), earnings, and a chart of its ticket and
//! streaming income over time.

use bookmygig_api::GigStatus;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Chart, Dataset, GraphType, List, ListItem, ListState, Paragraph, Wrap,
};

use super::theme::Theme;
use crate::tui::app::State;
use crate::tui::my_gigs::EarningsSeries;

/// The list and the detail pane's areas.
pub fn split(body: Rect) -> [Rect; 2] {
    Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(body)
}

/// The list and the detail pane.
pub fn body(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let [list_area, detail_area] = split(area);
    list(frame, list_area, state);
    detail(frame, detail_area, state);
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

/// Ticket and streaming income over time, as running totals.
fn chart(frame: &mut Frame<'_>, area: Rect, state: &State, series: &EarningsSeries) {
    let theme = Theme::new(state.color);
    if area.height < 4 {
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
