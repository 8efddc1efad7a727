//! Writes the fuzz targets' seed corpora into `fuzz/corpus/<target>/`.
//!
//! ```text
//! cargo run --manifest-path fuzz/seedgen/Cargo.toml                      # synthetic seeds
//! cargo run --manifest-path fuzz/seedgen/Cargo.toml -- capture-rtmp PORT  # then publish to it
//! cargo run --manifest-path fuzz/seedgen/Cargo.toml -- from-flv FILE      # ffmpeg's FLV
//! ```
//!
//! Seeds of the streaming targets start with the mode byte that chooses how the rest is split
//! into reads (0: one read).

use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use base64::Engine as _;
use bookmygig_media::amf0::{Amf0Value, encode};
use bookmygig_media::flv::{FlvReader, TagKind, encode_tag, file_header};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ClientSession, ClientSessionConfig, ClientSessionResult, PublishRequestType, ServerSession,
    ServerSessionConfig, ServerSessionEvent, ServerSessionResult, StreamMetadata,
};
use rml_rtmp::time::RtmpTimestamp;
use sha2::Sha256;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::OpCode;

/// Largest seed kept from a capture: enough for connect, publish, metadata, the sequence
/// headers and the first frames.
const CAPTURE_MAX: usize = 24 * 1024;

type Error = Box<dyn std::error::Error>;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target)
}

fn write(target: &str, name: &str, bytes: &[u8]) -> Result<(), Error> {
    let dir = corpus(target);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(name), bytes)?;
    println!("{target}/{name}: {} bytes", bytes.len());
    Ok(())
}

/// With the mode byte in front.
fn moded(mode: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![mode];
    out.extend_from_slice(bytes);
    out
}

// A real x264 configuration (High, level 3.1, 1280x720) and AAC-LC 44.1 kHz stereo.
const SPS: &[u8] = &[
    0x67, 0x64, 0x00, 0x1F, 0xAC, 0xD9, 0x40, 0x50, 0x05, 0xBB, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
    0x10, 0x00, 0x00, 0x03, 0x03, 0xC0, 0xF1, 0x83, 0x19, 0x60,
];
const PPS: &[u8] = &[0x68, 0xEB, 0xE3, 0xCB, 0x22, 0xC0];
const ASC: &[u8] = &[0x12, 0x10];

fn avc_record() -> Vec<u8> {
    let mut record = vec![1, SPS[1], SPS[2], SPS[3], 0xFF, 0xE1];
    record.extend_from_slice(&(SPS.len() as u16).to_be_bytes());
    record.extend_from_slice(SPS);
    record.push(1);
    record.extend_from_slice(&(PPS.len() as u16).to_be_bytes());
    record.extend_from_slice(PPS);
    record
}

fn avc_sequence_header() -> Vec<u8> {
    let mut tag = vec![0x17, 0, 0, 0, 0];
    tag.extend_from_slice(&avc_record());
    tag
}

/// The same record in an enhanced-RTMP header (`avc1` fourcc, SequenceStart).
fn enhanced_avc_sequence_header() -> Vec<u8> {
    let mut tag = vec![0x90];
    tag.extend_from_slice(b"avc1");
    tag.extend_from_slice(&avc_record());
    tag
}

fn avc_keyframe() -> Vec<u8> {
    vec![
        0x17, 1, 0, 0, 0x42, 0, 0, 0, 5, 0x65, 0x88, 0x84, 0x00, 0x33,
    ]
}

fn avc_interframe() -> Vec<u8> {
    vec![0x27, 1, 0, 0, 0x42, 0, 0, 0, 4, 0x41, 0x9A, 0x02, 0x04]
}

fn aac_sequence_header() -> Vec<u8> {
    let mut tag = vec![0xAF, 0];
    tag.extend_from_slice(ASC);
    tag
}

fn aac_frame() -> Vec<u8> {
    vec![0xAF, 1, 0x21, 0x10, 0x04, 0x60, 0x8C, 0x1C]
}

