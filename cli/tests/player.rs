//! The player against the real libmpv, headless (`vo=null`, `ao=null`).
//!
//! Sources: `av://lavfi:testsrc` needs no file; FLV files (H.264 + AAC, like an OBS stream)
//! are made by ffmpeg at test time.

#![allow(clippy::expect_used)] // A harness failure is a test failure.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use bookmygig_cli::player::{LiveEdgeAction, Player, PlayerEvent, PlayerOptions};
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

/// Generous: the CI machine has two cores and compiles other crates meanwhile.
const PATIENCE: Duration = Duration::from_secs(10);

fn headless() -> PlayerOptions {
    PlayerOptions {
        headless: true,
        live_edge: None,
        ..PlayerOptions::default()
    }
}

/// Receives events until one satisfies `wanted` and returns it; panics, listing what did
/// arrive, if none does within [`PATIENCE`] or the channel closes first.
async fn wait_for(
    events: &mut Receiver<PlayerEvent>,
    what: &str,
    wanted: impl Fn(&PlayerEvent) -> bool,
) -> PlayerEvent {
    let mut seen = Vec::new();
    let found = timeout(PATIENCE, async {
        while let Some(event) = events.recv().await {
            if wanted(&event) {
                return Some(event);
            }
            seen.push(event);
        }
        None
    })
    .await;
    match found {
        Ok(Some(event)) => event,
        Ok(None) => panic!("channel closed before {what}; saw {seen:?}"),
        Err(_) => panic!("no {what} within {PATIENCE:?}; saw {seen:?}"),
    }
}

/// Waits for the channel to close and returns the events before that.
async fn drain(events: &mut Receiver<PlayerEvent>) -> Vec<PlayerEvent> {
    let mut seen = Vec::new();
    let closed = timeout(PATIENCE, async {
        while let Some(event) = events.recv().await {
            seen.push(event);
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "channel still open after {PATIENCE:?}; saw {seen:?}"
    );
    seen
}

/// Makes `seconds` of 320x240 H.264 + AAC FLV with ffmpeg in `dir`.
async fn make_flv(dir: &Path, seconds: u32) -> PathBuf {
    let path = dir.join(format!("{seconds}s.flv"));
    let output = tokio::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30"])
        .args(["-f", "lavfi", "-i", "sine"])
        .args(["-t", &seconds.to_string()])
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", "-f", "flv",
        ])
        .arg(&path)
        .output()
        .await;
    let output = match output {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            panic!("ffmpeg not found: run scripts/bootstrap (apt-get install -y ffmpeg)")
        }
        other => other.expect("run ffmpeg"),
    };
    assert!(
        output.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

fn url(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

#[tokio::test]
async fn testsrc_plays_and_its_position_advances() {
    let (player, mut events) = Player::open("av://lavfi:testsrc", headless()).expect("open");
    let event = wait_for(
        &mut events,
        "Playing past 0.5 s",
        |e| matches!(e, PlayerEvent::Playing { position_s } if *position_s > 0.5),
    )
    .await;
    assert!(matches!(event, PlayerEvent::Playing { .. }));
    player.stop();
}

#[tokio::test]
async fn an_unreachable_stream_is_an_error_and_the_last_event() {
    let (_player, mut events) =
        Player::open("http://127.0.0.1:9/nothing.flv", headless()).expect("open");
    let event = wait_for(&mut events, "Error", PlayerEvent::is_last).await;
    let PlayerEvent::Error(reason) = event else {
        panic!("expected an error, got {event:?}")
    };
    assert!(reason.contains("could not load"), "{reason}");
    assert_eq!(drain(&mut events).await, [], "nothing after the last event");
}

#[tokio::test]
async fn stop_returns_at_once_and_the_player_closes() {
    let (player, mut events) = Player::open("av://lavfi:testsrc", headless()).expect("open");
    wait_for(&mut events, "Playing", |e| {
        matches!(e, PlayerEvent::Playing { .. })
    })
    .await;

    let asked = Instant::now();
    player.stop();
    assert!(
        asked.elapsed() < Duration::from_millis(100),
        "stop took {:?}",
        asked.elapsed()
    );

    let rest = drain(&mut events).await;
    assert_eq!(rest.last(), Some(&PlayerEvent::Closed), "{rest:?}");
}

#[tokio::test]
async fn dropping_the_player_closes_it() {
    let (player, mut events) = Player::open("av://lavfi:testsrc", headless()).expect("open");
    drop(player);
    let rest = drain(&mut events).await;
    assert_eq!(rest.last(), Some(&PlayerEvent::Closed), "{rest:?}");
}

#[tokio::test]
async fn an_h264_aac_flv_plays_to_its_end() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let flv = make_flv(dir.path(), 3).await;
    // The options of a gig, minus the window and the live-edge control (a file is not live).
    let (_player, mut events) = Player::open(url(&flv), headless()).expect("open");
    wait_for(&mut events, "Playing", |e| {
        matches!(e, PlayerEvent::Playing { .. })
    })
    .await;
    let last = wait_for(&mut events, "the last event", PlayerEvent::is_last).await;
    assert_eq!(last, PlayerEvent::Ended);
}

// A file read at once looks, to the demuxer, exactly like a live stream that fell behind: the
// whole rest of it is received but not yet played. That drives the live-edge control for real.

#[tokio::test]
async fn a_backlog_makes_the_player_catch_up() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let flv = make_flv(dir.path(), 3).await;
    let (_player, mut events) = Player::open(
        url(&flv),
        PlayerOptions {
            headless: true,
            ..PlayerOptions::default()
        },
    )
    .expect("open");
    let catch_up = wait_for(&mut events, "a catch-up", |e| {
        matches!(
            e,
            PlayerEvent::LiveEdge {
                action: LiveEdgeAction::CatchUp { .. },
                ..
            }
        )
    })
    .await;
    let PlayerEvent::LiveEdge { lag_s, .. } = catch_up else {
        unreachable!()
    };
    assert!(lag_s > 1.0, "caught up with only {lag_s} s behind");
    // Settling is left to the unit tests: once a file is read to its end, mpv stops notifying
    // `demuxer-cache-duration` (a live stream keeps it changing several times a second).
    let rest = drain(&mut events).await;
    assert_eq!(rest.last(), Some(&PlayerEvent::Ended), "{rest:?}");
    assert!(
        !rest.iter().any(|e| matches!(
            e,
            PlayerEvent::LiveEdge {
                action: LiveEdgeAction::Reload,
                ..
            }
        )),
        "3 s behind is not worth a reload: {rest:?}"
    );
}

