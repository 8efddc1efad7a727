//! The one place state changes: [`update`] applies an [`Action`] to the [`State`] and returns
//! the slow work it needs ([`Effect`]s) instead of doing it, so it is pure and tested directly.

use bookmygig_client::GigListQuery;

use super::action::{Action, Effect, MonetizationUpdate};
use super::app::{BuyDialog, BuyPhase, Monetization, Retry, Screen, State, TAB_COUNT};
use super::backoff::backoff_seconds;

mod buy;
mod live;
mod my_gigs;
mod room;
mod search;
mod sign_in;
mod wallet;

pub use wallet::WALLET_PAGE;

/// Rows moved by PageUp and PageDown.
const PAGE_ROWS: usize = 10;

/// Most gigs asked for per page.
pub const PAGE_SIZE: usize = 50;

/// The next page is fetched once the selection is this close to the last loaded row, so
/// scrolling rarely reaches the end before it arrives.
const PREFETCH_ROWS: usize = 5;

/// Applies `action` to `state`; returns the work to start in the background.
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let answer = matches!(
        action,
        Action::CatalogueLoaded { .. }
            | Action::MoreLoaded { .. }
            | Action::WalletLoaded(_)
            | Action::TicketsLoaded(_)
            | Action::TicketBought { .. }
            | Action::Chat { .. }
            | Action::StreamLoaded { .. }
            | Action::Player { .. }
            | Action::Tick(_)
            | Action::MeLoaded(_)
            | Action::SessionExpired
            | Action::SignedIn(_)
            | Action::Monetization(_)
            | Action::WalletPageLoaded { .. }
            | Action::ToppedUp { .. }
            | Action::TopUpChecked { .. }
            | Action::CreatorLoaded(_)
            | Action::PayoutRequested { .. }
            | Action::PayoutsLoaded { .. }
            | Action::ReplayWindowSet { .. }
            | Action::TicketsWatched(_)
            | Action::VideoFrame(_)
            | Action::ReplayChatLoaded { .. }
    );
    // The top-up dialog takes the keys while open: its fields, Enter, Esc; the mouse switch,
    // so that its consent page can be selected as text.
    if state.wallet.top_up.is_some()
        && !answer
        && !matches!(
            action,
            Action::Quit
                | Action::Confirm
                | Action::Back
                | Action::TopUpEdit(_)
                | Action::TopUpNextField
                | Action::ToggleMouse
        )
    {
        return Vec::new();
    }
    // The sign-in form takes every key while it is open. The catalogue needs no session, so it
    // loads behind the form (the event loop asks for it at start-up).
    if state.form.is_some()
        && !answer
        && !matches!(action, Action::Quit | Action::Form(_) | Action::Refresh)
    {
        return Vec::new();
    }
    // The help overlay takes the keys (but not the network's answers) until it is closed.
    if state.help && !answer && !matches!(action, Action::Quit | Action::Help | Action::Back) {
        return Vec::new();
    }
    // So does the buy dialog: yes, no, quit (unless its top-up dialog is open over it).
    if state.buy.is_some()
        && state.wallet.top_up.is_none()
        && !answer
        && !matches!(action, Action::Quit | Action::Confirm | Action::Back)
    {
        return Vec::new();
    }
    // In the room, the catalogue's keys do nothing.
    if state.screen == Screen::Room
        && matches!(
            action,
            Action::NextTab
                | Action::PrevTab
                | Action::StartSearch
                | Action::Refresh
                | Action::Buy
                | Action::Tickets
                | Action::SignIn
                | Action::Wallet
                | Action::MyGigs
        )
    {
        return Vec::new();
    }
    match action {
        Action::Quit => {
            state.quit = true;
            Vec::new()
        }
        Action::Help => {
            state.help = !state.help;
            Vec::new()
        }
        Action::ToggleMouse => {
            state.mouse = !state.mouse;
            state.status = if state.mouse {
                "mouse on: the wheel scrolls (m: off, to select text)".to_owned()
            } else {
                "mouse off: the terminal selects text (m: on)".to_owned()
            };
            Vec::new()
        }
        Action::Back if state.help => {
            state.help = false;
            Vec::new()
        }
        Action::Back if state.wallet.top_up.is_some() => {
            wallet::close(state);
            Vec::new()
        }
        Action::Back if state.buy.is_some() => {
            state.buy = None;
            Vec::new()
        }
        Action::Back
            if state.screen == Screen::Room
                && state.room.as_ref().is_some_and(|room| room.full_screen) =>
        {
            room::toggle_full_screen(state);
            Vec::new()
        }
        Action::Back if state.screen == Screen::Room => room::leave(state),
        Action::Back => {
            state.screen = Screen::Catalogue;
            Vec::new()
        }
        Action::EnterRoom => match entrance(state) {
            Some(gig) => room::enter(state, gig),
            None => Vec::new(),
        },
        Action::Play => room::toggle_player(state),
        Action::Seek(delta_s) if state.screen == Screen::Room => room::seek(state, delta_s),
        Action::TogglePause if state.screen == Screen::Room => room::toggle_pause(state),
        Action::Seek(_) | Action::TogglePause => Vec::new(),
        Action::ReplayChatLoaded { room: id, result } => {
            room::replay_chat_loaded(state, id, result);
            Vec::new()
        }
        Action::ToggleVideoOutput if state.screen == Screen::Room => {
            room::toggle_video_output(state)
        }
        Action::ToggleFullScreen if state.screen == Screen::Room => {
            room::toggle_full_screen(state);
            Vec::new()
        }
        Action::ToggleVideoOutput | Action::ToggleFullScreen => Vec::new(),
        Action::VideoFrame(frame) => {
            room::video_frame(state, frame);
            Vec::new()
        }
        Action::Edit(edit) => {
            room::edit(state, edit);
            Vec::new()
        }
        Action::Send => room::send(state),
        Action::StopTyping => {
            room::stop_typing(state);
            Vec::new()
        }
        Action::Chat { room: id, event } => room::chat(state, id, event),
        Action::StreamLoaded { room: id, result } => room::stream_loaded(state, id, result),
        Action::Player {
            room: id,
            run,
            update,
        } => room::player(state, id, run, update),
        Action::Tick(now) => {
            let mut effects = room::tick(state, now);
            effects.extend(my_gigs::tick(state, now));
            effects.extend(search::tick(state, now));
            if state.catalogue_retry.is_some_and(|retry| retry.at <= now) && !state.loading {
                effects.extend(reload(state));
            }
            effects
        }
        Action::SignIn => {
            sign_in::open(state);
            Vec::new()
        }
        Action::SessionExpired => {
            sign_in::expired(state);
            Vec::new()
        }
        Action::Form(key) => sign_in::key(state, key),
        Action::SignedIn(result) => sign_in::signed_in(state, result),
        Action::Monetization(update) => {
            state.monetization = match update {
                MonetizationUpdate::Event(event) => Monetization::State(event),
                MonetizationUpdate::Lost(reason) => Monetization::Lost(reason),
            };
            Vec::new()
        }
        Action::MeLoaded(result) => {
            if let Ok(me) = result {
                state.me = Some(me);
            }
            Vec::new()
        }
        Action::Buy => {
            let selected = match state.screen {
                Screen::Tickets | Screen::Room | Screen::Wallet | Screen::MyGigs => None,
                Screen::Catalogue | Screen::Gig => state.selected_gig().cloned(),
            };
            let Some(gig) = selected else {
                return Vec::new();
            };
            state.purchases += 1;
            state.buy = Some(BuyDialog {
                gig,
                balance: None,
                balance_error: None,
                phase: BuyPhase::Confirm,
                idempotency_key: format!("{}-{}", state.session, state.purchases),
            });
            vec![Effect::FetchWallet]
        }
        Action::Confirm if state.wallet.top_up.is_some() => wallet::confirm(state),
        Action::Confirm => match &mut state.buy {
            // A wallet that cannot cover the ticket is topped up first, in place.
            Some(dialog)
                if matches!(dialog.phase, BuyPhase::Confirm | BuyPhase::Failed(_))
                    && dialog.shortfall().is_some() =>
            {
                buy::top_up(state)
            }
            Some(dialog) if matches!(dialog.phase, BuyPhase::Confirm | BuyPhase::Failed(_)) => {
                dialog.phase = BuyPhase::Buying;
                vec![Effect::BuyTicket {
                    gig: dialog.gig.id,
                    idempotency_key: dialog.idempotency_key.clone(),
                }]
            }
            Some(dialog) if dialog.phase == BuyPhase::Bought => {
                state.buy = None;
                Vec::new()
            }
            _ => Vec::new(),
        },
        Action::WalletLoaded(result) => {
            if let Some(dialog) = &mut state.buy {
                match result {
                    Ok(balance) => dialog.balance = Some(balance),
                    Err(reason) => dialog.balance_error = Some(reason),
                }
            }
            Vec::new()
        }
        Action::TicketBought { gig, result } => {
            let title = state
                .gigs
                .iter()
                .find(|g| g.id == gig)
                .map(|g| g.title.clone())
                .unwrap_or_default();
            let dialog = state.buy.as_mut().filter(|dialog| dialog.gig.id == gig);
            match result {
                Ok(_) => {
                    state.held.insert(gig);
                    state.status = format!("ticket bought: {title}");
                    if let Some(dialog) = dialog {
                        dialog.phase = BuyPhase::Bought;
                        if let Some(balance) = &mut dialog.balance {
                            *balance = balance.checked_sub(dialog.gig.price).unwrap_or(*balance);
                        }
                    }
                    // One seat fewer on sale, until the next refresh says exactly.
                    for listed in state.gigs.iter_mut().filter(|g| g.id == gig) {
                        listed.seats_left = listed.seats_left.map(|n| n.saturating_sub(1));
                    }
                }
                Err(reason) => match dialog {
                    Some(dialog) => {
                        dialog.phase = BuyPhase::Failed(reason);
                        // The balance as it is now: a wallet that fell short is offered a
                        // top-up on the next try.
                        return vec![Effect::FetchWallet];
                    }
                    None => state.status = format!("could not buy {title}: {reason}"),
                },
            }
            Vec::new()
        }
        Action::PageUp | Action::PageDown => {
            let step = if action == Action::PageUp {
                Action::Up
            } else {
                Action::Down
            };
            let mut effects = Vec::new();
            for _ in 0..PAGE_ROWS {
                effects.extend(update(state, step.clone()));
            }
            effects
        }
        Action::Select(index) => {
            select(state, index);
            Vec::new()
        }
        Action::SelectTab(tab) if state.tab != tab && tab < TAB_COUNT => {
            state.tab = tab;
            fetch(state)
        }
        Action::SelectTab(_) => Vec::new(),
        Action::Up if state.screen == Screen::MyGigs => {
            my_gigs::move_selection(state, false);
            Vec::new()
        }
        Action::Down if state.screen == Screen::MyGigs => {
            my_gigs::move_selection(state, true);
            Vec::new()
        }
        Action::Refresh if state.screen == Screen::MyGigs => my_gigs::open(state),
        Action::MyGigs => my_gigs::open(state),
        Action::CreatorLoaded(result) => {
            my_gigs::loaded(state, result);
            Vec::new()
        }
        Action::RevealKey => {
            if state.screen == Screen::MyGigs {
                state.my_gigs.key_shown = !state.my_gigs.key_shown;
            }
            Vec::new()
        }
        Action::RequestPayout => my_gigs::request_payout(state),
        Action::PayoutRequested { gig, result } => {
            my_gigs::payout_requested(state, gig, result);
            Vec::new()
        }
        Action::PayoutsLoaded { epoch, result } => my_gigs::payouts_loaded(state, epoch, result),
        Action::CycleReplayWindow => my_gigs::cycle_replay_window(state),
        Action::ReplayWindowSet { gig, hours, result } => {
            my_gigs::replay_window_set(state, gig, hours, result)
        }
        Action::Up if state.screen == Screen::Wallet => wallet::move_selection(state, false),
        Action::Down if state.screen == Screen::Wallet => wallet::move_selection(state, true),
        Action::Refresh if state.screen == Screen::Wallet => wallet::open(state),
        Action::Wallet => wallet::open(state),
        Action::WalletPageLoaded { more, result } => wallet::loaded(state, more, result),
        Action::TopUp if state.screen == Screen::Wallet => {
            wallet::start_top_up(state);
            Vec::new()
        }
        Action::TopUp => Vec::new(),
        Action::TopUpEdit(edit) => {
            wallet::edit(state, edit);
            Vec::new()
        }
        Action::TopUpNextField => {
            wallet::next_field(state);
            Vec::new()
        }
        Action::ToppedUp {
            idempotency_key,
            result,
        } => wallet::topped_up(state, &idempotency_key, result),
        Action::TopUpChecked {
            asked,
            result,
            more,
        } => wallet::checked(state, &asked, result, more),
        Action::Up if state.screen == Screen::Room => {
            room::scroll(state, true);
            Vec::new()
        }
        Action::Down if state.screen == Screen::Room => {
            room::scroll(state, false);
            Vec::new()
        }
        Action::Up if state.screen == Screen::Tickets => {
            state.ticket_selected = state.ticket_selected.saturating_sub(1);
            Vec::new()
        }
        Action::Down if state.screen == Screen::Tickets => {
            if state.ticket_selected + 1 < state.tickets.len() {
                state.ticket_selected += 1;
            }
            Vec::new()
        }
        Action::Up => {
            state.selected = state.selected.saturating_sub(1);
            Vec::new()
        }
        Action::Down => {
            let rows = state.visible().len();
            if state.selected + 1 < rows {
                state.selected += 1;
            }
            if state.selected + PREFETCH_ROWS >= rows {
                fetch_more(state)
            } else {
                Vec::new()
            }
        }
        Action::NextTab => {
            state.tab = (state.tab + 1) % TAB_COUNT;
            fetch(state)
        }
        Action::PrevTab => {
            state.tab = (state.tab + TAB_COUNT - 1) % TAB_COUNT;
            fetch(state)
        }
        Action::StartSearch => {
            search::start(state);
            Vec::new()
        }
        Action::SearchInput(c) => {
            search::input(state, c);
            Vec::new()
        }
        Action::SearchBackspace => {
            search::backspace(state);
            Vec::new()
        }
        Action::SearchSubmit => search::submit(state),
        Action::SearchCancel => search::cancel(state),
        Action::Refresh => fetch(state),
        Action::Tickets => {
            state.screen = Screen::Tickets;
            state.tickets_loading = true;
            vec![Effect::FetchTickets]
        }
        Action::TicketsLoaded(result) => {
            state.tickets_loading = false;
            match result {
                Ok(tickets) => {
                    state.held.extend(tickets.iter().map(|t| t.ticket.gig_id));
                    state.tickets = tickets;
                    state.tickets_error = None;
                    state.ticket_selected = state
                        .ticket_selected
                        .min(state.tickets.len().saturating_sub(1));
                    let gigs: Vec<_> = state.tickets.iter().map(|t| t.gig.clone()).collect();
                    let mut effects = live::seen(state, &gigs);
                    effects.extend(live::watch(state));
                    effects
                }
                Err(reason) => {
                    state.tickets_error = Some(reason);
                    Vec::new()
                }
            }
        }
        Action::TicketsWatched(result) => live::watched(state, result),
        // Enter types in the room's chat; on a ticket or an open gig it enters the room; in
        // the catalogue it enters the room of a gig one may enter, else shows the gig.
        Action::Open => match state.screen {
            Screen::Wallet => {
                wallet::show_under_way(state);
                Vec::new()
            }
            Screen::MyGigs => update(state, Action::EnterRoom),
            Screen::Room => {
                room::start_typing(state);
                Vec::new()
            }
            Screen::Tickets | Screen::Gig => update(state, Action::EnterRoom),
            Screen::Catalogue => match state.selected_gig() {
                Some(gig) if state.may_enter(gig) => update(state, Action::EnterRoom),
                Some(_) => {
                    state.screen = Screen::Gig;
                    Vec::new()
                }
                None => Vec::new(),
            },
        },
        Action::CatalogueLoaded { request, result } => {
            if request != state.request {
                return Vec::new();
            }
            state.loading = false;
            match result {
                Ok(page) => {
                    state.error = None;
                    state.catalogue_retry = None;
                    state.status = if state.listing.q.is_some() {
                        search::matches(page.items.len(), page.next_cursor.is_some())
                    } else {
                        format!(
                            "{} gig{}",
                            page.items.len(),
                            if page.items.len() == 1 { "" } else { "s" }
                        )
                    };
                    state.gigs = page.items;
                    state.next_cursor = page.next_cursor;
                    state.selected = state.selected.min(state.visible().len().saturating_sub(1));
                    return live::seen(state, &state.gigs.clone());
                }
                Err(reason) => {
                    let attempt = state.catalogue_retry.map_or(1, |retry| retry.attempt + 1);
                    let pause = backoff_seconds(attempt);
                    state.catalogue_retry = Some(Retry {
                        attempt,
                        at: state.now
                            + time::Duration::seconds(pause.try_into().unwrap_or(i64::MAX)),
                    });
                    state.status = format!("could not load the gigs; retrying in {pause} s");
                    state.error = Some(reason);
                }
            }
            Vec::new()
        }
        Action::MoreLoaded { request, result } => {
            if request != state.request || !state.loading_more {
                return Vec::new();
            }
            state.loading_more = false;
            match result {
                Ok(page) => {
                    let effects = live::seen(state, &page.items);
                    state.gigs.extend(page.items);
                    state.next_cursor = page.next_cursor;
                    state.status = if state.listing.q.is_some() {
                        search::matches(state.gigs.len(), state.next_cursor.is_some())
                    } else {
                        format!("{} gigs", state.gigs.len())
                    };
                    return effects;
                }
                // The rows already shown stay; the next scroll to the end asks again.
                Err(reason) => state.status = format!("could not load more gigs: {reason}"),
            }
            Vec::new()
        }
    }
}

