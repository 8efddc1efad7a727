//! Hostile input on every listener (DESIGN §10: "nothing they send may stop the node or
//! another person's show"), against a real server, a real ffmpeg publisher and, for the
//! relay, a real redis-server. Each attack is followed by [`assert_node_unharmed`]: `/healthz`
//! answers and a viewer that was already watching another person's live show keeps receiving
//! every frame. A failure stays in its connection: a stack overflow or an abort would take the
//! whole test process down with it.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::time::Duration;

use bookmygig_api::{ChatUser, Gig, GigId, Money, ServerMessage};
use bookmygig_client::Client;
use bookmygig_media::flv::{self, FlvReader, TagKind};
use common::flv_viewer::{FlvViewer, MAX_FRAME_STEP_MS, playback_url};
use common::logs::Logs;
use common::rtmp_raw::{
    DEFAULT_CHUNK_SIZE, HANDSHAKE_PACKET, assert_closed_by_server, chunked_message, rtmp_connect,
    rtmp_handshake, send_c0c1, type0_header,
};
use common::{Backend, ChatSocket, FfmpegPublisher, TestServer, TokenIn, live_gig_form};
use rand::rngs::StdRng;
use rand::{RngCore as _, SeedableRng as _};
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Long enough for anything that should happen at once, on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);
/// Video frames the watching viewer must receive after an attack (one second at 30 fps).
const FRAMES_AFTER: usize = 30;
/// RTMP message type of an AMF0 command.
const AMF0_COMMAND: u8 = 20;
/// RTMP message type of video data.
const VIDEO: u8 = 9;

// ---------------------------------------------------------------------------------------------
// RTMP
// ---------------------------------------------------------------------------------------------

/// Right after the handshake, before any `connect` or stream key: one AMF0 command whose body
/// is a strict array of one element, nested 100,000 deep (~500 KB, in 128-byte chunks). A
/// decoder that recurses on the peer's depth overflows its stack, which aborts the process.
/// Then the same nested 13,000 deep (65,001 bytes), small enough to pass every ceiling on
/// sizes, so that only a bound on depth can stop it (it, too, overflows rml_amf0's stack).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_amf0_command_closes_only_that_connection() {
    const NESTED_UNDER_64_KIB: usize = 13_000;
    let logs = Logs::capture();
    let mut stage = Stage::start(Backend::Embedded).await;

    for nesting in [100_000, NESTED_UNDER_64_KIB] {
        let mut socket = rtmp_connect(&stage.server).await;
        let peer = socket.local_addr().unwrap();
        rtmp_handshake(&mut socket).await;
        let message = chunked_message(3, AMF0_COMMAND, 0, &nested_strict_arrays(nesting));
        assert_eq!(message[0], 0x03, "type-0 header on chunk stream 3");
        assert_eq!(
            message[12 + DEFAULT_CHUNK_SIZE],
            0xC3,
            "type-3 continuation"
        );
        send_hostile(&mut socket, &message).await;
        assert_closed_by_server(&mut socket).await;
        let line = logs.await_closed(peer).await;
        assert!(
            line.contains("WARN"),
            "{nesting} deep: refused, not a goodbye: {line}"
        );

        assert_node_unharmed(&stage.server, &mut stage.viewer).await;
    }
}

/// An AMF0 value: a strict array (0x0A) of one element (u32 count), `nesting` deep, around
/// `undefined` (0x05).
fn nested_strict_arrays(nesting: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(nesting * 5 + 1);
    for _ in 0..nesting {
        body.extend_from_slice(&[0x0A, 0, 0, 0, 1]);
    }
    body.push(0x05);
    body
}