#[tokio::test]
async fn a_large_backlog_reloads_the_stream() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let flv = make_flv(dir.path(), 8).await;
    let (_player, mut events) = Player::open(
        url(&flv),
        PlayerOptions {
            headless: true,
            ..PlayerOptions::default()
        },
    )
    .expect("open");
    wait_for(&mut events, "a reload", |e| {
        matches!(
            e,
            PlayerEvent::LiveEdge {
                action: LiveEdgeAction::Reload,
                ..
            }
        )
    })
    .await;
    wait_for(&mut events, "loading again", |e| *e == PlayerEvent::Loading).await;
    wait_for(&mut events, "playing again", |e| {
        matches!(e, PlayerEvent::Playing { .. })
    })
    .await;
}

// A live HTTP-FLV stream: ffmpeg encodes in real time (`-re`) into a pipe, and a one-route
// HTTP server copies the pipe to each viewer. The first viewer's copy stops once, for
// `stall_for`, as when the network hiccups; ffmpeg meanwhile blocks on the full pipe and then
// sends what it owes at once (`-re` paces by the wall clock), so the viewer ends up behind live.

/// Serves a fresh live stream to every connection; returns its URL.
async fn serve_live(stall_after: Duration, stall_for: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/live.flv",
        listener.local_addr().expect("address")
    );
    tokio::spawn(async move {
        let mut stall = Some((stall_after, stall_for));
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(stream_to(socket, stall.take()));
        }
    });
    url
}