fn on_metadata() -> Vec<u8> {
    let number = |name: &str, n: f64| (name.to_owned(), Amf0Value::Number(n));
    encode(&[
        Amf0Value::String("@setDataFrame".into()),
        Amf0Value::String("onMetaData".into()),
        Amf0Value::EcmaArray(vec![
            number("duration", 0.0),
            number("width", 1280.0),
            number("height", 720.0),
            number("videodatarate", 2500.0),
            number("framerate", 30.0),
            number("videocodecid", 7.0),
            number("audiodatarate", 160.0),
            number("audiosamplerate", 44100.0),
            number("audiosamplesize", 16.0),
            ("stereo".into(), Amf0Value::Boolean(true)),
            number("audiocodecid", 10.0),
            (
                "encoder".into(),
                Amf0Value::String("obs-output module (libobs version 30.1.2)".into()),
            ),
            number("filesize", 0.0),
        ]),
    ])
}

/// Moves the client's packets to the server and the server's answers back until both are
/// quiet, accepting every request; returns the bytes the client sent.
struct Pair {
    client: ClientSession,
    server: ServerSession,
    sent: Vec<u8>,
}

impl Pair {
    fn new() -> Result<Self, Error> {
        // Handshake: client p0+p1, server answers, client answers.
        let mut client_hs = Handshake::new(PeerType::Client);
        let mut server_hs = Handshake::new(PeerType::Server);
        let mut sent = client_hs.generate_outbound_p0_and_p1()?;
        let mut to_client = match server_hs.process_bytes(&sent)? {
            HandshakeProcessResult::InProgress { response_bytes } => response_bytes,
            HandshakeProcessResult::Completed { response_bytes, .. } => response_bytes,
        };
        loop {
            let to_server = match client_hs.process_bytes(&to_client)? {
                HandshakeProcessResult::InProgress { response_bytes } => response_bytes,
                HandshakeProcessResult::Completed { response_bytes, .. } => {
                    sent.extend_from_slice(&response_bytes);
                    server_hs.process_bytes(&response_bytes)?;
                    break;
                }
            };
            sent.extend_from_slice(&to_server);
            to_client = match server_hs.process_bytes(&to_server)? {
                HandshakeProcessResult::InProgress { response_bytes } => response_bytes,
                HandshakeProcessResult::Completed { response_bytes, .. } => response_bytes,
            };
        }
        let (client, client_results) = ClientSession::new(ClientSessionConfig::new())?;
        let (server, server_results) = ServerSession::new(ServerSessionConfig::new())?;
        let mut pair = Pair {
            client,
            server,
            sent,
        };
        pair.to_server_results(client_results)?;
        pair.to_client_results(server_results)?;
        Ok(pair)
    }

    fn send(&mut self, result: ClientSessionResult) -> Result<(), Error> {
        self.to_server_results(vec![result])
    }

    fn to_server_results(&mut self, results: Vec<ClientSessionResult>) -> Result<(), Error> {
        for result in results {
            if let ClientSessionResult::OutboundResponse(packet) = result {
                self.sent.extend_from_slice(&packet.bytes);
                let answers = self.server.handle_input(&packet.bytes)?;
                self.to_client_results(answers)?;
            }
        }
        Ok(())
    }