/// A peer that has not published announces a 16 MiB message (length 0xFFFFFF in a type-0
/// header) and keeps sending its chunks, and more: the server stops it at its ceiling on bytes
/// buffered towards one message instead of taking all it is given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_mib_chunk_from_a_peer_that_has_not_published_closes_only_that_connection() {
    /// What the peer offers in all: the whole 16 MiB message and then some.
    const OFFERED: usize = 24 << 20;
    let logs = Logs::capture();
    let mut stage = Stage::start(Backend::Embedded).await;

    let mut socket = rtmp_connect(&stage.server).await;
    let peer = socket.local_addr().unwrap();
    rtmp_handshake(&mut socket).await;
    let mut first = type0_header(4, 0xFF_FFFF, VIDEO, 1);
    first.extend_from_slice(&[0x17; DEFAULT_CHUNK_SIZE]);
    // Continuation chunks: a type-3 header (chunk stream 4) and 128 bytes, over and over.
    let mut block = Vec::new();
    for _ in 0..512 {
        block.push(0xC4);
        block.extend_from_slice(&[0x01; DEFAULT_CHUNK_SIZE]);
    }
    let flood = async {
        socket.write_all(&first).await?;
        let mut sent = first.len();
        while sent < OFFERED {
            socket.write_all(&block).await?;
            sent += block.len();
        }
        std::io::Result::Ok(sent)
    };
    // Stopped by a reset once the server hangs up: what it did is asserted next.
    let _ = tokio::time::timeout(PATIENCE, flood).await;
    assert_closed_by_server(&mut socket).await;
    let line = logs.await_closed(peer).await;
    assert!(line.contains("WARN"), "refused, not a goodbye: {line}");

    assert_node_unharmed(&stage.server, &mut stage.viewer).await;
}

/// Three ways to get the handshake wrong: garbage where C0 should be, a valid C0+C1 followed by
/// a garbage C2 and garbage chunks, and a handshake cut off halfway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_handshake_closes_only_that_connection() {
    let logs = Logs::capture();
    let mut stage = Stage::start(Backend::Embedded).await;
    let mut rng = StdRng::seed_from_u64(0x6A72_6261_6765);

    // Garbage where C0 should be (any first byte but 3, the only RTMP version there is).
    let mut socket = rtmp_connect(&stage.server).await;
    let peer = socket.local_addr().unwrap();
    let mut garbage = vec![0u8; 4096];
    rng.fill_bytes(&mut garbage);
    garbage[0] = 0x47;
    send_hostile(&mut socket, &garbage).await;
    assert_closed_by_server(&mut socket).await;
    let line = logs.await_closed(peer).await;
    assert!(
        line.contains("WARN") && line.contains("handshake failed"),
        "{line}"
    );
    assert_node_unharmed(&stage.server, &mut stage.viewer).await;

    // A valid C0 and a random C1; then, once S0+S1+S2 are in, a C2 that echoes nothing and
    // 64 KiB of garbage as the chunk stream; then the end of what we send, so that nothing
    // is left for the server to wait for.
    let mut socket = rtmp_connect(&stage.server).await;
    let peer = socket.local_addr().unwrap();
    let mut c0c1 = vec![0u8; 1 + HANDSHAKE_PACKET];
    rng.fill_bytes(&mut c0c1);
    c0c1[0] = 3;
    send_c0c1(&mut socket, &c0c1).await;
    let mut garbage = vec![0u8; HANDSHAKE_PACKET + 64 * 1024];
    rng.fill_bytes(&mut garbage);
    send_hostile(&mut socket, &garbage).await;
    let _ = socket.shutdown().await;
    assert_closed_by_server(&mut socket).await;
    logs.await_closed(peer).await;
    assert_node_unharmed(&stage.server, &mut stage.viewer).await;

    // C0 and half of C1, then the end.
    let mut socket = rtmp_connect(&stage.server).await;
    let peer = socket.local_addr().unwrap();
    let mut half = vec![0u8; 1 + HANDSHAKE_PACKET / 2];
    half[0] = 3;
    send_hostile(&mut socket, &half).await;
    let _ = socket.shutdown().await;
    assert_closed_by_server(&mut socket).await;
    logs.await_closed(peer).await;
    assert_node_unharmed(&stage.server, &mut stage.viewer).await;
}

