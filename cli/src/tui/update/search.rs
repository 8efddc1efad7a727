//! The search line in [`update`](super::update()): the text is sent to the server as it is
//! typed, once the typing pauses for [`SEARCH_DEBOUNCE`] (measured by the clock's ticks), and
//! never past the server's limits (characters and words), so no request is sent that the
//! server would refuse. Answers to earlier requests are dropped by the catalogue's request
//! counter, as for any listing.

use bookmygig_api::limits::SEARCH_MAX;
use time::OffsetDateTime;

use crate::form::{SEARCH_WORDS_MAX, search_words};
use crate::tui::action::Effect;
use crate::tui::app::{SEARCH_DEBOUNCE, Screen, State};

/// `/`: keys go to the search line (the status line keeps the count of a search listed).
pub(super) fn start(state: &mut State) {
    state.searching = true;
    state.screen = Screen::Catalogue;
    if state.listing.q.is_none() {
        state.status.clear();
    }
}

/// A character typed: taken unless the text would go past the server's limits (the status
/// line says which).
pub(super) fn input(state: &mut State, c: char) {
    let mut text = state.search.clone();
    text.push(c);
    if text.chars().count() > SEARCH_MAX {
        state.status = format!("a search has at most {SEARCH_MAX} characters");
        return;
    }
    if search_words(&text) > SEARCH_WORDS_MAX {
        state.status = format!("a search has at most {SEARCH_WORDS_MAX} words");
        return;
    }
    state.search = text;
    edited(state);
}

/// The last character deleted.
pub(super) fn backspace(state: &mut State) {
    if state.search.pop().is_some() {
        edited(state);
    }
}

/// Enter: typing ends; a change not sent yet is sent now.
pub(super) fn submit(state: &mut State) -> Vec<Effect> {
    state.searching = false;
    if state.search_pending {
        send(state)
    } else {
        Vec::new()
    }
}

/// Esc: the text is cleared and the catalogue loaded without it (unless nothing was searched).
pub(super) fn cancel(state: &mut State) -> Vec<Effect> {
    state.searching = false;
    let searched = !state.search.is_empty() || state.listing.q.is_some();
    state.search.clear();
    state.search_pending = false;
    state.search_due = None;
    state.selected = 0;
    state.status.clear();
    if searched {
        super::fetch(state)
    } else {
        Vec::new()
    }
}

/// The clock: the first tick after a change sets when it is sent; the tick at or after that
/// sends it (a change in between starts the wait again).
pub(super) fn tick(state: &mut State, now: OffsetDateTime) -> Vec<Effect> {
    if !state.search_pending {
        return Vec::new();
    }
    match state.search_due {
        None => {
            state.search_due = Some(now + SEARCH_DEBOUNCE);
            Vec::new()
        }
        Some(due) if due <= now => send(state),
        Some(_) => Vec::new(),
    }
}

/// The text changed: it is sent once the typing pauses, unless it asks what the listing asks
/// already (a space typed, a letter typed and deleted).
fn edited(state: &mut State) {
    state.search_pending = super::query(state).q != state.listing.q;
    state.search_due = None;
    state.status.clear();
}

/// Sends the text now.
fn send(state: &mut State) -> Vec<Effect> {
    let effects = super::fetch(state);
    state.status = "searching…".to_owned();
    effects
}

/// The status line's count of a search's results: `20+ gigs match` while more pages follow.
pub(super) fn matches(loaded: usize, more: bool) -> String {
    match (loaded, more) {
        (0, false) => "no gig matches".to_owned(),
        (1, false) => "1 gig matches".to_owned(),
        (n, false) => format!("{n} gigs match"),
        (n, true) => format!("{n}+ gigs match"),
    }
}

#[cfg(test)]
mod tests {
    use bookmygig_api::Page;
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::tui::action::Action;
    use crate::tui::app::Zone;
    use crate::tui::sample;
    use crate::tui::update::update;

    const T0: OffsetDateTime = datetime!(2026-05-02 18:00 UTC);

