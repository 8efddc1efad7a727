//! The live room's part of [`update`](super::update()): entering and leaving, the chat
//! connection's reports, the stream's facts, the input line and the player.
//!
//! The player follows the viewer's wish ([`Room::want_play`]): it opens when asked and the
//! stream is live, re-opens when the stream comes back after going offline (or after a failure
//! while live), and stays closed once the viewer closes its window or presses `p` again.
//!
//! A gig that ended with a replay window open is entered as a replay: the player opens its
//! recording at once, the chat is its history (no connection, no polling), scrolled to the
//! position as it moves; ←/→ seek and Space pauses.

use bookmygig_api::{ChatMessage, Gig, ServerMessage, StreamStatus};
use time::{Duration, OffsetDateTime};

use crate::tui::action::{ChatEvent, Effect, PlayerUpdate};
use crate::tui::app::{Screen, State};
use crate::tui::line_editor::Edit;
use crate::tui::replay::{self, Grant, ReplayView};
use crate::tui::room::{ChatLine, Connection, PLAYER_RETRY_SECONDS, PlayerState, Room};
use bookmygig_cli::player::{LiveEdgeAction, PlayerEvent};

/// Opens the room of `gig` (leaving any other) and starts its connection.
pub(super) fn enter(state: &mut State, gig: Gig) -> Vec<Effect> {
    let mut effects = Vec::new();
    if state.room.is_some() {
        effects.push(Effect::LeaveRoom);
    }
    state.rooms += 1;
    let id = state.rooms;
    let gig_id = gig.id;
    state.status = format!("entering the room of {}", gig.title);
    let replay = replay::replayable(&gig);
    let mut room = Room::new(id, gig);
    room.in_terminal = !state.display;
    if replay {
        state.status = format!("opening the replay of {}", room.gig.title);
        room.replay = Some(ReplayView::default());
        room.want_play = true;
        effects.push(Effect::FetchReplayChat {
            room: id,
            gig: gig_id,
        });
        effects.push(start_player(&mut room));
    } else {
        effects.push(Effect::JoinRoom {
            room: id,
            gig: gig_id,
        });
    }
    state.room = Some(room);
    state.screen = Screen::Room;
    effects
}

/// `←`/`→` (`delta_s` seconds) in a replay: the running player seeks; a stopped one opens
/// again there. The position and the chat move at once, before the player confirms.
pub(super) fn seek(state: &mut State, delta_s: i32) -> Vec<Effect> {
    let Some(room) = &mut state.room else {
        return Vec::new();
    };
    let Some(view) = &mut room.replay else {
        return Vec::new();
    };
    let target = view.seek_target(delta_s);
    let moved = target - view.position_s;
    view.position_s = target;
    room.align_chat();
    if room.player.is_active() {
        // mpv clamps as well; ours keeps a press at the end from asking for nothing.
        let seconds = moved.round() as i32;
        return if seconds == 0 {
            Vec::new()
        } else {
            vec![Effect::SeekPlayer(seconds)]
        };
    }
    room.want_play = true;
    vec![start_player(room)]
}

/// Space in a replay: the running player pauses or plays on; a stopped one opens again at the
/// position.
pub(super) fn toggle_pause(state: &mut State) -> Vec<Effect> {
    let Some(room) = state.room.as_mut().filter(|room| room.replay.is_some()) else {
        return Vec::new();
    };
    if room.player.is_active() {
        return vec![Effect::TogglePause];
    }
    // Played to its end: again from the start.
    if room.player == PlayerState::Ended
        && let Some(view) = &mut room.replay
    {
        view.position_s = 0.0;
    }
    room.align_chat();
    room.want_play = true;
    vec![start_player(room)]
}

/// A replay's chat history arrived: it becomes the scrollback, in step with the position.
pub(super) fn replay_chat_loaded(
    state: &mut State,
    id: u64,
    result: Result<Vec<ChatMessage>, String>,
) {
    let Some(room) = state
        .room
        .as_mut()
        .filter(|room| room.id == id && room.replay.is_some())
    else {
        return;
    };
    match result {
        Ok(messages) => {
            room.chat = messages.into_iter().map(ChatLine::Message).collect();
            room.connection = Connection::Connected;
            if let Some(view) = &mut room.replay {
                view.history_loaded = true;
            }
            room.align_chat();
        }
        Err(reason) => {
            room.push(ChatLine::Error(format!(
                "the chat history could not be loaded: {reason}"
            )));
            room.connection = Connection::Refused(reason);
        }
    }
}

/// Leaves the room: its connection, polling and player stop.
pub(super) fn leave(state: &mut State) -> Vec<Effect> {
    state.screen = Screen::Catalogue;
    match state.room.take() {
        Some(_) => vec![Effect::LeaveRoom],
        None => Vec::new(),
    }
}