/// Selects row `index` of the list on screen (ignored past its end).
fn select(state: &mut State, index: usize) {
    match state.screen {
        Screen::Catalogue if index < state.visible().len() => state.selected = index,
        Screen::Tickets if index < state.tickets.len() => state.ticket_selected = index,
        Screen::Wallet if index < state.wallet.entries.len() => state.wallet.selected = index,
        Screen::MyGigs if index < state.my_gigs.data.gigs.len() => {
            if state.my_gigs.selected != index {
                state.my_gigs.key_shown = false;
            }
            state.my_gigs.selected = index;
        }
        _ => {}
    }
}

/// The gig whose room [`Action::EnterRoom`] enters: the selected ticket's on "My tickets",
/// else the selected gig; none from inside a room.
fn entrance(state: &State) -> Option<bookmygig_api::Gig> {
    match state.screen {
        Screen::Tickets => state
            .tickets
            .get(state.ticket_selected)
            .map(|ticket| ticket.gig.clone()),
        Screen::Catalogue | Screen::Gig => state.selected_gig().cloned(),
        Screen::Room | Screen::Wallet => None,
        Screen::MyGigs => state.my_gigs.gig().cloned(),
    }
}

/// Loads the current listing again, leaving the screen and the selection alone (a retry).
fn reload(state: &mut State) -> Vec<Effect> {
    state.request += 1;
    state.loading = true;
    state.loading_more = false;
    vec![Effect::FetchCatalogue {
        request: state.request,
        query: state.listing.clone(),
    }]
}

