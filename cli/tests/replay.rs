//! Replays from the command line, against a real server that recorded a real show (ffmpeg
//! publishes ten seconds): the creator's `gig replay` (show, `--hours`, `--delete`),
//! `gig recordings`, `gig show`/`gig mine` naming the replay window, `gig register
//! --replay-hours`, and a ticket holder's `play` of an ended gig, which asks for the replay.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A test failure is a panic.

mod common;

use std::time::Duration;

use bookmygig_api::{Gig, GigId, GigStatus, Money, Page, Recording, Recordings, Replay};
use bookmygig_cli::player::{Player, PlayerEvent, PlayerOptions};
use bookmygig_testkit::eventually;
use common::{FfmpegPublisher, TestServer, User, require_tool};
use time::OffsetDateTime;

/// Longer than the show (its end is 25 s after registering) plus a busy machine.
const PATIENCE: Duration = Duration::from_secs(120);

/// A creator (signed up through the API, then signed in at the command line as `host`), and
/// a gig of theirs on air from now for 25 seconds, whose first ten seconds ffmpeg publishes.
/// Returns the creator at the command line and the gig, once it ended.
async fn recorded_show(server: &TestServer) -> (User, Gig) {
    require_tool("ffmpeg", "ffmpeg");
    let creator = server.sign_up("host").await;
    creator
        .top_up(Money::from_dollars(99), None)
        .await
        .expect("top up");
    let mut form = bookmygig_testkit::server::live_gig_form("Recorded Tonight");
    let now = OffsetDateTime::now_utc();
    form.starts_at = now + time::Duration::seconds(5);
    form.ends_at = now + time::Duration::seconds(25);
    form.replay_hours = Some(48);
    let gig = creator.create_gig(&form).await.expect("gig");
    let url = server.publish_url(&gig);
    let (ok, said) =
        tokio::task::spawn_blocking(move || FfmpegPublisher::start(&url, "320x180", 30, 10).wait())
            .await
            .expect("ffmpeg thread");
    assert!(ok, "ffmpeg published: {said}");
    ended(&creator, gig.id).await;
    let host = User::new(server);
    host.run_with(
        &["login", "--handle", "host", "--password-stdin"],
        Some("host-password\n"),
    )
    .await
    .ok();
    (host, gig)
}

async fn ended(client: &bookmygig_client::Client, gig: GigId) {
    eventually("the gig ends", PATIENCE, || async {
        match client.gig(gig).await.expect("gig").status {
            GigStatus::Ended => Ok(()),
            other => Err(other),
        }
    })
    .await;
}

