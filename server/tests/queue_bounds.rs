#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The live fan-out is bounded in bytes: a publisher sending the largest video tags the server
//! takes (8 MiB) to a gig whose viewers never read cannot make the server hold more than its
//! queue, GOP cache and recorder (recording is on, as by default). The server is the real binary in a child process, so its resident
//! memory is its own, read from `/proc/<pid>/status`.

mod common;

use std::time::Duration;

use bookmygig_api::Money;
use bytes::Bytes;
use common::flv_viewer::playback_url;
use common::rtmp_raw::stalled_rtmp_player;
use common::{ServerProcess, Serving as _};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult, PublishRequestType,
};
use rml_rtmp::time::RtmpTimestamp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest media message the server accepts (`MAX_TAG_BYTES`), sent as every video tag.
const TAG_BYTES: usize = 8 << 20;
/// Tags sent: 320 MiB in all, more than the ceiling many times over, so that a queue bounded
/// in segments only (256 of them) would hold all of them.
const TAGS: u32 = 40;
/// What the server's resident memory must stay under throughout: 200 MiB for the fan-out,
/// and 40 more for the recorder (up to 24 MiB of segments queued for storage and the 16 MiB
/// segment being cut).
const RSS_CEILING: u64 = 240 << 20;
/// Longest wait for something the server should do at once, on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn eight_mib_tags_to_viewers_that_never_read_keep_the_server_under_240_mib() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(&["--data-dir", data.path().to_str().unwrap()], &[]);
    let creator = server.sign_up("big_frames").await;
    creator
        .top_up(Money::from_dollars(99), None)
        .await
        .expect("top up");
    let gig = creator
        .create_gig(&common::live_gig_form("Big Frames"))
        .await
        .expect("gig");
    let key = gig
        .stream_key
        .as_ref()
        .expect("the creator's view")
        .expose();

    let mut publisher = Publisher::connect(&server.rtmp, key).await;
    let keyframe = video_tag(true);
    let inter = video_tag(false);
    publisher.video(0, &keyframe).await;
    server
        .await_stream(gig.id, PATIENCE, |status| status.live)
        .await;

    // One HTTP-FLV viewer and one RTMP player (the creator's two devices), both never reading.
    let flv_url = playback_url(&creator, &gig).await;
    let _flv = stalled_flv_viewer(&flv_url).await;
    let rtmp_url = format!("rtmp://{}/live/{}?{}", server.rtmp, gig.id, token(&flv_url));
    let _rtmp = stalled_rtmp_player(&rtmp_url).await;
    server
        .await_stream(gig.id, PATIENCE, |status| status.viewers == 2)
        .await;

    let mut sent = TAG_BYTES as u64;
    let mut peak = rss(&server);
    for i in 1..=TAGS {
        // A keyframe every fourth tag, so the GOP cache has something to hold as well.
        let tag = if i % 4 == 0 { &keyframe } else { &inter };
        publisher.video(i * 33, tag).await;
        sent += TAG_BYTES as u64;
        peak = peak.max(rss(&server));
        assert!(
            peak < RSS_CEILING,
            "after {i} tags of 8 MiB the server holds {} MiB",
            peak >> 20
        );
    }
    // The last bytes written may still be on their way: wait until the server took them all.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while bytes_in(&server).await < sent {
        peak = peak.max(rss(&server));
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server never took all {sent} bytes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    peak = peak.max(rss(&server));
    eprintln!(
        "peak RSS {} MiB for {} MiB published",
        peak >> 20,
        sent >> 20
    );
    assert!(peak < RSS_CEILING, "peak RSS {} MiB", peak >> 20);
    // Both stalled viewers are still connected: the queue's bound, not a disconnect, is what
    // kept the memory down.
    let status = server.await_stream(gig.id, PATIENCE, |_| true).await;
    assert_eq!(status.viewers, 2, "{status:?}");
}

/// A video tag of [`TAG_BYTES`]: an AVC keyframe or inter frame (its NAL units are filler).
fn video_tag(key: bool) -> Bytes {
    let mut tag = vec![0u8; TAG_BYTES];
    tag[..5].copy_from_slice(&[if key { 0x17 } else { 0x27 }, 1, 0, 0, 0]);
    Bytes::from(tag)
}

/// The server's resident memory in bytes.
fn rss(server: &ServerProcess) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid()))
        .expect("/proc/<pid>/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .expect("a VmRSS line")
        .trim()
        .parse()
        .expect("VmRSS in kB");
    kib * 1024
}

