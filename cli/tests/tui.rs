//! `bookmygig tui` end to end: the real binary in a real terminal (tmux), against a real
//! server with a live ffmpeg stream, read through `tmux capture-pane`: sign up in the first-run
//! form, find a gig by search, buy a ticket, chat with a second WebSocket client, play.

#![allow(clippy::expect_used)] // A harness failure is a test failure.

mod common;

use std::time::Duration;

use bookmygig_api::ServerMessage;
use common::process::{SERVE_TEST, ServerProcess};
use common::tmux::Tmux;
use common::{BIN, FfmpegPublisher, Serving as _, TestServer, User};

/// Generous: the CI machine has two cores and compiles other crates meanwhile.
const PATIENCE: Duration = Duration::from_secs(20);

/// Receives chat messages until one satisfies `wanted`.
async fn until(
    socket: &mut bookmygig_client::ChatSocket,
    wanted: impl Fn(&ServerMessage) -> bool,
) -> ServerMessage {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let message = socket
                .recv()
                .await
                .expect("the chat stays open")
                .expect("a server message");
            if wanted(&message) {
                return message;
            }
        }
    })
    .await
    .expect("the awaited chat message arrives")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_finds_buys_chats_and_watches_in_the_tui() {
    let server = TestServer::start().await;
    let creator = server.account("host", 99).await;
    let gig = server
        .gig_starting_soon(&creator, "Midnight Sax Session")
        .await;
    server
        .gig_starting_soon(&creator_two(&server).await, "Morning Pilates")
        .await;
    let publisher = FfmpegPublisher::start(&server.publish_url(&gig), "640x360", 25, 300);
    server.await_live(gig.id, PATIENCE).await;

    // A second member of the room, on a WebSocket of its own.
    let friend = server.account("friend", 20).await;
    friend
        .buy_ticket(gig.id, "friend-ticket")
        .await
        .expect("ticket");
    let mut socket = friend
        .chat(gig.id)
        .await
        .expect("the friend enters the chat");

    let viewer = User::new(&server);
    std::fs::write(
        viewer.config_dir().join("config.json"),
        r#"{"player": {"headless": true}}"#,
    )
    .expect("config");
    let tmux = Tmux::start(
        "watch",
        (120, 40),
        &viewer.tui_env(),
        &[BIN.to_owned(), "tui".to_owned()],
    )
    .await;

    // First run: the sign-up form, on the server of the environment.
    let screen = tmux.wait_for("Welcome to BookMyGig", PATIENCE).await;
    assert!(screen.contains(&server.base), "{screen}");
    tmux.keys(&["BTab", "BTab", "Space", "Tab", "Tab"]).await;
    tmux.type_text("viewer").await;
    tmux.keys(&["Tab"]).await;
    tmux.type_text("Vera Viewer").await;
    tmux.keys(&["Tab"]).await;
    tmux.type_text("viewer-password").await;
    tmux.keys(&["Enter"]).await;
    tmux.wait_for("@viewer · ", PATIENCE).await;
    // Fund the wallet in the wallet screen.
    tmux.keys(&["w"]).await;
    tmux.wait_for("Balance  $0.00", PATIENCE).await;
    tmux.keys(&["+"]).await;
    tmux.wait_for("From wallet", PATIENCE).await;
    tmux.type_text("20").await;
    tmux.keys(&["Enter"]).await;
    tmux.wait_for("Balance  $20.00", PATIENCE).await;
    tmux.keys(&["Escape"]).await;
    // The session was saved where the command line finds it.
    assert!(viewer.run(&["whoami"]).await.ok().contains("viewer"));

    // A click on the second row of the list selects it (mouse capture is on by default).
    tmux.wait_until("both gigs", PATIENCE, |screen| {
        screen.contains("││Midnight Sax Session") && screen.contains("Morning Pilates")
    })
    .await;
    tmux.click(5, 3).await;
    tmux.wait_for("││Morning Pilates", PATIENCE).await;

    // Find the gig by search.
    tmux.keys(&["/"]).await;
    tmux.type_text("midnight").await;
    tmux.keys(&["Enter"]).await;
    let screen = tmux.wait_for("1 gig", PATIENCE).await;
    assert!(!screen.contains("Morning Pilates"), "{screen}");

    // Buy a ticket.
    tmux.keys(&["b"]).await;
    tmux.wait_for("$5.00", PATIENCE).await;
    tmux.keys(&["y"]).await;
    tmux.wait_for("ticket bought", PATIENCE).await;
    tmux.keys(&["Enter"]).await;

    // Enter the room: the stream panel says LIVE, the chat connects.
    tmux.keys(&["c"]).await;
    let screen = tmux.wait_for("connected", PATIENCE).await;
    assert!(screen.contains("Midnight Sax Session"), "{screen}");
    tmux.wait_for("640×360", PATIENCE).await;

    // Say something; the friend hears it.
    tmux.keys(&["Enter"]).await;
    tmux.type_text("hello from the terminal").await;
    tmux.keys(&["Enter"]).await;
    let heard = until(&mut socket, |m| {
        matches!(m, ServerMessage::Message(message) if message.text == "hello from the terminal")
    })
    .await;
    let ServerMessage::Message(heard) = heard else {
        unreachable!()
    };
    assert_eq!(heard.author, "viewer");

    // The friend answers; the TUI shows it.
    socket
        .send(&bookmygig_api::ClientMessage::Say {
            text: "welcome, viewer!".to_owned(),
        })
        .await
        .expect("the friend speaks");
    let screen = tmux.wait_for("friend: welcome, viewer!", PATIENCE).await;
    assert!(
        screen.contains("viewer: hello from the terminal"),
        "{screen}"
    );

    // Play: mpv (headless, per the config) plays the stream.
    // (Esc and p sent together would read as Alt-p: wait for the Esc to land first.)
    tmux.keys(&["Escape"]).await;
    tmux.wait_for("Enter: chat", PATIENCE).await;
    tmux.keys(&["p"]).await;
    tmux.wait_for("Player   ▶", PATIENCE).await;
    // Watching pays the host, and the status line says so (after the first settlement).
    tmux.wait_for("contributing to $wallet.example/host", PATIENCE)
        .await;

    // The host stops: the player ends and says it will come back; the host starts again: it
    // re-opens by itself.
    drop(publisher);
    tmux.wait_until("the host gone", PATIENCE, |screen| {
        screen.contains("OFFLINE") && screen.contains("Player   ended; re-opens when live")
    })
    .await;
    let _publisher = FfmpegPublisher::start(&server.publish_url(&gig), "640x360", 25, 300);
    tmux.wait_for("Player   ▶", PATIENCE).await;

    // Quit: the TUI ends cleanly and takes mpv with it.
    tmux.keys(&["q"]).await;
    assert_eq!(tmux.wait_exit(PATIENCE).await, 0);
}

