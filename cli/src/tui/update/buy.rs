//! The buy dialog's way past a wallet that cannot cover the ticket: the top-up dialog opens in
//! place, offering enough, and the purchase follows by itself once the money is added.

use bookmygig_api::Money;

use crate::tui::action::Effect;
use crate::tui::app::{BuyPhase, State};
use crate::tui::line_editor::Edit;

/// What the top-up offers above the shortfall: browsing pays the platform a little while the
/// TUI is open, so exactly the price could fall short again by the time the purchase lands.
const MARGIN: Money = Money::from_dollars(1);

/// Top-ups are offered in steps of this many dollars.
const STEP_DOLLARS: i64 = 5;

/// `y` in a buy dialog whose wallet is short: opens the top-up dialog with an amount that
/// covers the ticket.
pub(super) fn top_up(state: &mut State) -> Vec<Effect> {
    let Some(shortfall) = state.buy.as_ref().and_then(|dialog| dialog.shortfall()) else {
        return Vec::new();
    };
    super::wallet::start_top_up(state);
    if let Some(dialog) = &mut state.wallet.top_up {
        let amount = suggested(shortfall).to_string();
        for c in amount.trim_start_matches('$').chars() {
            dialog.amount.apply(Edit::Insert(c));
        }
    }
    if let Some(dialog) = &mut state.buy {
        dialog.phase = BuyPhase::ToppingUp;
    }
    Vec::new()
}

/// The top-up of at least `shortfall`: shortfall plus [`MARGIN`], rounded up to whole
/// [`STEP_DOLLARS`].
fn suggested(shortfall: Money) -> Money {
    let step = Money::from_dollars(STEP_DOLLARS).micros();
    let wanted = shortfall.micros().saturating_add(MARGIN.micros());
    let steps = wanted.saturating_add(step - 1) / step;
    Money::from_micros(steps.saturating_mul(step))
}

/// A top-up was added to the wallet: `balance` is the new balance when the server said it,
/// else the dialog's known balance plus `added`. A dialog waiting on it buys now, or asks
/// again when the money still falls short.
pub(super) fn topped_up(state: &mut State, balance: Option<Money>, added: Money) -> Vec<Effect> {
    let Some(dialog) = state
        .buy
        .as_mut()
        .filter(|dialog| dialog.phase == BuyPhase::ToppingUp)
    else {
        return Vec::new();
    };
    dialog.balance = balance.or_else(|| dialog.balance.and_then(|known| known.checked_add(added)));
    if dialog.shortfall().is_some() {
        dialog.phase = BuyPhase::Confirm;
        return Vec::new();
    }
    dialog.phase = BuyPhase::Buying;
    vec![Effect::BuyTicket {
        gig: dialog.gig.id,
        idempotency_key: dialog.idempotency_key.clone(),
    }]
}

/// The top-up dialog was closed: unless its top-up goes on in the wallet (the purchase still
/// follows it), the buy dialog asks again.
pub(super) fn top_up_closed(state: &mut State, goes_on: bool) {
    if let Some(dialog) = state
        .buy
        .as_mut()
        .filter(|dialog| dialog.phase == BuyPhase::ToppingUp && !goes_on)
    {
        dialog.phase = BuyPhase::Confirm;
    }
}

#[cfg(test)]
mod tests {
    use bookmygig_api::{EntryKind, LedgerEntry, TopUpReceipt, TransactionId};
    use bookmygig_client::TopUpStarted;

    use super::*;
    use crate::tui::action::Action;
    use crate::tui::app::Zone;
    use crate::tui::sample;
    use crate::tui::update::update;