/// Media bytes the server has taken from publishers (`bookmygig_bytes_in_total`).
async fn bytes_in(server: &ServerProcess) -> u64 {
    let metrics = reqwest::get(format!("{}/metrics", server.metrics_base))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("bookmygig_bytes_in_total "))
        .expect("the bytes-in counter")
        .trim()
        .parse()
        .expect("a count")
}

/// The `token=…` query of a playback URL (the same grant plays over RTMP).
fn token(url: &str) -> &str {
    url.split_once('?').expect("a query").1
}

/// Opens `url` (HTTP-FLV) on a socket with a small receive window and never reads from it:
/// the server's writes stall once the window and its send buffer are full. Returns once the
/// request is sent; the caller awaits the viewer count.
async fn stalled_flv_viewer(url: &str) -> TcpStream {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (address, path) = rest.split_once('/').expect("a path");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut socket = socket
        .connect(address.parse().expect("HOST:PORT"))
        .await
        .expect("connect");
    socket
        .write_all(format!("GET /{path} HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes())
        .await
        .expect("request");
    socket
}

/// An RTMP publisher (rml_rtmp's client session, 64 KiB chunks) that has been granted its
/// publish and from then on only writes.
struct Publisher {
    socket: TcpStream,
    session: ClientSession,
}

impl Publisher {
    /// Connects to `address` (`HOST:PORT`) and publishes on `key`.
    async fn connect(address: &str, key: &str) -> Publisher {
        let mut socket = TcpStream::connect(address).await.expect("RTMP connect");
        let mut handshake = Handshake::new(PeerType::Client);
        let c0c1 = handshake.generate_outbound_p0_and_p1().expect("C0+C1");
        socket.write_all(&c0c1).await.expect("C0+C1");
        let mut buffer = vec![0u8; 64 * 1024];
        let leftover = loop {
            let read = socket.read(&mut buffer).await.expect("handshake");
            assert!(read > 0, "the server hung up during the handshake");
            match handshake.process_bytes(&buffer[..read]).expect("handshake") {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    socket.write_all(&response_bytes).await.expect("C2");
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    socket.write_all(&response_bytes).await.expect("C2");
                    break remaining_bytes;
                }
            }
        };
        let mut config = ClientSessionConfig::new();
        config.chunk_size = 64 * 1024;
        let (mut session, results) = ClientSession::new(config).expect("session");
        let mut outbound: Vec<ClientSessionResult> = results;
        outbound.push(
            session
                .request_connection("live".into())
                .expect("connect request"),
        );
        let mut input = leftover;
        tokio::time::timeout(PATIENCE, async {
            loop {
                for result in outbound.drain(..) {
                    if let ClientSessionResult::OutboundResponse(packet) = result {
                        socket.write_all(&packet.bytes).await.expect("write");
                    }
                }
                for result in session.handle_input(&input).expect("server messages") {
                    match result {
                        ClientSessionResult::OutboundResponse(packet) => {
                            socket.write_all(&packet.bytes).await.expect("reply");
                        }
                        ClientSessionResult::RaisedEvent(
                            ClientSessionEvent::ConnectionRequestAccepted,
                        ) => outbound.push(
                            session
                                .request_publishing(key.to_owned(), PublishRequestType::Live)
                                .expect("publish request"),
                        ),
                        ClientSessionResult::RaisedEvent(
                            ClientSessionEvent::PublishRequestAccepted,
                        ) => return,
                        _ => {}
                    }
                }
                if !outbound.is_empty() {
                    input.clear();
                    continue;
                }
                let read = socket.read(&mut buffer).await.expect("server answer");
                assert!(read > 0, "the server hung up before accepting the publish");
                input = buffer[..read].to_vec();
            }
        })
        .await
        .expect("the server accepts the publish in time");
        Publisher { socket, session }
    }

    /// Sends one video tag at `timestamp_ms`.
    async fn video(&mut self, timestamp_ms: u32, tag: &Bytes) {
        let result = self
            .session
            .publish_video_data(tag.clone(), RtmpTimestamp::new(timestamp_ms), false)
            .expect("video message");
        let ClientSessionResult::OutboundResponse(packet) = result else {
            panic!("video is a packet");
        };
        tokio::time::timeout(PATIENCE, self.socket.write_all(&packet.bytes))
            .await
            .expect("the server keeps reading the publisher")
            .expect("video written");
    }
}
