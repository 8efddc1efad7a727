//! The sign-in form's part of [`update`](super::update()): keys, the submission (checked
//! locally, then sent), and the session it opens.

use crate::tui::action::{Effect, FormKey, SignedInAs};
use crate::tui::app::{Screen, State};
use crate::tui::line_editor::Edit;
use crate::tui::sign_in::{Field, Mode, SignInForm};

/// Opens the form for the server in use.
pub(super) fn open(state: &mut State) {
    state.form = Some(SignInForm::new(&state.server));
}

/// The saved session was refused: signed out, with the form open to sign in again.
pub(super) fn expired(state: &mut State) {
    state.me = None;
    state.monetization = crate::tui::app::Monetization::Off;
    // Reported by more than one request: the form opens once, and keeps what was typed.
    if state.form.is_some() {
        return;
    }
    let mut form = SignInForm::new(&state.server);
    form.error = Some("your session has ended: sign in again".to_owned());
    state.form = Some(form);
}

/// A key in the form.
pub(super) fn key(state: &mut State, key: FormKey) -> Vec<Effect> {
    let Some(form) = &mut state.form else {
        return Vec::new();
    };
    if form.busy && key != FormKey::Cancel {
        return Vec::new();
    }
    match key {
        FormKey::Next => form.move_focus(true),
        FormKey::Prev => form.move_focus(false),
        FormKey::Edit(edit) => match form.focused_mut() {
            Some(field) => field.apply(edit),
            // On the mode row, the arrows and Space switch modes.
            None if matches!(edit, Edit::Left | Edit::Right | Edit::Insert(' ')) => {
                form.toggle_mode();
            }
            None => {}
        },
        FormKey::Submit if form.focus == Field::Mode => form.toggle_mode(),
        FormKey::SwitchMode => form.toggle_mode(),
        FormKey::Submit => match form.submission() {
            Ok(submission) => {
                form.busy = true;
                form.error = None;
                return vec![Effect::Authenticate(submission)];
            }
            Err(problem) => form.error = Some(problem),
        },
        FormKey::Cancel => {
            state.form = None;
            state.status = "browsing without an account (s signs in)".to_owned();
        }
    }
    Vec::new()
}

/// A sign-in or sign-up finished.
pub(super) fn signed_in(state: &mut State, result: Result<SignedInAs, String>) -> Vec<Effect> {
    match result {
        Ok(session) => {
            let new_account = state
                .form
                .take()
                .is_some_and(|form| form.mode == Mode::SignUp);
            state.status = if new_account {
                welcome(state, &session.account.handle)
            } else {
                format!("signed in as {}", session.account.handle)
            };
            let same_server = state.server == session.server;
            state.server.clone_from(&session.server);
            state.me = Some(session.account.clone());
            state.held.clear();
            state.tickets.clear();
            super::live::restart(state);
            state.screen = Screen::Catalogue;
            state.monetization = crate::tui::app::Monetization::Connecting;
            let mut effects = vec![
                Effect::UseSession(session),
                Effect::WatchMonetization,
                Effect::FetchTickets,
            ];
            // The catalogue loaded behind the form needs no session; a new account on the same
            // server sees the same one (and keeps its greeting on the status line).
            let loaded = same_server && state.error.is_none() && !state.loading;
            if !(new_account && loaded) {
                effects.extend(super::fetch(state));
            }
            effects
        }
        Err(problem) => {
            if let Some(form) = &mut state.form {
                form.busy = false;
                form.error = Some(problem);
                // The server answers an unknown handle as it answers a wrong password, so any
                // refused sign-in may be a newcomer's.
                form.offer_sign_up = form.mode == Mode::SignIn;
            }
            Vec::new()
        }
    }
}

