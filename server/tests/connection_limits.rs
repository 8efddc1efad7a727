//! The HTTP listener's limits, attacked as one client on loopback would: thousands of sockets
//! that never finish their headers (slowloris) beside thousands of RTMP sockets that trickle
//! bytes, while real people go live, watch and chat; more connections from one address than
//! it may hold; an idle keep-alive connection; the private listeners.
//!
//! The attacker spreads its sockets over many loopback addresses (127.0.x.y all reach the
//! server), each within its per-address share, so what frees the server is the deadlines.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bookmygig_api::{Money, ServerMessage};
use common::flv_viewer::FlvViewer;
use common::{ChatSocket, FfmpegPublisher, ServerProcess, TokenIn, live_gig_form};
use futures::future::join_all;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

/// How soon a person gets in while the attack goes on.
const GET_IN: Duration = Duration::from_secs(3);
/// Long enough for anything that should happen at once, on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// Raises this process's open-file limit to its hard limit (the server child inherits it):
/// the attack needs more sockets than a default soft limit of 1024 allows.
fn raise_fd_limit(needed: u64) {
    let raised = rlimit::increase_nofile_limit(u64::MAX).expect("setrlimit");
    assert!(
        raised >= needed,
        "this test needs {needed} open files; the hard limit is {raised} (raise it with `ulimit -Hn`)"
    );
}

/// The real server binary on a fresh data directory, with `flags`.
fn server(flags: &[&str]) -> (ServerProcess, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().display().to_string();
    let mut args = vec!["--data-dir", &dir];
    args.extend_from_slice(flags);
    (ServerProcess::spawn(&args, &[]), data)
}

/// A TCP connection to `server` from the loopback address `source`.
async fn connect_from(source: Ipv4Addr, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).unwrap();
    socket.connect(server).await.unwrap()
}

/// `count` connections to `server`, `per_source` from each of the addresses 127.0.`net`.1,
/// 127.0.`net`.2, …, each opened with `greeting`.
async fn attack(
    server: SocketAddr,
    net: u8,
    count: usize,
    per_source: usize,
    greeting: &[u8],
) -> Vec<TcpStream> {
    let mut sockets = Vec::with_capacity(count);
    for index in 0..count {
        let host = u8::try_from(1 + index / per_source).unwrap();
        let mut socket = connect_from(Ipv4Addr::new(127, 0, net, host), server).await;
        socket.write_all(greeting).await.unwrap();
        sockets.push(socket);
    }
    sockets
}