/// Asks for the page after the loaded ones, unless one is on its way or there is none.
fn fetch_more(state: &mut State) -> Vec<Effect> {
    let Some(cursor) = state.next_cursor.clone() else {
        return Vec::new();
    };
    if state.loading || state.loading_more {
        return Vec::new();
    }
    state.loading_more = true;
    let query = GigListQuery {
        cursor: Some(cursor),
        ..state.listing.clone()
    };
    vec![Effect::FetchCatalogue {
        request: state.request,
        query,
    }]
}

/// The listing's filters: the current tab and the search text.
fn query(state: &State) -> GigListQuery {
    let q = state.search.trim();
    GigListQuery {
        category: state.category(),
        q: (!q.is_empty()).then(|| q.to_owned()),
        limit: Some(PAGE_SIZE),
        ..GigListQuery::default()
    }
}

/// Starts a catalogue request for the current tab and search (so no change of the search
/// waits to be sent any more); answers to earlier requests will be ignored.
fn fetch(state: &mut State) -> Vec<Effect> {
    state.search_pending = false;
    state.search_due = None;
    state.request += 1;
    state.loading = true;
    state.loading_more = false;
    state.selected = 0;
    state.screen = Screen::Catalogue;
    state.listing = query(state);
    vec![Effect::FetchCatalogue {
        request: state.request,
        query: state.listing.clone(),
    }]
}

