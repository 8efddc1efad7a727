//! Snapshot tests of every screen the TUI has so far, at 80×24 and 120×40, rendered from plain
//! states through ratatui's `TestBackend`. Times are shown at a fixed +02:00.

use bookmygig_api::Page;
use chrono::FixedOffset;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::draw;
use crate::tui::action::Action;
use crate::tui::app::{State, Zone};
use crate::tui::sample;
use crate::tui::update::update;

/// The sizes every screen is checked at.
const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn fresh() -> State {
    let zone = FixedOffset::east_opt(2 * 3600).map_or(Zone::Local, Zone::Fixed);
    State::for_tests(zone)
}

fn loaded() -> State {
    let mut state = fresh();
    update(&mut state, Action::Refresh);
    sample::answer_catalogue(&mut state, sample::gigs(), None);
    state
}

fn render(state: &State, (width, height): (u16, u16)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height))
        .unwrap_or_else(|err| panic!("test terminal: {err}"));
    terminal
        .draw(|frame| draw(frame, state))
        .unwrap_or_else(|err| panic!("draw: {err}"));
    terminal
}

/// Asserts the screen of `state` at both sizes, as `NAME_80x24` and `NAME_120x40`.
fn check(name: &str, state: &State) {
    for size in SIZES {
        let terminal = render(state, size);
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), terminal.backend());
    }
}

#[test]
fn catalogue_with_three_gigs() {
    check("catalogue_loaded", &loaded());
}

#[test]
fn catalogue_with_the_second_gig_selected() {
    let mut state = loaded();
    update(&mut state, Action::Down);
    check("catalogue_second_selected", &state);
}

#[test]
fn catalogue_empty() {
    let mut state = fresh();
    update(&mut state, Action::Refresh);
    let request = state.request;
    update(
        &mut state,
        Action::CatalogueLoaded {
            request,
            result: Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            }),
        },
    );
    check("catalogue_empty", &state);
}

#[test]
fn catalogue_loading() {
    let mut state = fresh();
    update(&mut state, Action::Refresh);
    check("catalogue_loading", &state);
}

#[test]
fn catalogue_error() {
    let mut state = fresh();
    update(&mut state, Action::Refresh);
    let request = state.request;
    update(
        &mut state,
        Action::CatalogueLoaded {
            request,
            result: Err(
                "cannot reach the server at http://127.0.0.1:8080: connection refused".to_owned(),
            ),
        },
    );
    check("catalogue_error", &state);
}

#[test]
fn catalogue_while_typing_a_search() {
    let mut state = loaded();
    update(&mut state, Action::StartSearch);
    for c in "yoga".chars() {
        update(&mut state, Action::SearchInput(c));
    }
    check("catalogue_searching", &state);
}

/// The search line open with `text` typed, sent once the typing paused; the server's answer
/// not in yet.
fn searched(text: &str) -> State {
    let mut state = loaded();
    update(&mut state, Action::StartSearch);
    for c in text.chars() {
        update(&mut state, Action::SearchInput(c));
    }
    let t0 = time::macros::datetime!(2026-05-02 18:00 UTC);
    update(&mut state, Action::Tick(t0));
    update(
        &mut state,
        Action::Tick(t0 + crate::tui::app::SEARCH_DEBOUNCE),
    );
    assert!(state.loading);
    state
}

#[test]
fn catalogue_search_without_match() {
    let mut state = searched("opera");
    sample::answer_catalogue(&mut state, Vec::new(), None);
    check("catalogue_search_no_match", &state);
}

#[test]
fn catalogue_searching_with_the_count_of_matches() {
    let mut state = searched("jaz tri");
    // Prefixes and typos are the server's to match: its rows are the list, with more to come.
    let jazz = sample::gigs().swap_remove(0);
    sample::answer_catalogue(&mut state, vec![jazz], Some("page-2".to_owned()));
    check("catalogue_searching_count", &state);
}

#[test]
fn opened_gig() {
    let mut state = loaded();
    update(&mut state, Action::Open);
    check("gig_opened", &state);
}

