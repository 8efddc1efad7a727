//! The RTMP listener's ceilings, attacked as one client on loopback would: sockets that trickle
//! bytes to hold a place, and more sockets from one address than it may hold. Each attack fails
//! while a real publisher still gets on air.

mod common;

use std::time::{Duration, Instant};

use common::logs::Logs;
use common::rtmp_raw::{assert_closed_by_server, rtmp_connect, rtmp_handshake};
use common::{Backend, FfmpegPublisher, TestServer};
use tokio::io::AsyncWriteExt;

/// Long enough for anything that should happen at once, on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// A peer that sends a byte every 200 ms never trips the idle timeout (30 s) but is cut at the
/// setup deadline: it has that long from its first byte to a granted publish or play.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_trickles_bytes_is_cut_at_the_setup_deadline() {
    let logs = Logs::capture();
    let server = TestServer::start_with(Backend::Embedded, &["--rtmp-setup-timeout", "2"]).await;
    let (_creator, gig) = server.live_gig("trickle").await;

    let started = Instant::now();
    let mut socket = rtmp_connect(&server).await;
    let peer = socket.local_addr().unwrap();
    // C0, then C1 one byte at a time: the handshake never completes in 2 s at this pace.
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut sent = 0usize;
    let cut = tokio::time::timeout(PATIENCE, async {
        loop {
            tick.tick().await;
            let byte = if sent == 0 { 3u8 } else { 0u8 };
            if socket.write_all(&[byte]).await.is_err() {
                return;
            }
            sent += 1;
        }
    });
    // The write fails only once the server has closed; the log says why.
    let line = logs.await_closed(peer).await;
    assert!(
        line.contains("neither publishing nor playing 2s after connecting"),
        "{line}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "cut before the deadline"
    );
    cut.await.ok();
    assert!(sent < 1 + 1536, "the handshake was never meant to finish");

    // A real publisher, who completes its setup at once, is not affected.
    let _publisher = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 20);
    server
        .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
        .await;
}

/// One address holds at most `--rtmp-max-connections-per-ip` connections: the next is closed
/// as soon as it is accepted, and a place freed is a place to be had again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_per_address_cap_are_closed_at_once() {
    let server =
        TestServer::start_with(Backend::Embedded, &["--rtmp-max-connections-per-ip", "3"]).await;
    // Three handshakes complete: each holds a place.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut socket = rtmp_connect(&server).await;
        rtmp_handshake(&mut socket).await;
        held.push(socket);
    }
    // The fourth is closed without a word.
    let mut fourth = rtmp_connect(&server).await;
    assert_closed_by_server(&mut fourth).await;

    // One leaves; a new one gets through its handshake.
    drop(held.pop());
    let mut again = tokio::time::timeout(PATIENCE, async {
        loop {
            // The server notices the close a moment later: retry until it has.
            let mut socket = rtmp_connect(&server).await;
            let mut c0c1 = vec![0u8; 1537];
            c0c1[0] = 3;
            if socket.write_all(&c0c1).await.is_ok() {
                let mut s0 = [0u8; 1];
                use tokio::io::AsyncReadExt as _;
                if let Ok(1) = socket.read(&mut s0).await {
                    return socket;
                }
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("a freed place is given to the next connection");
    again.shutdown().await.ok();
}