#[cfg(test)]
mod tests {
    use bookmygig_api::{Category, Money, Page};

    use super::*;
    use crate::tui::app::Zone;
    use crate::tui::sample;

    fn loaded() -> State {
        let mut state = State::for_tests(Zone::Local);
        let effects = update(&mut state, Action::Refresh);
        assert_eq!(effects.len(), 1);
        sample::answer_catalogue(&mut state, sample::gigs(), None);
        state
    }

    #[test]
    fn refresh_asks_for_the_catalogue_and_shows_loading() {
        let mut state = State::for_tests(Zone::Local);
        let effects = update(&mut state, Action::Refresh);
        assert!(state.loading);
        assert_eq!(
            effects,
            vec![Effect::FetchCatalogue {
                request: 1,
                query: GigListQuery {
                    limit: Some(PAGE_SIZE),
                    ..GigListQuery::default()
                },
            }]
        );
    }

    #[test]
    fn down_and_up_stay_within_the_list() {
        let mut state = loaded();
        update(&mut state, Action::Up);
        assert_eq!(state.selected, 0);
        for _ in 0..10 {
            update(&mut state, Action::Down);
        }
        assert_eq!(state.selected, 2);
        update(&mut state, Action::Up);
        assert_eq!(state.selected, 1);
    }