/// Scrolls the chat `lines` towards older lines (negative: towards newer).
pub(super) fn scroll(state: &mut State, older: bool) {
    if let Some(room) = &mut state.room {
        room.scroll = if older {
            (room.scroll + 1).min(room.chat.len().saturating_sub(1))
        } else {
            room.scroll.saturating_sub(1)
        };
    }
}

/// Starts typing in the chat (not in a replay's: it is history).
pub(super) fn start_typing(state: &mut State) {
    if let Some(room) = &mut state.room {
        if room.replay.is_some() {
            state.status = "a replay's chat is history: nothing can be said in it".to_owned();
            return;
        }
        room.typing = true;
    }
}

/// Stops typing; the line stays for later.
pub(super) fn stop_typing(state: &mut State) {
    if let Some(room) = &mut state.room {
        room.typing = false;
    }
}

/// Applies an edit to the input line.
pub(super) fn edit(state: &mut State, edit: Edit) {
    if let Some(room) = &mut state.room {
        room.input.apply(edit);
    }
}

/// Sends the input line, if the chat is connected.
pub(super) fn send(state: &mut State) -> Vec<Effect> {
    let Some(room) = &mut state.room else {
        return Vec::new();
    };
    if room.connection != Connection::Connected {
        if !room.input.is_empty() {
            state.status = "not connected to the chat: the message is kept".to_owned();
        }
        return Vec::new();
    }
    room.scroll = 0;
    match room.input.submit() {
        Some(text) => vec![Effect::Say { text }],
        None => Vec::new(),
    }
}

/// `p`: play when stopped, stop when playing.
pub(super) fn toggle_player(state: &mut State) -> Vec<Effect> {
    let Some(room) = &mut state.room else {
        return Vec::new();
    };
    if room.player.is_active() || room.player == PlayerState::WaitingForStream {
        room.want_play = false;
        room.player = PlayerState::Off;
        room.picture = None;
        room.full_screen = false;
        // Later events of the stopped run are stale.
        room.player_run += 1;
        state.status = "player stopped".to_owned();
        return vec![Effect::StopPlayer];
    }
    room.want_play = true;
    if room.stream.as_ref().is_some_and(|s| !s.live) {
        room.player = PlayerState::WaitingForStream;
        state.status = "the player opens when the host goes live".to_owned();
        return Vec::new();
    }
    vec![start_player(room)]
}

/// A new player run for the room.
fn start_player(room: &mut Room) -> Effect {
    room.player_run += 1;
    room.player = PlayerState::Starting;
    room.player_retry_at = None;
    Effect::StartPlayer {
        room: room.id,
        run: room.player_run,
        gig: room.gig.id,
        title: format!("{} — BookMyGig", room.gig.title),
        in_terminal: room.in_terminal,
        replay_from_ms: room
            .replay
            .as_ref()
            .map(|view| (view.position_s.max(0.0) * 1000.0).round() as u64),
    }
}

/// `i`: the video moves between mpv's window and the terminal (a playing player re-opens
/// there); without a display it stays in the terminal.
pub(super) fn toggle_video_output(state: &mut State) -> Vec<Effect> {
    let Some(room) = &mut state.room else {
        return Vec::new();
    };
    if room.in_terminal && !state.display {
        state.status = "no display for a window: the video stays in the terminal".to_owned();
        return Vec::new();
    }
    room.in_terminal = !room.in_terminal;
    room.picture = None;
    room.full_screen = false;
    state.status = if room.in_terminal {
        "video in the terminal".to_owned()
    } else {
        "video in a window".to_owned()
    };
    if room.player.is_active() {
        return vec![start_player(room)];
    }
    Vec::new()
}

/// `f`: the video in the terminal takes the whole screen, or goes back to the panel.
pub(super) fn toggle_full_screen(state: &mut State) {
    let Some(room) = &mut state.room else {
        return;
    };
    if room.full_screen || room.video_in_terminal() {
        room.full_screen = !room.full_screen;
    } else {
        state.status = "full screen is for the video in the terminal (p plays it)".to_owned();
    }
}

/// A frame for the terminal arrived: kept while the player draws there.
pub(super) fn video_frame(state: &mut State, frame: crate::tui::graphics::Picture) {
    if let Some(room) = state.room.as_mut().filter(|room| room.video_in_terminal()) {
        room.picture = Some(frame);
    }
}

/// New stream facts (from a poll, `sample`, or from the chat): re-opens the player when the
/// stream came back and the viewer wants to watch.
fn stream_changed(room: &mut Room, status: StreamStatus, sample: bool) -> Vec<Effect> {
    let was_live = room.live();
    if sample {
        room.sample(status);
    } else {
        room.stream = Some(status);
    }
    let came_back = !was_live && room.live();
    if came_back && room.want_play && !room.player.is_active() {
        return vec![start_player(room)];
    }
    Vec::new()
}

