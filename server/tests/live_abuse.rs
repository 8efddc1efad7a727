//! Abuse of the live-video side, against a real server and a real ffmpeg publisher: bad RTMP
//! input, RTMP peers that never speak, and HTTP-FLV viewers that stop keeping up. Each costs
//! only its own connection: the publisher and the other viewers carry on, every early close is
//! logged, and the server's memory stays bounded.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::flv_viewer::{FlvViewer, MAX_FRAME_STEP_MS, playback_url};
use common::logs::Logs;
use common::rtmp_raw::{assert_closed_by_server, rtmp_connect, rtmp_handshake};
use common::{Backend, FfmpegPublisher, TestServer};
use rand::RngCore as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::RwLock;

/// Long enough for anything that should happen at once, on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);
/// Taken shared by each test, and exclusively by the one that measures this process's memory,
/// so that under `cargo test` (one process, tests on threads) no other test's server allocates
/// while it measures. nextest runs every test in a process of its own anyway.
static PROCESS: RwLock<()> = RwLock::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_instead_of_a_handshake_closes_only_that_connection() {
    let _shared = PROCESS.read().await;
    let logs = Logs::capture();
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.live_gig("garbage").await;
    // Real-time pace; the test is over long before these 30 s of media are.
    let _publisher = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 30);
    let live = server
        .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
        .await;
    let rejected_before = metric(&server, "bookmygig_rtmp_rejected_total").await;
    // A viewer watching throughout: it must not miss a frame while strangers misbehave.
    let mut watching = FlvViewer::open(&playback_url(&creator, &gig).await).await;
    watching.read_video_frames(1).await;

    // Garbage where C0 should be (any first byte but 3, the only RTMP version there is).
    let mut socket = rtmp_connect(&server).await;
    let peer = socket.local_addr().unwrap();
    let mut garbage = vec![0u8; 4096];
    rand::rng().fill_bytes(&mut garbage);
    garbage[0] = 0x47;
    // The server may hang up before it has read everything: a reset is fine.
    let _ = socket.write_all(&garbage).await;
    assert_closed_by_server(&mut socket).await;
    let line = logs.await_closed(peer).await;
    assert!(
        line.contains("WARN") && line.contains("handshake failed"),
        "{line}"
    );
    // The counter is bumped before the line is logged.
    let rejected = metric(&server, "bookmygig_rtmp_rejected_total").await;
    assert!(
        rejected > rejected_before,
        "{rejected_before} -> {rejected}"
    );

    // A valid handshake, then a chunk stream that stops in the middle of a message: chunk
    // stream 3, fmt 0, timestamp 0, an AMF0 command (type 20) of 256 bytes, of which we send 40
    // before half-closing. The server must not wait for the rest.
    let mut socket = rtmp_connect(&server).await;
    let peer = socket.local_addr().unwrap();
    rtmp_handshake(&mut socket).await;
    let mut truncated = vec![0x03, 0, 0, 0, 0x00, 0x01, 0x00, 20, 0, 0, 0, 0];
    truncated.extend_from_slice(&[0x02; 40]);
    socket
        .write_all(&truncated)
        .await
        .expect("the server reads");
    socket.shutdown().await.expect("half-close");
    assert_closed_by_server(&mut socket).await;
    // An INFO line: to the server, a peer that hangs up mid-message has simply gone away.
    logs.await_closed(peer).await;

    // A valid handshake, then Set Chunk Size announcing 2 GiB (chunk stream 2, fmt 0, type 1),
    // then the start of a message that would need a chunk that large. Refused at once.
    let mut socket = rtmp_connect(&server).await;
    let peer = socket.local_addr().unwrap();
    rtmp_handshake(&mut socket).await;
    let mut absurd = vec![
        0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF,
    ];
    absurd.extend_from_slice(&[0x03, 0, 0, 0, 0x40, 0, 0, 9, 1, 0, 0, 0]);
    absurd.extend(std::iter::repeat_n(0u8, 64 * 1024));
    let _ = socket.write_all(&absurd).await;
    assert_closed_by_server(&mut socket).await;
    let line = logs.await_closed(peer).await;
    assert!(
        line.contains("WARN") && line.contains("chunk size"),
        "{line}"
    );

    // The publisher never noticed: still the same session, still delivering every frame to the
    // viewer that watched throughout and to one that joins now.
    let status = server.await_stream(gig.id, PATIENCE, |_| true).await;
    assert!(status.live, "{status:?}");
    assert_eq!(status.started_at, live.started_at, "not a reconnect");
    let before = watching.last_video_ms;
    watching.read_video_frames(30).await;
    assert!(watching.last_video_ms > before);
    assert!(
        watching.max_step_ms <= MAX_FRAME_STEP_MS,
        "the viewer skipped: {watching:?}"
    );
    let mut newcomer = FlvViewer::open(&playback_url(&creator, &gig).await).await;
    newcomer.read_video_frames(30).await;
    assert!(newcomer.max_step_ms <= MAX_FRAME_STEP_MS, "{newcomer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_disconnected_after_the_idle_timeout() {
    let _shared = PROCESS.read().await;
    let logs = Logs::capture();
    let server = TestServer::start_with(Backend::Embedded, &["--rtmp-idle-timeout", "1"]).await;
    let (_creator, gig) = server.live_gig("silent").await;

    let connecting = Instant::now();
    let mut socket = rtmp_connect(&server).await;
    let peer = socket.local_addr().unwrap();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut byte))
        .await
        .expect("the server hangs up within 5 s");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "the server sent something: {read:?}"
    );
    // The server's clock starts after our connect does, so this cannot be early by accident.
    assert!(
        connecting.elapsed() >= Duration::from_secs(1),
        "before the timeout"
    );
    let line = logs.await_closed(peer).await;
    assert!(
        line.contains("WARN") && line.contains("silent for 1s"),
        "{line}"
    );

    // The listener is fine: a real publisher gets on air and its media flows.
    let _publisher = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 20);
    let status = server
        .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
        .await;
    assert_eq!(status.video.unwrap().width, Some(320));
}

