//! The wallet screen's part of [`update`](super::update()): loading the history page by page and
//! the top-up dialog.

use bookmygig_api::{TopUpState, TopUpStatus, Wallet};
use bookmygig_client::TopUpStarted;

use crate::tui::action::{Effect, TopUpRefusal};
use crate::tui::app::{Screen, State};
use crate::tui::line_editor::Edit;
use crate::tui::wallet::{TopUpDialog, TopUpField, TopUpPhase};

/// Entries asked for per page.
pub const WALLET_PAGE: usize = 50;

/// The next page is fetched this close to the last loaded entry.
const PREFETCH_ROWS: usize = 5;

/// Shows the wallet, loading it afresh.
pub(super) fn open(state: &mut State) -> Vec<Effect> {
    state.screen = Screen::Wallet;
    state.wallet.loading = true;
    state.wallet.loading_more = false;
    vec![Effect::FetchWalletPage { cursor: None }]
}

/// A page arrived.
pub(super) fn loaded(state: &mut State, more: bool, result: Result<Wallet, String>) -> Vec<Effect> {
    let view = &mut state.wallet;
    if more {
        if !view.loading_more {
            return Vec::new();
        }
        view.loading_more = false;
    } else {
        view.loading = false;
    }
    match result {
        Ok(wallet) => {
            view.error = None;
            view.balance = Some(wallet.balance);
            if more {
                view.entries.extend(wallet.entries);
            } else {
                view.entries = wallet.entries;
            }
            view.next_cursor = wallet.next_cursor;
            view.selected = view.selected.min(view.entries.len().saturating_sub(1));
            if !more {
                view.topups = wallet.topups;
                // Top-ups under way (asked for before, or elsewhere) are followed to their end
                // (once each: the tasks know which they follow).
                return view
                    .topups
                    .iter()
                    .filter(|topup| !topup.state.is_final())
                    .map(|topup| Effect::FollowTopUp(Box::new(topup.clone())))
                    .collect();
            }
        }
        Err(reason) if more => state.status = format!("could not load older entries: {reason}"),
        Err(reason) => view.error = Some(reason),
    }
    Vec::new()
}

/// Enter on the wallet: the dialog of the newest top-up under way again, with its consent
/// page.
pub(super) fn show_under_way(state: &mut State) {
    let Some(status) = state
        .wallet
        .topups
        .iter()
        .find(|topup| !topup.state.is_final())
        .cloned()
    else {
        return;
    };
    let key = next_key(state);
    let mut dialog = TopUpDialog::new(Some(&status.from), key);
    for c in status.amount.to_string().trim_start_matches('$').chars() {
        dialog.amount.apply(Edit::Insert(c));
    }
    dialog.phase = TopUpPhase::Waiting {
        status,
        trouble: None,
    };
    state.wallet.top_up = Some(dialog);
}

/// Moves the selection; near the end, asks for older entries.
pub(super) fn move_selection(state: &mut State, down: bool) -> Vec<Effect> {
    let view = &mut state.wallet;
    if !down {
        view.selected = view.selected.saturating_sub(1);
        return Vec::new();
    }
    if view.selected + 1 < view.entries.len() {
        view.selected += 1;
    }
    let near_end = view.selected + PREFETCH_ROWS >= view.entries.len();
    match view.next_cursor.clone() {
        Some(cursor) if near_end && !view.loading && !view.loading_more => {
            view.loading_more = true;
            vec![Effect::FetchWalletPage {
                cursor: Some(cursor),
            }]
        }
        _ => Vec::new(),
    }
}

/// Opens the top-up dialog, offering the wallet of the last top-up on this server.
pub(super) fn start_top_up(state: &mut State) {
    let key = next_key(state);
    let from = state.topup_wallets.get(&state.server).map(String::as_str);
    state.wallet.top_up = Some(TopUpDialog::new(from, key));
}

/// A fresh idempotency key: a new top-up.
fn next_key(state: &mut State) -> String {
    state.purchases += 1;
    format!("{}-{}", state.session, state.purchases)
}

/// Edits the focused field; a changed amount or wallet is a new top-up, with a new key.
pub(super) fn edit(state: &mut State, edit: Edit) {
    let Some(dialog) = &mut state.wallet.top_up else {
        return;
    };
    if !dialog.editable() {
        return;
    }
    let field = dialog.focused();
    let before = field.text();
    field.apply(edit);
    if field.text() != before {
        state.purchases += 1;
        dialog.idempotency_key = format!("{}-{}", state.session, state.purchases);
        dialog.phase = TopUpPhase::Editing;
    }
}

