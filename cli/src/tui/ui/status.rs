//! The status line: the search being typed (with its count of matches) or the last message on
//! the left; who is signed in,
//! the monetization state and the help hint on the right.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use bookmygig_api::{MonetizationEvent, Money};

use crate::tui::app::{Monetization, State};

/// What the status line says about money (DESIGN.md §1): "contributing to \<creator pointer>"
/// while paying the creator of the gig in the room, "supporting BookMyGig" while paying the
/// platform, "stopped" when the wallet ran dry. A wallet empty from the start (nothing paid
/// since the channel opened: a new account, say) is no alarm: the line says how to fill it.
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
        Monetization::State(MonetizationEvent::Stopped { total, .. }) if *total == Money::ZERO => {
            let wallet = state.keymap.first_key("wallet").unwrap_or_default();
            format!("wallet: {wallet} to add funds")
        }
        Monetization::State(MonetizationEvent::Stopped { .. }) => {
            "payments stopped: wallet empty".to_owned()
        }
    }
}

/// Longest title of a live gig on the status line.
const LIVE_TITLE: usize = 24;

/// `★ LIVE: <title> · ` while a gig the account holds a ticket for is live (and its room is
/// not the one open: the room says so itself); `+N` more when several are.
fn on_now(state: &State) -> String {
    let in_room = state.room.as_ref().map(|room| room.gig.id);
    let live: Vec<&String> = state
        .live
        .live
        .iter()
        .filter(|(id, _)| Some(**id) != in_room)
        .map(|(_, title)| title)
        .collect();
    let Some(first) = live.first() else {
        return String::new();
    };
    let mut title: String = first.chars().take(LIVE_TITLE).collect();
    if first.chars().count() > LIVE_TITLE {
        title.push('…');
    }
    let more = match live.len() {
        1 => String::new(),
        n => format!(" +{}", n - 1),
    };
    format!("★ LIVE: {title}{more} · ")
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
    let right = format!(
        " {}{who}{} · {help} help ",
        on_now(state),
        monetization(state)
    );
    let width = u16::try_from(right.chars().count()).unwrap_or(u16::MAX);
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(width)]).areas(area);
    let left = if state.searching {
        // After the cursor: the count of matches, "searching…", or why a key was refused.
        Line::from(vec![
            Span::styled(" /", theme.accent()),
            Span::raw(state.search.as_str()),
            Span::styled("▏", theme.accent()),
            Span::styled(format!(" {}", state.status), theme.dim()),
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

#[cfg(test)]
mod tests {
    use bookmygig_api::{MonetizationEvent, Money, StopReason};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::tui::app::Zone;

    /// The status line of `state`, 100 columns wide, as text.
    fn drawn(state: &State) -> String {
        let mut terminal =
            Terminal::new(TestBackend::new(100, 1)).unwrap_or_else(|e| panic!("{e}"));
        terminal
            .draw(|frame| line(frame, frame.area(), state))
            .unwrap_or_else(|e| panic!("{e}"));
        terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|cell| cell.symbol())
            .collect()
    }

    fn stopped(total: Money) -> Monetization {
        Monetization::State(MonetizationEvent::Stopped {
            reason: StopReason::WalletEmpty,
            total,
        })
    }

    #[test]
    fn a_wallet_empty_from_the_start_is_no_alarm_but_one_that_ran_dry_is() {
        let mut state = State::for_tests(Zone::Local);
        state.monetization = stopped(Money::ZERO);
        let line = drawn(&state);
        assert!(line.contains("wallet: w to add funds"), "{line}");
        assert!(!line.contains("stopped"), "{line}");
        state.monetization = stopped(Money(10));
        assert!(drawn(&state).contains("payments stopped: wallet empty"));
    }

    #[test]
    fn a_held_gig_that_is_live_is_flagged_unless_its_room_is_open() {
        let mut state = State::for_tests(Zone::Local);
        let gigs = crate::tui::sample::gigs();
        state.live.live.insert(gigs[0].id, gigs[0].title.clone());
        let line = drawn(&state);
        assert!(line.contains("★ LIVE: Late-night jazz trio · "), "{line}");
        state.live.live.insert(gigs[1].id, gigs[1].title.clone());
        assert!(drawn(&state).contains(" +1 · "));
        state.room = Some(crate::tui::room::Room::new(1, gigs[0].clone()));
        state.live.live.remove(&gigs[1].id);
        assert!(!drawn(&state).contains("★"), "the room says so itself");
    }
}