#[test]
fn help_overlay() {
    let mut state = loaded();
    update(&mut state, Action::Help);
    check("help_overlay", &state);
}

#[test]
fn too_small_terminal() {
    let state = loaded();
    for size in [(59, 24), (80, 14)] {
        let terminal = render(&state, size);
        insta::assert_snapshot!(
            format!("too_small_{}x{}", size.0, size.1),
            terminal.backend()
        );
    }
}

#[test]
fn no_color_draws_without_colours() {
    let mut state = loaded();
    state.color = false;
    let terminal = render(&state, (80, 24));
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content()
            .iter()
            .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset)
    );
}

#[test]
fn colour_is_used_when_allowed() {
    let terminal = render(&loaded(), (80, 24));
    let buffer = terminal.backend().buffer();
    assert!(buffer.content().iter().any(|cell| cell.bg == Color::Red));
}

#[test]
fn catalogue_with_more_pages_to_load() {
    let mut state = loaded();
    state.next_cursor = Some("page-2".to_owned());
    check("catalogue_more_below", &state);
}

/// The loaded catalogue with the buy dialog open on the first gig.
fn buying() -> State {
    let mut state = loaded();
    update(&mut state, Action::Buy);
    state
}

#[test]
fn buy_dialog_while_the_balance_loads() {
    check("buy_loading_balance", &buying());
}

#[test]
fn buy_dialog_asking_for_a_yes() {
    let mut state = buying();
    update(
        &mut state,
        Action::WalletLoaded(Ok(bookmygig_api::Money::from_dollars(200))),
    );
    check("buy_confirm", &state);
}

#[test]
fn buy_dialog_with_too_little_in_the_wallet() {
    let mut state = buying();
    update(
        &mut state,
        Action::WalletLoaded(Ok(bookmygig_api::Money::from_dollars(5))),
    );
    check("buy_short_of_funds", &state);
}

#[test]
fn buy_dialog_refused() {
    let mut state = buying();
    update(
        &mut state,
        Action::WalletLoaded(Ok(bookmygig_api::Money::from_dollars(200))),
    );
    update(&mut state, Action::Confirm);
    let gig = state.gigs[0].id;
    update(
        &mut state,
        Action::TicketBought {
            gig,
            result: Err(
                "Sold out: every seat of this gig is taken, and the waiting list is closed too"
                    .to_owned(),
            ),
        },
    );
    check("buy_refused", &state);
}

#[test]
fn buy_dialog_buying() {
    let mut state = buying();
    update(&mut state, Action::Confirm);
    check("buy_buying", &state);
}

#[test]
fn buy_dialog_bought() {
    let mut state = buying();
    update(
        &mut state,
        Action::WalletLoaded(Ok(bookmygig_api::Money::from_dollars(200))),
    );
    update(&mut state, Action::Confirm);
    let gig = state.gigs[0].clone();
    update(
        &mut state,
        Action::TicketBought {
            gig: gig.id,
            result: Ok(sample::purchased(&gig)),
        },
    );
    check("buy_bought", &state);
}

/// The "My tickets" screen after `t`, before any answer.
fn on_tickets() -> State {
    let mut state = loaded();
    update(&mut state, Action::Tickets);
    state
}

#[test]
fn my_tickets_loaded() {
    let mut state = on_tickets();
    update(&mut state, Action::TicketsLoaded(Ok(sample::my_tickets())));
    update(&mut state, Action::Down);
    check("tickets_loaded", &state);
}

#[test]
fn my_tickets_loading() {
    check("tickets_loading", &on_tickets());
}

#[test]
fn my_tickets_empty() {
    let mut state = on_tickets();
    update(&mut state, Action::TicketsLoaded(Ok(Vec::new())));
    check("tickets_empty", &state);
}

#[test]
fn my_tickets_error() {
    let mut state = on_tickets();
    update(
        &mut state,
        Action::TicketsLoaded(Err(
            "Unauthorized: sign in with bookmygig login first".to_owned()
        )),
    );
    check("tickets_error", &state);
}

