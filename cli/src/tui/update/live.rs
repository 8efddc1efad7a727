//! Knowing when a show starts: the gigs the account holds a ticket for are watched, and one
//! that goes live is flagged (status line, catalogue) and announced once per run, with a
//! terminal notification.

use bookmygig_api::{Gig, GigStatus, MyTicket, TicketStatus};

use crate::tui::action::Effect;
use crate::tui::app::State;

/// The tickets are known: their gigs are watched from now on (once per session).
pub(super) fn watch(state: &mut State) -> Vec<Effect> {
    if state.live.watching {
        return Vec::new();
    }
    state.live.watching = true;
    vec![Effect::WatchTickets]
}

/// A new session: its tickets will be watched afresh (the watch carries the session).
pub(super) fn restart(state: &mut State) {
    state.live.watching = false;
    state.live.live.clear();
}

/// The watch looked at the tickets again: their gigs' statuses are copied into the lists on
/// screen, and news is told.
pub(super) fn watched(state: &mut State, result: Result<Vec<MyTicket>, String>) -> Vec<Effect> {
    // A failed look is simply tried again on the next round.
    let Ok(tickets) = result else {
        return Vec::new();
    };
    state
        .held
        .extend(tickets.iter().map(|mine| mine.ticket.gig_id));
    let gigs: Vec<Gig> = tickets
        .into_iter()
        .filter(|mine| mine.ticket.status != TicketStatus::Refunded)
        .map(|mine| mine.gig)
        .collect();
    for gig in &gigs {
        for listed in state.gigs.iter_mut().filter(|listed| listed.id == gig.id) {
            listed.status = gig.status;
        }
        for mine in state
            .tickets
            .iter_mut()
            .filter(|mine| mine.gig.id == gig.id)
        {
            mine.gig.status = gig.status;
        }
    }
    seen(state, &gigs)
}

/// `gigs` as just seen: held ones that are live are flagged (the status line shows the flag),
/// and announced with a notification the first time in this run (not when their room is
/// open: the room says so itself); the others lose the flag.
pub(super) fn seen(state: &mut State, gigs: &[Gig]) -> Vec<Effect> {
    let mut effects = Vec::new();
    for gig in gigs.iter().filter(|gig| state.held.contains(&gig.id)) {
        if gig.status != GigStatus::Live {
            state.live.live.remove(&gig.id);
            continue;
        }
        state.live.live.insert(gig.id, gig.title.clone());
        if !state.live.announced.insert(gig.id) {
            continue;
        }
        let in_room = state
            .room
            .as_ref()
            .is_some_and(|room| room.gig.id == gig.id);
        if in_room {
            continue;
        }
        effects.push(Effect::Notify {
            title: "BookMyGig".to_owned(),
            body: format!("{} is live now", gig.title),
        });
    }
    effects
}

#[cfg(test)]
mod tests {
    use bookmygig_api::{Money, Ticket, TicketId};

    use super::*;
    use crate::tui::action::Action;
    use crate::tui::app::Zone;
    use crate::tui::sample;
    use crate::tui::update::update;

    fn ticket(gig: &Gig, status: GigStatus) -> MyTicket {
        let mut gig = gig.clone();
        gig.status = status;
        MyTicket {
            ticket: Ticket {
                id: TicketId::from_bytes([3; 16]),
                gig_id: gig.id,
                holder_id: bookmygig_api::AccountId::from_bytes([7; 16]),
                price: Money::from_dollars(5),
                status: TicketStatus::Valid,
                purchased_at: time::macros::datetime!(2026-05-01 10:00 UTC),
            },
            gig,
        }
    }

    /// The catalogue loaded, the tickets known (one, for the first gig, not live yet).
    fn holding() -> (State, Gig) {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Refresh);
        let mut gigs = sample::gigs();
        for gig in &mut gigs {
            gig.status = GigStatus::Scheduled;
        }
        sample::answer_catalogue(&mut state, gigs.clone(), None);
        let effects = update(
            &mut state,
            Action::TicketsLoaded(Ok(vec![ticket(&gigs[0], GigStatus::Scheduled)])),
        );
        assert_eq!(effects, vec![Effect::WatchTickets], "the watch starts");
        (state, gigs.remove(0))
    }

    #[test]
    fn a_held_gig_going_live_is_flagged_and_announced_once() {
        let (mut state, gig) = holding();
        let live = || Action::TicketsWatched(Ok(vec![ticket(&gig, GigStatus::Live)]));
        let effects = update(&mut state, live());
        assert_eq!(
            effects,
            vec![Effect::Notify {
                title: "BookMyGig".to_owned(),
                body: format!("{} is live now", gig.title),
            }]
        );
        assert!(state.live.live.contains_key(&gig.id));
        assert_eq!(
            state.gigs[0].status,
            GigStatus::Live,
            "the catalogue follows"
        );
        assert!(update(&mut state, live()).is_empty(), "once per gig");
        // Off the air: the flag goes; back on: no second announcement in this run.
        update(
            &mut state,
            Action::TicketsWatched(Ok(vec![ticket(&gig, GigStatus::Offline)])),
        );
        assert!(state.live.live.is_empty());
        assert!(update(&mut state, live()).is_empty());
        assert!(state.live.live.contains_key(&gig.id));
    }

    #[test]
    fn a_gig_without_a_ticket_going_live_is_no_news() {
        let (mut state, _) = holding();
        let mut other = state.gigs[1].clone();
        other.status = GigStatus::Live;
        let request = state.request;
        let effects = update(
            &mut state,
            Action::CatalogueLoaded {
                request: request + 1,
                result: Ok(bookmygig_api::Page {
                    items: vec![other.clone()],
                    next_cursor: None,
                }),
            },
        );
        assert!(effects.is_empty());
        update(&mut state, Action::Refresh);
        sample::answer_catalogue(&mut state, vec![other], None);
        assert!(state.live.live.is_empty());
    }

    #[test]
    fn the_catalogue_showing_a_held_gig_live_announces_it() {
        let (mut state, mut gig) = holding();
        gig.status = GigStatus::Live;
        update(&mut state, Action::Refresh);
        let request = state.request;
        let effects = update(
            &mut state,
            Action::CatalogueLoaded {
                request,
                result: Ok(bookmygig_api::Page {
                    items: vec![gig],
                    next_cursor: None,
                }),
            },
        );
        assert!(
            matches!(&effects[..], [Effect::Notify { .. }]),
            "{effects:?}"
        );
    }

    #[test]
    fn a_failed_look_changes_nothing() {
        let (mut state, _) = holding();
        assert!(update(&mut state, Action::TicketsWatched(Err("down".to_owned()))).is_empty());
        assert!(state.live.live.is_empty());
    }
}
