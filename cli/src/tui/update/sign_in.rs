//! The sign-in form's part of [`update`](super::update()): keys, the submission (checked
//! locally, then sent), and the session it opens.

use crate::tui::action::{Effect, FormKey, SignedInAs};
use crate::tui::app::{Screen, State};
use crate::tui::line_editor::Edit;
use crate::tui::sign_in::{Field, SignInForm};

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
            state.form = None;
            state.status = format!("signed in as {}", session.account.handle);
            state.server.clone_from(&session.server);
            state.me = Some(session.account.clone());
            state.held.clear();
            state.tickets.clear();
            state.screen = Screen::Catalogue;
            state.monetization = crate::tui::app::Monetization::Connecting;
            let mut effects = vec![
                Effect::UseSession(session),
                Effect::WatchMonetization,
                Effect::FetchTickets,
            ];
            effects.extend(super::fetch(state));
            effects
        }
        Err(problem) => {
            if let Some(form) = &mut state.form {
                form.busy = false;
                form.error = Some(problem);
            }
            Vec::new()
        }
    }
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