/// In the first sample gig's room, connected, the stream live with a few minutes of samples,
/// a short chat, and the clock at 18:42.
fn room() -> State {
    use crate::tui::action::ChatEvent;
    use bookmygig_api::{ChatUser, ServerMessage};
    let mut state = loaded();
    update(&mut state, Action::TicketsLoaded(Ok(sample::my_tickets())));
    state.screen = crate::tui::app::Screen::Catalogue;
    update(&mut state, Action::Open);
    update(
        &mut state,
        Action::Tick(time::macros::datetime!(2026-05-02 18:42:07 UTC)),
    );
    let room = state.room.as_ref().map_or(0, |room| room.id);
    let mut chat = |event| {
        update(&mut state, Action::Chat { room, event });
    };
    chat(ChatEvent::Connected);
    chat(ChatEvent::Message(ServerMessage::History {
        messages: vec![
            sample::chat_message(1, "ana", "good evening from Porto!", 31),
            sample::chat_message(2, "bo", "the pianist is on fire tonight", 33),
        ],
    }));
    chat(ChatEvent::Message(ServerMessage::Join(ChatUser {
        handle: "cy".to_owned(),
        display_name: "Cy".to_owned(),
    })));
    chat(ChatEvent::Message(ServerMessage::Message(
        sample::chat_message(
            3,
            "cy",
            "a long message that wraps over more than one row of the chat panel, as long ones do",
            40,
        ),
    )));
    chat(ChatEvent::Message(ServerMessage::Leave(ChatUser {
        handle: "bo".to_owned(),
        display_name: "Bo".to_owned(),
    })));
    chat(ChatEvent::Message(ServerMessage::Presence { count: 3 }));
    let recipient = sample::gigs()[0].payment_url.clone();
    update(
        &mut state,
        Action::Monetization(crate::tui::action::MonetizationUpdate::Event(
            bookmygig_api::MonetizationEvent::Started {
                recipient,
                total: bookmygig_api::Money(1_234),
            },
        )),
    );
    for n in 0..40_u32 {
        let mut stream = sample::stream(true);
        stream.viewers = 5 + n / 4;
        if let Some(video) = &mut stream.video {
            video.kbps = Some(2000.0 + f64::from(n % 7) * 100.0);
        }
        update(
            &mut state,
            Action::StreamLoaded {
                room,
                result: Ok(stream),
            },
        );
    }
    state
}

#[test]
fn room_live_with_chat() {
    check("room_live", &room());
}

#[test]
fn room_while_typing_with_the_player_playing() {
    use crate::tui::line_editor::Edit;
    let mut state = room();
    update(&mut state, Action::Play);
    let (id, run) = state
        .room
        .as_ref()
        .map_or((0, 0), |room| (room.id, room.player_run));
    update(
        &mut state,
        Action::Player {
            room: id,
            run,
            update: crate::tui::action::PlayerUpdate::Event(
                bookmygig_cli::player::PlayerEvent::Playing { position_s: 75.0 },
            ),
        },
    );
    update(&mut state, Action::Open);
    for c in "what a set".chars() {
        update(&mut state, Action::Edit(Edit::Insert(c)));
    }
    update(&mut state, Action::Edit(Edit::Left));
    check("room_typing_playing", &state);
}

#[test]
fn room_entering() {
    let mut state = loaded();
    update(&mut state, Action::EnterRoom);
    check("room_connecting", &state);
}

#[test]
fn room_waiting_for_the_host_with_an_empty_chat() {
    use crate::tui::action::ChatEvent;
    let mut state = loaded();
    update(&mut state, Action::EnterRoom);
    let room = state.room.as_ref().map_or(0, |room| room.id);
    update(
        &mut state,
        Action::Chat {
            room,
            event: ChatEvent::Connected,
        },
    );
    let mut offline = sample::stream(false);
    offline.started_at = None;
    update(
        &mut state,
        Action::StreamLoaded {
            room,
            result: Ok(offline),
        },
    );
    update(&mut state, Action::Play);
    check("room_waiting", &state);
}