    #[test]
    fn tabs_wrap_around_and_fetch_their_category() {
        let mut state = loaded();
        let effects = update(&mut state, Action::PrevTab);
        assert_eq!(state.category(), Some(Category::Workshop));
        assert!(matches!(
            &effects[..],
            [Effect::FetchCatalogue { query, .. }] if query.category == Some(Category::Workshop)
        ));
        update(&mut state, Action::NextTab);
        assert_eq!(state.category(), None);
        let effects = update(&mut state, Action::NextTab);
        assert_eq!(state.category(), Some(Category::Comedy));
        assert!(matches!(
            &effects[..],
            [Effect::FetchCatalogue { query, .. }] if query.category == Some(Category::Comedy)
        ));
    }

    #[test]
    fn typing_a_search_leaves_the_rows_to_the_server_and_enter_asks_it_at_once() {
        let mut state = loaded();
        update(&mut state, Action::StartSearch);
        for c in "JAZZ".chars() {
            assert!(update(&mut state, Action::SearchInput(c)).is_empty());
        }
        assert_eq!(state.visible().len(), 3, "not filtered here");
        let effects = update(&mut state, Action::SearchSubmit);
        assert!(!state.searching);
        assert!(matches!(
            &effects[..],
            [Effect::FetchCatalogue { query, .. }] if query.q.as_deref() == Some("JAZZ")
        ));
        assert!(
            update(&mut state, Action::SearchSubmit).is_empty(),
            "nothing changed since"
        );
    }