/// A viewer that never reads again, next to two that read as fast as they can: the healthy
/// viewers get every frame to the end, the stalled one costs bounded memory however much media
/// goes by, and it is cut loose once its writes have made no progress for the server's write
/// deadline (15 s), which also frees its place in the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_stops_reading_slows_no_other_viewer_and_costs_bounded_memory() {
    // Without -re, ffmpeg encodes 320x240 many times faster than real time (about 30x on an idle
    // 2-core machine): the stalled viewer falls thousands of tags behind (its queue holds 512)
    // and a lot of media goes by quickly. The healthy viewers, reading in this process, keep up even so: when
    // the machine is busy, the publisher's connection task slows down with them (it runs in the
    // same runtime, and ffmpeg waits for it). With -re, the same amount of media would take
    // real time: five minutes.
    const MEDIA_SECONDS: u32 = 300;
    // Growth of this process's resident memory (server and viewers) that we accept. The server
    // may hold, per stream, the 512-tag queue and the GOP cache (a few MiB at this bitrate), and
    // hyper's write buffer (~400 KiB) per viewer; the stalled viewer's backlog beyond that lives
    // in kernel socket buffers, outside our RSS. The media published while it is connected is
    // asserted to be well over twice this bound, so a server that queued that backlog for it
    // would fail.
    const MEMORY_BOUND: u64 = 20 << 20;
    let _alone = PROCESS.write().await;

    // Three streams on the creator's one playback URL.
    let server =
        TestServer::start_with(Backend::Embedded, &["--max-streams-per-ticket", "3"]).await;
    let (creator, gig) = server.live_gig("backlog").await;
    let publisher =
        FfmpegPublisher::start_with(&server.publish_url(&gig), "320x240", 30, MEDIA_SECONDS, &[]);
    server
        .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
        .await;
    let url = playback_url(&creator, &gig).await;
    let memory_before = resident_memory();
    let bytes_in_before = metric(&server, "bookmygig_bytes_in_total").await;

    let stalled = stalled_viewer(&url).await;
    let mut healthy = Vec::new();
    for _ in 0..2 {
        let mut viewer = FlvViewer::open(&url).await;
        healthy.push(tokio::spawn(async move {
            while viewer.next_tag().await.is_some() {}
            viewer
        }));
    }
    // The stalled viewer's request was accepted too: it is one of the stream's viewers.
    server
        .await_stream(gig.id, PATIENCE, |s| s.viewers == 3)
        .await;

    let last_frame_ms = MEDIA_SECONDS * 1000 - MAX_FRAME_STEP_MS;
    for viewer in healthy {
        let viewer = tokio::time::timeout(Duration::from_secs(180), viewer)
            .await
            .expect("the stream ends")
            .expect("healthy viewer task");
        assert!(
            viewer.max_step_ms <= MAX_FRAME_STEP_MS,
            "a healthy viewer skipped: {viewer:?}"
        );
        assert!(
            viewer.last_video_ms >= last_frame_ms,
            "a healthy viewer stopped early: {viewer:?}"
        );
    }
    let (published, stderr) = tokio::task::spawn_blocking(move || publisher.wait())
        .await
        .expect("ffmpeg waiter");
    assert!(published, "ffmpeg failed: {stderr}");

    let media = metric(&server, "bookmygig_bytes_in_total").await - bytes_in_before;
    // Measured while the stalled viewer is still connected: whatever the server keeps for it is
    // counted.
    let growth = resident_memory().saturating_sub(memory_before);
    assert!(
        media > 2 * MEMORY_BOUND,
        "too little media to tell: {media}"
    );
    assert!(
        growth < MEMORY_BOUND,
        "memory grew by {} MiB while {} MiB of media went by",
        growth >> 20,
        media >> 20
    );
    // Cut loose: the viewer count falls to zero without the stalled viewer ever reading again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    while metric(&server, "bookmygig_viewers").await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled viewer was never dropped"
        );
        tick.tick().await;
    }
    let mut stalled = stalled;
    let mut sink = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(30), stalled.read_to_end(&mut sink)).await;
    assert!(
        closed.is_ok(),
        "the server closed the stalled viewer's connection"
    );
}

/// A counter or gauge from `GET /metrics`.
async fn metric(server: &TestServer, name: &str) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.metrics_base))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .parse()
        .expect("a whole number")
}

/// This process's resident memory (`VmRSS`), in bytes.
fn resident_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {status}"));
    kib << 10
}

/// Opens an HTTP-FLV stream on a raw socket with a small receive buffer, so that the server's
/// writes back up as soon as nobody reads it, and reads nothing, not even the response head.
async fn stalled_viewer(url: &str) -> TcpStream {
    let url = reqwest::Url::parse(url).expect("a URL");
    let addr = url.socket_addrs(|| None).expect("an address")[0];
    let socket = TcpSocket::new_v4().expect("socket");
    // Before connecting, so that the window we advertise is small from the start.
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut socket = socket.connect(addr).await.expect("connect");
    let request = format!(
        "GET {}?{} HTTP/1.1\r\nHost: {addr}\r\n\r\n",
        url.path(),
        url.query().unwrap_or_default(),
    );
    socket.write_all(request.as_bytes()).await.expect("request");
    socket
}