/// Tab: the other field.
pub(super) fn next_field(state: &mut State) {
    if let Some(dialog) = state.wallet.top_up.as_mut().filter(|d| d.editable()) {
        dialog.focus = match dialog.focus {
            TopUpField::Amount => TopUpField::From,
            TopUpField::From => TopUpField::Amount,
        };
    }
}

/// Enter in the dialog: sends the top-up when the amount and the wallet are good.
pub(super) fn confirm(state: &mut State) -> Vec<Effect> {
    let Some(dialog) = &mut state.wallet.top_up else {
        return Vec::new();
    };
    if !dialog.editable() {
        return Vec::new();
    }
    let checked = dialog
        .amount()
        .map_err(|reason| (TopUpField::Amount, reason))
        .and_then(|amount| {
            dialog
                .wallet()
                .map(|from| (amount, from))
                .map_err(|reason| (TopUpField::From, reason))
        });
    match checked {
        Ok((amount, from)) => {
            dialog.phase = TopUpPhase::Sending;
            vec![Effect::TopUp {
                amount,
                from,
                idempotency_key: dialog.idempotency_key.clone(),
            }]
        }
        Err((field, reason)) => {
            dialog.focus = field;
            dialog.phase = TopUpPhase::Failed {
                field: Some(field),
                reason,
            };
            Vec::new()
        }
    }
}

/// Esc in the dialog: closes it. A top-up waiting for approval goes on, and is still followed:
/// the wallet lists it, and the status line says how it ends.
pub(super) fn close(state: &mut State) {
    let waiting = state
        .wallet
        .top_up
        .take()
        .as_ref()
        .and_then(TopUpDialog::waiting)
        .map(|waiting| waiting.amount);
    if let Some(amount) = waiting {
        state.status = format!("the top-up of {amount} goes on (Enter: its page again)");
    }
    super::buy::top_up_closed(state, waiting.is_some());
}

/// The server answered a top-up request.
pub(super) fn topped_up(
    state: &mut State,
    idempotency_key: &str,
    result: Result<TopUpStarted, TopUpRefusal>,
) -> Vec<Effect> {
    let dialog = state.wallet.top_up.as_mut().filter(|dialog| {
        dialog.idempotency_key == idempotency_key && dialog.phase == TopUpPhase::Sending
    });
    match result {
        Ok(TopUpStarted::Credited(receipt)) => {
            state.status = format!(
                "added {}; the balance is {}",
                receipt.entry.amount, receipt.balance
            );
            if dialog.is_some() {
                state.wallet.top_up = None;
            }
            state.wallet.balance = Some(receipt.balance);
            let added = receipt.entry.amount;
            state.wallet.entries.insert(0, receipt.entry);
            state.wallet.selected = 0;
            super::buy::topped_up(state, Some(receipt.balance), added)
        }
        Ok(TopUpStarted::Pending(status)) => {
            let mut effects = Vec::new();
            if let Some(dialog) = dialog {
                dialog.phase = TopUpPhase::Waiting {
                    status: status.clone(),
                    trouble: None,
                };
            } else if !status.state.is_final() {
                state.status = match &status.consent_url {
                    Some(url) => format!(
                        "approve the top-up of {} in your wallet: {url}",
                        status.amount
                    ),
                    None => format!("the top-up of {} is under way", status.amount),
                };
            }
            if !status.state.is_final() {
                if let Some(url) = &status.consent_url {
                    effects.push(Effect::OpenBrowser(url.clone()));
                }
                effects.push(Effect::FollowTopUp(Box::new(status.clone())));
            }
            // Already final: an answer to a retry of a top-up that ended meanwhile.
            effects.extend(progress(state, status));
            effects
        }
        Err(refusal) => {
            match dialog {
                Some(dialog) => {
                    if let Some(field) = refusal.field {
                        dialog.focus = field;
                    }
                    dialog.phase = TopUpPhase::Failed {
                        field: refusal.field,
                        reason: refusal.reason,
                    };
                }
                None => state.status = format!("the top-up failed: {}", refusal.reason),
            }
            Vec::new()
        }
    }
}