#[test]
fn room_reconnecting_with_the_stream_unreachable() {
    use crate::tui::action::ChatEvent;
    let mut state = room();
    let room = state.room.as_ref().map_or(0, |room| room.id);
    update(
        &mut state,
        Action::Chat {
            room,
            event: ChatEvent::Lost {
                attempt: 2,
                reason: "connection refused".to_owned(),
                retry_in_s: 2,
            },
        },
    );
    update(
        &mut state,
        Action::StreamLoaded {
            room,
            result: Err("cannot reach http://127.0.0.1:8080".to_owned()),
        },
    );
    check("room_reconnecting", &state);
}

#[test]
fn room_refused_without_a_ticket() {
    use crate::tui::action::ChatEvent;
    let mut state = loaded();
    update(&mut state, Action::Down);
    update(&mut state, Action::EnterRoom);
    let room = state.room.as_ref().map_or(0, |room| room.id);
    update(
        &mut state,
        Action::Chat {
            room,
            event: ChatEvent::Refused("Forbidden: you need a ticket for this gig".to_owned()),
        },
    );
    update(
        &mut state,
        Action::StreamLoaded {
            room,
            result: Ok(sample::stream(false)),
        },
    );
    check("room_refused", &state);
}

#[test]
fn room_player_failed() {
    let mut state = room();
    update(&mut state, Action::Play);
    let (id, run) = state
        .room
        .as_ref()
        .map_or((0, 0), |room| (room.id, room.player_run));
    update(
        &mut state,
        Action::Player {
            room: id,
            run,
            update: crate::tui::action::PlayerUpdate::CannotOpen(
                "no display to open the player window on".to_owned(),
            ),
        },
    );
    check("room_player_failed", &state);
}

/// The first-run form over the loaded catalogue.
fn signing_in() -> State {
    let mut state = loaded();
    update(&mut state, Action::SignIn);
    state
}

fn form_key(state: &mut State, key: crate::tui::action::FormKey) {
    update(state, Action::Form(key));
}

fn form_text(state: &mut State, text: &str) {
    for c in text.chars() {
        form_key(
            state,
            crate::tui::action::FormKey::Edit(crate::tui::line_editor::Edit::Insert(c)),
        );
    }
}

#[test]
fn sign_in_form_first_run() {
    check("sign_in_form", &signing_in());
}

#[test]
fn sign_up_form_refused() {
    use crate::tui::action::FormKey;
    let mut state = signing_in();
    form_text(&mut state, "ana");
    form_key(&mut state, FormKey::Prev);
    form_key(&mut state, FormKey::Prev);
    form_key(&mut state, FormKey::Submit);
    for _ in 0..3 {
        form_key(&mut state, FormKey::Next);
    }
    form_text(&mut state, "Ana Lima");
    form_key(&mut state, FormKey::Next);
    form_text(&mut state, "correct horse");
    form_key(&mut state, FormKey::Submit);
    update(
        &mut state,
        Action::SignedIn(Err(
            "Conflict (handle): the handle `ana` is taken".to_owned()
        )),
    );
    check("sign_up_refused", &state);
}

#[test]
fn sign_in_form_while_signing_in() {
    use crate::tui::action::FormKey;
    let mut state = signing_in();
    form_text(&mut state, "ana");
    form_key(&mut state, FormKey::Next);
    form_text(&mut state, "secret-words");
    form_key(&mut state, FormKey::Submit);
    check("sign_in_busy", &state);
}

#[test]
fn sign_in_form_with_a_bad_handle() {
    use crate::tui::action::FormKey;
    let mut state = signing_in();
    form_text(&mut state, "Not A Handle");
    form_key(&mut state, FormKey::Submit);
    check("sign_in_bad_handle", &state);
}

#[test]
fn status_line_while_browsing_pays_the_platform() {
    let mut state = loaded();
    update(
        &mut state,
        Action::MeLoaded(Ok(bookmygig_api::Account {
            id: bookmygig_api::AccountId::from_bytes([7; 16]),
            handle: "ana".to_owned(),
            display_name: "Ana".to_owned(),
            created_at: time::macros::datetime!(2026-01-01 0:00 UTC),
        })),
    );
    update(
        &mut state,
        Action::Monetization(crate::tui::action::MonetizationUpdate::Event(
            bookmygig_api::MonetizationEvent::Started {
                recipient: "https://wallet.example/bookmygig".to_owned(),
                total: bookmygig_api::Money(10),
            },
        )),
    );
    check("status_supporting", &state);
}