/// A second creator, so the catalogue has a gig the search must leave out.
async fn creator_two(server: &TestServer) -> bookmygig_client::Client {
    server.account("other_host", 99).await
}

/// Not a test: the server of [`the_room_shows_the_lost_server_and_recovers_when_it_returns`],
/// run by it in a child process so that it can be killed.
#[test]
#[ignore = "a server for other tests, started by them in a child process"]
fn serve_for_other_tests() {
    common::process::serve_in_this_process();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_shows_the_lost_server_and_recovers_when_it_returns() {
    assert_eq!(SERVE_TEST, "serve_for_other_tests");
    let data = tempfile::tempdir().expect("temp dir");
    let any = "127.0.0.1:0".parse().expect("address");
    let server = ServerProcess::start(data.path(), any, any);
    let creator = server.account("host", 99).await;
    let gig = server.gig_starting_soon(&creator, "Resilient Jazz").await;
    let publisher = FfmpegPublisher::start(&server.publish_url(&gig), "640x360", 25, 300);
    server.await_live(gig.id, PATIENCE).await;
    let viewer = User::new(&server);
    viewer.sign_up_with_funds("viewer").await;
    viewer
        .run(&["ticket", "buy", &gig.id.to_string()])
        .await
        .ok();
    std::fs::write(
        viewer.config_dir().join("config.json"),
        r#"{"player": {"headless": true}}"#,
    )
    .expect("config");
    let tmux = Tmux::start(
        "restart",
        (120, 40),
        &viewer.tui_env(),
        &[BIN.to_owned(), "tui".to_owned()],
    )
    .await;
    tmux.wait_for("Resilient Jazz", PATIENCE).await;
    tmux.keys(&["c"]).await;
    tmux.wait_for(" connected ", PATIENCE).await;
    tmux.keys(&["p"]).await;
    tmux.wait_for("Player   ▶", PATIENCE).await;

    // The server is killed (and the publisher loses it): every part says so, nothing panics.
    let killed = server.kill();
    drop(publisher);
    let screen = tmux
        .wait_until("the lost server", PATIENCE, |screen| {
            screen.contains("reconnecting (attempt")
                && screen.contains("unreachable, retrying")
                && screen.contains("Player   retrying")
        })
        .await;
    assert!(screen.contains("connection lost"), "{screen}");
    assert_eq!(tmux.exit_status().await, None, "the TUI is still running");

    // It comes back: the chat reconnects, the panel shows the stream again, and the player
    // re-opens by itself once the host is live again.
    let server = killed.restart();
    let _publisher = FfmpegPublisher::start(&server.publish_url(&gig), "640x360", 25, 300);
    tmux.wait_until("the recovered room", Duration::from_secs(45), |screen| {
        screen.contains(" connected ")
            && screen.contains("reconnected")
            && !screen.contains("unreachable")
    })
    .await;
    tmux.wait_for("Player   ▶", Duration::from_secs(45)).await;
    tmux.keys(&["q"]).await;
    assert_eq!(tmux.wait_exit(PATIENCE).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_sees_their_gigs_stream_key_and_earnings() {
    let server = TestServer::start().await;
    let creator = server.account("host", 99).await;
    let gig = server.gig_starting_soon(&creator, "Host's Own Show").await;
    let fan = server.account("fan", 20).await;
    fan.buy_ticket(gig.id, "fan-ticket").await.expect("ticket");
    let user = User::new(&server);
    // The creator's session, saved where the TUI finds it.
    let credentials = serde_json::json!({
        "servers": {
            server.base.clone(): {"handle": "host", "token": creator.token().expect("token")}
        }
    });
    std::fs::write(
        user.config_dir().join("credentials.json"),
        credentials.to_string(),
    )
    .expect("credentials");
    let tmux = Tmux::start(
        "creator",
        (120, 40),
        &user.tui_env(),
        &[BIN.to_owned(), "tui".to_owned()],
    )
    .await;
    tmux.wait_for("@host · ", PATIENCE).await;
    tmux.keys(&["g"]).await;
    let screen = tmux.wait_for("Host's Own Show", PATIENCE).await;
    let key = gig
        .stream_key
        .as_ref()
        .expect("the creator's view has the key");
    assert!(
        !screen.contains(key.expose()),
        "the key is hidden: {screen}"
    );
    let screen = tmux.wait_for("Tickets sold  1 for $5.00", PATIENCE).await;
    assert!(screen.contains("Income over time"), "{screen}");
    tmux.keys(&["v"]).await;
    tmux.wait_for(key.expose(), PATIENCE).await;
    tmux.keys(&["q"]).await;
    assert_eq!(tmux.wait_exit(PATIENCE).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_server_no_longer_knows_opens_the_sign_in_form() {
    let server = TestServer::start().await;
    let user = User::new(&server);
    let credentials = serde_json::json!({
        "servers": {server.base.clone(): {"handle": "ghost", "token": "not-a-session"}}
    });
    std::fs::write(
        user.config_dir().join("credentials.json"),
        credentials.to_string(),
    )
    .expect("credentials");
    let tmux = Tmux::start(
        "expired",
        (100, 30),
        &user.tui_env(),
        &[BIN.to_owned(), "tui".to_owned()],
    )
    .await;
    let screen = tmux
        .wait_for("your session has ended: sign in again", PATIENCE)
        .await;
    assert!(screen.contains("Welcome to BookMyGig"), "{screen}");
    tmux.keys(&["C-c"]).await;
    assert_eq!(tmux.wait_exit(PATIENCE).await, 0);
}

/// Real money in the TUI: a server paid through Open Payments (the test wallet), the top-up
/// dialog with the viewer's wallet, the consent page shown while the wallet asks, approved in
/// the wallet: the dialog closes, the wallet is credited, and the wallet is offered next time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_tops_up_from_an_open_payments_wallet_in_the_tui() {
    use bookmygig_openpayments::ClientKey;
    use bookmygig_testwallet::{NewWallet, TestWallet};

    let wallet = TestWallet::start(bookmygig_testwallet::Config::default())
        .await
        .expect("test wallet");
    let key = ClientKey::generate("tui-test-key");
    wallet
        .create_wallet(NewWallet::new("bookmygig").key(key.public_jwk()))
        .expect("the platform's wallet");
    wallet
        .create_wallet(NewWallet::new("dora").balance(5_000))
        .expect("the viewer's wallet");
    let key_file = tempfile::NamedTempFile::new().expect("key file");
    std::fs::write(key_file.path(), key.to_pem()).expect("key written");
    let platform = wallet.wallet_url("bookmygig");
    let key_path = key_file.path().display().to_string();
    let server = TestServer::start_with(&[
        "--open-payments-wallet",
        &platform,
        "--open-payments-key-id",
        "tui-test-key",
        "--open-payments-key",
        &key_path,
        "--open-payments-insecure-http",
    ])
    .await;
    let viewer = User::new(&server);
    viewer
        .run_with(
            &["signup", "--handle", "dora", "--password-stdin"],
            Some("dora-password\n"),
        )
        .await
        .ok();
    let from = wallet.wallet_url("dora");

    let tmux = Tmux::start(
        "topup",
        (120, 40),
        &viewer.tui_env(),
        &[BIN.to_owned(), "tui".to_owned()],
    )
    .await;
    tmux.wait_for("@dora · ", PATIENCE).await;
    tmux.keys(&["w"]).await;
    tmux.wait_for("Balance  $0.00", PATIENCE).await;
    tmux.keys(&["+"]).await;
    tmux.wait_for("From wallet", PATIENCE).await;
    tmux.type_text("20").await;
    tmux.keys(&["Tab"]).await;
    tmux.type_text(&from).await;
    tmux.keys(&["Enter"]).await;
    let screen = tmux
        .wait_for("Waiting for approval in your wallet", PATIENCE)
        .await;

    // The page on screen is the one the server handed out (as the command line reads it).
    let listed: bookmygig_api::Wallet = viewer.run(&["--json", "wallet"]).await.json();
    let consent = listed
        .topups
        .first()
        .and_then(|topup| topup.consent_url.clone())
        .expect("a top-up waiting for consent");
    let shown: String = consent.chars().take(60).collect();
    assert!(screen.contains(&shown), "{shown} in\n{screen}");

    wallet.approve_grant(&consent).expect("approved");
    tmux.wait_for(&format!("added $20.00 from {from}"), PATIENCE)
        .await;
    tmux.wait_for("Balance  $20.00", PATIENCE).await;
    let screen = tmux.screen().await;
    assert!(!screen.contains("Waiting for approval"), "{screen}");
    assert_eq!(wallet.balance("dora").expect("balance"), 3_000);

    // Next time the dialog offers the same wallet, and it was kept in the config.
    let config = std::fs::read_to_string(viewer.config_dir().join("config.json")).expect("config");
    assert!(config.contains(&from), "{config}");
    tmux.keys(&["+"]).await;
    tmux.wait_until("the wallet offered", PATIENCE, |screen| {
        screen.contains(&format!("From wallet  {from}"))
    })
    .await;
    // (Esc and q sent together would read as Alt-q: wait for the Esc to land first.)
    tmux.keys(&["Escape"]).await;
    tmux.wait_until("the dialog closed", PATIENCE, |screen| {
        !screen.contains("From wallet")
    })
    .await;
    tmux.keys(&["q"]).await;
    assert_eq!(tmux.wait_exit(PATIENCE).await, 0);
}
