#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The video in the terminal, end to end: the real `bookmygig tui` in tmux without a display,
//! against a real server with a live ffmpeg stream (a moving test picture and a tone). `p` in
//! the room draws the stream in the stream panel with true-colour half-blocks (libmpv's software
//! renderer) while the chat goes on beside it; and nothing but the TUI draws on the screen:
//! what the player's libraries write to stderr (alsa-lib without a sound card) goes to the log.

mod common;

use std::path::Path;
use std::time::Duration;

use bookmygig_api::ClientMessage;
use common::tmux::Tmux;
use common::{BIN, FfmpegPublisher, Serving as _, TestServer, User};

/// Generous: the CI machine has two cores and compiles other crates meanwhile.
const PATIENCE: Duration = Duration::from_secs(30);

/// The TUI's size in the tests: the README's benchmark size.
const SIZE: (u16, u16) = (120, 40);

/// Adds `player` settings to `user`'s config.json (written by sign-up, so merged).
fn set_player(user: &User, player: serde_json::Value) {
    let path = user.config_dir().join("config.json");
    let mut config: serde_json::Value = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    config["player"] = player;
    std::fs::write(&path, config.to_string()).expect("config");
}

/// One cell of a captured screen: its character and the SGR parameters in force.
#[derive(Clone, Debug, PartialEq)]
struct Cell {
    symbol: char,
    style: String,
}

/// A `capture-pane -e` screen as rows of cells (SGR sequences folded into each cell's style;
/// tmux starts every line from the default style).
fn cells(styled: &str) -> Vec<Vec<Cell>> {
    styled
        .lines()
        .map(|line| {
            let mut row = Vec::new();
            let mut style = String::new();
            let mut chars = line.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '\x1b' && chars.peek() == Some(&'[') {
                    chars.next();
                    let mut params = String::new();
                    for p in chars.by_ref() {
                        if p.is_ascii_alphabetic() {
                            break;
                        }
                        params.push(p);
                    }
                    if params.is_empty() || params == "0" {
                        style.clear();
                    } else {
                        style.push_str(&params);
                        style.push(';');
                    }
                    continue;
                }
                row.push(Cell {
                    symbol: c,
                    style: style.clone(),
                });
            }
            row
        })
        .collect()
}

/// The cells of the stream panel with the video at [`SIZE`] (the left three fifths of the
/// body, inside its border).
fn stream_panel(styled: &str) -> Vec<Vec<Cell>> {
    let width = usize::from(SIZE.0) * 3 / 5;
    cells(styled)
        .into_iter()
        .skip(2)
        .take(usize::from(SIZE.1) - 5)
        .map(|row| row.into_iter().skip(1).take(width - 2).collect())
        .collect()
}

/// How many half-blocks the picture's first row has, from the panel's left border on.
fn picture_width(styled: &str) -> usize {
    cells(styled).get(2).map_or(0, |row| {
        row.iter()
            .skip(1)
            .take_while(|cell| cell.symbol == '▀')
            .count()
    })
}

/// Whether the panel holds half-blocks painted in true colour, both halves.
fn true_colour_video(panel: &[Vec<Cell>]) -> bool {
    panel.iter().flatten().any(|cell| {
        cell.symbol == '▀' && cell.style.contains("38;2;") && cell.style.contains("48;2;")
    })
}

/// A viewer of a live gig, with a ticket and a saved session; and the gig.
async fn live_gig_and_viewer(
    server: &TestServer,
    title: &str,
) -> (User, bookmygig_api::Gig, FfmpegPublisher) {
    let creator = server.account("host", 99).await;
    let gig = server.gig_starting_soon(&creator, title).await;
    let publisher = FfmpegPublisher::start(&server.publish_url(&gig), "320x180", 25, 300);
    server.await_live(gig.id, PATIENCE).await;
    let viewer = User::new(server);
    viewer.sign_up_with_funds("viewer").await;
    viewer
        .run(&["ticket", "buy", &gig.id.to_string()])
        .await
        .ok();
    (viewer, gig, publisher)
}

/// Starts the viewer's TUI with `--log-file log` and enters the gig's room.
async fn tui_in_room(name: &str, viewer: &User, title: &str, log: &Path) -> Tmux {
    tui_in_room_with(name, viewer, title, log, &[]).await
}