/// A followed top-up was asked about again.
pub(super) fn checked(
    state: &mut State,
    asked: &TopUpStatus,
    result: Result<TopUpStatus, String>,
    more: bool,
) -> Vec<Effect> {
    let reason = match result {
        Ok(status) => return progress(state, status),
        Err(reason) => reason,
    };
    let dialog = state
        .wallet
        .top_up
        .as_mut()
        .filter(|dialog| dialog.waiting().is_some_and(|known| known.id == asked.id));
    match dialog {
        Some(dialog) if more => {
            if let TopUpPhase::Waiting { trouble, .. } = &mut dialog.phase {
                *trouble = Some(reason);
            }
        }
        Some(dialog) => {
            dialog.phase = TopUpPhase::Failed {
                field: None,
                reason: format!("cannot follow the top-up any more: {reason}"),
            };
        }
        None if !more => {
            state.status = format!(
                "cannot follow the top-up of {} any more: {reason}",
                asked.amount
            );
        }
        None => {}
    }
    Vec::new()
}

/// Where a top-up stands now: the dialog waiting for it follows; once it is final, the status
/// line says how it ended, and a completed one refreshes the wallet and is remembered.
fn progress(state: &mut State, status: TopUpStatus) -> Vec<Effect> {
    state.wallet.note_topup(&status);
    let ours = state
        .wallet
        .top_up
        .as_ref()
        .and_then(TopUpDialog::waiting)
        .is_some_and(|known| known.id == status.id);
    if !status.state.is_final() {
        if let Some(dialog) = state.wallet.top_up.as_mut().filter(|_| ours) {
            dialog.phase = TopUpPhase::Waiting {
                status,
                trouble: None,
            };
        }
        return Vec::new();
    }
    if status.state == TopUpState::Completed {
        state.status = format!("added {} from {}", status.amount, status.from);
        if ours {
            state.wallet.top_up = None;
        }
        state
            .topup_wallets
            .insert(state.server.clone(), status.from.clone());
        let mut effects = super::buy::topped_up(state, None, status.amount);
        effects.extend([
            Effect::RememberTopUpWallet {
                server: state.server.clone(),
                wallet: status.from,
            },
            refresh(state),
        ]);
        return effects;
    }
    let reason = ending(&status);
    if ours {
        let key = next_key(state);
        if let Some(dialog) = &mut state.wallet.top_up {
            // Enter tries again: a new top-up, since this one is over.
            dialog.idempotency_key = key;
            dialog.phase = TopUpPhase::Failed {
                field: None,
                reason,
            };
        }
    } else {
        state.status = format!("the top-up of {}: {reason}", status.amount);
    }
    Vec::new()
}

/// How a top-up that added nothing ended, in words.
fn ending(status: &TopUpStatus) -> String {
    let what = match status.state {
        TopUpState::Declined => "declined in your wallet",
        TopUpState::Expired => "expired: nobody approved it in time",
        _ => "failed",
    };
    match &status.error {
        Some(error) => format!("{what} ({error}); nothing was added"),
        None => format!("{what}; nothing was added"),
    }
}

/// Loads the newest page of the wallet again, where it is (older pages on their way are
/// dropped).
fn refresh(state: &mut State) -> Effect {
    state.wallet.loading = true;
    state.wallet.loading_more = false;
    Effect::FetchWalletPage { cursor: None }
}

#[cfg(test)]
mod tests {
    use bookmygig_api::{EntryKind, LedgerEntry, Money, TopUpReceipt, TransactionId};

    use super::*;
    use crate::tui::action::Action;
    use crate::tui::app::Zone;
    use crate::tui::update::update;

    pub(crate) fn entry(n: u8, amount: Money, balance_after: Money) -> LedgerEntry {
        LedgerEntry {
            transaction_id: TransactionId::from_bytes([n; 16]),
            kind: EntryKind::TopUp,
            amount,
            balance_after,
            memo: "Top-up".to_owned(),
            gig_id: None,
            at: time::macros::datetime!(2026-05-01 10:00 UTC),
        }
    }

    fn page(entries: usize, next: bool) -> Wallet {
        Wallet {
            balance: Money::from_dollars(20),
            entries: (0..entries)
                .map(|n| entry(1, Money::from_dollars(1), Money::from_dollars(n as i64)))
                .collect(),
            next_cursor: next.then(|| "c".to_owned()),
            topups: Vec::new(),
        }
    }

