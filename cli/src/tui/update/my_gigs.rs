//! "My gigs" in [`update`](super::update()): loading, moving the selection (which hides the
//! stream key again), asking for a payout, following payouts on their way while the screen
//! is shown, and changing a gig's replay window (one request at a time, the last value wins).

use bookmygig_api::{Gig, GigId, GigStatus, Money, Payout, PayoutState};
use time::{Duration, OffsetDateTime};

use crate::tui::action::Effect;
use crate::tui::app::{Screen, State};
use crate::tui::backoff::backoff_seconds;
use crate::tui::my_gigs::{CreatorData, ReplayEdit, next_replay_step, replay_words};

/// How often payouts on their way are asked about while "My gigs" is shown.
pub const PAYOUT_CHECK_EVERY: Duration = Duration::seconds(3);

/// Shows "My gigs", loading them afresh.
pub(super) fn open(state: &mut State) -> Vec<Effect> {
    state.screen = Screen::MyGigs;
    state.my_gigs.key_shown = false;
    vec![reload(state)]
}

/// Loads the gigs, earnings and payouts again, where the screen is; checks asked for before
/// are answered with older news than this, and dropped.
fn reload(state: &mut State) -> Effect {
    let view = &mut state.my_gigs;
    view.loading = true;
    view.payouts_epoch += 1;
    view.next_check = None;
    Effect::FetchCreatorData
}