    /// The catalogue with the buy dialog of its first gig ($7.50) open over a wallet of `balance`.
    fn buying_with(balance: Money) -> State {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Refresh);
        sample::answer_catalogue(&mut state, sample::gigs(), None);
        update(&mut state, Action::Buy);
        update(&mut state, Action::WalletLoaded(Ok(balance)));
        state
    }

    fn credited(state: &mut State, balance: Money) -> Vec<Effect> {
        let key = state
            .wallet
            .top_up
            .as_ref()
            .map(|dialog| dialog.idempotency_key.clone())
            .unwrap_or_default();
        update(
            state,
            Action::ToppedUp {
                idempotency_key: key,
                result: Ok(TopUpStarted::Credited(TopUpReceipt {
                    provider: "development".to_owned(),
                    entry: LedgerEntry {
                        transaction_id: TransactionId::from_bytes([9; 16]),
                        kind: EntryKind::TopUp,
                        amount: balance,
                        balance_after: balance,
                        memo: "Top-up".to_owned(),
                        gig_id: None,
                        at: time::macros::datetime!(2026-05-02 17:00 UTC),
                    },
                    balance,
                })),
            },
        )
    }

    #[test]
    fn the_top_up_offered_covers_the_shortfall_with_a_margin() {
        assert_eq!(suggested(Money(7_500_000)), Money::from_dollars(10));
        assert_eq!(suggested(Money::from_dollars(4)), Money::from_dollars(5));
        assert_eq!(suggested(Money(4_000_001)), Money::from_dollars(10));
        assert_eq!(suggested(Money(1)), Money::from_dollars(5));
    }

    #[test]
    fn a_short_wallet_tops_up_in_place_then_buys() {
        let mut state = buying_with(Money::ZERO);
        let gig = state.gigs[0].id;
        assert!(
            update(&mut state, Action::Confirm).is_empty(),
            "no purchase yet"
        );
        let dialog = state
            .wallet
            .top_up
            .as_ref()
            .unwrap_or_else(|| panic!("no top-up"));
        assert_eq!(dialog.amount.text(), "10.00");
        assert_eq!(
            state.buy.as_ref().map(|d| d.phase.clone()),
            Some(BuyPhase::ToppingUp)
        );
        // The dialog's keys are the top-up's now.
        update(&mut state, Action::TopUpEdit(Edit::Backspace));
        assert_eq!(
            state
                .wallet
                .top_up
                .as_ref()
                .map(|d| d.amount.text())
                .as_deref(),
            Some("10.0")
        );
        let effects = update(&mut state, Action::Confirm);
        assert!(
            matches!(&effects[..], [Effect::TopUp { .. }]),
            "{effects:?}"
        );
        let effects = credited(&mut state, Money::from_dollars(10));
        assert!(state.wallet.top_up.is_none());
        assert_eq!(
            effects,
            vec![Effect::BuyTicket {
                gig,
                idempotency_key: "test-1".to_owned(),
            }]
        );
        let dialog = state.buy.as_ref().unwrap_or_else(|| panic!("no dialog"));
        assert_eq!(dialog.phase, BuyPhase::Buying);
        assert_eq!(dialog.balance, Some(Money::from_dollars(10)));
    }

    #[test]
    fn too_small_a_top_up_asks_again() {
        let mut state = buying_with(Money::ZERO);
        update(&mut state, Action::Confirm);
        assert!(credited(&mut state, Money::from_dollars(1)).is_empty());
        assert_eq!(
            state.buy.as_ref().map(|d| d.phase.clone()),
            Some(BuyPhase::Confirm)
        );
    }

    #[test]
    fn esc_in_the_top_up_returns_to_the_buy_dialog() {
        let mut state = buying_with(Money::ZERO);
        update(&mut state, Action::Confirm);
        update(&mut state, Action::Back);
        assert!(state.wallet.top_up.is_none());
        assert_eq!(
            state.buy.as_ref().map(|d| d.phase.clone()),
            Some(BuyPhase::Confirm)
        );
        update(&mut state, Action::Back);
        assert!(state.buy.is_none());
    }

    #[test]
    fn keys_go_to_the_top_up_dialog_over_the_buy_dialog() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

        use crate::tui::event::map_key;
        let mut state = buying_with(Money::ZERO);
        let key = |state: &State, code| map_key(state, &KeyEvent::new(code, KeyModifiers::NONE));
        assert_eq!(key(&state, KeyCode::Char('y')), Some(Action::Confirm));
        update(&mut state, Action::Confirm);
        assert_eq!(
            key(&state, KeyCode::Char('y')),
            Some(Action::TopUpEdit(Edit::Insert('y'))),
            "typed, not a yes"
        );
        assert_eq!(key(&state, KeyCode::Enter), Some(Action::Confirm));
        assert_eq!(key(&state, KeyCode::Esc), Some(Action::Back));
    }

    #[test]
    fn a_covered_ticket_is_bought_at_once() {
        let mut state = buying_with(Money::from_dollars(20));
        assert!(matches!(
            &update(&mut state, Action::Confirm)[..],
            [Effect::BuyTicket { .. }]
        ));
        assert!(state.wallet.top_up.is_none());
    }
}
