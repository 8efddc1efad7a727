//! The RTMP listener's ceilings, attacked as one client on loopback would: sockets that trickle
//! bytes to hold a place, more sockets than the server or one address may hold, and a player
//! that stops reading. Each attack costs only its own connection.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::time::{Duration, Instant};

use bookmygig_api::Playback;
use common::logs::Logs;
use common::rtmp_raw::{
    HANDSHAKE_PACKET, assert_closed_by_server, rtmp_connect, rtmp_handshake, stalled_rtmp_player,
};
use common::{Backend, FfmpegPublisher, TestServer};
use reqwest::Method;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

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
    // C0, then C1 one byte every 200 ms, until a write fails because the server closed: the
    // handshake would take five minutes at this pace.
    let trickle = async {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut sent = 0usize;
        loop {
            tick.tick().await;
            let byte = if sent == 0 { 3u8 } else { 0u8 };
            if socket.write_all(&[byte]).await.is_err() {
                return sent;
            }
            sent += 1;
        }
    };
    let sent = tokio::time::timeout(PATIENCE, trickle)
        .await
        .expect("the server closes the trickling socket");
    let elapsed = started.elapsed();
    assert!(sent < 1 + 1536, "the handshake was never meant to finish");
    let line = logs.await_closed(peer).await;
    assert!(
        line.contains("neither publishing nor playing 2s after connecting"),
        "{line}"
    );
    assert!(elapsed >= Duration::from_secs(2), "cut before the deadline");

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
    assert_cap_holds(&server, 3).await;
}

/// The server holds at most `--rtmp-max-connections` connections in all, the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_total_cap_are_closed_at_once() {
    let server = TestServer::start_with(Backend::Embedded, &["--rtmp-max-connections", "2"]).await;
    assert_cap_holds(&server, 2).await;
}

/// `cap` connections complete their handshakes and hold their places; the next is closed
/// without a word; once one leaves, a new one gets through its handshake.
async fn assert_cap_holds(server: &TestServer, cap: usize) {
    let mut held = Vec::new();
    for _ in 0..cap {
        let mut socket = rtmp_connect(server).await;
        rtmp_handshake(&mut socket).await;
        held.push(socket);
    }
    let mut over = rtmp_connect(server).await;
    assert_closed_by_server(&mut over).await;

    drop(held.pop());
    let mut again = tokio::time::timeout(PATIENCE, async {
        loop {
            // The server frees the place a moment after the close: retry until it has.
            let mut socket = rtmp_connect(server).await;
            let mut c0c1 = vec![0u8; 1 + HANDSHAKE_PACKET];
            c0c1[0] = 3;
            if socket.write_all(&c0c1).await.is_ok() {
                let mut s0 = [0u8; 1];
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

/// An RTMP player that stops reading is let go once a write to it has not finished in 15 s,
/// instead of holding its task, its place and its meter for as long as the show runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rtmp_player_that_stops_reading_is_dropped_at_the_write_deadline() {
    let logs = Logs::capture();
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.live_gig("stalled_rtmp").await;
    // Without -re ffmpeg publishes many times faster than real time: the player's small
    // window and the server's send buffer fill within seconds.
    let _publisher =
        FfmpegPublisher::start_with(&server.publish_url(&gig), "320x240", 30, 300, &[]);
    server
        .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
        .await;
    let playback: Playback = creator
        .request(Method::POST, &format!("/gigs/{}/playback", gig.id))
        .send()
        .await
        .expect("playback grant")
        .json()
        .await
        .expect("playback");

    let stalled = stalled_rtmp_player(&playback.rtmp_url).await;
    let peer = stalled.local_addr().unwrap();
    // The deadline starts once the buffers are full; give that a generous minute.
    let line = logs
        .await_line_within(
            &[&format!("peer={peer}"), "RTMP connection closed"],
            Duration::from_secs(60),
        )
        .await;
    assert!(line.contains("a write did not finish within 15s"), "{line}");
}