    fn to_client_results(&mut self, results: Vec<ServerSessionResult>) -> Result<(), Error> {
        let mut queue = std::collections::VecDeque::from(results);
        while let Some(result) = queue.pop_front() {
            match result {
                ServerSessionResult::OutboundResponse(packet) => {
                    let answers = self.client.handle_input(&packet.bytes)?;
                    self.to_server_results(answers)?;
                }
                ServerSessionResult::RaisedEvent(event) => match event {
                    ServerSessionEvent::ConnectionRequested { request_id, .. }
                    | ServerSessionEvent::PublishStreamRequested { request_id, .. }
                    | ServerSessionEvent::PlayStreamRequested { request_id, .. } => {
                        queue.extend(self.server.accept_request(request_id)?);
                    }
                    _ => {}
                },
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(())
    }
}

fn rtmp_sessions() -> Result<(), Error> {
    // A publisher: connect to live, publish, metadata, sequence headers, frames.
    let mut pair = Pair::new()?;
    let connect = pair.client.request_connection("live".into())?;
    pair.send(connect)?;
    let publish = pair
        .client
        .request_publishing("sk_0123456789abcdef".into(), PublishRequestType::Live)?;
    pair.send(publish)?;
    let mut metadata = StreamMetadata::new();
    metadata.video_width = Some(1280);
    metadata.video_height = Some(720);
    metadata.video_codec_id = Some(7);
    metadata.video_frame_rate = Some(30.0);
    metadata.video_bitrate_kbps = Some(2500);
    metadata.audio_codec_id = Some(10);
    metadata.audio_bitrate_kbps = Some(160);
    metadata.audio_sample_rate = Some(44100);
    metadata.audio_channels = Some(2);
    metadata.audio_is_stereo = Some(true);
    metadata.encoder = Some("obs-output module (libobs version 30.1.2)".into());
    let meta = pair.client.publish_metadata(&metadata)?;
    pair.send(meta)?;
    let media: [(bool, Vec<u8>, u32); 6] = [
        (true, avc_sequence_header(), 0),
        (false, aac_sequence_header(), 0),
        (true, avc_keyframe(), 0),
        (false, aac_frame(), 23),
        (true, avc_interframe(), 33),
        (true, enhanced_avc_sequence_header(), 66),
    ];
    for (video, data, ms) in media {
        let data = Bytes::from(data);
        let result = if video {
            pair.client
                .publish_video_data(data, RtmpTimestamp::new(ms), false)?
        } else {
            pair.client
                .publish_audio_data(data, RtmpTimestamp::new(ms), false)?
        };
        pair.send(result)?;
    }
    let stop = pair.client.stop_publishing()?;
    pair.to_server_results(stop)?;
    let publish = pair.sent.clone();
    write("rtmp_server", "rml-publish", &moded(0, &publish))?;
    // The same bytes read in small pieces and one byte at a time.
    write("rtmp_server", "rml-publish-split", &moded(2, &publish))?;
    write("rtmp_server", "rml-publish-bytewise", &moded(1, &publish))?;

    // A player: connect, play.
    let mut pair = Pair::new()?;
    let connect = pair.client.request_connection("live".into())?;
    pair.send(connect)?;
    let play = pair
        .client
        .request_playback("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b?token=abc.def".into())?;
    pair.send(play)?;
    let stop = pair.client.stop_playback()?;
    pair.to_server_results(stop)?;
    write("rtmp_server", "rml-play", &moded(0, &pair.sent))?;
    Ok(())
}

fn media_seeds() -> Result<(), Error> {
    let mut flv = file_header(true, true).to_vec();
    let tags: [(TagKind, Vec<u8>, u32); 6] = [
        (TagKind::Script, on_metadata(), 0),
        (TagKind::Video, avc_sequence_header(), 0),
        (TagKind::Audio, aac_sequence_header(), 0),
        (TagKind::Video, avc_keyframe(), 0),
        (TagKind::Audio, aac_frame(), 23),
        (TagKind::Video, avc_interframe(), 33),
    ];
    for (kind, data, ms) in &tags {
        flv.extend_from_slice(&encode_tag(*kind, *ms, data)?);
    }
    write("flv_reader", "synthetic", &moded(0, &flv))?;
    write("flv_reader", "synthetic-split", &moded(3, &flv))?;

    write("avc_config", "record", &avc_record())?;
    write("avc_config", "sequence-header", &avc_sequence_header())?;
    write(
        "avc_config",
        "enhanced-sequence-header",
        &enhanced_avc_sequence_header(),
    )?;
    write("avc_config", "keyframe", &avc_keyframe())?;

    write("aac_config", "asc-lc", ASC)?;
    write("aac_config", "sequence-header", &aac_sequence_header())?;
    // HE-AAC v2 with explicit signalling, escaped object type, explicit 24-bit rate.
    write("aac_config", "asc-he-v2", &[0xEC, 0x8A, 0x22, 0x98, 0x00])?;
    write(
        "aac_config",
        "asc-escaped",
        &[0xF8, 0x7E, 0x0B, 0xB8, 0x00, 0x40],
    )?;
    write("aac_config", "frame", &aac_frame())?;

    write("amf0", "on-metadata", &on_metadata())?;
    let connect = encode(&[
        Amf0Value::String("connect".into()),
        Amf0Value::Number(1.0),
        Amf0Value::Object(vec![
            ("app".into(), Amf0Value::String("live".into())),
            ("type".into(), Amf0Value::String("nonprivate".into())),
            (
                "flashVer".into(),
                Amf0Value::String("FMLE/3.0 (compatible; FMSc/1.0)".into()),
            ),
            (
                "tcUrl".into(),
                Amf0Value::String("rtmp://127.0.0.1:1935/live".into()),
            ),
        ]),
    ]);
    write("amf0", "connect", &connect)?;
    let odd = encode(&[Amf0Value::StrictArray(vec![
        Amf0Value::Null,
        Amf0Value::Undefined,
        Amf0Value::Date(1.7e12),
        Amf0Value::LongString("long".into()),
        Amf0Value::StrictArray(vec![Amf0Value::Boolean(false)]),
    ])]);
    write("amf0", "every-type", &odd)?;
    Ok(())
}

/// A masked client frame (as every client must send).
fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, opcode, Some([0x37, 0xFA, 0x21, 0x3D]), payload)
}