/// [`tui_in_room`] with more environment variables.
async fn tui_in_room_with(
    name: &str,
    viewer: &User,
    title: &str,
    log: &Path,
    more: &[(&'static str, String)],
) -> Tmux {
    let mut vars = viewer.tui_env();
    vars.extend(more.iter().cloned());
    let tmux = Tmux::start(
        name,
        SIZE,
        &vars,
        &[
            BIN.to_owned(),
            "tui".to_owned(),
            "--log-file".to_owned(),
            log.display().to_string(),
        ],
    )
    .await;
    tmux.wait_for(title, PATIENCE).await;
    tmux.keys(&["c"]).await;
    tmux.wait_for("connected", PATIENCE).await;
    tmux
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_display_p_draws_the_stream_in_the_room_while_the_chat_goes_on() {
    let server = TestServer::start().await;
    let (viewer, gig, _publisher) = live_gig_and_viewer(&server, "Terminal Cinema").await;
    // No window and no sound: the picture can only go to the terminal.
    set_player(&viewer, serde_json::json!({"audio_output": "null"}));
    let friend = server.account("friend", 20).await;
    friend
        .buy_ticket(gig.id, "friend-ticket")
        .await
        .expect("ticket");
    let mut socket = friend.chat(gig.id).await.expect("the friend enters");

    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("tui.log");
    let tmux = tui_in_room("video", &viewer, "Terminal Cinema", &log).await;
    tmux.keys(&["p"]).await;

    // The picture arrives, in true colour, and moves: two captures a second apart differ.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let first = loop {
        let panel = stream_panel(&tmux.styled_screen().await);
        if true_colour_video(&panel) {
            break panel;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no true-colour video in the stream panel; the screen:\n{}",
            tmux.screen().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let moved_after = tokio::time::Instant::now() + Duration::from_secs(1);
    let deadline = moved_after + PATIENCE;
    loop {
        let now = tokio::time::Instant::now();
        if now >= moved_after {
            let panel = stream_panel(&tmux.styled_screen().await);
            if panel != first && true_colour_video(&panel) {
                break;
            }
            assert!(now < deadline, "the picture stood still");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The chat stays live beside it.
    socket
        .send(&ClientMessage::Say {
            text: "the picture is in the terminal!".to_owned(),
        })
        .await
        .expect("the friend speaks");
    let screen = tmux
        .wait_for("friend: the picture is in the terminal!", PATIENCE)
        .await;
    assert!(screen.contains("▶ playing"), "{screen}");

    // The picture follows the panel when the terminal is resized.
    assert_eq!(picture_width(&tmux.styled_screen().await), 70);
    tmux.resize(100, 30).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while picture_width(&tmux.styled_screen().await) != 58 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the picture did not follow the panel; the screen:\n{}",
            tmux.screen().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Full screen: the video takes the terminal, the newest chat line over it; back with f.
    tmux.keys(&["f"]).await;
    let screen = tmux
        .wait_until("the video full screen", PATIENCE, |screen| {
            !screen.contains("Chat") && screen.contains("the picture is in the terminal!")
        })
        .await;
    assert!(!screen.contains("BookMyGig"), "{screen}");
    tmux.keys(&["f"]).await;
    tmux.wait_for("Chat", PATIENCE).await;

    // q quits and gives the terminal back: the TUI's screen is gone.
    tmux.keys(&["q"]).await;
    assert_eq!(tmux.wait_exit(PATIENCE).await, 0);
    let screen = tmux.screen().await;
    assert!(
        !screen.contains('▀') && !screen.contains("Chat"),
        "the alternate screen was left: {screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_player_writes_to_stderr_goes_to_the_log_not_the_screen() {
    let server = TestServer::start().await;
    let (viewer, _gig, _publisher) = live_gig_and_viewer(&server, "Quiet Please").await;
    // ALSA, failing as without a sound card (on any machine: its configuration is missing):
    // alsa-lib complains on stderr.
    set_player(&viewer, serde_json::json!({"audio_output": "alsa"}));
    let logs = tempfile::tempdir().expect("temp dir");
    let log = logs.path().join("tui.log");
    let alsa_config = logs.path().join("no-such-alsa.conf").display().to_string();
    let tmux = tui_in_room_with(
        "stderr",
        &viewer,
        "Quiet Please",
        &log,
        &[("ALSA_CONFIG_PATH", alsa_config)],
    )
    .await;
    tmux.keys(&["p"]).await;

    // alsa-lib has spoken (into the log), and the player plays on without sound.
    let contents = bookmygig_testkit::eventually("ALSA in the log", PATIENCE, || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        async move {
            if text.contains("ALSA") {
                Ok(text)
            } else {
                Err(text)
            }
        }
    })
    .await;
    assert!(contents.contains("bookmygig tui"), "{contents}");
    tmux.wait_for("▶ playing", PATIENCE).await;
    let screen = tmux.screen().await;
    assert!(!screen.contains("ALSA"), "{screen}");

    tmux.keys(&["q"]).await;
    assert_eq!(tmux.wait_exit(PATIENCE).await, 0);
    // After the TUI, fd 2 is the terminal's again: nothing of ALSA came through either.
    assert!(!tmux.screen().await.contains("ALSA"));
}
