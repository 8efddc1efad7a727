//! The first run of `bookmygig tui`, end to end: the real binary in a real terminal (tmux)
//! with no config at all, against a real server (development top-ups on), read through
//! `tmux capture-pane`. A newcomer finds the catalogue already loaded behind the sign-in form,
//! is offered Sign up when the sign-in is refused, is welcomed rather than alarmed, tops up
//! inside the buy dialog, and enters the room of the gig just bought. And a ticket holder
//! learns, without pressing a key, that the show went live.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A test failure is a panic.

mod common;

use std::time::Duration;

use common::tmux::Tmux;
use common::{BIN, FfmpegPublisher, Serving as _, TestServer, User};

/// Generous: the CI machine has two cores and compiles other crates meanwhile.
const PATIENCE: Duration = Duration::from_secs(20);

/// The TUI looks at the tickets' gigs every 15 s: a show going live is seen within this.
const LIVE_PATIENCE: Duration = Duration::from_secs(45);

/// The TUI of `user` in a 120×40 terminal.
async fn tui(name: &str, user: &User) -> Tmux {
    Tmux::start(
        name,
        (120, 40),
        &user.tui_env(),
        &[BIN.to_owned(), "tui".to_owned()],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_signs_up_tops_up_buys_and_enters_the_room() {
    let server = TestServer::start().await;
    // Three listing fees.
    let host = server.account("host", 297).await;
    let gig = server
        .gig_starting_soon(&host, "Midnight Sax Session")
        .await;
    server.gig_starting_soon(&host, "Morning Pilates").await;
    server.gig_starting_soon(&host, "Improv Night").await;

    let newcomer = User::new(&server);
    std::fs::write(
        newcomer.config_dir().join("config.json"),
        r#"{"player": {"headless": true}}"#,
    )
    .expect("config");
    let tmux = tui("first-run", &newcomer).await;

    // The form, with the catalogue already loaded behind it (no session is needed to list).
    let screen = tmux.wait_for("Welcome to BookMyGig", PATIENCE).await;
    assert!(screen.contains("New here? Ctrl-n: sign up"), "{screen}");
    tmux.wait_for(" Gigs (3) ", PATIENCE).await;

    // Signing in with a handle nobody has: refused, and Sign up is offered with it.
    tmux.type_text("newbie").await;
    tmux.keys(&["Tab"]).await;
    tmux.type_text("newbie-password").await;
    tmux.keys(&["Enter"]).await;
    tmux.wait_for("No account yet? Ctrl-n: sign up with this handle", PATIENCE)
        .await;
    tmux.keys(&["C-n"]).await;
    let screen = tmux.wait_for("Display name", PATIENCE).await;
    assert!(screen.contains("Handle        newbie"), "{screen}");
    assert!(screen.contains("Enter: sign up"), "{screen}");
    tmux.keys(&["Enter"]).await;

    // Welcomed, not alarmed, with an empty wallet.
    tmux.wait_for("welcome, @newbie!", PATIENCE).await;
    let screen = tmux.wait_for("wallet: w to add funds", PATIENCE).await;
    assert!(!screen.contains("payments stopped"), "{screen}");
    assert!(screen.contains("Midnight Sax Session"), "{screen}");
    assert!(newcomer.run(&["whoami"]).await.ok().contains("newbie"));

    // Buy with nothing in the wallet: the top-up opens in place, and the purchase follows.
    tmux.keys(&["/"]).await;
    tmux.type_text("midnight").await;
    tmux.keys(&["Enter"]).await;
    tmux.wait_for("1 gig", PATIENCE).await;
    tmux.keys(&["b"]).await;
    let screen = tmux.wait_for("y top up and buy", PATIENCE).await;
    assert!(screen.contains("$5.00 more is needed"), "{screen}");
    assert!(!screen.contains("buy anyway"), "{screen}");
    tmux.keys(&["y"]).await;
    let screen = tmux
        .wait_for("For a ticket to Midnight Sax Session", PATIENCE)
        .await;
    assert!(screen.contains("Amount       $10.00"), "{screen}");
    tmux.keys(&["Enter"]).await;
    tmux.wait_for("Ticket bought. Enjoy the show!", PATIENCE)
        .await;
    let wallet: bookmygig_api::Wallet = newcomer.run(&["--json", "wallet"]).await.json();
    assert_eq!(wallet.balance, bookmygig_api::Money::from_dollars(5));
    tmux.keys(&["Enter"]).await;
    tmux.wait_until("the dialog closed", PATIENCE, |screen| {
        !screen.contains("Buy a ticket")
    })
    .await;

    // Enter on the gig now enters its room; the host goes live there.
    tmux.keys(&["Enter"]).await;
    tmux.wait_for(" connected ", PATIENCE).await;
    let _publisher = FfmpegPublisher::start(&server.publish_url(&gig), "640x360", 25, 300);
    tmux.wait_for("640×360", PATIENCE).await;

    tmux.keys(&["q"]).await;
    assert_eq!(tmux.wait_exit(PATIENCE).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_holder_sees_the_show_go_live_without_a_key() {
    let server = TestServer::start().await;
    let host = server.account("host", 99).await;
    let gig = server.gig_starting_soon(&host, "Dawn Chorus Live").await;
    let fan = User::new(&server);
    fan.sign_up_with_funds("fan").await;
    fan.run(&["ticket", "buy", &gig.id.to_string()]).await.ok();

    let tmux = tui("goes-live", &fan).await;
    let screen = tmux.wait_for("@fan · ", PATIENCE).await;
    assert!(!screen.contains("★"), "nothing is live yet: {screen}");

    let _publisher = FfmpegPublisher::start(&server.publish_url(&gig), "640x360", 25, 300);
    server.await_live(gig.id, PATIENCE).await;
    // No key pressed: the status line and the list flag it.
    let screen = tmux
        .wait_for("★ LIVE: Dawn Chorus Live · @fan", LIVE_PATIENCE)
        .await;
    assert!(screen.contains("★ Dawn Chorus Live"), "{screen}");
    assert!(screen.contains("your show is on"), "{screen}");

    tmux.keys(&["q"]).await;
    assert_eq!(tmux.wait_exit(PATIENCE).await, 0);
}
