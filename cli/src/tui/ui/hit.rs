//! What a left click means: the cell is looked up in the same layouts the screens are drawn
//! with (the `split` functions of each screen), so a click always lands on what is shown there.

use ratatui::layout::{Position, Rect};

use super::{MIN_HEIGHT, MIN_WIDTH, catalogue, frame_split, my_gigs, room, wallet};
use crate::tui::action::Action;
use crate::tui::app::{Screen, State};

/// The action of a left click at (`column`, `row`) on a screen of size `area`, if any.
/// Dialogs and overlays take no clicks (their keys are few and shown).
pub fn click(state: &State, area: Rect, column: u16, row: u16) -> Option<Action> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    if state.help || state.buy.is_some() || state.form.is_some() || state.wallet.top_up.is_some() {
        return None;
    }
    let at = Position::new(column, row);
    let [top, body, _] = frame_split(area);
    if top.contains(at) {
        return match state.screen {
            Screen::Room => None,
            _ => catalogue::tab_at(column).map(Action::SelectTab),
        };
    }
    if !body.contains(at) {
        return None;
    }
    match state.screen {
        Screen::Catalogue => {
            let [list, _] = catalogue::split(body);
            row_of(list, at, state.selected, 0).map(Action::Select)
        }
        Screen::Tickets => {
            let [list, _] = catalogue::split(body);
            row_of(list, at, state.ticket_selected, 0).map(Action::Select)
        }
        Screen::MyGigs => {
            let [list, _, _] = my_gigs::split(body, &state.my_gigs);
            row_of(list, at, state.my_gigs.selected, 0).map(Action::Select)
        }
        Screen::Wallet => {
            let [_, history] = wallet::split(body, &state.wallet);
            // One header row above the entries.
            row_of(history, at, state.wallet.selected, 1).map(Action::Select)
        }
        Screen::Room => {
            let video = state
                .room
                .as_ref()
                .is_some_and(|room| room.video_in_terminal());
            let [_, chat] = room::split(body, video);
            let [_, input] = room::chat_split(chat);
            (input.contains(at) && state.room.as_ref().is_some_and(|room| !room.typing))
                .then_some(Action::Open)
        }
        Screen::Gig => None,
    }
}

/// The index of the list row at `at` in a bordered list drawn in `area` with `selected`
/// selected, after `header` rows. ratatui scrolls a fresh list just enough to show the
/// selection, so the first row shown is the same computation here.
fn row_of(area: Rect, at: Position, selected: usize, header: u16) -> Option<usize> {
    let top = area.y + 1 + header;
    let bottom = area.y + area.height.saturating_sub(1);
    if !area.contains(at)
        || at.y < top
        || at.y >= bottom
        || at.x == area.x
        || at.x + 1 == area.x + area.width
    {
        return None;
    }
    let visible = usize::from(bottom - top);
    let offset = (selected + 1).saturating_sub(visible);
    Some(offset + usize::from(at.y - top))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Zone;

    fn screen() -> Rect {
        Rect::new(0, 0, 80, 24)
    }

    #[test]
    fn a_click_on_a_tab_selects_it() {
        let state = State::for_tests(Zone::Local);
        // " BookMyGig " then " All " (11..16), "│", " Comedy " (17..25).
        assert_eq!(click(&state, screen(), 12, 0), Some(Action::SelectTab(0)));
        assert_eq!(click(&state, screen(), 18, 0), Some(Action::SelectTab(1)));
        assert_eq!(click(&state, screen(), 3, 0), None);
    }

    #[test]
    fn a_click_on_a_list_row_selects_that_row() {
        let state = State::for_tests(Zone::Local);
        // Tabs on row 0, the list's border on row 1, its first row on row 2.
        assert_eq!(click(&state, screen(), 5, 2), Some(Action::Select(0)));
        assert_eq!(click(&state, screen(), 5, 4), Some(Action::Select(2)));
        assert_eq!(click(&state, screen(), 5, 1), None, "the border");
        assert_eq!(click(&state, screen(), 60, 4), None, "the detail pane");
    }

    #[test]
    fn a_scrolled_list_counts_from_the_first_row_shown() {
        let mut state = State::for_tests(Zone::Local);
        // 20 rows fit (24 - tabs - status - 2 borders); the 31st selected shows rows 11..=30.
        state.selected = 30;
        assert_eq!(click(&state, screen(), 5, 2), Some(Action::Select(11)));
    }

    #[test]
    fn overlays_take_no_clicks() {
        let mut state = State::for_tests(Zone::Local);
        state.help = true;
        assert_eq!(click(&state, screen(), 5, 2), None);
    }
}