/// Whether the server closed `socket` (end of stream or reset) within `within`; what it
/// sent first is drained.
async fn closed_within(mut socket: TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_get_in_while_thousands_of_half_open_sockets_wait_for_the_deadlines() {
    raise_fd_limit(10_000);
    let (server, _data) = server(&[]);
    let http: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let rtmp: SocketAddr = server.rtmp.parse().unwrap();

    // A creator with a gig that may go live now, and a viewer with a ticket, before the attack.
    let creator = server.sign_up("creator").await;
    creator.top_up(Money::from_dollars(99), None).await.unwrap();
    let gig = creator
        .create_gig(&live_gig_form("Under Siege"))
        .await
        .unwrap();
    let viewer = server.sign_up("viewer").await;
    viewer.top_up(Money::from_dollars(99), None).await.unwrap();
    viewer.buy_ticket(gig.id, "siege-ticket").await.unwrap();

    // 2,000 HTTP sockets that send part of a request's headers and nothing more, 50 from each
    // of 40 addresses (under the 64 per address); 2,000 RTMP sockets that send C0 and one
    // byte of C1, then a byte every second, 25 from each of 80 addresses (under 32).
    let started = Instant::now();
    let slow_http = attack(
        http,
        1,
        2_000,
        50,
        b"GET /api/v1/gigs HTTP/1.1\r\nHost: x\r\n",
    )
    .await;
    let mut slow_rtmp = attack(rtmp, 2, 2_000, 25, &[3, 0]).await;
    let trickle = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let mut open = 0;
            for socket in &mut slow_rtmp {
                if socket.try_write(&[0]).is_ok() {
                    open += 1;
                }
            }
            if open == 0 {
                return;
            }
        }
    });
    let attack_ready = started.elapsed();

    // ffmpeg goes live, an FLV viewer and a chat member get in, each within 3 s.
    let key = gig.stream_key.as_ref().unwrap().expose().to_owned();
    let publisher = FfmpegPublisher::start(&format!("rtmp://{rtmp}/live/{key}"), "320x240", 30, 30);
    let live = Instant::now();
    let status_url = format!("{}/api/v1/gigs/{}/stream", server.base, gig.id);
    tokio::time::timeout(GET_IN, async {
        loop {
            let status: bookmygig_api::StreamStatus = reqwest::get(&status_url)
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if status.live {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not live within {GET_IN:?} of ffmpeg's start"));
    let went_live = live.elapsed();

    let watching = Instant::now();
    tokio::time::timeout(GET_IN, async {
        let url = common::flv_viewer::playback_url(&viewer, &gig).await;
        FlvViewer::open(&url).await.read_video_frames(1).await;
    })
    .await
    .expect("the viewer sees a picture within 3 s");
    let chatting = Instant::now();
    tokio::time::timeout(GET_IN, async {
        let ws = server.base.replacen("http://", "ws://", 1);
        let url = format!("{ws}/api/v1/gigs/{}/chat", gig.id);
        let mut chat = ChatSocket::connect(&url, viewer.token(), TokenIn::Header)
            .await
            .unwrap_or_else(|(status, problem)| panic!("chat refused: {status} {problem:?}"));
        let ServerMessage::History { .. } = chat.next().await else {
            panic!("history comes first");
        };
    })
    .await
    .expect("the chat member is in within 3 s");
    // The attack was still holding its sockets meanwhile: none was closed early.
    let mut probe = [0u8; 1];
    for socket in &slow_http {
        assert!(
            matches!(socket.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "a header-less socket was closed before its deadline"
        );
    }
    eprintln!(
        "attack opened in {attack_ready:?}; live in {went_live:?}, watching in {:?}, chatting in {:?}",
        chatting - watching,
        chatting.elapsed()
    );

    // The half-open sockets are closed by the deadlines: the HTTP header deadline and the
    // RTMP setup deadline (10 s each by default), counted from each socket's start.
    let closed = join_all(
        slow_http
            .into_iter()
            .map(|socket| closed_within(socket, PATIENCE)),
    )
    .await;
    let still_open = closed.iter().filter(|closed| !**closed).count();
    assert_eq!(still_open, 0, "header-less HTTP sockets left open");
    tokio::time::timeout(PATIENCE, trickle)
        .await
        .expect("every trickling RTMP socket is closed by the setup deadline")
        .unwrap();
    drop(publisher);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_over_its_share_is_told_429_and_others_are_not_affected() {
    let (server, _data) = server(&["--http-max-connections-per-ip", "4"]);
    let http: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let hog = Ipv4Addr::new(127, 0, 3, 1);
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect_from(hog, http).await);
    }
    // The fifth from the same address: a 429 problem with Retry-After, then closed.
    let mut fifth = connect_from(hog, http).await;
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, fifth.read_to_end(&mut answer))
        .await
        .expect("answered and closed at once")
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 429 "), "{answer}");
    assert!(answer.contains("Retry-After: "), "{answer}");
    assert!(answer.contains("too-many-connections"), "{answer}");
    // Another address is served.
    let mut other = connect_from(Ipv4Addr::new(127, 0, 3, 2), http).await;
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    other.read_to_end(&mut reply).await.unwrap();
    assert!(reply.starts_with(b"HTTP/1.1 200 "));
    // A place given back is a place to take.
    drop(held.pop());
    let mut again = connect_from(hog, http).await;
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let served = tokio::time::timeout(PATIENCE, async {
        loop {
            let mut reply = Vec::new();
            // A refused connection may be reset rather than answered 429: try again either way.
            let _ = again.read_to_end(&mut reply).await;
            if reply.starts_with(b"HTTP/1.1 200 ") {
                return;
            }
            // The server may not have seen the close yet: try a fresh connection.
            tokio::time::sleep(Duration::from_millis(20)).await;
            again = connect_from(hog, http).await;
            again
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
        }
    })
    .await;
    assert!(served.is_ok(), "a freed place is served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_at_the_header_deadline() {
    let (server, _data) = server(&["--http-header-timeout", "2"]);
    let http: SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let mut socket = TcpStream::connect(http).await.unwrap();
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, socket.read_to_end(&mut received))
        .await
        .expect("the idle connection is closed")
        .unwrap();
    let idle = started.elapsed();
    assert!(
        received.starts_with(b"HTTP/1.1 200 "),
        "the request was answered"
    );
    assert!(
        idle >= Duration::from_secs(2) - Duration::from_millis(100),
        "kept open {idle:?}, not closed at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_relays_are_served_only_on_their_private_listeners() {
    let (server, _data) = server(&[]);
    let public_metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_eq!(public_metrics.status(), 404);
    let public_relay = reqwest::get(format!("{}/internal/v1/live/x.flv", server.base))
        .await
        .unwrap();
    assert_eq!(public_relay.status(), 404);
    let metrics = reqwest::get(format!("{}/metrics", server.metrics_base))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("# TYPE"));
    // The API is not on the private listeners.
    let api = reqwest::get(format!("{}/api/v1/gigs", server.metrics_base))
        .await
        .unwrap();
    assert_eq!(api.status(), 404);
}