// ---------------------------------------------------------------------------------------------
// Chat WebSocket
// ---------------------------------------------------------------------------------------------

/// Frames RFC 6455 forbids (reserved bits set, a reserved opcode, an unmasked client frame)
/// close only the socket that sent them, with 1002; frames announcing more than any chat
/// message can be (2^40 bytes, and a length with its forbidden top bit set) likewise, with
/// 1009 or 1002. The room and its other members carry on, and the node keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_and_oversized_websocket_frames_close_only_that_socket() {
    let mut stage = Stage::start(Backend::Embedded).await;
    let server = &stage.server;
    let gig = stage.gig.id;
    let mallory = server.ticket_holder("mallory", gig).await;
    let bob = server.ticket_holder("bob", gig).await;
    let (mut bob_socket, _) = server.enter_chat(&bob, gig).await;

    let invalid: [(&str, Vec<u8>); 3] = [
        // FIN, RSV1-3 and text: no extension was negotiated that could give the RSV bits a
        // meaning.
        ("reserved bits", masked_frame(0xF1, b"{\"type\":\"say\"}")),
        // FIN and opcode 3, a reserved data opcode.
        ("reserved opcode", masked_frame(0x83, b"hello")),
        // A client frame without a mask.
        ("unmasked", vec![0x81, 5, b'h', b'e', b'l', b'l', b'o']),
    ];
    for (what, frame) in invalid {
        let mut socket = enter(server, &mallory, gig).await;
        bob_socket.until(|m| is_join(m, "mallory")).await;
        socket.send_raw(&frame).await;
        let close = socket.closed().await;
        assert!(
            close.as_ref().is_some_and(|(code, _)| *code == 1002),
            "{what}: closed with {close:?}"
        );
        bob_socket.until(|m| is_leave(m, "mallory")).await;
    }

    let mut huge = Vec::new();
    // FIN and text, masked, 64-bit length 2^40.
    huge.extend_from_slice(&[0x81, 0xFF]);
    huge.extend_from_slice(&(1u64 << 40).to_be_bytes());
    let mut bogus = huge.clone();
    // The same with the length's most significant bit set, which RFC 6455 forbids.
    bogus[2..10].copy_from_slice(&u64::MAX.to_be_bytes());
    for (what, mut header) in [("2^40 bytes", huge), ("2^64 - 1 bytes", bogus)] {
        header.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]);
        header.extend(std::iter::repeat_n(b'z', 64 * 1024));
        let mut socket = enter(server, &mallory, gig).await;
        bob_socket.until(|m| is_join(m, "mallory")).await;
        socket.send_raw(&header).await;
        let close = socket.closed().await;
        assert!(
            close
                .as_ref()
                .is_none_or(|(code, _)| *code == 1009 || *code == 1002),
            "{what}: closed with {close:?}"
        );
        bob_socket.until(|m| is_leave(m, "mallory")).await;
    }

    // The room carries on: bob speaks and hears himself, and a newcomer gets the history.
    bob_socket.say("unaffected").await;
    let said = bob_socket
        .until(|m| matches!(m, ServerMessage::Message(_)))
        .await;
    assert!(
        matches!(&said, ServerMessage::Message(m) if m.text == "unaffected"),
        "{said:?}"
    );
    let cid = server.ticket_holder("cid", gig).await;
    let (_cid_socket, history) = server.enter_chat(&cid, gig).await;
    assert_eq!(
        history.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
        ["unaffected"]
    );

    assert_node_unharmed(&stage.server, &mut stage.viewer).await;
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

