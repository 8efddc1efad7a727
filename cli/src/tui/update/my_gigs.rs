//! "My gigs" in [`update`](super::update()): loading, moving the selection (which hides the
//! stream key again).

use crate::tui::action::Effect;
use crate::tui::app::{Screen, State};
use crate::tui::my_gigs::CreatorData;

/// Shows "My gigs", loading them afresh.
pub(super) fn open(state: &mut State) -> Vec<Effect> {
    state.screen = Screen::MyGigs;
    state.my_gigs.loading = true;
    state.my_gigs.key_shown = false;
    vec![Effect::FetchCreatorData]
}

/// The data arrived.
pub(super) fn loaded(state: &mut State, result: Result<CreatorData, String>) {
    let view = &mut state.my_gigs;
    view.loading = false;
    match result {
        Ok(data) => {
            view.error = None;
            view.data = data;
            view.selected = view.selected.min(view.data.gigs.len().saturating_sub(1));
        }
        Err(reason) => view.error = Some(reason),
    }
}

/// Moves the selection; a secret shown for one gig is not left showing for the next.
pub(super) fn move_selection(state: &mut State, down: bool) {
    let view = &mut state.my_gigs;
    let before = view.selected;
    view.selected = if down {
        (view.selected + 1).min(view.data.gigs.len().saturating_sub(1))
    } else {
        view.selected.saturating_sub(1)
    };
    if view.selected != before {
        view.key_shown = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::action::Action;
    use crate::tui::app::Zone;
    use crate::tui::sample;
    use crate::tui::update::update;

    #[test]
    fn the_key_is_hidden_until_asked_for_and_again_after_moving() {
        let mut state = State::for_tests(Zone::Local);
        assert_eq!(
            update(&mut state, Action::MyGigs),
            [Effect::FetchCreatorData]
        );
        update(
            &mut state,
            Action::CreatorLoaded(Ok(CreatorData {
                gigs: sample::gigs(),
                ..CreatorData::default()
            })),
        );
        assert!(!state.my_gigs.key_shown);
        update(&mut state, Action::RevealKey);
        assert!(state.my_gigs.key_shown);
        update(&mut state, Action::Down);
        assert_eq!(state.my_gigs.selected, 1);
        assert!(!state.my_gigs.key_shown);
    }

    #[test]
    fn enter_on_a_gig_of_ones_own_enters_its_room() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::MyGigs);
        update(
            &mut state,
            Action::CreatorLoaded(Ok(CreatorData {
                gigs: sample::gigs(),
                ..CreatorData::default()
            })),
        );
        let effects = update(&mut state, Action::Open);
        assert_eq!(state.screen, Screen::Room);
        assert!(matches!(effects[..], [Effect::JoinRoom { .. }]));
    }
}