/// The data arrived; payouts on their way are asked about again in a while.
pub(super) fn loaded(state: &mut State, result: Result<CreatorData, String>) {
    let now = state.now;
    let view = &mut state.my_gigs;
    view.loading = false;
    match result {
        Ok(data) => {
            view.error = None;
            view.data = data;
            view.selected = view.selected.min(view.data.gigs.len().saturating_sub(1));
            view.check_failures = 0;
            view.next_check = view.payouts_under_way().then_some(now + PAYOUT_CHECK_EVERY);
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

/// The payout key: asks for a payout of the selected gig when it has ended and something is
/// payable; else the status line says why not.
pub(super) fn request_payout(state: &mut State) -> Vec<Effect> {
    if state.screen != Screen::MyGigs {
        return Vec::new();
    }
    let view = &state.my_gigs;
    if view.requesting.is_some() {
        state.status = "a payout is being asked for already".to_owned();
        return Vec::new();
    }
    match view.payable_now(state.now) {
        Ok((gig, payable)) => {
            let gig = gig.id;
            state.status = format!(
                "asking to pay out {payable} of {}…",
                view.title_of(gig).unwrap_or("the gig")
            );
            state.my_gigs.requesting = Some(gig);
            vec![Effect::RequestPayout { gig }]
        }
        Err(why) => {
            state.status = why;
            Vec::new()
        }
    }
}

/// The server answered a payout request: the payout is listed (and followed), and its gig's
/// payable moves to paid out; a refusal is shown as the server put it.
pub(super) fn payout_requested(
    state: &mut State,
    gig: bookmygig_api::GigId,
    result: Result<Payout, String>,
) {
    let now = state.now;
    let view = &mut state.my_gigs;
    if view.requesting == Some(gig) {
        view.requesting = None;
    }
    let title = view.title_of(gig).unwrap_or("the gig").to_owned();
    let payout = match result {
        Ok(payout) => payout,
        Err(reason) => {
            state.status = format!("no payout for {title}: {reason}");
            return;
        }
    };
    state.status = match payout.state {
        PayoutState::Sent => format!("paid {} to {}", payout.amount, payout.to),
        PayoutState::Failed => failed_words(&payout),
        PayoutState::Requested | PayoutState::Sending => {
            format!("payout of {} requested; following it here", payout.amount)
        }
    };
    // A payout the server had on its way already is the same payout: not counted twice.
    let known = view.data.payouts.iter().any(|p| p.id == payout.id);
    if !known
        && payout.state != PayoutState::Failed
        && let Some(earnings) = view.data.earnings.iter_mut().find(|e| e.gig_id == gig)
    {
        earnings.paid_out = earnings
            .paid_out
            .checked_sub(payout.amount)
            .unwrap_or(earnings.paid_out);
        earnings.payable = earnings
            .payable
            .checked_sub(payout.amount)
            .unwrap_or(Money::ZERO)
            .max(Money::ZERO);
    }
    view.data.payouts.retain(|p| p.id != payout.id);
    view.data.payouts.insert(0, payout);
    // What is shown is newer than any check on its way.
    view.payouts_epoch += 1;
    view.check_failures = 0;
    view.next_check = view.payouts_under_way().then_some(now + PAYOUT_CHECK_EVERY);
}

/// The replay key: the selected gig's replay window moves to the next step, shown at once;
/// the change is sent unless one for the gig is on its way already (then it follows that one's
/// answer, so only the last of rapid presses is sent after the first).
pub(super) fn cycle_replay_window(state: &mut State) -> Vec<Effect> {
    if state.screen != Screen::MyGigs {
        return Vec::new();
    }
    let view = &mut state.my_gigs;
    let Some(gig) = view.gig() else {
        return Vec::new();
    };
    if gig.status == GigStatus::Cancelled {
        state.status = format!("{} was cancelled: it has no replay", gig.title);
        return Vec::new();
    }
    let id = gig.id;
    let (current, _) = view.replay_hours().unwrap_or_default();
    let wanted = next_replay_step(current);
    let edit = view.replay_edits.entry(id).or_insert(ReplayEdit {
        wanted,
        sending: None,
    });
    edit.wanted = wanted;
    if edit.sending.is_some() {
        return Vec::new();
    }
    edit.sending = Some(wanted);
    vec![Effect::SetReplayWindow {
        gig: id,
        hours: wanted,
    }]
}

/// The server answered a change of `gig`'s replay window to `hours`: its row is the server's
/// gig from now on, and a value asked for meanwhile is sent next; a refusal drops what was
/// asked (the row shows the server's window again) and says why in the status line.
pub(super) fn replay_window_set(
    state: &mut State,
    gig: GigId,
    hours: u32,
    result: Result<Gig, String>,
) -> Vec<Effect> {
    let view = &mut state.my_gigs;
    let title = view.title_of(gig).unwrap_or("the gig").to_owned();
    let updated = match result {
        Ok(updated) => updated,
        Err(reason) => {
            view.replay_edits.remove(&gig);
            state.status = format!(
                "could not set the replay window of {title} to {}: {reason}",
                replay_words(hours)
            );
            return Vec::new();
        }
    };
    let now_hours = updated.replay_hours;
    if let Some(row) = view.data.gigs.iter_mut().find(|g| g.id == gig) {
        // The answer is the creator's view too; should it lack the secrets, the known ones stay.
        let (stream_key, rtmp_url) = (row.stream_key.take(), row.rtmp_url.take());
        *row = updated;
        row.stream_key = row.stream_key.take().or(stream_key);
        row.rtmp_url = row.rtmp_url.take().or(rtmp_url);
    }
    let Some(edit) = view.replay_edits.get_mut(&gig) else {
        return Vec::new();
    };
    edit.sending = None;
    if edit.wanted != now_hours {
        let wanted = edit.wanted;
        edit.sending = Some(wanted);
        return vec![Effect::SetReplayWindow { gig, hours: wanted }];
    }
    view.replay_edits.remove(&gig);
    state.status = format!("replay window of {title}: {}", replay_words(now_hours));
    Vec::new()
}

/// The clock: payouts on their way are asked about every [`PAYOUT_CHECK_EVERY`] while the
/// screen is shown (one check at a time, none while the screen loads).
pub(super) fn tick(state: &mut State, now: OffsetDateTime) -> Vec<Effect> {
    let view = &mut state.my_gigs;
    let due = view.next_check.is_some_and(|at| at <= now);
    if state.screen != Screen::MyGigs || !due || view.checking || view.loading {
        return Vec::new();
    }
    view.checking = true;
    vec![Effect::FetchPayouts {
        epoch: view.payouts_epoch,
    }]
}

/// A check of the payouts answered: changes are told in the status line; a payout that failed
/// (its amount back in the wallet) or one not seen before (paid by the scheduler) loads the
/// earnings again; the checks go on while any payout is on its way.
pub(super) fn payouts_loaded(
    state: &mut State,
    epoch: u64,
    result: Result<Vec<Payout>, String>,
) -> Vec<Effect> {
    let now = state.now;
    let view = &mut state.my_gigs;
    view.checking = false;
    if epoch != view.payouts_epoch {
        // Older than what is shown; the next check is due as planned.
        return Vec::new();
    }
    let payouts = match result {
        Ok(payouts) => payouts,
        Err(reason) => {
            view.check_failures = view.check_failures.saturating_add(1);
            let pause = Duration::seconds(
                i64::try_from(backoff_seconds(view.check_failures)).unwrap_or(i64::MAX),
            )
            .max(PAYOUT_CHECK_EVERY);
            view.next_check = Some(now + pause);
            state.status = format!("could not check the payouts (trying again): {reason}");
            return Vec::new();
        }
    };
    view.check_failures = 0;
    let mut news = None;
    let mut earnings_changed = false;
    for payout in &payouts {
        match view.data.payouts.iter().find(|known| known.id == payout.id) {
            None => {
                earnings_changed = true;
                news = Some(news_of(payout));
            }
            Some(known) if known.state != payout.state || known.error != payout.error => {
                earnings_changed |= payout.state == PayoutState::Failed;
                news = Some(news_of(payout));
            }
            Some(_) => {}
        }
    }
    view.data.payouts = payouts;
    view.next_check = view.payouts_under_way().then_some(now + PAYOUT_CHECK_EVERY);
    if let Some(news) = news {
        state.status = news;
    }
    if earnings_changed {
        vec![reload(state)]
    } else {
        Vec::new()
    }
}

/// What the status line says of a payout that changed.
fn news_of(payout: &Payout) -> String {
    match (payout.state, &payout.error) {
        (PayoutState::Sent, _) => format!("paid {} to {}", payout.amount, payout.to),
        (PayoutState::Failed, _) => failed_words(payout),
        (_, Some(error)) => format!("the payout of {} waits: {error}", payout.amount),
        (PayoutState::Sending, None) => {
            format!(
                "the payout of {} is on its way to {}",
                payout.amount, payout.to
            )
        }
        (PayoutState::Requested, None) => {
            format!("payout of {} to {} requested", payout.amount, payout.to)
        }
    }
}

/// A failed payout, in words.
fn failed_words(payout: &Payout) -> String {
    let why = payout
        .error
        .as_deref()
        .map_or_else(String::new, |error| format!(": {error}"));
    format!(
        "the payout of {} to {} failed{why}; the amount is back in your wallet",
        payout.amount, payout.to
    )
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

    use bookmygig_api::{GigId, Payout};
    use time::macros::datetime;

    /// The day after the sample gigs: every one of them is over.
    const LATER: OffsetDateTime = datetime!(2026-05-06 12:00 UTC);

    fn dollars(n: i64) -> Money {
        Money::from_dollars(n)
    }

    /// "My gigs" loaded at [`LATER`], the first gig having earned $108 that nobody paid out
    /// yet, with `payouts`.
    fn creator(payouts: Vec<Payout>) -> (State, GigId) {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Tick(LATER));
        update(&mut state, Action::MyGigs);
        let gigs = sample::gigs();
        let gig = gigs[0].id;
        update(
            &mut state,
            Action::CreatorLoaded(Ok(CreatorData {
                earnings: vec![sample::earnings(&gigs[0], Money::ZERO, dollars(108))],
                gigs,
                payouts,
                ..CreatorData::default()
            })),
        );
        (state, gig)
    }

    /// The clock at `seconds` past [`LATER`].
    fn at(state: &mut State, seconds: i64) -> Vec<Effect> {
        update(state, Action::Tick(LATER + Duration::seconds(seconds)))
    }

    /// Answers the check in flight with `payouts`.
    fn checked(state: &mut State, payouts: Vec<Payout>) -> Vec<Effect> {
        let epoch = state.my_gigs.payouts_epoch;
        update(
            state,
            Action::PayoutsLoaded {
                epoch,
                result: Ok(payouts),
            },
        )
    }

    #[test]
    fn the_key_for_a_payout_is_o_and_is_named_pay_out() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let state = State::for_tests(Zone::Local);
        assert_eq!(
            crate::tui::event::map_key(
                &state,
                &KeyEvent::new(KeyCode::Char('o'), KeyModifiers::NONE)
            ),
            Some(Action::RequestPayout)
        );
        assert_eq!(state.keymap.first_key("pay_out").as_deref(), Some("o"));
    }

    #[test]
    fn payouts_load_with_the_creator_data_and_those_on_their_way_are_followed_until_sent() {
        let gig = GigId::from_bytes([1; 16]);
        let sending = sample::payout(2, gig, dollars(50), "sending", None, 30);
        let sent_before = sample::payout(1, gig, dollars(20), "sent", None, 0);
        let (mut state, _) = creator(vec![sending.clone(), sent_before.clone()]);
        assert_eq!(
            state.my_gigs.data.payouts,
            [sending.clone(), sent_before.clone()]
        );
        assert!(at(&mut state, 2).is_empty(), "not due yet");
        let epoch = state.my_gigs.payouts_epoch;
        assert_eq!(at(&mut state, 3), [Effect::FetchPayouts { epoch }]);
        assert!(at(&mut state, 6).is_empty(), "one check at a time");
        // Nothing changed: asked again a few seconds later.
        assert!(checked(&mut state, vec![sending.clone(), sent_before.clone()]).is_empty());
        assert!(at(&mut state, 8).is_empty());
        assert_eq!(at(&mut state, 9), [Effect::FetchPayouts { epoch }]);
        let sent = sample::payout(2, gig, dollars(50), "sent", None, 30);
        assert!(checked(&mut state, vec![sent.clone(), sent_before]).is_empty());
        assert_eq!(state.status, "paid $50.00 to https://wallet.example/alice");
        assert_eq!(state.my_gigs.data.payouts[0], sent);
        // Every payout is final: no more checks.
        for seconds in [12, 30, 300] {
            assert!(at(&mut state, seconds).is_empty());
        }
    }

    #[test]
    fn a_payout_is_requested_shown_as_requested_and_followed_to_sent() {
        let (mut state, gig) = creator(Vec::new());
        assert!(at(&mut state, 30).is_empty(), "nothing on its way");
        assert_eq!(
            update(&mut state, Action::RequestPayout),
            [Effect::RequestPayout { gig }]
        );
        assert_eq!(state.my_gigs.requesting, Some(gig));
        assert!(state.status.contains("$108.00"), "{}", state.status);
        assert!(
            update(&mut state, Action::RequestPayout).is_empty(),
            "asked once"
        );

        let requested = sample::payout(1, gig, dollars(108), "requested", None, 0);
        assert!(
            update(
                &mut state,
                Action::PayoutRequested {
                    gig,
                    result: Ok(requested.clone()),
                },
            )
            .is_empty()
        );
        assert_eq!(state.my_gigs.requesting, None);
        assert_eq!(state.my_gigs.data.payouts, std::slice::from_ref(&requested));
        assert_eq!(
            state.my_gigs.earnings().map(|e| (e.paid_out, e.payable)),
            Some((dollars(-108), Money::ZERO)),
            "the payable amount is on its way"
        );
        assert_eq!(
            state.status,
            "payout of $108.00 requested; following it here"
        );
        assert!(
            update(&mut state, Action::RequestPayout).is_empty(),
            "nothing left to pay out"
        );
        assert_eq!(state.status, "nothing to pay out for Late-night jazz trio");

        let epoch = state.my_gigs.payouts_epoch;
        assert_eq!(at(&mut state, 33), [Effect::FetchPayouts { epoch }]);
        let sending = sample::payout(1, gig, dollars(108), "sending", None, 0);
        assert!(checked(&mut state, vec![sending]).is_empty());
        assert_eq!(
            state.status,
            "the payout of $108.00 is on its way to https://wallet.example/alice"
        );
        assert_eq!(at(&mut state, 36), [Effect::FetchPayouts { epoch }]);
        let sent = sample::payout(1, gig, dollars(108), "sent", None, 0);
        assert!(checked(&mut state, vec![sent.clone()]).is_empty());
        assert_eq!(state.status, "paid $108.00 to https://wallet.example/alice");
        assert_eq!(state.my_gigs.data.payouts, [sent]);
        assert!(at(&mut state, 60).is_empty(), "the checks stopped");
    }

    #[test]
    fn a_refusal_is_shown_in_the_servers_words() {
        let (mut state, gig) = creator(Vec::new());
        update(&mut state, Action::RequestPayout);
        update(
            &mut state,
            Action::PayoutRequested {
                gig,
                result: Err(
                    "payouts are off on this server: earnings are paid out through \
                             Open Payments (--open-payments-wallet), or as play money with \
                             --dev-topups"
                        .to_owned(),
                ),
            },
        );
        assert!(
            state
                .status
                .starts_with("no payout for Late-night jazz trio: payouts are off on this server"),
            "{}",
            state.status
        );
        assert_eq!(state.my_gigs.requesting, None);
        assert!(state.my_gigs.data.payouts.is_empty());
        assert_eq!(
            state.my_gigs.earnings().map(|e| e.payable),
            Some(dollars(108)),
            "nothing moved"
        );
        assert!(at(&mut state, 60).is_empty(), "nothing to follow");
        // Enter again: asked again.
        assert_eq!(
            update(&mut state, Action::RequestPayout),
            [Effect::RequestPayout { gig }]
        );
    }

    #[test]
    fn a_gig_not_over_yet_or_with_nothing_payable_asks_nothing() {
        let (mut state, _) = creator(Vec::new());
        // Back to the evening of the gig: it is still on.
        update(&mut state, Action::Tick(datetime!(2026-05-02 18:30 UTC)));
        assert!(update(&mut state, Action::RequestPayout).is_empty());
        assert_eq!(
            state.status,
            "Late-night jazz trio has not ended yet: its earnings can be paid out once it is over"
        );
        update(&mut state, Action::Tick(LATER));
        update(&mut state, Action::Down);
        assert!(update(&mut state, Action::RequestPayout).is_empty());
        assert_eq!(state.status, "nothing to pay out for Stand-up: Overbooked");
        // Elsewhere than on "My gigs", the key does nothing.
        update(&mut state, Action::Back);
        state.status.clear();
        assert!(update(&mut state, Action::RequestPayout).is_empty());
        assert!(state.status.is_empty());
    }

    #[test]
    fn checks_stop_when_the_screen_is_left_and_a_fresh_load_drops_older_answers() {
        let gig = GigId::from_bytes([1; 16]);
        let sending = sample::payout(1, gig, dollars(50), "sending", None, 0);
        let (mut state, _) = creator(vec![sending.clone()]);
        let old = state.my_gigs.payouts_epoch;
        assert_eq!(at(&mut state, 3), [Effect::FetchPayouts { epoch: old }]);
        update(&mut state, Action::Back);
        // The answer still comes, and is news; but no check follows off screen.
        let waiting = sample::payout(
            1,
            gig,
            dollars(50),
            "sending",
            Some("the host must authorize payouts again"),
            0,
        );
        checked(&mut state, vec![waiting.clone()]);
        for seconds in [6, 9, 60] {
            assert!(at(&mut state, seconds).is_empty());
        }
        // Back on "My gigs": loaded afresh, and a check asked before is older than that.
        assert_eq!(
            update(&mut state, Action::MyGigs),
            [Effect::FetchCreatorData]
        );
        assert!(at(&mut state, 120).is_empty(), "not while it loads");
        let sent = sample::payout(1, gig, dollars(50), "sent", None, 0);
        update(
            &mut state,
            Action::PayoutsLoaded {
                epoch: old,
                result: Ok(vec![sent]),
            },
        );
        assert_eq!(
            state.my_gigs.data.payouts,
            std::slice::from_ref(&waiting),
            "dropped"
        );
        update(
            &mut state,
            Action::CreatorLoaded(Ok(CreatorData {
                gigs: sample::gigs(),
                payouts: vec![waiting],
                ..CreatorData::default()
            })),
        );
        let epoch = state.my_gigs.payouts_epoch;
        assert_ne!(epoch, old);
        assert_eq!(at(&mut state, 123), [Effect::FetchPayouts { epoch }]);
    }

    #[test]
    fn a_failed_payout_says_why_and_loads_the_earnings_again() {
        let gig = GigId::from_bytes([1; 16]);
        let (mut state, _) = creator(vec![sample::payout(
            1,
            gig,
            dollars(108),
            "sending",
            None,
            0,
        )]);
        at(&mut state, 3);
        let failed = sample::payout(
            1,
            gig,
            dollars(108),
            "failed",
            Some("https://wallet.example/alice refused the incoming payment"),
            0,
        );
        assert_eq!(
            checked(&mut state, vec![failed]),
            [Effect::FetchCreatorData]
        );
        assert_eq!(
            state.status,
            "the payout of $108.00 to https://wallet.example/alice failed: \
             https://wallet.example/alice refused the incoming payment; the amount is back in \
             your wallet"
        );
        assert!(state.my_gigs.loading);
    }

    /// Answers the replay window request for `gig` as the server would: the gig with `hours`.
    fn replay_set(state: &mut State, gig: GigId, hours: u32) -> Vec<Effect> {
        let mut updated = sample::gigs()
            .into_iter()
            .find(|g| g.id == gig)
            .unwrap_or_else(|| panic!("a sample gig"));
        updated.replay_hours = hours;
        update(
            state,
            Action::ReplayWindowSet {
                gig,
                hours,
                result: Ok(updated),
            },
        )
    }

    #[test]
    fn the_replay_key_is_e_and_is_named_replay_window() {
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let state = State::for_tests(Zone::Local);
        assert_eq!(
            crate::tui::event::map_key(
                &state,
                &KeyEvent::new(KeyCode::Char('e'), KeyModifiers::NONE)
            ),
            Some(Action::CycleReplayWindow)
        );
        assert_eq!(
            state.keymap.first_key("replay_window").as_deref(),
            Some("e")
        );
    }

    #[test]
    fn the_replay_key_sends_the_next_window_and_the_answer_updates_the_row() {
        let (mut state, gig) = creator(Vec::new());
        state.my_gigs.data.gigs[0].stream_key =
            Some(bookmygig_api::StreamKey("live_secret".to_owned()));
        assert_eq!(state.my_gigs.replay_hours(), Some((48, false)));
        assert_eq!(
            update(&mut state, Action::CycleReplayWindow),
            [Effect::SetReplayWindow { gig, hours: 168 }]
        );
        assert_eq!(
            state.my_gigs.replay_hours(),
            Some((168, true)),
            "shown at once"
        );
        assert!(replay_set(&mut state, gig, 168).is_empty());
        assert_eq!(state.my_gigs.replay_hours(), Some((168, false)));
        assert_eq!(state.my_gigs.data.gigs[0].replay_hours, 168);
        assert!(
            state.my_gigs.data.gigs[0].stream_key.is_some(),
            "the known secret stays"
        );
        assert_eq!(
            state.status,
            "replay window of Late-night jazz trio: 7 days"
        );
        // Round it goes: 30 days, then none.
        assert_eq!(
            update(&mut state, Action::CycleReplayWindow),
            [Effect::SetReplayWindow { gig, hours: 720 }]
        );
        replay_set(&mut state, gig, 720);
        assert_eq!(
            update(&mut state, Action::CycleReplayWindow),
            [Effect::SetReplayWindow { gig, hours: 0 }]
        );
    }

    #[test]
    fn rapid_presses_send_one_request_at_a_time_and_the_last_value_after_it() {
        let (mut state, gig) = creator(Vec::new());
        assert_eq!(
            update(&mut state, Action::CycleReplayWindow),
            [Effect::SetReplayWindow { gig, hours: 168 }]
        );
        for _ in 0..3 {
            assert!(
                update(&mut state, Action::CycleReplayWindow).is_empty(),
                "one request at a time"
            );
        }
        // 168 → 720 → 0 → 24: shown, and sent once the first answer is in.
        assert_eq!(state.my_gigs.replay_hours(), Some((24, true)));
        assert_eq!(
            replay_set(&mut state, gig, 168),
            [Effect::SetReplayWindow { gig, hours: 24 }]
        );
        assert_eq!(state.my_gigs.data.gigs[0].replay_hours, 168);
        assert_eq!(state.my_gigs.replay_hours(), Some((24, true)));
        assert!(replay_set(&mut state, gig, 24).is_empty());
        assert_eq!(state.my_gigs.replay_hours(), Some((24, false)));
        assert!(state.my_gigs.replay_edits.is_empty());
    }

    #[test]
    fn a_refused_replay_window_is_told_and_the_servers_window_shown_again() {
        let (mut state, gig) = creator(Vec::new());
        update(&mut state, Action::CycleReplayWindow);
        update(&mut state, Action::CycleReplayWindow);
        update(
            &mut state,
            Action::ReplayWindowSet {
                gig,
                hours: 168,
                result: Err("you are not this gig's creator".to_owned()),
            },
        );
        assert_eq!(
            state.status,
            "could not set the replay window of Late-night jazz trio to 7 days: you are not \
             this gig's creator"
        );
        assert_eq!(state.my_gigs.replay_hours(), Some((48, false)));
        assert!(state.my_gigs.replay_edits.is_empty());
    }

    #[test]
    fn the_replay_key_does_nothing_elsewhere_or_on_a_cancelled_gig() {
        let (mut state, _) = creator(Vec::new());
        state.my_gigs.data.gigs[0].status = bookmygig_api::GigStatus::Cancelled;
        assert!(update(&mut state, Action::CycleReplayWindow).is_empty());
        assert_eq!(
            state.status,
            "Late-night jazz trio was cancelled: it has no replay"
        );
        update(&mut state, Action::Back);
        update(&mut state, Action::Down);
        assert!(update(&mut state, Action::CycleReplayWindow).is_empty());
        assert!(state.my_gigs.replay_edits.is_empty());
    }

    #[test]
    fn a_failed_check_is_told_and_tried_again_later() {
        let gig = GigId::from_bytes([1; 16]);
        let (mut state, _) = creator(vec![sample::payout(
            1,
            gig,
            dollars(8),
            "requested",
            None,
            0,
        )]);
        let epoch = state.my_gigs.payouts_epoch;
        at(&mut state, 3);
        for _ in 0..3 {
            update(
                &mut state,
                Action::PayoutsLoaded {
                    epoch,
                    result: Err("cannot reach the server".to_owned()),
                },
            );
        }
        assert!(state.status.contains("cannot reach the server"));
        // The third failure in a row waits 4 s.
        assert!(at(&mut state, 6).is_empty());
        assert_eq!(at(&mut state, 7), [Effect::FetchPayouts { epoch }]);
    }
}