/// JSON nested far deeper than any form: 100,000 `[` (over the body limit), and, inside the
/// limit, nesting that reaches the parser at the start of the body and behind valid fields.
/// Each is answered with a 4xx problem at once, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_json_bodies_get_a_4xx_problem_and_write_nothing() {
    let mut stage = Stage::start(Backend::Embedded).await;
    let creator_id = stage.creator.me().await.expect("me").id;
    let gigs_before = stage
        .server
        .store
        .gigs_by_creator(creator_id)
        .await
        .expect("gigs")
        .len();
    let balances_before = stage.server.store.balances().await.expect("balances");

    let brackets = |depth: usize| "[".repeat(depth);
    let braces = |depth: usize| "{\"a\":".repeat(depth);
    let bodies = [
        ("100,000 [", brackets(100_000)),
        ("60,000 [", brackets(60_000)),
        ("10,000 objects", braces(10_000)),
        (
            "nesting behind valid fields",
            format!(
                r#"{{"handle":"mallory","display_name":"Mallory","password":{}"#,
                brackets(60_000)
            ),
        ),
        (
            "nesting inside a gig form",
            format!(
                r#"{{"creator_name":"Mallory","title":"Deep","description":{}"#,
                braces(10_000)
            ),
        ),
    ];
    let anonymous = stage.server.anonymous();
    for (what, body) in &bodies {
        for (client, path) in [(&anonymous, "/accounts"), (&stage.creator, "/gigs")] {
            let response = tokio::time::timeout(
                PATIENCE,
                client
                    .request(Method::POST, path)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send(),
            )
            .await
            .unwrap_or_else(|_| panic!("{what} to {path}: no answer in time"))
            .unwrap_or_else(|e| panic!("{what} to {path}: {e}"));
            let status = response.status();
            assert!(status.is_client_error(), "{what} to {path}: {status}");
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert_eq!(content_type, "application/problem+json", "{what} to {path}");
            let problem: bookmygig_api::Problem = response.json().await.expect("a problem body");
            assert_eq!(problem.status, status.as_u16(), "{what} to {path}");
        }
    }

    let store = &stage.server.store;
    assert!(
        store
            .account_by_handle("mallory")
            .await
            .expect("account")
            .is_none(),
        "no account was created"
    );
    assert_eq!(
        store.gigs_by_creator(creator_id).await.expect("gigs").len(),
        gigs_before,
        "no gig was registered"
    );
    assert_eq!(
        store.balances().await.expect("balances"),
        balances_before,
        "no fee was charged"
    );

    assert_node_unharmed(&stage.server, &mut stage.viewer).await;
}

// ---------------------------------------------------------------------------------------------
// Relays between nodes (Redis mode)
// ---------------------------------------------------------------------------------------------

/// What a fake origin node sends a relay after its 200 answer.
#[derive(Clone, Copy, Debug)]
enum OriginAnswer {
    /// A valid FLV header and tag, then half a tag, then the connection closes.
    Truncated,
    /// 64 KiB of bytes that are not FLV at all, on a connection left open.
    Garbage,
    /// Well-framed FLV whose tags carry garbage: sequence headers, frames and metadata that
    /// decode to nothing, then a tag of an unknown type, on a connection left open.
    GarbledTags,
}

