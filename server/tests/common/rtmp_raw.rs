//! A raw RTMP peer on a plain TCP socket: the client side of the handshake and hand-built
//! chunks, for tests that send what no real client would.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::TestServer;

/// Size of C1, S1, S2 and C2 in the RTMP handshake.
pub const HANDSHAKE_PACKET: usize = 1536;
/// The chunk size both sides use until one sends Set Chunk Size.
pub const DEFAULT_CHUNK_SIZE: usize = 128;
/// Longest wait for something the server should do at once, on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// A TCP connection to `server`'s RTMP port.
pub async fn rtmp_connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(("127.0.0.1", server.rtmp_port))
        .await
        .expect("the RTMP port accepts")
}

/// Plays the client side of the simple RTMP handshake: C0+C1 (version 3, zeros), then, once
/// S0+S1+S2 are in, C2 echoing S1.
pub async fn rtmp_handshake(socket: &mut TcpStream) {
    let mut c0c1 = vec![0u8; 1 + HANDSHAKE_PACKET];
    c0c1[0] = 3;
    let answer = send_c0c1(socket, &c0c1).await;
    assert_eq!(answer[0], 3, "S0");
    socket
        .write_all(&answer[1..=HANDSHAKE_PACKET])
        .await
        .expect("C2");
}

/// Sends `c0c1` and returns the server's S0+S1+S2.
pub async fn send_c0c1(socket: &mut TcpStream, c0c1: &[u8]) -> Vec<u8> {
    socket.write_all(c0c1).await.expect("C0+C1");
    let mut answer = vec![0u8; 1 + 2 * HANDSHAKE_PACKET];
    tokio::time::timeout(PATIENCE, socket.read_exact(&mut answer))
        .await
        .expect("S0+S1+S2 in time")
        .expect("S0+S1+S2");
    answer
}

/// A type-0 chunk header (basic header for chunk streams 2 to 63): timestamp 0, a message of
/// `length` bytes (24 bits) and `type_id` on message stream `stream_id`.
pub fn type0_header(csid: u8, length: u32, type_id: u8, stream_id: u32) -> Vec<u8> {
    assert!((2..64).contains(&csid), "one-byte basic header");
    assert!(length <= 0xFF_FFFF, "24-bit message length");
    let mut header = vec![csid, 0, 0, 0];
    header.extend_from_slice(&length.to_be_bytes()[1..]);
    header.push(type_id);
    header.extend_from_slice(&stream_id.to_le_bytes());
    header
}

/// `body` as one message in chunks of [`DEFAULT_CHUNK_SIZE`]: a type-0 header on the first
/// chunk, a type-3 continuation header before each later one.
pub fn chunked_message(csid: u8, type_id: u8, stream_id: u32, body: &[u8]) -> Vec<u8> {
    let length = u32::try_from(body.len()).expect("a 24-bit message");
    let mut bytes = type0_header(csid, length, type_id, stream_id);
    bytes.reserve(body.len() + body.len() / DEFAULT_CHUNK_SIZE + 1);
    for (index, chunk) in body.chunks(DEFAULT_CHUNK_SIZE).enumerate() {
        if index > 0 {
            bytes.push(0xC0 | csid);
        }
        bytes.extend_from_slice(chunk);
    }
    bytes
}

/// Reads (and discards) what the server still sends until it closes the connection.
pub async fn assert_closed_by_server(socket: &mut TcpStream) {
    let mut buffer = vec![0u8; 64 * 1024];
    tokio::time::timeout(PATIENCE, async {
        while let Ok(1..) = socket.read(&mut buffer).await {}
    })
    .await
    .expect("the server closes the connection");
}

/// An RTMP player that asks to play `url` (`rtmp://HOST:PORT/live/{gig}?token=…`) with rml_rtmp's
/// client session on a socket with a small receive buffer, and then never reads again: the
/// server's writes to it stall once the small window and the server's send buffer are full.
/// Returns the socket (its local address names it in the server's log) once the play request
/// is accepted.
#[allow(dead_code)] // Not every test binary that includes `common` plays RTMP.
pub async fn stalled_rtmp_player(url: &str) -> TcpStream {
    use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
    use rml_rtmp::sessions::{
        ClientSession, ClientSessionConfig, ClientSessionEvent, ClientSessionResult,
    };

    let rest = url.strip_prefix("rtmp://").expect("an rtmp:// URL");
    let (address, path) = rest.split_once('/').expect("a path");
    let stream_key = path.strip_prefix("live/").expect("the live app");
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    // Before connecting, so that the window we advertise is small from the start.
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut socket = socket
        .connect(address.parse().expect("HOST:PORT"))
        .await
        .expect("connect");

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

    let (mut session, _) = ClientSession::new(ClientSessionConfig::new()).expect("session");
    let connect = session
        .request_connection("live".into())
        .expect("connect request");
    let ClientSessionResult::OutboundResponse(packet) = connect else {
        panic!("connect is a packet");
    };
    socket.write_all(&packet.bytes).await.expect("connect");
    let mut input = leftover;
    tokio::time::timeout(PATIENCE, async {
        loop {
            for result in session.handle_input(&input).expect("server messages") {
                match result {
                    ClientSessionResult::OutboundResponse(packet) => {
                        socket.write_all(&packet.bytes).await.expect("reply");
                    }
                    ClientSessionResult::RaisedEvent(
                        ClientSessionEvent::ConnectionRequestAccepted,
                    ) => {
                        let play = session
                            .request_playback(stream_key.to_owned())
                            .expect("play request");
                        let ClientSessionResult::OutboundResponse(packet) = play else {
                            panic!("play is a packet");
                        };
                        socket.write_all(&packet.bytes).await.expect("play");
                    }
                    // rml_rtmp's client asks for a stream first and plays once it has one.
                    ClientSessionResult::RaisedEvent(
                        ClientSessionEvent::PlaybackRequestAccepted,
                    ) => return,
                    _ => {}
                }
            }
            let read = socket.read(&mut buffer).await.expect("connect answer");
            assert!(
                read > 0,
                "the server hung up before accepting the connection"
            );
            input = buffer[..read].to_vec();
        }
    })
    .await
    .expect("the server accepts the play request in time");
    socket
}