    #[test]
    fn the_wallet_loads_and_scrolling_fetches_older_entries() {
        let mut state = State::for_tests(Zone::Local);
        assert_eq!(
            update(&mut state, Action::Wallet),
            [Effect::FetchWalletPage { cursor: None }]
        );
        update(
            &mut state,
            Action::WalletPageLoaded {
                more: false,
                result: Ok(page(8, true)),
            },
        );
        assert_eq!(state.wallet.balance, Some(Money::from_dollars(20)));
        assert!(update(&mut state, Action::Down).is_empty());
        assert!(update(&mut state, Action::Down).is_empty());
        assert_eq!(
            update(&mut state, Action::Down),
            [Effect::FetchWalletPage {
                cursor: Some("c".to_owned())
            }]
        );
        update(
            &mut state,
            Action::WalletPageLoaded {
                more: true,
                result: Ok(page(3, false)),
            },
        );
        assert_eq!(state.wallet.entries.len(), 11);
        assert_eq!(state.wallet.next_cursor, None);
    }

    /// Types `text` into the dialog's focused field.
    fn type_in(state: &mut State, text: &str) {
        for c in text.chars() {
            update(state, Action::TopUpEdit(Edit::Insert(c)));
        }
    }

    fn phase(state: &State) -> Option<&TopUpPhase> {
        state.wallet.top_up.as_ref().map(|dialog| &dialog.phase)
    }

    fn key(state: &State) -> String {
        state
            .wallet
            .top_up
            .as_ref()
            .map(|dialog| dialog.idempotency_key.clone())
            .unwrap_or_default()
    }

    const BOB: &str = "https://wallet.example/bob";
    const CONSENT: &str = "https://auth.wallet.example/consent/4CF492MLVMSW9MKMXKHQ";

    /// A top-up of $20 from bob's wallet, `n` telling ids apart.
    fn status(n: u8, state: &str, error: Option<&str>) -> TopUpStatus {
        serde_json::from_value(serde_json::json!({
            "id": format!("0196a1c2-0000-7000-8000-0000000000{n:02}"),
            "amount": 20_000_000,
            "from": BOB,
            "state": state,
            "consent_url": (state == "awaiting_consent").then_some(CONSENT),
            "error": error,
            "created_at": "2026-05-02T17:00:00Z",
            "updated_at": "2026-05-02T17:00:05Z",
        }))
        .unwrap_or_else(|err| panic!("a top-up status: {err}"))
    }

    /// The wallet screen with the dialog sent: $20 from bob; returns the request's key.
    fn sent_from_bob(state: &mut State) -> String {
        update(state, Action::Wallet);
        update(state, Action::TopUp);
        type_in(state, "20");
        update(state, Action::TopUpNextField);
        // Whatever the dialog offers is replaced.
        update(state, Action::TopUpEdit(Edit::KillToStart));
        type_in(state, BOB);
        let effects = update(state, Action::Confirm);
        let key = key(state);
        assert_eq!(
            effects,
            [Effect::TopUp {
                amount: Money::from_dollars(20),
                from: Some(BOB.to_owned()),
                idempotency_key: key.clone(),
            }]
        );
        key
    }

    /// As [`sent_from_bob`], and the server answered that bob must approve it.
    fn waiting_for_bob(state: &mut State) -> TopUpStatus {
        let key = sent_from_bob(state);
        let pending = status(1, "awaiting_consent", None);
        let effects = update(
            state,
            Action::ToppedUp {
                idempotency_key: key,
                result: Ok(TopUpStarted::Pending(pending.clone())),
            },
        );
        assert_eq!(
            effects,
            [
                Effect::OpenBrowser(CONSENT.to_owned()),
                Effect::FollowTopUp(Box::new(pending.clone())),
            ]
        );
        pending
    }

    fn checked(
        state: &mut State,
        asked: &TopUpStatus,
        result: Result<TopUpStatus, String>,
        more: bool,
    ) -> Vec<Effect> {
        update(
            state,
            Action::TopUpChecked {
                asked: Box::new(asked.clone()),
                result,
                more,
            },
        )
    }