/// What the chat connection reported.
pub(super) fn chat(state: &mut State, id: u64, event: ChatEvent) -> Vec<Effect> {
    let Some(room) = state.room.as_mut().filter(|room| room.id == id) else {
        return Vec::new();
    };
    match event {
        ChatEvent::Connected => {
            room.connection = Connection::Connected;
            state.status = format!("in the room of {}", room.gig.title);
            Vec::new()
        }
        ChatEvent::Lost {
            attempt,
            reason,
            retry_in_s,
        } => {
            if attempt == 1 {
                room.push(ChatLine::Notice(format!(
                    "connection lost ({reason}); reconnecting…"
                )));
            }
            state.status = format!("chat: reconnecting in {retry_in_s} s (attempt {attempt})");
            room.connection = Connection::Reconnecting { attempt, reason };
            Vec::new()
        }
        ChatEvent::Refused(reason) => {
            room.push(ChatLine::Error(reason.clone()));
            if !state.held.contains(&room.gig.id) {
                let key = |name| state.keymap.first_key(name).unwrap_or_default();
                room.push(ChatLine::Notice(format!(
                    "the room is for ticket holders: {}, then {} to buy a ticket",
                    key("back"),
                    key("buy")
                )));
            }
            room.connection = Connection::Refused(reason);
            Vec::new()
        }
        ChatEvent::Message(message) => server_message(room, message),
    }
}

/// One message of the server.
fn server_message(room: &mut Room, message: ServerMessage) -> Vec<Effect> {
    match message {
        ServerMessage::History { messages } => {
            room.replace_history(messages);
            room.entered += 1;
            if room.entered > 1 {
                room.push(ChatLine::Notice("reconnected".to_owned()));
            }
        }
        ServerMessage::Message(message) => room.push(ChatLine::Message(message)),
        ServerMessage::Join(user) => room.push(ChatLine::Joined(user.handle)),
        ServerMessage::Leave(user) => room.push(ChatLine::Left(user.handle)),
        ServerMessage::Presence { count } => room.presence = Some(count),
        ServerMessage::Stream(status) => return stream_changed(room, status, false),
        ServerMessage::Deleted { id } => room.delete(id),
        ServerMessage::Error { detail, .. } => room.push(ChatLine::Error(detail)),
    }
    Vec::new()
}

/// A poll of the stream's facts finished.
pub(super) fn stream_loaded(
    state: &mut State,
    id: u64,
    result: Result<StreamStatus, String>,
) -> Vec<Effect> {
    let Some(room) = state.room.as_mut().filter(|room| room.id == id) else {
        return Vec::new();
    };
    match result {
        Ok(status) => stream_changed(room, status, true),
        Err(reason) => {
            room.stream_error = Some(reason);
            Vec::new()
        }
    }
}

/// What the player reported.
pub(super) fn player(state: &mut State, id: u64, run: u64, update: PlayerUpdate) -> Vec<Effect> {
    let now = state.now;
    let Some(room) = state
        .room
        .as_mut()
        .filter(|room| room.id == id && room.player_run == run)
    else {
        return Vec::new();
    };
    let retry_at = now + Duration::seconds(PLAYER_RETRY_SECONDS);
    let last = match &update {
        PlayerUpdate::CannotOpen(_) => true,
        PlayerUpdate::Granted(_) => false,
        PlayerUpdate::Event(event) => event.is_last(),
    };
    if last {
        room.picture = None;
        room.full_screen = false;
    }
    // Catching up goes on while the position moves; anything else ends it.
    if !matches!(
        update,
        PlayerUpdate::Event(PlayerEvent::LiveEdge { .. } | PlayerEvent::Playing { .. })
    ) {
        room.catching_up_from_s = None;
    }
    if let Some(view) = &mut room.replay {
        match &update {
            PlayerUpdate::Granted(replay) => {
                view.grant = Some(Grant::from(replay.as_ref()));
                room.align_chat();
                return Vec::new();
            }
            PlayerUpdate::Event(PlayerEvent::Playing { position_s }) => {
                view.position_s = *position_s;
                view.paused = false;
                room.align_chat();
            }
            PlayerUpdate::Event(PlayerEvent::Paused) => view.paused = true,
            PlayerUpdate::Event(PlayerEvent::Ended) => {
                if let Some(duration) = view.duration_s() {
                    view.position_s = duration;
                }
                view.paused = false;
                room.want_play = false;
                room.align_chat();
                state.status = "the replay ended (← goes back, Space plays it again)".to_owned();
                room.player = PlayerState::Ended;
                return Vec::new();
            }
            _ => {}
        }
    }
    room.player = match update {
        PlayerUpdate::Granted(_) => return Vec::new(),
        PlayerUpdate::CannotOpen(reason) => {
            room.want_play = false;
            state.status = format!("cannot play: {reason}");
            PlayerState::Failed(reason)
        }
        PlayerUpdate::Event(event) => match event {
            PlayerEvent::Loading => PlayerState::Loading,
            PlayerEvent::Playing { position_s } => PlayerState::Playing { position_s },
            PlayerEvent::Buffering => PlayerState::Buffering,
            PlayerEvent::Paused => PlayerState::Paused,
            // Catching up is the player's own business (it keeps playing); it is only shown.
            PlayerEvent::LiveEdge { lag_s, action } => {
                room.catching_up_from_s = match action {
                    LiveEdgeAction::CatchUp { .. } => Some(lag_s),
                    LiveEdgeAction::Settle | LiveEdgeAction::Reload => None,
                };
                return Vec::new();
            }
            PlayerEvent::Ended => {
                room.player_retry_at = Some(retry_at);
                PlayerState::Ended
            }
            PlayerEvent::Error(reason) => {
                room.player_retry_at = Some(retry_at);
                PlayerState::Failed(reason)
            }
            PlayerEvent::Closed => {
                room.want_play = false;
                state.status = if room.in_terminal {
                    "player closed (p opens it again)".to_owned()
                } else {
                    "player window closed (p opens it again)".to_owned()
                };
                PlayerState::Off
            }
        },
    };
    Vec::new()
}