#[test]
fn status_line_when_the_wallet_ran_dry() {
    let mut state = loaded();
    update(
        &mut state,
        Action::Monetization(crate::tui::action::MonetizationUpdate::Event(
            bookmygig_api::MonetizationEvent::Stopped {
                reason: bookmygig_api::StopReason::WalletEmpty,
                total: bookmygig_api::Money(10),
            },
        )),
    );
    check("status_stopped", &state);
}

/// The wallet screen with a balance and a few entries.
fn wallet() -> State {
    use bookmygig_api::{EntryKind, LedgerEntry, Money, TransactionId, Wallet};
    let mut state = loaded();
    update(&mut state, Action::Wallet);
    let entry = |n: u8, kind, amount: i64, after: i64, memo: &str, minute: i64| LedgerEntry {
        transaction_id: TransactionId::from_bytes([n; 16]),
        kind,
        amount: Money(amount),
        balance_after: Money(after),
        memo: memo.to_owned(),
        gig_id: None,
        at: time::macros::datetime!(2026-05-02 17:00 UTC) + time::Duration::minutes(minute),
    };
    update(
        &mut state,
        Action::WalletPageLoaded {
            more: false,
            result: Ok(Wallet {
                balance: Money(12_495_500),
                entries: vec![
                    entry(
                        3,
                        EntryKind::Micropayment,
                        -4_500,
                        12_495_500,
                        "Streaming: Late-night jazz trio",
                        50,
                    ),
                    entry(
                        2,
                        EntryKind::TicketSale,
                        -7_500_000,
                        12_500_000,
                        "Ticket: Late-night jazz trio",
                        20,
                    ),
                    entry(
                        1,
                        EntryKind::TopUp,
                        20_000_000,
                        20_000_000,
                        "Top-up (development)",
                        0,
                    ),
                ],
                next_cursor: Some("older".to_owned()),
                topups: Vec::new(),
            }),
        },
    );
    state
}

#[test]
fn wallet_with_history() {
    check("wallet", &wallet());
}

#[test]
fn wallet_loading() {
    let mut state = loaded();
    update(&mut state, Action::Wallet);
    check("wallet_loading", &state);
}

#[test]
fn wallet_empty() {
    let mut state = loaded();
    update(&mut state, Action::Wallet);
    update(
        &mut state,
        Action::WalletPageLoaded {
            more: false,
            result: Ok(bookmygig_api::Wallet {
                balance: bookmygig_api::Money::ZERO,
                entries: Vec::new(),
                next_cursor: None,
                topups: Vec::new(),
            }),
        },
    );
    check("wallet_empty", &state);
}

#[test]
fn wallet_error() {
    let mut state = loaded();
    update(&mut state, Action::Wallet);
    update(
        &mut state,
        Action::WalletPageLoaded {
            more: false,
            result: Err("Unauthorized: sign in first".to_owned()),
        },
    );
    check("wallet_error", &state);
}

#[test]
fn top_up_dialog_typing() {
    use crate::tui::line_editor::Edit;
    let mut state = wallet();
    update(&mut state, Action::TopUp);
    for c in "25".chars() {
        update(&mut state, Action::TopUpEdit(Edit::Insert(c)));
    }
    check("top_up_typing", &state);
}

#[test]
fn top_up_dialog_refused() {
    use crate::tui::line_editor::Edit;
    let mut state = wallet();
    update(&mut state, Action::TopUp);
    for c in "20000".chars() {
        update(&mut state, Action::TopUpEdit(Edit::Insert(c)));
    }
    update(&mut state, Action::Confirm);
    check("top_up_refused", &state);
}