    #[test]
    fn a_top_up_is_checked_sent_once_and_booked() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Wallet);
        update(&mut state, Action::TopUp);
        type_in(&mut state, "0");
        assert!(update(&mut state, Action::Confirm).is_empty());
        assert!(matches!(
            phase(&state),
            Some(TopUpPhase::Failed {
                field: Some(TopUpField::Amount),
                ..
            })
        ));
        update(&mut state, Action::TopUpEdit(Edit::Backspace));
        type_in(&mut state, "25");
        let effects = update(&mut state, Action::Confirm);
        assert_eq!(
            effects,
            [Effect::TopUp {
                amount: Money::from_dollars(25),
                from: None,
                idempotency_key: key(&state),
            }],
            "no wallet: play money"
        );
        assert!(update(&mut state, Action::Confirm).is_empty(), "sent once");
        let sent = key(&state);
        update(
            &mut state,
            Action::ToppedUp {
                idempotency_key: sent,
                result: Ok(TopUpStarted::Credited(TopUpReceipt {
                    provider: "development".to_owned(),
                    entry: entry(2, Money::from_dollars(25), Money::from_dollars(25)),
                    balance: Money::from_dollars(25),
                })),
            },
        );
        assert!(state.wallet.top_up.is_none());
        assert_eq!(state.wallet.balance, Some(Money::from_dollars(25)));
        assert_eq!(state.wallet.entries.len(), 1);
        assert!(state.topup_wallets.is_empty(), "play money names no wallet");
    }

    #[test]
    fn a_pending_top_up_shows_its_page_is_followed_and_completes() {
        let mut state = State::for_tests(Zone::Local);
        let pending = waiting_for_bob(&mut state);
        assert_eq!(
            phase(&state),
            Some(&TopUpPhase::Waiting {
                status: pending.clone(),
                trouble: None
            })
        );
        assert_eq!(
            state.wallet.topups,
            std::slice::from_ref(&pending),
            "listed at once"
        );
        // Keys change nothing while the wallet is asked; Enter sends nothing more.
        type_in(&mut state, "9");
        update(&mut state, Action::TopUpNextField);
        assert!(update(&mut state, Action::Confirm).is_empty());
        assert_eq!(
            state.wallet.top_up.as_ref().map(|d| d.amount.text()),
            Some("20".to_owned())
        );

        let sending = status(1, "sending", None);
        assert!(checked(&mut state, &pending, Ok(sending.clone()), true).is_empty());
        assert_eq!(
            state.wallet.top_up.as_ref().and_then(TopUpDialog::waiting),
            Some(&sending)
        );

        let done = status(1, "completed", None);
        let effects = checked(&mut state, &sending, Ok(done.clone()), false);
        assert_eq!(
            effects,
            [
                Effect::RememberTopUpWallet {
                    server: state.server.clone(),
                    wallet: BOB.to_owned(),
                },
                Effect::FetchWalletPage { cursor: None },
            ]
        );
        assert!(state.wallet.top_up.is_none(), "the dialog closes");
        assert_eq!(state.status, format!("added $20.00 from {BOB}"));
        assert!(
            state.wallet.loading,
            "balance and entries are loaded afresh"
        );
        assert_eq!(state.wallet.topups, [done]);

        // The next top-up on this server offers the same wallet.
        update(&mut state, Action::TopUp);
        let dialog = state
            .wallet
            .top_up
            .as_ref()
            .map(|d| (d.from.text(), d.focus));
        assert_eq!(dialog, Some((BOB.to_owned(), TopUpField::Amount)));
    }

    #[test]
    fn the_wallet_remembered_for_this_server_is_offered() {
        let mut state = State::for_tests(Zone::Local);
        state.topup_wallets.insert(
            "http://elsewhere:8080".to_owned(),
            "$wallet.example/eve".to_owned(),
        );
        update(&mut state, Action::Wallet);
        update(&mut state, Action::TopUp);
        assert_eq!(
            state.wallet.top_up.as_ref().map(|d| d.from.text()),
            Some(String::new())
        );
        update(&mut state, Action::Back);
        state
            .topup_wallets
            .insert(state.server.clone(), "$wallet.example/bob".to_owned());
        update(&mut state, Action::TopUp);
        type_in(&mut state, "5");
        assert!(matches!(
            &update(&mut state, Action::Confirm)[..],
            [Effect::TopUp { from: Some(from), .. }] if from == "$wallet.example/bob"
        ));
    }

    #[test]
    fn a_declined_top_up_says_why_and_enter_tries_again_as_a_new_top_up() {
        let mut state = State::for_tests(Zone::Local);
        let pending = waiting_for_bob(&mut state);
        let before = key(&state);
        let declined = status(1, "declined", Some("the holder declined the payment"));
        assert!(checked(&mut state, &pending, Ok(declined), false).is_empty());
        let Some(TopUpPhase::Failed {
            field: None,
            reason,
        }) = phase(&state)
        else {
            panic!("the dialog stays open with the reason: {:?}", phase(&state));
        };
        assert!(
            reason.contains("declined") && reason.contains("the holder declined"),
            "{reason}"
        );
        assert!(
            state.topup_wallets.is_empty(),
            "only a completed top-up is remembered"
        );
        let effects = update(&mut state, Action::Confirm);
        assert!(matches!(
            &effects[..],
            [Effect::TopUp { idempotency_key, .. }] if *idempotency_key != before
        ));

        // Expired and failed ones say so too.
        for (state_name, words) in [("expired", "expired"), ("failed", "failed")] {
            let mut state = State::for_tests(Zone::Local);
            let pending = waiting_for_bob(&mut state);
            checked(&mut state, &pending, Ok(status(1, state_name, None)), false);
            assert!(matches!(
                phase(&state),
                Some(TopUpPhase::Failed { field: None, reason }) if reason.contains(words)
            ));
        }
    }

    #[test]
    fn refusals_naming_a_field_are_shown_under_it() {
        let mut state = State::for_tests(Zone::Local);
        let sent = sent_from_bob(&mut state);
        update(
            &mut state,
            Action::ToppedUp {
                idempotency_key: sent,
                result: Err(TopUpRefusal {
                    field: Some(TopUpField::From),
                    reason: "this server adds play money: no wallet".to_owned(),
                }),
            },
        );
        assert!(matches!(
            phase(&state),
            Some(TopUpPhase::Failed {
                field: Some(TopUpField::From),
                ..
            })
        ));
        // The caret moved to that field: Ctrl-u clears it, and the top-up is a new one.
        update(&mut state, Action::TopUpEdit(Edit::KillToStart));
        let again = key(&state);
        assert!(matches!(
            &update(&mut state, Action::Confirm)[..],
            [Effect::TopUp { from: None, .. }]
        ));
        update(
            &mut state,
            Action::ToppedUp {
                idempotency_key: again,
                result: Err(TopUpRefusal {
                    field: Some(TopUpField::Amount),
                    reason: "at most $10,000.00".to_owned(),
                }),
            },
        );
        assert!(matches!(
            state.wallet.top_up.as_ref().map(|d| (&d.phase, d.focus)),
            Some((
                TopUpPhase::Failed {
                    field: Some(TopUpField::Amount),
                    ..
                },
                TopUpField::Amount
            ))
        ));
        // A bad wallet is caught before sending.
        update(&mut state, Action::TopUpNextField);
        type_in(&mut state, "bob");
        assert!(update(&mut state, Action::Confirm).is_empty());
        assert!(matches!(
            phase(&state),
            Some(TopUpPhase::Failed {
                field: Some(TopUpField::From),
                ..
            })
        ));
    }

    #[test]
    fn an_answer_for_another_dialog_leaves_this_one_alone() {
        let mut state = State::for_tests(Zone::Local);
        sent_from_bob(&mut state);
        update(
            &mut state,
            Action::ToppedUp {
                idempotency_key: "an-older-one".to_owned(),
                result: Err(TopUpRefusal {
                    field: None,
                    reason: "nope".to_owned(),
                }),
            },
        );
        assert_eq!(phase(&state), Some(&TopUpPhase::Sending));
        assert_eq!(state.status, "the top-up failed: nope");
    }

    #[test]
    fn esc_closes_the_dialog_while_the_top_up_goes_on_and_is_still_followed() {
        let mut state = State::for_tests(Zone::Local);
        let pending = waiting_for_bob(&mut state);
        assert!(update(&mut state, Action::Back).is_empty());
        assert!(state.wallet.top_up.is_none());
        assert!(state.status.contains("goes on"), "{}", state.status);
        assert_eq!(
            state.wallet.topups,
            std::slice::from_ref(&pending),
            "the wallet shows it"
        );
        let effects = checked(
            &mut state,
            &pending,
            Ok(status(1, "completed", None)),
            false,
        );
        assert_eq!(effects.len(), 2, "{effects:?}");
        assert_eq!(state.status, format!("added $20.00 from {BOB}"));

        // Closed while it was being sent: the page is still opened and it is followed.
        let key = sent_from_bob(&mut state);
        update(&mut state, Action::Back);
        let other = status(2, "awaiting_consent", None);
        let effects = update(
            &mut state,
            Action::ToppedUp {
                idempotency_key: key,
                result: Ok(TopUpStarted::Pending(other.clone())),
            },
        );
        assert_eq!(
            effects,
            [
                Effect::OpenBrowser(CONSENT.to_owned()),
                Effect::FollowTopUp(Box::new(other.clone())),
            ]
        );
        assert!(state.status.contains(CONSENT), "{}", state.status);
        checked(&mut state, &other, Ok(status(2, "expired", None)), false);
        assert!(state.status.contains("expired"), "{}", state.status);
    }

    #[test]
    fn trouble_checking_is_shown_while_checks_go_on_and_ends_the_wait_when_they_stop() {
        let mut state = State::for_tests(Zone::Local);
        let pending = waiting_for_bob(&mut state);
        checked(
            &mut state,
            &pending,
            Err("cannot reach the server".to_owned()),
            true,
        );
        assert_eq!(
            phase(&state),
            Some(&TopUpPhase::Waiting {
                status: pending.clone(),
                trouble: Some("cannot reach the server".to_owned())
            })
        );
        checked(&mut state, &pending, Ok(pending.clone()), true);
        assert!(matches!(
            phase(&state),
            Some(TopUpPhase::Waiting { trouble: None, .. })
        ));
        checked(
            &mut state,
            &pending,
            Err("Not found: no such top-up".to_owned()),
            false,
        );
        assert!(matches!(
            phase(&state),
            Some(TopUpPhase::Failed { field: None, reason }) if reason.contains("no such top-up")
        ));
    }

    #[test]
    fn the_dialog_keys_tab_between_fields_and_free_the_mouse_while_waiting() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

        use crate::tui::event::map_key;
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Wallet);
        update(&mut state, Action::TopUp);
        assert_eq!(
            map_key(&state, &key(KeyCode::Tab)),
            Some(Action::TopUpNextField)
        );
        assert_eq!(
            map_key(&state, &key(KeyCode::BackTab)),
            Some(Action::TopUpNextField)
        );
        assert_eq!(
            map_key(&state, &key(KeyCode::Char('m'))),
            Some(Action::TopUpEdit(Edit::Insert('m')))
        );
        update(&mut state, Action::TopUpNextField);
        type_in(&mut state, "$w.example/x");
        assert_eq!(
            state.wallet.top_up.as_ref().map(|d| d.from.text()),
            Some("$w.example/x".to_owned())
        );
        update(&mut state, Action::Back);
        let _ = waiting_for_bob(&mut state);
        assert_eq!(
            map_key(&state, &key(KeyCode::Char('m'))),
            Some(Action::ToggleMouse)
        );
        assert_eq!(map_key(&state, &key(KeyCode::Char('x'))), None);
        assert_eq!(map_key(&state, &key(KeyCode::Esc)), Some(Action::Back));
        update(&mut state, Action::ToggleMouse);
        assert!(!state.mouse, "the mouse switch works over the dialog");
    }

    #[test]
    fn a_fresh_page_of_the_wallet_brings_its_top_ups_and_follows_those_under_way() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Wallet);
        let pending = status(1, "awaiting_consent", None);
        let mut wallet = page(1, true);
        wallet.topups = vec![pending.clone(), status(2, "declined", None)];
        let effects = update(
            &mut state,
            Action::WalletPageLoaded {
                more: false,
                result: Ok(wallet),
            },
        );
        assert_eq!(effects, [Effect::FollowTopUp(Box::new(pending.clone()))]);
        assert_eq!(state.wallet.topups.len(), 2);
        update(
            &mut state,
            Action::WalletPageLoaded {
                more: true,
                result: Ok(page(1, false)),
            },
        );
        assert_eq!(state.wallet.topups.len(), 2, "older pages keep them");

        // Enter shows the one under way again, its page and all.
        update(&mut state, Action::Open);
        assert_eq!(
            state.wallet.top_up.as_ref().and_then(TopUpDialog::waiting),
            Some(&pending)
        );
        assert_eq!(
            state.wallet.top_up.as_ref().map(|d| d.amount.text()),
            Some("20.00".to_owned())
        );
        let done = status(1, "completed", None);
        checked(&mut state, &pending, Ok(done), false);
        assert!(state.wallet.top_up.is_none());
        // Nothing under way: Enter does nothing.
        update(&mut state, Action::Open);
        assert!(state.wallet.top_up.is_none());
    }
}