    /// The catalogue loaded, the search line open.
    fn searching() -> State {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Refresh);
        sample::answer_catalogue(&mut state, sample::gigs(), None);
        update(&mut state, Action::StartSearch);
        state
    }

    fn type_text(state: &mut State, text: &str) {
        for c in text.chars() {
            assert!(update(state, Action::SearchInput(c)).is_empty());
        }
    }

    fn tick(state: &mut State, millis: i64) -> Vec<Effect> {
        update(state, Action::Tick(T0 + Duration::milliseconds(millis)))
    }

    /// The search texts of the catalogue requests among `effects`.
    fn searches(effects: &[Effect]) -> Vec<Option<String>> {
        effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::FetchCatalogue { query, .. } => Some(query.q.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn typing_sends_one_request_with_the_whole_text_once_the_typing_pauses() {
        let mut state = searching();
        type_text(&mut state, "ja");
        assert!(tick(&mut state, 0).is_empty(), "the wait starts");
        type_text(&mut state, "zz");
        assert!(tick(&mut state, 100).is_empty(), "a key starts it again");
        assert!(tick(&mut state, 349).is_empty(), "before the delay");
        let effects = tick(&mut state, 350);
        assert_eq!(searches(&effects), [Some("jazz".to_owned())]);
        assert_eq!(state.status, "searching…");
        assert!(state.searching, "still typing");
        for millis in [400, 1_000, 5_000] {
            assert!(tick(&mut state, millis).is_empty(), "sent once");
        }
    }

    #[test]
    fn enter_sends_a_waiting_change_at_once_and_the_tick_sends_nothing_more() {
        let mut state = searching();
        type_text(&mut state, "salsa");
        let effects = update(&mut state, Action::SearchSubmit);
        assert_eq!(searches(&effects), [Some("salsa".to_owned())]);
        assert!(!state.searching);
        assert!(tick(&mut state, 0).is_empty());
        assert!(tick(&mut state, 1_000).is_empty());
    }

    #[test]
    fn text_that_asks_what_is_listed_already_sends_nothing() {
        let mut state = searching();
        type_text(&mut state, "jazz");
        update(&mut state, Action::SearchSubmit);
        update(&mut state, Action::StartSearch);
        type_text(&mut state, " ");
        update(&mut state, Action::SearchInput('x'));
        update(&mut state, Action::SearchBackspace);
        assert!(!state.search_pending);
        assert!(tick(&mut state, 0).is_empty());
        assert!(tick(&mut state, 1_000).is_empty());
        for _ in 0..3 {
            update(&mut state, Action::SearchBackspace);
        }
        tick(&mut state, 2_000);
        assert_eq!(
            searches(&tick(&mut state, 2_250)),
            [Some("ja".to_owned())],
            "fewer letters ask again"
        );
    }

    #[test]
    fn answers_to_earlier_texts_are_dropped_and_the_servers_rows_are_not_filtered_again() {
        let mut state = searching();
        type_text(&mut state, "slas");
        tick(&mut state, 0);
        assert_eq!(searches(&tick(&mut state, 250)), [Some("slas".to_owned())]);
        let earlier = state.request;
        type_text(&mut state, "a");
        tick(&mut state, 300);
        assert_eq!(searches(&tick(&mut state, 550)), [Some("slasa".to_owned())]);
        // The answer to "slasa" comes first: a typo match, and more pages of them.
        let typo_match = sample::gigs().swap_remove(1);
        let request = state.request;
        update(
            &mut state,
            Action::CatalogueLoaded {
                request,
                result: Ok(Page {
                    items: vec![typo_match.clone()],
                    next_cursor: Some("page-2".to_owned()),
                }),
            },
        );
        update(
            &mut state,
            Action::CatalogueLoaded {
                request: earlier,
                result: Ok(Page {
                    items: sample::gigs(),
                    next_cursor: None,
                }),
            },
        );
        let titles: Vec<&str> = state.visible().iter().map(|g| g.title.as_str()).collect();
        assert_eq!(titles, [typo_match.title.as_str()]);
        assert_eq!(state.status, "1+ gigs match");
    }

    #[test]
    fn the_count_says_how_many_match_and_whether_more_follow() {
        assert_eq!(matches(0, false), "no gig matches");
        assert_eq!(matches(1, false), "1 gig matches");
        assert_eq!(matches(7, false), "7 gigs match");
        assert_eq!(matches(20, true), "20+ gigs match");
    }

    #[test]
    fn no_key_goes_past_100_characters_or_8_words() {
        let mut state = searching();
        type_text(&mut state, &"é".repeat(SEARCH_MAX));
        update(&mut state, Action::SearchInput('x'));
        assert_eq!(state.search.chars().count(), SEARCH_MAX);
        assert_eq!(state.status, "a search has at most 100 characters");

        let mut state = searching();
        type_text(&mut state, "one two three four five six seven eight, ");
        update(&mut state, Action::SearchInput('n'));
        assert_eq!(state.search, "one two three four five six seven eight, ");
        assert_eq!(state.status, "a search has at most 8 words");
        // The eighth word may still grow, and a deleted word leaves room for another.
        update(&mut state, Action::SearchBackspace);
        update(&mut state, Action::SearchBackspace);
        type_text(&mut state, "y");
        assert_eq!(state.search, "one two three four five six seven eighty");
        assert_eq!(state.status, "", "taken");
        tick(&mut state, 0);
        assert_eq!(
            searches(&tick(&mut state, 250)),
            [Some("one two three four five six seven eighty".to_owned())]
        );
    }

    #[test]
    fn esc_clears_the_search_and_loads_the_catalogue_without_it() {
        let mut state = searching();
        type_text(&mut state, "jazz");
        tick(&mut state, 0);
        tick(&mut state, 250);
        let effects = update(&mut state, Action::SearchCancel);
        assert_eq!(searches(&effects), [None]);
        assert!(state.search.is_empty() && !state.searching && !state.search_pending);
        assert!(tick(&mut state, 1_000).is_empty());
        // Nothing searched: Esc only closes the line.
        update(&mut state, Action::StartSearch);
        assert!(update(&mut state, Action::SearchCancel).is_empty());
    }
}