/// The value after `label` on the line that starts with it.
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"))
        .trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_creator_sees_changes_and_deletes_a_recording_and_holders_play_the_replay() {
    let server = TestServer::start().await;
    let (host, gig) = recorded_show(&server).await;
    let id = gig.id.to_string();

    // The recording, as JSON and in words.
    let recording: Recording = host.run(&["gig", "replay", &id, "--json"]).await.json();
    assert_eq!(recording.gig_id, gig.id);
    assert!(
        (7_000..=14_000).contains(&recording.duration_ms),
        "ten seconds published: {recording:?}"
    );
    assert!(recording.bytes > 0);
    assert!(recording.replay_until.is_some());
    let shown = host.run(&["gig", "replay", &id]).await;
    let out = shown.ok();
    assert!(field(out, "Duration:").starts_with("0:"), "{out}");
    assert_eq!(field(out, "Gaps:"), "none", "{out}");
    assert_eq!(
        field(out, "Replay window:"),
        "2 days after the end",
        "{out}"
    );

    // Storage over all recordings.
    let all: Recordings = host.run(&["gig", "recordings", "--json"]).await.json();
    assert_eq!(all.recordings.len(), 1);
    assert_eq!(all.total_bytes, recording.bytes);
    let listed = host.run(&["gig", "recordings"]).await;
    assert!(listed.ok().contains("Recorded Tonight"), "{listed:?}");
    assert!(listed.ok().contains("1 recording, "), "{listed:?}");

    // The gig's views name the window.
    let show = host.run(&["gig", "show", &id]).await;
    assert!(
        field(show.ok(), "Replay:").starts_with("until "),
        "{show:?}"
    );
    let mine = host.run(&["gig", "mine"]).await;
    assert!(mine.ok().contains("ended, replay until "), "{mine:?}");

    // The creator plays the replay: `play` of an ended gig asks for it.
    let replay: Replay = host.run(&["play", &id, "--json"]).await.json();
    assert_eq!(replay.duration_ms, recording.duration_ms);
    let url = host.run(&["play", &id, "--print-url"]).await;
    assert!(url.ok().contains("/replay/"), "{url:?}");
    let range = reqwest::Client::new()
        .get(url.ok().trim())
        .header("Range", "bytes=100-199")
        .send()
        .await
        .expect("replay file");
    assert_eq!(range.status(), 206, "seekable");

    // No window: nobody can watch, the creator still sees it.
    let closed: Gig = host
        .run(&["gig", "replay", &id, "--hours", "0", "--json"])
        .await
        .json();
    assert_eq!((closed.replay_hours, closed.replay_until), (0, None));
    let bad = host.run(&["gig", "replay", &id, "--hours", "9000"]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("--hours"), "{bad:?}");
    let reopened = host.run(&["gig", "replay", &id, "--hours", "5"]).await;
    assert!(
        reopened.ok().contains("5 hours after the end"),
        "{reopened:?}"
    );

    // Deleting asks first: without a terminal only --yes will do.
    let unconfirmed = host.run(&["gig", "replay", &id, "--delete"]).await;
    assert_ne!(unconfirmed.code, 0);
    assert!(unconfirmed.stderr.contains("--yes"), "{unconfirmed:?}");
    let deleted = host.run(&["gig", "replay", &id, "--delete", "--yes"]).await;
    assert!(
        deleted.ok().contains("Deleted the recording"),
        "{deleted:?}"
    );
    let gone = host.run(&["gig", "replay", &id]).await;
    assert_ne!(gone.code, 0, "{gone:?}");
    let no_replay = host.run(&["play", &id, "--print-url"]).await;
    assert_ne!(no_replay.code, 0, "deleted: {no_replay:?}");
    let none: Recordings = host.run(&["gig", "recordings", "--json"]).await.json();
    assert!(none.recordings.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_holder_plays_the_replay_of_an_ended_gig_and_others_are_refused() {
    let server = TestServer::start().await;
    require_tool("ffmpeg", "ffmpeg");
    let creator = server.sign_up("host").await;
    creator
        .top_up(Money::from_dollars(99), None)
        .await
        .expect("top up");
    let mut form = bookmygig_testkit::server::live_gig_form("Recorded Tonight");
    let now = OffsetDateTime::now_utc();
    form.starts_at = now + time::Duration::seconds(5);
    form.ends_at = now + time::Duration::seconds(25);
    let gig = creator.create_gig(&form).await.expect("gig");
    let id = gig.id.to_string();
    let holder = User::new(&server);
    holder.sign_up_with_funds("holder").await;
    holder.run(&["ticket", "buy", &id]).await.ok();
    let stranger = User::new(&server);
    stranger.sign_up_with_funds("stranger").await;

    // Before the end there is no replay: `play` is the live stream's.
    let url = server.publish_url(&gig);
    let (ok, said) =
        tokio::task::spawn_blocking(move || FfmpegPublisher::start(&url, "320x180", 30, 10).wait())
            .await
            .expect("ffmpeg thread");
    assert!(ok, "ffmpeg published: {said}");
    let early = holder.run(&["play", &id, "--start", "30"]).await;
    assert_eq!(early.code, 2, "--start is for replays: {early:?}");
    ended(&creator, gig.id).await;

    let replay: Replay = holder.run(&["play", &id, "--json"]).await.json();
    assert!(replay.url.contains("/replay/"), "{replay:?}");
    assert!(replay.duration_ms > 5_000, "{replay:?}");
    let listed: Page<Gig> = holder.run(&["gig", "list", "--json"]).await.json();
    if let Some(listed) = listed.items.iter().find(|g| g.id == gig.id) {
        assert!(listed.replay_until.is_some());
    }
    let refused = stranger.run(&["play", &id, "--print-url"]).await;
    assert_ne!(refused.code, 0, "no ticket: {refused:?}");

    // The real libmpv (headless) opens the replay at 6 s and seeks back 5 s: range requests
    // and the keyframe index at work.
    let options = PlayerOptions {
        headless: true,
        start_s: Some(6.0),
        ..PlayerOptions::replay(None, None)
    };
    let (player, mut events) = Player::open(&replay.url, options).expect("libmpv opens");
    let at_start = playing(&mut events, "playing from 6 s", |at| at >= 5.5).await;
    player.seek(-5.0);
    let after_seek = playing(&mut events, "playing again after seeking back", |at| {
        at < 4.0
    })
    .await;
    assert!(
        after_seek < at_start,
        "{after_seek} s after seeking back from {at_start} s"
    );
    player.stop();
}

/// Waits (up to 30 s) for the player to play at a position `wanted` accepts; returns it.
async fn playing(
    events: &mut tokio::sync::mpsc::Receiver<PlayerEvent>,
    what: &str,
    wanted: impl Fn(f64) -> bool,
) -> f64 {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = events.recv().await {
            if let PlayerEvent::Playing { position_s } = event
                && wanted(position_s)
            {
                return Some(position_s);
            }
            seen.push(event);
        }
        None
    })
    .await;
    match found {
        Ok(Some(at)) => at,
        other => panic!("{what}: {other:?}; saw {seen:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_takes_a_replay_window_within_a_year() {
    let server = TestServer::start().await;
    let alice = User::new(&server);
    alice.sign_up_with_funds("alice").await;
    let (date, start, end) = alice.slot(5);
    let register = |hours: &'static str| {
        [
            "gig",
            "register",
            "--creator-name",
            "Alice Smith",
            "--title",
            "Kept a week",
            "--category",
            "comedy",
            "--price",
            "7.50",
            "--date",
            &date,
            "--start",
            &start,
            "--end",
            &end,
            "--payment-pointer",
            "$wallet.example/alice",
            "--replay-hours",
            hours,
            "--yes",
        ]
        .map(str::to_owned)
    };
    let too_long = alice
        .run(&register("8761").each_ref().map(String::as_str))
        .await;
    assert_eq!(too_long.code, 2, "{too_long:?}");
    assert!(too_long.stderr.contains("--replay-hours"), "{too_long:?}");
    let registered = alice
        .run(&register("168").each_ref().map(String::as_str))
        .await;
    assert!(
        registered
            .ok()
            .contains("ticket holders can watch the recording for 7 days after the end"),
        "{registered:?}"
    );
    let mine: Page<Gig> = alice.run(&["gig", "mine", "--json"]).await.json();
    assert_eq!(mine.items[0].replay_hours, 168);
    assert_eq!(mine.items[0].replay_until, None, "not on air yet");
}