/// An unmasked server frame.
fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(true, opcode, None, payload)
}

/// A WebSocket frame, its header written by tungstenite's own codec.
fn frame(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        is_final: fin,
        opcode: OpCode::from(opcode),
        mask,
        ..FrameHeader::default()
    };
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, so neither can the header's formatting.
    let _ = header.format(payload.len() as u64, &mut out);
    match mask {
        Some(mask) => out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m)),
        None => out.extend_from_slice(payload),
    }
    out
}

const SAY: &str = r#"{"type":"say","text":"hello from the front row 👋"}"#;
const SERVER_MESSAGE: &str = r#"{"type":"message","id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","author":"ada","display_name":"Ada L.","text":"hi all","sent_at":"2026-01-01T20:00:00.123456Z"}"#;

fn chat_seeds() -> Result<(), Error> {
    let inbound = [
        ("say", SAY),
        ("ban", r#"{"type":"ban","user":"troll_42"}"#),
        ("unban", r#"{"type":"unban","user":"troll_42"}"#),
        (
            "delete",
            r#"{"type":"delete","id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}"#,
        ),
        ("unknown", r#"{"type":"shout","text":"x"}"#),
    ];
    for (name, json) in inbound {
        write("chat_inbound", name, json.as_bytes())?;
    }

    let mut frames = client_frame(true, 1, SAY.as_bytes());
    frames.extend(client_frame(true, 9, b"ping"));
    // A fragmented text message with a ping between its fragments.
    frames.extend(client_frame(false, 1, br#"{"type":"say","#));
    frames.extend(client_frame(true, 9, b""));
    frames.extend(client_frame(true, 0, br#""text":"fragmented"}"#));
    frames.extend(client_frame(true, 2, &[1, 2, 3]));
    frames.extend(client_frame(true, 8, &[0x03, 0xE8, b'b', b'y', b'e']));
    write("ws_frames", "session", &moded(0, &frames))?;
    write("ws_frames", "session-split", &moded(2, &frames))?;
    let big = format!(r#"{{"type":"say","text":"{}"}}"#, "x".repeat(300));
    write(
        "ws_frames",
        "medium-length",
        &moded(0, &client_frame(true, 1, big.as_bytes())),
    )?;

    let server_messages = [
        ("message", SERVER_MESSAGE.to_owned()),
        (
            "history",
            format!(r#"{{"type":"history","messages":[{SERVER_MESSAGE}]}}"#),
        ),
        (
            "join",
            r#"{"type":"join","handle":"ada","display_name":"Ada L."}"#.to_owned(),
        ),
        ("presence", r#"{"type":"presence","count":3}"#.to_owned()),
        (
            "deleted",
            r#"{"type":"deleted","id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}"#.to_owned(),
        ),
        (
            "error",
            r#"{"type":"error","code":"rate_limited","detail":"slow down"}"#.to_owned(),
        ),
    ];
    let mut stream = Vec::new();
    for (name, json) in &server_messages {
        write("client_chat", name, json.as_bytes())?;
        stream.extend(server_frame(1, json.as_bytes()));
    }
    stream.extend(server_frame(9, b""));
    stream.extend(server_frame(8, &[0x03, 0xE9]));
    write("client_chat", "frames", &moded(0, &stream))?;
    write("client_chat", "frames-split", &moded(5, &stream))?;
    Ok(())
}

fn http_seeds() -> Result<(), Error> {
    let bodies = [
        (
            "new-account",
            r#"{"handle":"ada_l","display_name":"Ada Lovelace","password":"correct horse battery"}"#,
        ),
        (
            "new-session",
            r#"{"handle":"ada_l","password":"correct horse battery"}"#,
        ),
        (
            "new-gig",
            r#"{"creator_name":"Ada","title":"Analytical jokes","description":"An evening of\nengine humour.","category":"comedy","price":5000000,"starts_at":"2026-01-02T20:00:00Z","ends_at":"2026-01-02T21:30:00Z","capacity":200,"payment_pointer":"$wallet.example/ada","micropayment_rate":360000}"#,
        ),
        (
            "gig-patch",
            r#"{"title":"Analytical jokes, again","ends_at":"2026-01-01T03:00:00Z","capacity":null}"#,
        ),
        ("top-up", r#"{"amount":25000000}"#),
    ];
    for (name, json) in bodies {
        write("rest_bodies", name, json.as_bytes())?;
    }

    let key = [7u8; 32];
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let sign = |key: &[u8], payload: &[u8]| -> Result<String, Error> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key)?;
        mac.update(payload);
        Ok(format!(
            "{}.{}",
            engine.encode(payload),
            engine.encode(mac.finalize().into_bytes())
        ))
    };
    // A playback token for gig 01…01, account 02…02, expiring in 2027 (the target's key).
    let mut payload = vec![1u8; 16];
    payload.extend_from_slice(&[2u8; 16]);
    payload.extend_from_slice(&1_800_000_000i64.to_be_bytes());
    write("tokens", "playback-token", sign(&key, &payload)?.as_bytes())?;
    // The raw payload too: the target signs inputs itself to get past the MAC.
    write("tokens", "playback-payload", &payload)?;
    let mut cursor = 1_767_300_000_000_000i64.to_be_bytes().to_vec();
    cursor.extend_from_slice(&[3u8; 16]);
    let cursor = engine.encode(&cursor);
    write("tokens", "cursor", cursor.as_bytes())?;
    write(
        "tokens",
        "catalogue-query",
        format!("category=comedy&q=late+night%20jokes&status=live&cursor={cursor}&limit=20")
            .as_bytes(),
    )?;
    write(
        "tokens",
        "idempotency-key",
        b"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
    )?;
    write("tokens", "money", b"$7.50")?;
    write("tokens", "pointer", b"$wallet.example/ada")?;

    let sse = concat!(
        ": keep-alive\n\n",
        "event: pending\ndata: {\"state\":\"pending\",\"total\":0}\n\n",
        "event: started\r\ndata: {\"state\":\"started\",\"recipient\":\"https://wallet.example/ada\",\"total\":100}\r\n\r\n",
        "event: stopped\ndata: {\"state\":\"stopped\",\"reason\":\"wallet_empty\",\"total\":360}\n\n",
    );
    write("client_sse", "channel", &moded(0, sse.as_bytes()))?;
    write("client_sse", "channel-bytewise", &moded(1, sse.as_bytes()))?;
    Ok(())
}

/// Accepts one RTMP connection on `port`, answers as a server accepting everything, and keeps
/// the first [`CAPTURE_MAX`] bytes the peer sent as the `rtmp_server` seed `name`.
fn capture_rtmp(port: u16, name: &str) -> Result<(), Error> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    eprintln!("listening on rtmp://127.0.0.1:{port}/live; publish to it");
    let (mut socket, _) = listener.accept()?;
    socket.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut handshake = Handshake::new(PeerType::Server);
    let mut session: Option<ServerSession> = None;
    let mut received = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    while received.len() < CAPTURE_MAX {
        let n = match socket.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let bytes = &buffer[..n];
        received.extend_from_slice(bytes);
        let mut results = Vec::new();
        match &mut session {
            None => match handshake.process_bytes(bytes)? {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    socket.write_all(&response_bytes)?;
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    socket.write_all(&response_bytes)?;
                    let (mut new, first) = ServerSession::new(ServerSessionConfig::new())?;
                    results.extend(first);
                    results.extend(new.handle_input(&remaining_bytes)?);
                    session = Some(new);
                }
            },
            Some(session) => results.extend(session.handle_input(bytes)?),
        }
        let Some(session) = &mut session else {
            continue;
        };
        let mut queue = std::collections::VecDeque::from(results);
        while let Some(result) = queue.pop_front() {
            match result {
                ServerSessionResult::OutboundResponse(packet) => socket.write_all(&packet.bytes)?,
                ServerSessionResult::RaisedEvent(
                    ServerSessionEvent::ConnectionRequested { request_id, .. }
                    | ServerSessionEvent::PublishStreamRequested { request_id, .. }
                    | ServerSessionEvent::PlayStreamRequested { request_id, .. },
                ) => queue.extend(session.accept_request(request_id)?),
                _ => {}
            }
        }
    }
    received.truncate(CAPTURE_MAX);
    write("rtmp_server", name, &moded(0, &received))?;
    write(
        "rtmp_server",
        &format!("{name}-split"),
        &moded(4, &received),
    )?;
    Ok(())
}

/// Seeds from an FLV file: its first tags as a stream, and its sequence headers and metadata.
fn from_flv(path: &str) -> Result<(), Error> {
    let bytes = std::fs::read(path)?;
    let mut reader = FlvReader::new();
    reader.push(&bytes);
    let mut end = 13;
    let (mut avc, mut aac, mut meta) = (false, false, false);
    while let Some(tag) = reader.next_tag()? {
        end += 15 + tag.data.len();
        match tag.kind {
            TagKind::Video if !avc && tag.data.get(1) == Some(&0) => {
                avc = true;
                write("avc_config", "ffmpeg-sequence-header", &tag.data)?;
            }
            TagKind::Audio if !aac && tag.data.get(1) == Some(&0) => {
                aac = true;
                write("aac_config", "ffmpeg-sequence-header", &tag.data)?;
            }
            TagKind::Script if !meta => {
                meta = true;
                write("amf0", "ffmpeg-on-metadata", &tag.data)?;
            }
            _ => {}
        }
        if end > CAPTURE_MAX {
            break;
        }
    }
    let stream = &bytes[..end.min(bytes.len())];
    write("flv_reader", "ffmpeg", &moded(0, stream))?;
    write("flv_reader", "ffmpeg-split", &moded(5, stream))?;
    Ok(())
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {
            rtmp_sessions()?;
            media_seeds()?;
            chat_seeds()?;
            http_seeds()
        }
        ["capture-rtmp", port] => capture_rtmp(port.parse()?, "ffmpeg-publish"),
        ["from-flv", path] => from_flv(path),
        _ => Err("usage: seedgen [capture-rtmp PORT | from-flv FILE]".into()),
    }
}