/// The status line's greeting for a new account: where to start, not what is missing.
fn welcome(state: &State, handle: &str) -> String {
    let key = |name| state.keymap.first_key(name).unwrap_or_default();
    format!(
        "welcome, @{handle}! {} on a gig buys a ticket (your wallet is topped up on the way)",
        key("buy")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::action::Action;
    use crate::tui::app::Zone;
    use crate::tui::sign_in::Mode;
    use crate::tui::update::update;

    fn typed(state: &mut State, text: &str) {
        for c in text.chars() {
            update(state, Action::Form(FormKey::Edit(Edit::Insert(c))));
        }
    }

    fn form(state: &State) -> &SignInForm {
        state.form.as_ref().unwrap_or_else(|| panic!("no form"))
    }

    #[test]
    fn signing_up_sends_the_form_and_the_session_reloads_everything() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::SignIn);
        assert_eq!(form(&state).focus, Field::Handle);
        typed(&mut state, "ana");
        update(&mut state, Action::Form(FormKey::Prev));
        update(&mut state, Action::Form(FormKey::Prev));
        update(&mut state, Action::Form(FormKey::Edit(Edit::Right)));
        assert_eq!(form(&state).mode, Mode::SignUp);
        for _ in 0..4 {
            update(&mut state, Action::Form(FormKey::Next));
        }
        assert_eq!(form(&state).focus, Field::Password);
        typed(&mut state, "correct horse");
        let effects = update(&mut state, Action::Form(FormKey::Submit));
        assert!(
            matches!(&effects[..], [Effect::Authenticate(s)] if s.handle == "ana" && s.mode == Mode::SignUp),
            "{effects:?}"
        );
        assert!(form(&state).busy);
        let account = bookmygig_api::Account {
            id: bookmygig_api::AccountId::from_bytes([7; 16]),
            handle: "ana".to_owned(),
            display_name: "ana".to_owned(),
            created_at: time::macros::datetime!(2026-01-01 0:00 UTC),
        };
        let effects = update(
            &mut state,
            Action::SignedIn(Ok(SignedInAs {
                server: "http://other:8080".to_owned(),
                account,
                token: "t".to_owned(),
            })),
        );
        assert!(state.form.is_none());
        assert!(
            state.status.starts_with("welcome, @ana!"),
            "{}",
            state.status
        );
        assert_eq!(state.server, "http://other:8080");
        assert!(matches!(
            &effects[..],
            [
                Effect::UseSession(_),
                Effect::WatchMonetization,
                Effect::FetchTickets,
                Effect::FetchCatalogue { .. }
            ]
        ));
    }

    #[test]
    fn a_refusal_is_shown_in_the_form_and_a_bad_form_is_not_sent() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::SignIn);
        assert!(update(&mut state, Action::Form(FormKey::Submit)).is_empty());
        assert!(
            form(&state)
                .error
                .as_deref()
                .is_some_and(|e| e.starts_with("handle"))
        );
        typed(&mut state, "ana");
        update(&mut state, Action::Form(FormKey::Next));
        typed(&mut state, "wrong");
        update(&mut state, Action::Form(FormKey::Submit));
        update(
            &mut state,
            Action::SignedIn(Err("Unauthorized: wrong handle or password".to_owned())),
        );
        assert!(!form(&state).busy);
        assert_eq!(
            form(&state).error.as_deref(),
            Some("Unauthorized: wrong handle or password")
        );
        assert!(form(&state).offer_sign_up, "a newcomer is offered Sign up");
        update(&mut state, Action::Form(FormKey::SwitchMode));
        assert_eq!(form(&state).mode, Mode::SignUp);
        assert!(!form(&state).offer_sign_up);
        assert_eq!(form(&state).handle.text(), "ana", "the typing is kept");
    }

    #[test]
    fn a_new_account_on_the_same_server_keeps_the_catalogue_and_its_welcome() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Refresh);
        crate::tui::sample::answer_catalogue(&mut state, crate::tui::sample::gigs(), None);
        update(&mut state, Action::SignIn);
        update(&mut state, Action::Form(FormKey::SwitchMode));
        let account = bookmygig_api::Account {
            id: bookmygig_api::AccountId::from_bytes([7; 16]),
            handle: "ana".to_owned(),
            display_name: "ana".to_owned(),
            created_at: time::macros::datetime!(2026-01-01 0:00 UTC),
        };
        let server = state.server.clone();
        let effects = update(
            &mut state,
            Action::SignedIn(Ok(SignedInAs {
                server,
                account,
                token: "t".to_owned(),
            })),
        );
        assert!(
            !effects
                .iter()
                .any(|e| matches!(e, Effect::FetchCatalogue { .. })),
            "{effects:?}"
        );
        assert_eq!(state.gigs.len(), 3);
        assert!(state.status.starts_with("welcome, @ana!"));
    }

    #[test]
    fn a_refused_sign_up_offers_nothing_more() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::SignIn);
        update(&mut state, Action::Form(FormKey::SwitchMode));
        update(
            &mut state,
            Action::SignedIn(Err("Conflict (handle): taken".to_owned())),
        );
        assert!(!form(&state).offer_sign_up);
    }

    #[test]
    fn the_catalogue_loads_behind_the_form() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::SignIn);
        let effects = update(&mut state, Action::Refresh);
        assert!(
            matches!(&effects[..], [Effect::FetchCatalogue { .. }]),
            "{effects:?}"
        );
        assert!(state.form.is_some(), "the form stays open");
    }

    #[test]
    fn an_expired_session_opens_the_form_saying_so() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::SessionExpired);
        assert!(
            form(&state)
                .error
                .as_deref()
                .is_some_and(|e| e.contains("sign in again"))
        );
    }

    #[test]
    fn esc_closes_the_form_to_browse_without_an_account() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::SignIn);
        update(&mut state, Action::Form(FormKey::Cancel));
        assert!(state.form.is_none());
    }
}
