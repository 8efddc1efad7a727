//! The wallet screen's part of [`update`](super::update()): loading the history page by page and
//! the top-up dialog.

use bookmygig_api::Wallet;

use crate::tui::action::Effect;
use crate::tui::app::{Screen, State};
use crate::tui::line_editor::Edit;
use crate::tui::wallet::{TopUpDialog, TopUpPhase};

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
        }
        Err(reason) if more => state.status = format!("could not load older entries: {reason}"),
        Err(reason) => view.error = Some(reason),
    }
    Vec::new()
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

/// Opens the top-up dialog.
pub(super) fn start_top_up(state: &mut State) {
    state.purchases += 1;
    state.wallet.top_up = Some(TopUpDialog {
        amount: crate::tui::line_editor::LineEditor::default(),
        phase: TopUpPhase::Editing,
        idempotency_key: format!("{}-{}", state.session, state.purchases),
    });
}

/// Edits the amount; a changed amount is a new top-up, with a new key.
pub(super) fn edit(state: &mut State, edit: Edit) {
    let Some(dialog) = &mut state.wallet.top_up else {
        return;
    };
    if dialog.phase == TopUpPhase::Sending {
        return;
    }
    let before = dialog.amount.text();
    dialog.amount.apply(edit);
    if dialog.amount.text() != before {
        state.purchases += 1;
        dialog.idempotency_key = format!("{}-{}", state.session, state.purchases);
        dialog.phase = TopUpPhase::Editing;
    }
}

/// Enter in the dialog: sends the top-up when the amount is good.
pub(super) fn confirm(state: &mut State) -> Vec<Effect> {
    let Some(dialog) = &mut state.wallet.top_up else {
        return Vec::new();
    };
    if dialog.phase == TopUpPhase::Sending {
        return Vec::new();
    }
    match dialog.amount() {
        Ok(amount) => {
            dialog.phase = TopUpPhase::Sending;
            vec![Effect::TopUp {
                amount,
                idempotency_key: dialog.idempotency_key.clone(),
            }]
        }
        Err(reason) => {
            dialog.phase = TopUpPhase::Failed(reason);
            Vec::new()
        }
    }
}

/// A top-up finished.
pub(super) fn topped_up(
    state: &mut State,
    result: Result<bookmygig_api::TopUpReceipt, String>,
) -> Vec<Effect> {
    match result {
        Ok(receipt) => {
            state.status = format!(
                "added {}; the balance is {}",
                receipt.entry.amount, receipt.balance
            );
            state.wallet.top_up = None;
            state.wallet.balance = Some(receipt.balance);
            state.wallet.entries.insert(0, receipt.entry);
            state.wallet.selected = 0;
        }
        Err(reason) => match &mut state.wallet.top_up {
            Some(dialog) => dialog.phase = TopUpPhase::Failed(reason),
            None => state.status = format!("the top-up failed: {reason}"),
        },
    }
    Vec::new()
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

    #[test]
    fn a_top_up_is_checked_sent_once_and_booked() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Wallet);
        update(&mut state, Action::TopUp);
        for c in "0".chars() {
            update(&mut state, Action::TopUpEdit(Edit::Insert(c)));
        }
        assert!(update(&mut state, Action::Confirm).is_empty());
        assert!(matches!(
            state.wallet.top_up.as_ref().map(|d| &d.phase),
            Some(TopUpPhase::Failed(_))
        ));
        update(&mut state, Action::TopUpEdit(Edit::Backspace));
        for c in "25".chars() {
            update(&mut state, Action::TopUpEdit(Edit::Insert(c)));
        }
        let effects = update(&mut state, Action::Confirm);
        assert!(matches!(
            &effects[..],
            [Effect::TopUp { amount, .. }] if *amount == Money::from_dollars(25)
        ));
        assert!(update(&mut state, Action::Confirm).is_empty(), "sent once");
        update(
            &mut state,
            Action::ToppedUp(Ok(TopUpReceipt {
                provider: "development".to_owned(),
                entry: entry(2, Money::from_dollars(25), Money::from_dollars(25)),
                balance: Money::from_dollars(25),
            })),
        );
        assert!(state.wallet.top_up.is_none());
        assert_eq!(state.wallet.balance, Some(Money::from_dollars(25)));
        assert_eq!(state.wallet.entries.len(), 1);
    }
}