async fn stream_to(mut socket: tokio::net::TcpStream, stall: Option<(Duration, Duration)>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut request = [0_u8; 4096];
    let _ = socket.read(&mut request).await;
    let ffmpeg = tokio::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30"])
        .args(["-f", "lavfi", "-i", "sine"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-tune",
            "zerolatency",
            "-g",
            "30",
        ])
        .args(["-c:a", "aac", "-f", "flv", "pipe:1"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut ffmpeg = match ffmpeg {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            panic!("ffmpeg not found: run scripts/bootstrap (apt-get install -y ffmpeg)")
        }
        other => other.expect("start ffmpeg"),
    };
    let Some(mut flv) = ffmpeg.stdout.take() else {
        return;
    };
    let header = "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nConnection: close\r\n\r\n";
    if socket.write_all(header.as_bytes()).await.is_err() {
        return;
    }
    let started = Instant::now();
    let mut stall = stall;
    let mut chunk = vec![0_u8; 64 * 1024];
    loop {
        if let Some((after, how_long)) = stall
            && started.elapsed() >= after
        {
            stall = None;
            // The scenario itself, not a wait for readiness.
            tokio::time::sleep(how_long).await;
        }
        let n = match flv.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if socket.write_all(&chunk[..n]).await.is_err() {
            return; // the viewer left (or reloaded)
        }
    }
}

fn is_live_edge(e: &PlayerEvent, wanted: fn(&LiveEdgeAction) -> bool) -> bool {
    matches!(e, PlayerEvent::LiveEdge { action, .. } if wanted(action))
}

#[tokio::test]
async fn a_live_stream_that_stalls_is_buffering_then_catches_up() {
    let url = serve_live(Duration::from_secs(3), Duration::from_millis(2500)).await;
    let options = PlayerOptions {
        headless: true,
        ..PlayerOptions::default()
    };
    let (_player, mut events) = Player::open(&url, options).expect("open");

    wait_for(&mut events, "Playing", |e| {
        matches!(e, PlayerEvent::Playing { .. })
    })
    .await;
    let mut before_stall = Vec::new();
    let buffering = timeout(PATIENCE, async {
        while let Some(event) = events.recv().await {
            if event == PlayerEvent::Buffering {
                return true;
            }
            before_stall.push(event);
        }
        false
    })
    .await;
    assert_eq!(
        buffering,
        Ok(true),
        "no Buffering during the stall; saw {before_stall:?}"
    );
    assert!(
        !before_stall
            .iter()
            .any(|e| matches!(e, PlayerEvent::LiveEdge { .. })),
        "the live-edge control acted on a healthy stream: {before_stall:?}"
    );

    wait_for(&mut events, "Playing after the stall", |e| {
        matches!(e, PlayerEvent::Playing { .. })
    })
    .await;
    let catch_up = wait_for(&mut events, "a catch-up", |e| {
        is_live_edge(e, |a| matches!(a, LiveEdgeAction::CatchUp { .. }))
    })
    .await;
    let PlayerEvent::LiveEdge { lag_s, .. } = catch_up else {
        unreachable!()
    };
    assert!(
        (1.0..4.0).contains(&lag_s),
        "lag {lag_s} s after a 2.5 s stall"
    );
}

#[tokio::test]
async fn a_live_stream_far_behind_is_reloaded_and_plays_again() {
    let url = serve_live(Duration::from_secs(2), Duration::from_millis(5500)).await;
    let options = PlayerOptions {
        headless: true,
        ..PlayerOptions::default()
    };
    let (_player, mut events) = Player::open(&url, options).expect("open");

    wait_for(&mut events, "Playing", |e| {
        matches!(e, PlayerEvent::Playing { .. })
    })
    .await;
    wait_for(&mut events, "a reload", |e| {
        is_live_edge(e, |a| *a == LiveEdgeAction::Reload)
    })
    .await;
    wait_for(&mut events, "loading again", |e| *e == PlayerEvent::Loading).await;
    wait_for(&mut events, "playing again", |e| {
        matches!(e, PlayerEvent::Playing { .. })
    })
    .await;
}

/// A live gig of the real server, published by ffmpeg, played from its FLV URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libmpv_plays_the_flv_url_and_the_position_advances() {
    let server = common::TestServer::start().await;
    let (creator, gig) = server.live_gig("alice").await;
    let _ffmpeg = common::FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 60);
    server
        .await_stream(gig.id, Duration::from_secs(20), |s| {
            s.live && s.video.is_some()
        })
        .await;
    let playback = creator.playback(gig.id).await.expect("playback");
    let options = PlayerOptions {
        headless: true,
        ..PlayerOptions::default()
    };
    let (player, mut events) = Player::open(&playback.flv_url, options).expect("mpv starts");
    let PlayerEvent::Playing { position_s: start } = wait_for(&mut events, "Playing", |e| {
        matches!(e, PlayerEvent::Playing { .. })
    })
    .await
    else {
        panic!("wait_for returns the event it waited for");
    };
    wait_for(
        &mut events,
        "the position advancing by 0.5 s",
        |e| matches!(e, PlayerEvent::Playing { position_s } if *position_s > start + 0.5),
    )
    .await;
    player.stop();
}