/// A gig "published" on a fake origin node: its claim in Redis names a node that answers the
/// relay's request with truncated or bogus FLV. The viewer who asks for it on the real node
/// gets an error or the end of the stream; the relay hangs up on the fake origin; the node and
/// the real show on it carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_and_bogus_flv_from_a_relay_origin_ends_only_that_relay() {
    let logs = Logs::capture();
    let mut stage = Stage::start(Backend::Redis).await;
    let redis = redis::Client::open(stage.server.redis_url()).expect("a Redis URL");
    let mut redis = redis
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");

    for answer in [
        OriginAnswer::Truncated,
        OriginAnswer::Garbage,
        OriginAnswer::GarbledTags,
    ] {
        // Listing a gig costs its fee.
        stage
            .creator
            .top_up(Money::from_dollars(99), None)
            .await
            .expect("top up");
        let gig = stage
            .creator
            .create_gig(&live_gig_form(&format!("{answer:?} relay")))
            .await
            .expect("gig");
        let (origin_url, origin) = fake_origin(answer).await;
        // What a publishing node's claim writes (cluster/registry.rs): `stream:{gig}` holds
        // `{node} {claim} {advertise_url}`, the node a random 128-bit id in hex.
        let claim = format!(
            "{:032x} {:016x} {origin_url}",
            rand::random::<u128>(),
            rand::random::<u64>()
        );
        let _: () = redis::cmd("SET")
            .arg(format!("bmg:stream:{}", gig.id))
            .arg(claim)
            .arg("PX")
            .arg(60_000)
            .query_async(&mut redis)
            .await
            .expect("claim written");

        let url = playback_url(&stage.creator, &gig).await;
        let watched = watch_until_the_end(&url).await;
        assert!(
            watched.status == 200 || watched.status >= 500,
            "{answer:?}: {watched:?}"
        );
        if !matches!(answer, OriginAnswer::GarbledTags) {
            // Nothing the origin sent was a whole picture.
            assert_eq!(watched.video_frames, 0, "{answer:?}: {watched:?}");
        }
        let request = tokio::time::timeout(PATIENCE, origin)
            .await
            .unwrap_or_else(|_| panic!("{answer:?}: the relay never hung up on the origin"))
            .expect("fake origin task");
        assert!(
            request.starts_with(&format!("GET /internal/v1/live/{}.flv ", gig.id)),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("authorization: bearer "),
            "{request}"
        );
        if watched.status == 200 {
            let reason = match answer {
                OriginAnswer::Truncated => "the origin ended the stream",
                OriginAnswer::Garbage | OriginAnswer::GarbledTags => "invalid FLV",
            };
            let line = logs
                .await_line(&["relay ended", &format!("gig={}", gig.id)])
                .await;
            assert!(line.contains(reason), "{answer:?}: {line}");
        }

        assert_node_unharmed(&stage.server, &mut stage.viewer).await;
    }
}

/// A fake origin node on loopback: answers one relay request with 200 and `answer`'s bytes.
/// Returns its base URL and a task that yields the request head once the relay has hung up.
async fn fake_origin(answer: OriginAnswer) -> (String, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let mut rng = StdRng::seed_from_u64(answer as u64);
    let (body, close) = match answer {
        OriginAnswer::Truncated => {
            let mut body = flv::file_header(true, true).to_vec();
            let script = onmetadata(&[]);
            body.extend_from_slice(&flv::encode_tag(TagKind::Script, 0, &script).unwrap());
            let frame = flv::encode_tag(TagKind::Video, 0, &[0x17, 1, 0, 0, 0, 1, 2, 3]).unwrap();
            body.extend_from_slice(&frame[..frame.len() / 2]);
            (body, true)
        }
        OriginAnswer::Garbage => {
            let mut body = vec![0u8; 64 * 1024];
            rng.fill_bytes(&mut body);
            // Not even the F of "FLV".
            body[0] = 0x00;
            (body, false)
        }
        OriginAnswer::GarbledTags => {
            let mut body = flv::file_header(true, true).to_vec();
            let mut noise = |prefix: &[u8], len: usize| {
                let mut data = prefix.to_vec();
                let start = data.len();
                data.resize(start + len, 0);
                rng.fill_bytes(&mut data[start..]);
                data
            };
            let tags = [
                // AVC sequence header, HEVC (enhanced RTMP) sequence header, AAC config.
                (TagKind::Video, noise(&[0x17, 0, 0, 0, 0], 200)),
                (TagKind::Video, noise(&[0x90, b'h', b'v', b'c', b'1'], 200)),
                (TagKind::Audio, noise(&[0xAF, 0], 16)),
                // onMetaData with garbage for values.
                (TagKind::Script, onmetadata(&noise(&[0x08], 300))),
                // Keyframes and audio frames of noise.
                (TagKind::Video, noise(&[0x17, 1, 0, 0, 0], 4000)),
                (TagKind::Audio, noise(&[0xAF, 1], 300)),
                (TagKind::Video, noise(&[0x27, 1, 0, 0, 0], 4000)),
                // A short one: codec byte and nothing else.
                (TagKind::Video, vec![0x17]),
            ];
            for (index, (kind, data)) in tags.iter().enumerate() {
                let at = u32::try_from(index).unwrap() * 33;
                body.extend_from_slice(&flv::encode_tag(*kind, at, data).unwrap());
            }
            // A tag of type 7, which FLV does not have.
            body.extend_from_slice(&[7, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12]);
            (body, false)
        }
    };
    let origin = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("the relay connects");
        let request = read_request_head(&mut socket).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: video/x-flv\r\nconnection: close\r\n\r\n";
        // The relay may hang up before it has read everything.
        let _ = socket.write_all(head.as_bytes()).await;
        let _ = socket.write_all(&body).await;
        if !close {
            // Left open: only the relay giving up ends it.
            let mut sink = [0u8; 4096];
            while let Ok(1..) = socket.read(&mut sink).await {}
        }
        request
    });
    (url, origin)
}