    #[test]
    fn cancelling_a_search_clears_it_and_reloads() {
        let mut state = loaded();
        update(&mut state, Action::StartSearch);
        update(&mut state, Action::SearchInput('x'));
        let effects = update(&mut state, Action::SearchCancel);
        assert!(state.search.is_empty());
        assert_eq!(state.visible().len(), 3);
        assert_eq!(effects.len(), 1);
    }

    #[test]
    fn a_failed_load_shows_the_error_and_keeps_nothing_loading() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Refresh);
        let request = state.request;
        update(
            &mut state,
            Action::CatalogueLoaded {
                request,
                result: Err("cannot reach the server".to_owned()),
            },
        );
        assert!(!state.loading);
        assert_eq!(state.error.as_deref(), Some("cannot reach the server"));
    }

    #[test]
    fn a_failed_load_is_tried_again_by_itself_with_growing_pauses() {
        let mut state = loaded();
        let t0 = time::macros::datetime!(2026-05-02 18:00 UTC);
        update(&mut state, Action::Tick(t0));
        state.screen = Screen::Gig;
        let fail = |state: &mut State| {
            let request = state.request;
            update(
                state,
                Action::CatalogueLoaded {
                    request,
                    result: Err("cannot reach the server".to_owned()),
                },
            );
        };
        update(&mut state, Action::Refresh);
        state.screen = Screen::Gig;
        fail(&mut state);
        assert!(
            update(
                &mut state,
                Action::Tick(t0 + time::Duration::milliseconds(500))
            )
            .is_empty()
        );
        let effects = update(&mut state, Action::Tick(t0 + time::Duration::seconds(1)));
        assert!(matches!(effects[..], [Effect::FetchCatalogue { .. }]));
        assert_eq!(state.screen, Screen::Gig, "a retry leaves the screen alone");
        fail(&mut state);
        let retry = state.catalogue_retry.unwrap_or_else(|| panic!("a retry"));
        assert_eq!(
            (retry.attempt, retry.at),
            (2, t0 + time::Duration::seconds(3))
        );
        update(&mut state, Action::Tick(retry.at));
        sample::answer_catalogue(&mut state, sample::gigs(), None);
        assert_eq!(state.catalogue_retry, None);
        assert_eq!(state.error, None);
    }

    #[test]
    fn a_stale_answer_is_dropped() {
        let mut state = loaded();
        update(&mut state, Action::NextTab);
        let stale = state.request - 1;
        update(
            &mut state,
            Action::CatalogueLoaded {
                request: stale,
                result: Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                }),
            },
        );
        assert!(state.loading);
        assert_eq!(state.gigs.len(), 3);
    }

    #[test]
    fn open_shows_the_gig_and_back_returns() {
        let mut state = loaded();
        update(&mut state, Action::Down);
        update(&mut state, Action::Open);
        assert_eq!(state.screen, Screen::Gig);
        update(&mut state, Action::Back);
        assert_eq!(state.screen, Screen::Catalogue);
    }

    #[test]
    fn open_on_an_empty_list_does_nothing() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Open);
        assert_eq!(state.screen, Screen::Catalogue);
    }

    #[test]
    fn the_help_overlay_swallows_keys_until_closed() {
        let mut state = loaded();
        update(&mut state, Action::Help);
        update(&mut state, Action::Down);
        assert_eq!(state.selected, 0);
        update(&mut state, Action::Back);
        assert!(!state.help);
        update(&mut state, Action::Down);
        assert_eq!(state.selected, 1);
    }

    #[test]
    fn an_answer_arriving_under_the_help_overlay_is_applied() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Refresh);
        update(&mut state, Action::Help);
        sample::answer_catalogue(&mut state, sample::gigs(), None);
        assert!(!state.loading);
        assert_eq!(state.gigs.len(), 3);
    }

    /// A state with one loaded page of `rows` copies of the samples and a next cursor.
    fn first_page(rows: usize) -> State {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Refresh);
        sample::answer_catalogue(
            &mut state,
            sample::gigs().into_iter().cycle().take(rows).collect(),
            Some("page-2".to_owned()),
        );
        state
    }

    #[test]
    fn scrolling_near_the_end_asks_once_for_the_next_page() {
        let mut state = first_page(12);
        for _ in 0..6 {
            assert!(update(&mut state, Action::Down).is_empty());
        }
        let effects = update(&mut state, Action::Down);
        assert!(matches!(
            &effects[..],
            [Effect::FetchCatalogue { request, query }]
                if *request == state.request && query.cursor.as_deref() == Some("page-2")
        ));
        assert!(
            update(&mut state, Action::Down).is_empty(),
            "one request at a time"
        );
        let request = state.request;
        update(
            &mut state,
            Action::MoreLoaded {
                request,
                result: Ok(Page {
                    items: sample::gigs(),
                    next_cursor: None,
                }),
            },
        );
        assert_eq!(state.gigs.len(), 15);
        assert_eq!(state.selected, 8, "the selection stays where it was");
        for _ in 0..20 {
            assert!(
                update(&mut state, Action::Down).is_empty(),
                "nothing more to load"
            );
        }
        assert_eq!(state.selected, 14);
    }

    #[test]
    fn the_next_page_uses_the_listing_filters_not_unsent_search_text() {
        let mut state = first_page(3);
        update(&mut state, Action::StartSearch);
        update(&mut state, Action::SearchInput('y'));
        let effects = update(&mut state, Action::Down);
        assert!(matches!(
            &effects[..],
            [Effect::FetchCatalogue { query, .. }]
                if query.q.is_none() && query.cursor.as_deref() == Some("page-2")
        ));
    }

    #[test]
    fn a_page_of_an_earlier_listing_is_dropped() {
        let mut state = first_page(3);
        update(&mut state, Action::Down);
        let old = state.request;
        update(&mut state, Action::NextTab);
        update(
            &mut state,
            Action::MoreLoaded {
                request: old,
                result: Ok(Page {
                    items: sample::gigs(),
                    next_cursor: None,
                }),
            },
        );
        assert_eq!(state.gigs.len(), 3);
    }

    #[test]
    fn a_failed_next_page_keeps_the_rows_and_can_be_retried() {
        let mut state = first_page(3);
        assert_eq!(update(&mut state, Action::Down).len(), 1);
        let request = state.request;
        update(
            &mut state,
            Action::MoreLoaded {
                request,
                result: Err("timed out".to_owned()),
            },
        );
        assert_eq!(state.gigs.len(), 3);
        assert!(state.status.contains("timed out"));
        assert_eq!(update(&mut state, Action::Down).len(), 1);
    }

    #[test]
    fn buying_asks_for_the_balance_then_buys_once_with_one_key() {
        let mut state = loaded();
        assert_eq!(update(&mut state, Action::Buy), vec![Effect::FetchWallet]);
        update(
            &mut state,
            Action::WalletLoaded(Ok(Money::from_dollars(20))),
        );
        let gig = state.gigs[0].clone();
        let effects = update(&mut state, Action::Confirm);
        assert_eq!(
            effects,
            vec![Effect::BuyTicket {
                gig: gig.id,
                idempotency_key: "test-1".to_owned(),
            }]
        );
        assert!(
            update(&mut state, Action::Confirm).is_empty(),
            "no second request while one is under way"
        );
        update(
            &mut state,
            Action::TicketBought {
                gig: gig.id,
                result: Ok(sample::purchased(&gig)),
            },
        );
        let dialog = state.buy.clone().unwrap_or_else(|| panic!("dialog closed"));
        assert_eq!(dialog.phase, BuyPhase::Bought);
        assert_eq!(dialog.balance, Some(Money::from_micros(12_500_000)));
        assert_eq!(state.gigs[0].seats_left, Some(41));
        update(&mut state, Action::Confirm);
        assert!(state.buy.is_none());
    }

    #[test]
    fn a_refused_purchase_is_shown_in_the_dialog_and_retried_with_the_same_key() {
        let mut state = loaded();
        update(&mut state, Action::Buy);
        let gig = state.gigs[0].id;
        update(&mut state, Action::Confirm);
        update(
            &mut state,
            Action::TicketBought {
                gig,
                result: Err("Sold out: no seats left".to_owned()),
            },
        );
        assert!(matches!(
            state.buy.as_ref().map(|d| &d.phase),
            Some(BuyPhase::Failed(reason)) if reason == "Sold out: no seats left"
        ));
        assert!(matches!(
            &update(&mut state, Action::Confirm)[..],
            [Effect::BuyTicket { idempotency_key, .. }] if idempotency_key == "test-1"
        ));
    }

    #[test]
    fn each_dialog_gets_a_new_key_and_the_dialog_takes_the_keys() {
        let mut state = loaded();
        update(&mut state, Action::Buy);
        update(&mut state, Action::Down);
        assert_eq!(state.selected, 0, "the list does not move under the dialog");
        update(&mut state, Action::Back);
        assert!(state.buy.is_none());
        update(&mut state, Action::Buy);
        assert_eq!(
            state.buy.map(|d| d.idempotency_key).as_deref(),
            Some("test-2")
        );
    }

    #[test]
    fn buy_with_nothing_selected_does_nothing() {
        let mut state = State::for_tests(Zone::Local);
        assert!(update(&mut state, Action::Buy).is_empty());
        assert!(state.buy.is_none());
    }

    #[test]
    fn my_tickets_load_in_the_background_and_back_returns() {
        let mut state = loaded();
        assert_eq!(
            update(&mut state, Action::Tickets),
            vec![Effect::FetchTickets]
        );
        assert_eq!(state.screen, Screen::Tickets);
        assert!(state.tickets_loading);
        update(&mut state, Action::TicketsLoaded(Ok(sample::my_tickets())));
        assert!(!state.tickets_loading);
        update(&mut state, Action::Down);
        update(&mut state, Action::Down);
        assert_eq!(state.ticket_selected, 1);
        assert_eq!(state.selected, 0, "the catalogue selection is kept");
        update(&mut state, Action::Back);
        assert_eq!(state.screen, Screen::Catalogue);
    }

    #[test]
    fn tickets_that_cannot_be_loaded_say_why() {
        let mut state = loaded();
        update(&mut state, Action::Tickets);
        update(
            &mut state,
            Action::TicketsLoaded(Err("Unauthorized: sign in first".to_owned())),
        );
        assert_eq!(
            state.tickets_error.as_deref(),
            Some("Unauthorized: sign in first")
        );
    }

    #[test]
    fn m_toggles_mouse_capture_and_says_so() {
        let mut state = loaded();
        assert!(state.mouse);
        update(&mut state, Action::ToggleMouse);
        assert!(!state.mouse);
        assert!(state.status.contains("mouse off"));
        update(&mut state, Action::ToggleMouse);
        assert!(state.mouse);
    }

    #[test]
    fn quit_works_even_with_help_open() {
        let mut state = loaded();
        update(&mut state, Action::Help);
        update(&mut state, Action::Quit);
        assert!(state.quit);
    }
}
