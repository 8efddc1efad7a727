//! The status line: the search being typed or the last message on the left; who is signed in,
//! the monetization state and the help hint on the right.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use bookmygig_api::MonetizationEvent;

use crate::tui::app::{Monetization, State};

/// What the status line says about money (DESIGN.md §1): "contributing to \<creator pointer>"
/// while paying the creator of the gig in the room, "supporting BookMyGig" while paying the
/// platform, "stopped" when the wallet is empty.
fn monetization(state: &State) -> String {
    match &state.monetization {
        Monetization::Off => "not signed in".to_owned(),
        Monetization::Connecting => "payments: connecting…".to_owned(),
        Monetization::Lost(_) => "payments: reconnecting…".to_owned(),
        Monetization::State(MonetizationEvent::Pending { .. }) => {
            "payments: setting up…".to_owned()
        }
        Monetization::State(MonetizationEvent::Started { recipient, .. }) => {
            match state
                .room
                .as_ref()
                .filter(|room| room.gig.payment_url == *recipient)
            {
                Some(room) => format!("contributing to {}", room.gig.payment_pointer),
                None => "supporting BookMyGig".to_owned(),
            }
        }
        Monetization::State(MonetizationEvent::Stopped { .. }) => {
            "payments stopped: wallet empty".to_owned()
        }
    }
}

/// Draws the status line into `area` (one row).
pub fn line(frame: &mut Frame<'_>, area: Rect, state: &State) {
    let theme = Theme::new(state.color);
    let who = state
        .me
        .as_ref()
        .map(|me| format!("@{} · ", me.handle))
        .unwrap_or_default();
    let help = state.keymap.first_key("help").unwrap_or_default();
    // A space first: a long message on the left stops short of it.
    let right = format!(" {who}{} · {help} help ", monetization(state));
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