/// A second passed: a player that ended or failed while the stream is still live is tried again.
pub(super) fn tick(state: &mut State, now: OffsetDateTime) -> Vec<Effect> {
    state.now = now;
    let Some(room) = &mut state.room else {
        return Vec::new();
    };
    let due = room.player_retry_at.is_some_and(|at| at <= now);
    if due
        && room.want_play
        && room.live()
        && matches!(room.player, PlayerState::Ended | PlayerState::Failed(_))
    {
        return vec![start_player(room)];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use bookmygig_api::ChatUser;

    use super::*;
    use crate::tui::action::Action;
    use crate::tui::app::Zone;
    use crate::tui::sample;
    use crate::tui::update::update;

    /// The catalogue loaded, holding a ticket for the first gig.
    fn catalogue() -> State {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Refresh);
        sample::answer_catalogue(&mut state, sample::gigs(), None);
        update(&mut state, Action::TicketsLoaded(Ok(sample::my_tickets())));
        state.screen = Screen::Catalogue;
        state
    }

    /// In the first gig's room, connected, the stream live.
    fn in_room() -> State {
        let mut state = catalogue();
        update(&mut state, Action::Open);
        chat(&mut state, ChatEvent::Connected);
        chat(
            &mut state,
            ChatEvent::Message(ServerMessage::Stream(sample::stream(true))),
        );
        state
    }

    fn room(state: &State) -> &Room {
        state.room.as_ref().unwrap_or_else(|| panic!("no room"))
    }

    fn chat(state: &mut State, event: ChatEvent) -> Vec<Effect> {
        let room = room(state).id;
        update(state, Action::Chat { room, event })
    }

    fn player_event(state: &mut State, event: PlayerEvent) -> Vec<Effect> {
        let (room, run) = (room(state).id, room(state).player_run);
        update(
            state,
            Action::Player {
                room,
                run,
                update: PlayerUpdate::Event(event),
            },
        )
    }

    fn stream(state: &mut State, live: bool) -> Vec<Effect> {
        let room = room(state).id;
        update(
            state,
            Action::StreamLoaded {
                room,
                result: Ok(sample::stream(live)),
            },
        )
    }

    fn starts_player(effects: &[Effect]) -> bool {
        matches!(effects, [Effect::StartPlayer { .. }])
    }

    /// In the replay of the first gig (ended, holding a ticket): the history and the grant
    /// arrived, the player plays.
    fn in_replay() -> State {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Refresh);
        sample::answer_catalogue(&mut state, vec![sample::replay_gig()], None);
        update(&mut state, Action::TicketsLoaded(Ok(sample::my_tickets())));
        state.screen = Screen::Catalogue;
        update(&mut state, Action::Open);
        let (id, run) = (room(&state).id, room(&state).player_run);
        update(
            &mut state,
            Action::ReplayChatLoaded {
                room: id,
                result: Ok(vec![
                    sample::chat_message(1, "ana", "doors open", 0),
                    sample::chat_message(2, "bo", "here we go", 2),
                    sample::chat_message(3, "ana", "encore!", 80),
                ]),
            },
        );
        update(
            &mut state,
            Action::Player {
                room: id,
                run,
                update: PlayerUpdate::Granted(Box::new(sample::replay_grant())),
            },
        );
        player_event(&mut state, PlayerEvent::Playing { position_s: 0.0 });
        state
    }

    fn position(state: &State) -> f64 {
        room(state)
            .replay
            .as_ref()
            .map_or(-1.0, |view| view.position_s)
    }

    #[test]
    fn enter_on_an_ended_gig_with_a_replay_plays_the_recording_with_its_chat_history() {
        let mut state = State::for_tests(Zone::Local);
        update(&mut state, Action::Refresh);
        sample::answer_catalogue(&mut state, vec![sample::replay_gig()], None);
        update(&mut state, Action::TicketsLoaded(Ok(sample::my_tickets())));
        state.screen = Screen::Catalogue;
        let effects = update(&mut state, Action::Open);
        let gig = sample::replay_gig().id;
        assert!(
            matches!(
                effects[..],
                [
                    Effect::FetchReplayChat { gig: g, .. },
                    Effect::StartPlayer {
                        replay_from_ms: Some(0),
                        ..
                    }
                ] if g == gig
            ),
            "no chat connection, no polling: {effects:?}"
        );
        assert!(room(&state).replay.is_some());
        // Nothing can be said in a replay's chat.
        update(&mut state, Action::Open);
        assert!(!room(&state).typing);
    }

    #[test]
    fn the_replays_chat_follows_the_position() {
        let mut state = in_replay();
        // Recorded from 18:00:30: the message of 18:00 was before the first frame.
        assert_eq!(
            room(&state).scroll,
            2,
            "only the first message shows at 0:00"
        );
        player_event(&mut state, PlayerEvent::Playing { position_s: 89.0 });
        assert_eq!(room(&state).scroll, 2, "the second was sent at 1:30");
        player_event(&mut state, PlayerEvent::Playing { position_s: 90.0 });
        assert_eq!(room(&state).scroll, 1);
        player_event(&mut state, PlayerEvent::Playing { position_s: 4800.0 });
        assert_eq!(room(&state).scroll, 0, "all of them by the end");
    }

    #[test]
    fn arrows_seek_the_replay_within_its_length_and_move_the_chat_at_once() {
        let mut state = in_replay();
        assert_eq!(
            update(&mut state, Action::Seek(60)),
            [Effect::SeekPlayer(60)]
        );
        assert_eq!(position(&state), 60.0);
        assert_eq!(
            update(&mut state, Action::Seek(10)),
            [Effect::SeekPlayer(10)]
        );
        assert_eq!(
            room(&state).scroll,
            2,
            "1:10: the message of 1:30 is still to come"
        );
        update(&mut state, Action::Seek(60));
        assert_eq!(room(&state).scroll, 1, "2:10 shows the second message");
        // Back past the start stops at 0.
        assert_eq!(
            update(&mut state, Action::Seek(-600)),
            [Effect::SeekPlayer(-130)]
        );
        assert_eq!(position(&state), 0.0);
        assert!(
            update(&mut state, Action::Seek(-10)).is_empty(),
            "already at 0"
        );
        // Forward past the end stops at the length (85 minutes).
        for _ in 0..100 {
            update(&mut state, Action::Seek(60));
        }
        assert_eq!(position(&state), 5100.0);
    }

    #[test]
    fn space_pauses_the_replay_and_plays_it_again_once_ended() {
        let mut state = in_replay();
        assert_eq!(
            update(&mut state, Action::TogglePause),
            [Effect::TogglePause]
        );
        player_event(&mut state, PlayerEvent::Paused);
        assert!(room(&state).replay.as_ref().is_some_and(|view| view.paused));
        player_event(&mut state, PlayerEvent::Playing { position_s: 12.0 });
        assert!(
            room(&state)
                .replay
                .as_ref()
                .is_some_and(|view| !view.paused)
        );
        player_event(&mut state, PlayerEvent::Ended);
        assert_eq!(room(&state).player, PlayerState::Ended);
        assert_eq!(position(&state), 5100.0);
        let now = state.now;
        assert!(update(&mut state, Action::Tick(now)).is_empty(), "no retry");
        assert!(matches!(
            update(&mut state, Action::TogglePause)[..],
            [Effect::StartPlayer {
                replay_from_ms: Some(0),
                ..
            }]
        ));
        // A seek after the end opens the player where it points.
        player_event(&mut state, PlayerEvent::Ended);
        assert!(matches!(
            update(&mut state, Action::Seek(-60))[..],
            [Effect::StartPlayer {
                replay_from_ms: Some(5_040_000),
                ..
            }]
        ));
    }

    #[test]
    fn seek_keys_do_nothing_in_a_live_room() {
        let mut state = in_room();
        assert!(update(&mut state, Action::Seek(10)).is_empty());
        assert!(update(&mut state, Action::TogglePause).is_empty());
    }

    #[test]
    fn enter_on_a_gig_with_a_ticket_enters_its_room_and_joins_the_chat() {
        let mut state = catalogue();
        let effects = update(&mut state, Action::Open);
        assert_eq!(state.screen, Screen::Room);
        let gig = sample::gigs()[0].id;
        assert_eq!(effects, [Effect::JoinRoom { room: 1, gig }]);
    }

    #[test]
    fn enter_on_a_gig_without_a_ticket_shows_it_and_c_tries_the_room_anyway() {
        let mut state = catalogue();
        update(&mut state, Action::Down);
        update(&mut state, Action::Down);
        update(&mut state, Action::Open);
        assert_eq!(state.screen, Screen::Gig);
        let effects = update(&mut state, Action::EnterRoom);
        assert_eq!(state.screen, Screen::Room);
        assert!(matches!(effects[..], [Effect::JoinRoom { .. }]));
        chat(
            &mut state,
            ChatEvent::Refused("Forbidden: no ticket".to_owned()),
        );
        assert_eq!(
            room(&state).connection,
            Connection::Refused("Forbidden: no ticket".to_owned())
        );
        assert!(room(&state).chat.iter().any(
            |line| matches!(line, ChatLine::Notice(text) if text.contains("b to buy a ticket"))
        ));
    }

    #[test]
    fn the_creator_enters_their_own_gig_with_enter() {
        let mut state = catalogue();
        state.held.clear();
        update(&mut state, Action::Down);
        let creator = sample::gigs()[1].creator_id;
        update(
            &mut state,
            Action::MeLoaded(Ok(bookmygig_api::Account {
                id: creator,
                handle: "mira".to_owned(),
                display_name: "Mira".to_owned(),
                created_at: time::macros::datetime!(2026-01-01 0:00 UTC),
            })),
        );
        update(&mut state, Action::Open);
        assert_eq!(state.screen, Screen::Room);
    }

    #[test]
    fn history_messages_joins_and_leaves_fill_the_scrollback() {
        let mut state = in_room();
        chat(
            &mut state,
            ChatEvent::Message(ServerMessage::History {
                messages: vec![sample::chat_message(1, "ana", "hi", 1)],
            }),
        );
        let user = ChatUser {
            handle: "bo".to_owned(),
            display_name: "Bo".to_owned(),
        };
        chat(
            &mut state,
            ChatEvent::Message(ServerMessage::Join(user.clone())),
        );
        chat(
            &mut state,
            ChatEvent::Message(ServerMessage::Message(sample::chat_message(
                2, "bo", "hello", 2,
            ))),
        );
        chat(&mut state, ChatEvent::Message(ServerMessage::Leave(user)));
        chat(
            &mut state,
            ChatEvent::Message(ServerMessage::Presence { count: 4 }),
        );
        let lines: Vec<_> = room(&state).chat.iter().cloned().collect();
        assert_eq!(lines.len(), 4);
        assert!(matches!(&lines[1], ChatLine::Joined(h) if h == "bo"));
        assert!(matches!(&lines[3], ChatLine::Left(h) if h == "bo"));
        assert_eq!(room(&state).presence, Some(4));
    }

    #[test]
    fn typing_and_enter_sends_only_while_connected() {
        let mut state = in_room();
        update(&mut state, Action::Open);
        assert!(room(&state).typing);
        for c in "hey".chars() {
            update(&mut state, Action::Edit(Edit::Insert(c)));
        }
        let effects = update(&mut state, Action::Send);
        assert_eq!(
            effects,
            [Effect::Say {
                text: "hey".to_owned()
            }]
        );
        assert!(room(&state).input.is_empty());
        chat(
            &mut state,
            ChatEvent::Lost {
                attempt: 1,
                reason: "reset".to_owned(),
                retry_in_s: 1,
            },
        );
        update(&mut state, Action::Edit(Edit::Insert('x')));
        assert!(update(&mut state, Action::Send).is_empty());
        assert_eq!(
            room(&state).input.text(),
            "x",
            "kept for after the reconnection"
        );
    }

    #[test]
    fn a_lost_connection_is_shown_once_and_the_next_history_says_reconnected() {
        let mut state = in_room();
        chat(
            &mut state,
            ChatEvent::Message(ServerMessage::History { messages: vec![] }),
        );
        for attempt in 1..=3 {
            chat(
                &mut state,
                ChatEvent::Lost {
                    attempt,
                    reason: "connection refused".to_owned(),
                    retry_in_s: 1,
                },
            );
        }
        assert!(matches!(
            room(&state).connection,
            Connection::Reconnecting { attempt: 3, .. }
        ));
        assert_eq!(room(&state).chat.len(), 1);
        chat(&mut state, ChatEvent::Connected);
        chat(
            &mut state,
            ChatEvent::Message(ServerMessage::History {
                messages: vec![sample::chat_message(1, "ana", "hi", 1)],
            }),
        );
        assert_eq!(room(&state).connection, Connection::Connected);
        let lines: Vec<_> = room(&state).chat.iter().cloned().collect();
        assert!(
            matches!(
                &lines[..],
                [ChatLine::Message(_), ChatLine::Notice(lost), ChatLine::Notice(back)]
                    if lost.starts_with("connection lost") && back == "reconnected"
            ),
            "the history, then what happened since: {lines:?}"
        );
    }

    #[test]
    fn p_plays_a_live_stream_and_again_stops_it() {
        let mut state = in_room();
        let effects = update(&mut state, Action::Play);
        assert!(starts_player(&effects), "{effects:?}");
        player_event(&mut state, PlayerEvent::Loading);
        player_event(&mut state, PlayerEvent::Playing { position_s: 3.0 });
        assert_eq!(
            room(&state).player,
            PlayerState::Playing { position_s: 3.0 }
        );
        assert_eq!(update(&mut state, Action::Play), [Effect::StopPlayer]);
        assert_eq!(room(&state).player, PlayerState::Off);
        player_event(&mut state, PlayerEvent::Closed);
        assert_eq!(room(&state).player, PlayerState::Off);
    }

    #[test]
    fn catching_up_with_the_live_edge_is_shown_until_settled() {
        let mut state = in_room();
        update(&mut state, Action::Play);
        player_event(&mut state, PlayerEvent::Playing { position_s: 1.0 });
        player_event(
            &mut state,
            PlayerEvent::LiveEdge {
                lag_s: 1.5,
                action: LiveEdgeAction::CatchUp { speed: 1.05 },
            },
        );
        player_event(&mut state, PlayerEvent::Playing { position_s: 2.0 });
        assert_eq!(
            room(&state).catching_up_from_s,
            Some(1.5),
            "still catching up"
        );
        assert_eq!(
            room(&state).player,
            PlayerState::Playing { position_s: 2.0 }
        );
        player_event(
            &mut state,
            PlayerEvent::LiveEdge {
                lag_s: 0.2,
                action: LiveEdgeAction::Settle,
            },
        );
        assert_eq!(room(&state).catching_up_from_s, None);
        player_event(
            &mut state,
            PlayerEvent::LiveEdge {
                lag_s: 2.0,
                action: LiveEdgeAction::CatchUp { speed: 1.05 },
            },
        );
        player_event(&mut state, PlayerEvent::Buffering);
        assert_eq!(room(&state).catching_up_from_s, None, "a stall ends it");
    }

    #[test]
    fn the_player_reopens_when_the_stream_comes_back() {
        let mut state = in_room();
        update(&mut state, Action::Play);
        player_event(&mut state, PlayerEvent::Playing { position_s: 1.0 });
        player_event(&mut state, PlayerEvent::Ended);
        assert!(stream(&mut state, false).is_empty());
        assert_eq!(room(&state).player, PlayerState::Ended);
        assert!(starts_player(&stream(&mut state, true)));
    }

    #[test]
    fn p_while_offline_waits_for_the_host() {
        let mut state = catalogue();
        update(&mut state, Action::Open);
        stream(&mut state, false);
        assert!(update(&mut state, Action::Play).is_empty());
        assert_eq!(room(&state).player, PlayerState::WaitingForStream);
        assert!(starts_player(&chat(
            &mut state,
            ChatEvent::Message(ServerMessage::Stream(sample::stream(true)))
        )));
    }

    #[test]
    fn closing_the_window_keeps_it_closed() {
        let mut state = in_room();
        update(&mut state, Action::Play);
        player_event(&mut state, PlayerEvent::Closed);
        assert!(!room(&state).want_play);
        stream(&mut state, false);
        assert!(stream(&mut state, true).is_empty());
    }

    #[test]
    fn a_failure_while_live_is_retried_after_a_pause_but_cannot_open_is_not() {
        let mut state = in_room();
        let t0 = time::macros::datetime!(2026-05-02 18:30 UTC);
        update(&mut state, Action::Tick(t0));
        update(&mut state, Action::Play);
        player_event(&mut state, PlayerEvent::Error("reset".to_owned()));
        assert!(update(&mut state, Action::Tick(t0 + Duration::seconds(1))).is_empty());
        let effects = update(&mut state, Action::Tick(t0 + Duration::seconds(6)));
        assert!(starts_player(&effects));
        let (room_id, run) = (room(&state).id, room(&state).player_run);
        update(
            &mut state,
            Action::Player {
                room: room_id,
                run,
                update: PlayerUpdate::CannotOpen("no display".to_owned()),
            },
        );
        assert!(update(&mut state, Action::Tick(t0 + Duration::seconds(60))).is_empty());
    }

    #[test]
    fn answers_for_an_earlier_room_or_player_run_are_dropped() {
        let mut state = in_room();
        update(&mut state, Action::Play);
        let old_run = room(&state).player_run;
        update(&mut state, Action::Play);
        let id = room(&state).id;
        update(
            &mut state,
            Action::Player {
                room: id,
                run: old_run,
                update: PlayerUpdate::Event(PlayerEvent::Playing { position_s: 1.0 }),
            },
        );
        assert_eq!(room(&state).player, PlayerState::Off);
        update(
            &mut state,
            Action::Chat {
                room: 99,
                event: ChatEvent::Refused("x".to_owned()),
            },
        );
        assert_eq!(room(&state).connection, Connection::Connected);
    }

    #[test]
    fn esc_leaves_the_room_and_stops_its_work() {
        let mut state = in_room();
        assert_eq!(update(&mut state, Action::Back), [Effect::LeaveRoom]);
        assert_eq!(state.screen, Screen::Catalogue);
        assert!(state.room.is_none());
    }

    fn picture() -> crate::tui::graphics::Picture {
        crate::tui::graphics::Picture::Cells(std::sync::Arc::new(
            bookmygig_cli::player::Frame::filled(4, 4, [9, 9, 9]),
        ))
    }

    #[test]
    fn without_a_display_the_video_plays_in_the_terminal() {
        let mut state = catalogue();
        state.display = false;
        update(&mut state, Action::Open);
        stream(&mut state, true);
        // Frames are kept while it plays there, and dropped with the player.
        update(&mut state, Action::VideoFrame(picture()));
        assert!(room(&state).picture.is_none(), "not playing");
        let effects = update(&mut state, Action::Play);
        assert!(
            matches!(
                effects[..],
                [Effect::StartPlayer {
                    in_terminal: true,
                    ..
                }]
            ),
            "{effects:?}"
        );
        player_event(&mut state, PlayerEvent::Playing { position_s: 1.0 });
        update(&mut state, Action::VideoFrame(picture()));
        assert_eq!(room(&state).picture, Some(picture()));
        assert_eq!(update(&mut state, Action::Play), [Effect::StopPlayer]);
        assert!(room(&state).picture.is_none());
        // `i` cannot open a window without a display.
        update(&mut state, Action::ToggleVideoOutput);
        assert!(room(&state).in_terminal);
        assert!(state.status.contains("no display"), "{}", state.status);
    }

    #[test]
    fn i_moves_a_playing_video_between_window_and_terminal() {
        let mut state = in_room();
        assert!(
            !room(&state).in_terminal,
            "a window where there is a display"
        );
        update(&mut state, Action::Play);
        player_event(&mut state, PlayerEvent::Playing { position_s: 1.0 });
        let run = room(&state).player_run;
        let effects = update(&mut state, Action::ToggleVideoOutput);
        assert!(
            matches!(
                effects[..],
                [Effect::StartPlayer {
                    in_terminal: true,
                    ..
                }]
            ),
            "{effects:?}"
        );
        assert!(room(&state).player_run > run, "the window's run is over");
        let effects = update(&mut state, Action::ToggleVideoOutput);
        assert!(matches!(
            effects[..],
            [Effect::StartPlayer {
                in_terminal: false,
                ..
            }]
        ));
        // Stopped, `i` only chooses where the next play goes.
        update(&mut state, Action::Play);
        assert!(update(&mut state, Action::ToggleVideoOutput).is_empty());
        assert!(room(&state).in_terminal);
    }

    #[test]
    fn f_gives_the_terminal_video_the_whole_screen_and_esc_takes_it_back() {
        let mut state = in_room();
        update(&mut state, Action::ToggleFullScreen);
        assert!(!room(&state).full_screen, "nothing plays in the terminal");
        update(&mut state, Action::ToggleVideoOutput);
        update(&mut state, Action::Play);
        player_event(&mut state, PlayerEvent::Playing { position_s: 1.0 });
        update(&mut state, Action::ToggleFullScreen);
        assert!(room(&state).full_screen);
        assert!(update(&mut state, Action::Back).is_empty());
        assert!(
            !room(&state).full_screen,
            "Esc leaves full screen, not the room"
        );
        assert_eq!(state.screen, Screen::Room);
        update(&mut state, Action::ToggleFullScreen);
        player_event(&mut state, PlayerEvent::Ended);
        assert!(!room(&state).full_screen, "the video ended");
    }

    #[test]
    fn the_scrollback_keeps_the_newest_lines() {
        let mut state = in_room();
        let room = state.room.as_mut().unwrap_or_else(|| panic!("no room"));
        for n in 0..crate::tui::room::SCROLLBACK + 5 {
            room.push(ChatLine::Notice(n.to_string()));
        }
        assert_eq!(room.chat.len(), crate::tui::room::SCROLLBACK);
        assert_eq!(room.chat.front(), Some(&ChatLine::Notice("5".to_owned())));
    }
}