/// An `onMetaData` script tag body: the name, then `value` as raw AMF0.
fn onmetadata(value: &[u8]) -> Vec<u8> {
    let mut data = vec![0x02, 0, 10];
    data.extend_from_slice(b"onMetaData");
    data.extend_from_slice(value);
    data
}

/// Reads an HTTP request head (up to its blank line, at most 16 KiB).
async fn read_request_head(socket: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert!(head.len() < 16 * 1024, "an endless request head");
        let read = socket.read(&mut byte).await.expect("the request");
        assert_eq!(read, 1, "the relay hung up mid-request");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// What a viewer of a failing relay saw.
#[derive(Debug)]
struct Watched {
    status: u16,
    /// Pictures among the tags received.
    video_frames: usize,
}

/// Requests `url` and reads the body until it ends (cleanly or not); whatever arrived must be
/// valid FLV: the node never passes on bytes it could not parse.
async fn watch_until_the_end(url: &str) -> Watched {
    let mut response = tokio::time::timeout(PATIENCE, reqwest::get(url))
        .await
        .expect("an answer in time")
        .expect("an answer");
    let status = response.status().as_u16();
    let mut watched = Watched {
        status,
        video_frames: 0,
    };
    if status != 200 {
        return watched;
    }
    let mut reader = FlvReader::new();
    tokio::time::timeout(PATIENCE, async {
        while let Ok(Some(bytes)) = response.chunk().await {
            reader.push(&bytes);
            while let Some(tag) = reader.next_tag().expect("the node sends valid FLV") {
                let picture = tag.kind == TagKind::Video && tag.data.get(1) == Some(&1);
                watched.video_frames += usize::from(picture);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the stream of a failed relay never ended: {url}"));
    watched
}

// ---------------------------------------------------------------------------------------------
// The stage: a node with a live show and a viewer watching it throughout
// ---------------------------------------------------------------------------------------------

/// A node, a gig published to it by ffmpeg, and a viewer watching that gig since before the
/// attack.
struct Stage {
    server: TestServer,
    creator: Client,
    gig: Gig,
    viewer: Watching,
    _publisher: FfmpegPublisher,
}

impl Stage {
    async fn start(backend: Backend) -> Stage {
        let server = TestServer::start(backend).await;
        let (creator, gig) = server.live_gig("onstage").await;
        // Real-time pace; every test is over long before these minutes of media are.
        let publisher = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 600);
        server
            .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
            .await;
        let viewer = Watching::start(&playback_url(&creator, &gig).await).await;
        Stage {
            server,
            creator,
            gig,
            viewer,
            _publisher: publisher,
        }
    }
}

/// How far a watching viewer has got.
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    video_frames: usize,
    last_video_ms: u32,
    max_step_ms: u32,
    ended: bool,
}

/// An FLV viewer reading on a task of its own, as a player does, whatever the test is doing
/// meanwhile; its frames are checked as they come (see [`FlvViewer`]).
struct Watching {
    progress: watch::Receiver<Progress>,
    task: JoinHandle<()>,
}

impl Watching {
    /// Opens `url` and waits for the first video frame.
    async fn start(url: &str) -> Watching {
        let mut viewer = FlvViewer::open(url).await;
        let (report, progress) = watch::channel(Progress::default());
        let task = tokio::spawn(async move {
            while viewer.next_tag().await.is_some() {
                report.send_replace(Progress {
                    video_frames: viewer.video_frames,
                    last_video_ms: viewer.last_video_ms,
                    max_step_ms: viewer.max_step_ms,
                    ended: false,
                });
            }
            report.send_modify(|progress| progress.ended = true);
            // Keep the sender, so the test reads `ended` rather than a dropped channel.
            std::future::pending::<()>().await;
        });
        let mut watching = Watching { progress, task };
        watching.frames(1).await;
        watching
    }

    /// Waits until `more` video frames have arrived, and returns the progress then.
    async fn frames(&mut self, more: usize) -> Progress {
        let target = self.progress.borrow().video_frames + more;
        let waited = tokio::time::timeout(
            PATIENCE,
            self.progress
                .wait_for(|p| p.video_frames >= target || p.ended),
        )
        .await
        .map(|progress| progress.map(|p| *p));
        match waited {
            Ok(Ok(progress)) => {
                assert!(!progress.ended, "the watched stream ended: {progress:?}");
                progress
            }
            Ok(Err(_)) => {
                // The viewer's task failed one of its checks: show why.
                match (&mut self.task).await {
                    Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                    other => panic!("the viewer stopped: {other:?}"),
                }
            }
            Err(_) => panic!(
                "no {more} video frames within {PATIENCE:?}: {:?}",
                *self.progress.borrow()
            ),
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The node answers `/healthz` with 200, and the viewer that watched throughout receives
/// another second of video without having missed a frame.
async fn assert_node_unharmed(server: &TestServer, viewer: &mut Watching) {
    let health = tokio::time::timeout(PATIENCE, reqwest::get(format!("{}/healthz", server.base)))
        .await
        .expect("/healthz answers in time")
        .expect("/healthz answers");
    assert_eq!(health.status(), 200, "/healthz");
    let health: serde_json::Value = health.json().await.expect("/healthz JSON");
    assert_eq!(health["status"], "ok", "{health}");
    let before = *viewer.progress.borrow();
    let after = viewer.frames(FRAMES_AFTER).await;
    assert!(after.last_video_ms > before.last_video_ms, "{after:?}");
    assert!(
        after.max_step_ms <= MAX_FRAME_STEP_MS,
        "the watching viewer missed frames: {after:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// Writes `bytes`, which the server may refuse at any point: a reset or a write that no longer
/// progresses ends the attempt, and what the server did is for the caller to assert.
async fn send_hostile(socket: &mut TcpStream, bytes: &[u8]) {
    let _ = tokio::time::timeout(PATIENCE, socket.write_all(bytes)).await;
}

/// A client frame: `first` (FIN, RSV bits, opcode), a 7-bit length, a mask and the masked
/// `payload` (under 126 bytes).
fn masked_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xFA, 0x21, 0x3D];
    let length = u8::try_from(payload.len())
        .ok()
        .filter(|l| *l < 126)
        .expect("short payload");
    let mut frame = vec![first, 0x80 | length];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
    frame
}

/// Enters `gig`'s chat as `client` and reads past the greeting.
async fn enter(server: &TestServer, client: &Client, gig: GigId) -> ChatSocket {
    let token = client.token().expect("signed in");
    let mut socket = ChatSocket::connect(&server.chat_url(gig), Some(token), TokenIn::Header)
        .await
        .unwrap_or_else(|(status, problem)| panic!("refused with {status}: {problem:?}"));
    socket
        .until(|m| matches!(m, ServerMessage::Stream(_)))
        .await;
    socket
}

fn is_join(message: &ServerMessage, handle: &str) -> bool {
    matches!(message, ServerMessage::Join(ChatUser { handle: h, .. }) if h == handle)
}

fn is_leave(message: &ServerMessage, handle: &str) -> bool {
    matches!(message, ServerMessage::Leave(ChatUser { handle: h, .. }) if h == handle)
}