#[test]
fn top_up_dialog_sending() {
    use crate::tui::line_editor::Edit;
    let mut state = wallet();
    update(&mut state, Action::TopUp);
    update(&mut state, Action::TopUpEdit(Edit::Insert('5')));
    update(&mut state, Action::Confirm);
    check("top_up_sending", &state);
}

/// A top-up of $20 from bob's wallet in `state` (as the server writes it).
fn top_up_status(state: &str, error: Option<&str>) -> bookmygig_api::TopUpStatus {
    serde_json::from_value(serde_json::json!({
        "id": "0196a1c2-0000-7000-8000-000000000001",
        "amount": 20_000_000,
        "from": "https://wallet.example/bob",
        "state": state,
        "consent_url": (state == "awaiting_consent").then_some(
            "https://wallet.interledger-test.dev/grant-interactions?interactId=4CF492ML-VMSW-9MKM-XKHQ-2b7f0c1d&nonce=9f86d081884c7d65&clientName=BookMyGig"
        ),
        "error": error,
        "created_at": "2026-05-02T17:00:00Z",
        "updated_at": "2026-05-02T17:00:05Z",
    }))
    .unwrap_or_else(|err| panic!("a top-up status: {err}"))
}

/// The wallet with the dialog sent for $20 from bob's wallet (offered: bob's was remembered).
fn top_up_sent_from_bob() -> (State, String) {
    use crate::tui::line_editor::Edit;
    let mut state = wallet();
    state.topup_wallets.insert(
        state.server.clone(),
        "https://wallet.example/bob".to_owned(),
    );
    update(&mut state, Action::TopUp);
    for c in "20".chars() {
        update(&mut state, Action::TopUpEdit(Edit::Insert(c)));
    }
    update(&mut state, Action::Confirm);
    let key = state
        .wallet
        .top_up
        .as_ref()
        .map(|dialog| dialog.idempotency_key.clone())
        .unwrap_or_default();
    (state, key)
}

/// As [`top_up_sent_from_bob`], and the server answered that bob must approve it.
fn top_up_waiting() -> State {
    let (mut state, key) = top_up_sent_from_bob();
    update(
        &mut state,
        Action::ToppedUp {
            idempotency_key: key,
            result: Ok(bookmygig_client::TopUpStarted::Pending(top_up_status(
                "awaiting_consent",
                None,
            ))),
        },
    );
    state
}

#[test]
fn top_up_dialog_offering_the_last_wallet() {
    use crate::tui::line_editor::Edit;
    let mut state = wallet();
    state.topup_wallets.insert(
        state.server.clone(),
        "https://wallet.example/bob".to_owned(),
    );
    update(&mut state, Action::TopUp);
    for c in "25".chars() {
        update(&mut state, Action::TopUpEdit(Edit::Insert(c)));
    }
    check("top_up_offering_last_wallet", &state);
}

#[test]
fn top_up_dialog_with_the_wallet_refused() {
    let (mut state, key) = top_up_sent_from_bob();
    update(
        &mut state,
        Action::ToppedUp {
            idempotency_key: key,
            result: Err(crate::tui::action::TopUpRefusal {
                field: Some(crate::tui::wallet::TopUpField::From),
                reason: "this server adds play money and takes no wallet: leave it empty"
                    .to_owned(),
            }),
        },
    );
    check("top_up_from_refused", &state);
}

#[test]
fn top_up_dialog_waiting_for_approval() {
    check("top_up_waiting", &top_up_waiting());
}

#[test]
fn top_up_dialog_after_a_decline() {
    let mut state = top_up_waiting();
    update(
        &mut state,
        Action::TopUpChecked {
            asked: Box::new(top_up_status("awaiting_consent", None)),
            result: Ok(top_up_status(
                "declined",
                Some("the holder of https://wallet.example/bob declined the payment"),
            )),
            more: false,
        },
    );
    check("top_up_declined", &state);
}

#[test]
fn wallet_with_a_top_up_under_way() {
    let mut state = top_up_waiting();
    update(&mut state, Action::Back);
    check("wallet_top_up_under_way", &state);
}

/// The first sample gig's earnings and income over an evening, nothing paid out yet.
fn creator_data() -> crate::tui::my_gigs::CreatorData {
    use bookmygig_api::{EntryKind, LedgerEntry, Money, StreamKey, TransactionId};
    let mut gigs = sample::gigs();
    gigs[0].stream_key = Some(StreamKey(
        "live_0123456789abcdef0123456789abcdef".to_owned(),
    ));
    gigs[0].rtmp_url = Some("rtmp://127.0.0.1:1935/live".to_owned());
    let gig = gigs[0].id;
    let entry = |kind, micros: i64, minute: i64| LedgerEntry {
        transaction_id: TransactionId::from_bytes([1; 16]),
        kind,
        amount: Money(micros),
        balance_after: Money::ZERO,
        memo: String::new(),
        gig_id: Some(gig),
        at: time::macros::datetime!(2026-05-02 16:00 UTC) + time::Duration::minutes(minute),
    };
    let mut entries: Vec<LedgerEntry> = (0..12)
        .map(|n| entry(EntryKind::TicketSale, 7_500_000, n * 10))
        .collect();
    entries.extend((0..30).map(|n| entry(EntryKind::Micropayment, 600_000, 120 + n * 3)));
    crate::tui::my_gigs::CreatorData {
        earnings: vec![sample::earnings(&gigs[0], Money::ZERO, Money(108_000_000))],
        gigs,
        entries,
        payouts: Vec::new(),
    }
}

/// "My gigs" with the first sample gig's earnings and income over an evening.
fn my_gigs() -> State {
    let mut state = loaded();
    update(&mut state, Action::MyGigs);
    update(&mut state, Action::CreatorLoaded(Ok(creator_data())));
    state
}

/// "My gigs" days after the first sample gig ended: $20 of its earnings sent, $12 failed (and
/// back in the wallet), $50 on its way but waiting for the host, $38 payable.
fn my_gigs_paying() -> State {
    use bookmygig_api::{GigStatus, Money};
    let mut state = loaded();
    update(
        &mut state,
        Action::Tick(time::macros::datetime!(2026-05-06 12:00 UTC)),
    );
    update(&mut state, Action::MyGigs);
    let mut data = creator_data();
    data.gigs[0].status = GigStatus::Ended;
    let gig = data.gigs[0].id;
    data.earnings = vec![sample::earnings(
        &data.gigs[0],
        Money::from_dollars(-70),
        Money::from_dollars(38),
    )];
    data.payouts = vec![
        sample::payout(
            3,
            gig,
            Money::from_dollars(50),
            "sending",
            Some("the platform's payout grant is spent: the host must run 'payouts authorize'"),
            90,
        ),
        sample::payout(
            2,
            gig,
            Money::from_dollars(12),
            "failed",
            Some("https://wallet.example/alice refused the incoming payment"),
            60,
        ),
        sample::payout(1, gig, Money::from_dollars(20), "sent", None, 0),
    ];
    update(&mut state, Action::CreatorLoaded(Ok(data)));
    state
}

#[test]
fn my_gigs_with_payouts_sent_failed_and_waiting() {
    check("my_gigs_payouts", &my_gigs_paying());
}

#[test]
fn my_gigs_a_payout_just_requested() {
    let mut state = my_gigs_paying();
    let gig = state.my_gigs.data.gigs[0].id;
    assert_eq!(
        update(&mut state, Action::RequestPayout),
        [crate::tui::action::Effect::RequestPayout { gig }]
    );
    update(
        &mut state,
        Action::PayoutRequested {
            gig,
            result: Ok(sample::payout(
                4,
                gig,
                bookmygig_api::Money::from_dollars(38),
                "requested",
                None,
                120,
            )),
        },
    );
    check("my_gigs_payout_requested", &state);
}

#[test]
fn my_gigs_a_payout_refused() {
    let mut state = my_gigs_paying();
    let gig = state.my_gigs.data.gigs[0].id;
    update(&mut state, Action::RequestPayout);
    update(
        &mut state,
        Action::PayoutRequested {
            gig,
            result: Err(
                "payouts are off on this server: earnings are paid out through Open Payments \
                 (--open-payments-wallet), or as play money with --dev-topups"
                    .to_owned(),
            ),
        },
    );
    check("my_gigs_payout_refused", &state);
}

#[test]
fn my_gigs_with_earnings_and_chart() {
    check("my_gigs", &my_gigs());
}

/// "My gigs" the day after the first sample gig went on air and ended, its replay open for
/// 48 hours.
fn my_gigs_replay() -> State {
    use bookmygig_api::GigStatus;
    let mut state = loaded();
    update(
        &mut state,
        Action::Tick(time::macros::datetime!(2026-05-03 12:00 UTC)),
    );
    update(&mut state, Action::MyGigs);
    let mut data = creator_data();
    data.gigs[0].status = GigStatus::Ended;
    data.gigs[0].replay_until = Some(time::macros::datetime!(2026-05-04 19:30 UTC));
    update(&mut state, Action::CreatorLoaded(Ok(data)));
    state
}

#[test]
fn my_gigs_with_the_replay_window_and_its_key() {
    check("my_gigs_replay_window", &my_gigs_replay());
}

#[test]
fn my_gigs_while_a_new_replay_window_is_saved() {
    let mut state = my_gigs_replay();
    let gig = state.my_gigs.data.gigs[0].id;
    assert_eq!(
        update(&mut state, Action::CycleReplayWindow),
        [crate::tui::action::Effect::SetReplayWindow { gig, hours: 168 }]
    );
    check("my_gigs_replay_window_saving", &state);
}

#[test]
fn my_gigs_with_the_stream_key_shown() {
    let mut state = my_gigs();
    update(&mut state, Action::RevealKey);
    check("my_gigs_key_shown", &state);
}

#[test]
fn my_gigs_a_gig_without_income() {
    let mut state = my_gigs();
    update(&mut state, Action::Down);
    check("my_gigs_no_income", &state);
}

#[test]
fn my_gigs_loading() {
    let mut state = loaded();
    update(&mut state, Action::MyGigs);
    check("my_gigs_loading", &state);
}

#[test]
fn my_gigs_empty() {
    let mut state = loaded();
    update(&mut state, Action::MyGigs);
    update(
        &mut state,
        Action::CreatorLoaded(Ok(crate::tui::my_gigs::CreatorData::default())),
    );
    check("my_gigs_empty", &state);
}

#[test]
fn my_gigs_error() {
    let mut state = loaded();
    update(&mut state, Action::MyGigs);
    update(
        &mut state,
        Action::CreatorLoaded(Err(
            "cannot reach the server at http://127.0.0.1:8080".to_owned()
        )),
    );
    check("my_gigs_error", &state);
}

#[test]
fn no_color_holds_on_every_new_screen() {
    let mut states = vec![
        room(),
        wallet(),
        my_gigs(),
        my_gigs_paying(),
        signing_in(),
        top_up_waiting(),
    ];
    let mut typing = room();
    update(&mut typing, Action::Open);
    states.push(typing);
    for mut state in states {
        state.color = false;
        let terminal = render(&state, (120, 40));
        assert!(
            terminal
                .backend()
                .buffer()
                .content()
                .iter()
                .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset),
            "{:?} uses colour",
            state.screen
        );
    }
}

#[test]
fn room_player_catching_up_with_the_live_edge() {
    use bookmygig_cli::player::{LiveEdgeAction, PlayerEvent};
    let mut state = room();
    update(&mut state, Action::Play);
    let (id, run) = state
        .room
        .as_ref()
        .map_or((0, 0), |room| (room.id, room.player_run));
    for event in [
        PlayerEvent::Playing { position_s: 75.0 },
        PlayerEvent::LiveEdge {
            lag_s: 1.6,
            action: LiveEdgeAction::CatchUp { speed: 1.05 },
        },
    ] {
        update(
            &mut state,
            Action::Player {
                room: id,
                run,
                update: crate::tui::action::PlayerUpdate::Event(event),
            },
        );
    }
    check("room_catching_up", &state);
}
