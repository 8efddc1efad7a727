//! A minimal WebSocket client for the chat members: the HTTP/1.1 upgrade, a parser for the
//! server's (unmasked) frames straight out of one reusable read buffer, and masked client frames.
//!
//! tokio-tungstenite cost the load generator more CPU per frame than the server it measures
//! spent (waker registration per poll, buffer splitting, a copy and a UTF-8 check per message):
//! every cycle of that was taken from the server on the shared cores and showed up as latency.
//! Here a member reads into its buffer and parses every complete frame in place; the frame
//! headers are read and written with tungstenite's own `FrameHeader` codec.

use std::io::Cursor;

use anyhow::{Context, anyhow, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode;

/// Bytes of a member's read buffer; it grows for a larger frame (e.g. a long `history`) and
/// shrinks back once that is handled.
pub const READ_BUFFER_BYTES: usize = 16 * 1024;
/// Largest frame or reassembled message accepted (tungstenite's default message limit).
const MAX_MESSAGE_BYTES: usize = 64 << 20;
/// Largest handshake response head accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Frame opcodes (RFC 6455, section 5.2).
const CONTINUATION: u8 = 0x0;
/// A text frame.
const TEXT: u8 = 0x1;
/// A binary frame.
const BINARY: u8 = 0x2;
/// A close frame.
const CLOSE: u8 = 0x8;
/// A ping frame.
const PING: u8 = 0x9;
/// A pong frame.
const PONG: u8 = 0xA;

/// One message or control frame from the server, borrowed from the reader's buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A text message's bytes (not checked for UTF-8: the members only look for ASCII in them).
    Text(&'a [u8]),
    /// A binary message's bytes.
    Binary(&'a [u8]),
    /// A close frame's payload: empty, or a status code and a reason.
    Close(&'a [u8]),
    /// A ping's payload, to be returned in a pong.
    Ping(&'a [u8]),
    /// A pong (ignored by the members).
    Pong,
}

/// The server's frames out of one reusable buffer: bytes are read into [`FrameReader::spare`],
/// noted with [`FrameReader::filled`], and [`FrameReader::next_frame`] parses them in place.
pub struct FrameReader {
    /// Read buffer; `buf[start..end]` is received but not yet parsed.
    buf: Vec<u8>,
    /// Where the unparsed bytes start.
    start: usize,
    /// Where the received bytes end.
    end: usize,
    /// Bytes the buffer must hold from `start` for the incomplete frame there (0: unknown).
    need: usize,
    /// A fragmented message being reassembled.
    message: Vec<u8>,
    /// The opcode of the fragmented message being reassembled, if any.
    fragmented: Option<u8>,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    /// An empty reader with a [`READ_BUFFER_BYTES`] buffer.
    pub fn new() -> Self {
        Self {
            buf: vec![0; READ_BUFFER_BYTES],
            start: 0,
            end: 0,
            need: 0,
            message: Vec::new(),
            fragmented: None,
        }
    }

    /// The free space to read into: the unparsed bytes are moved to the front first, and the
    /// buffer grows when an incomplete frame needs more room than it has (or shrinks back to
    /// its usual size once empty).
    pub fn spare(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > READ_BUFFER_BYTES {
                self.buf = vec![0; READ_BUFFER_BYTES];
            }
        } else if self.start > 0 {
            // Only a partial frame is left when more is read: a short copy.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let want = if self.end == self.buf.len() {
            // Full (of a frame larger than it, or a long handshake head): at least double.
            self.need.max(self.buf.len() * 2)
        } else {
            self.need
        };
        if want > self.buf.len() {
            self.buf.resize(want, 0);
        }
        &mut self.buf[self.end..]
    }

    /// Notes that `n` bytes were read into the slice [`FrameReader::spare`] gave.
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// The received bytes not parsed yet (for the handshake response).
    pub fn unparsed(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Drops the first `n` unparsed bytes (the handshake response's head).
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// The next complete message or control frame in the buffer, `None` when more bytes must
    /// be read first. Fragmented messages are reassembled (control frames between their
    /// fragments are returned as they come).
    ///
    /// # Errors
    /// When the server breaks the protocol: a masked frame, reserved bits or opcodes, a
    /// fragmented or oversized control frame, a continuation out of place, or a frame larger
    /// than 64 MiB.
    pub fn next_frame(&mut self) -> anyhow::Result<Option<Frame<'_>>> {
        loop {
            let bytes = &self.buf[self.start..self.end];
            let Some((header, len)) = frame_header(bytes)? else {
                self.need = 0;
                return Ok(None);
            };
            let total = header + len;
            if bytes.len() < total {
                self.need = total;
                return Ok(None);
            }
            let (first, payload) = (bytes[0], self.start + header..self.start + total);
            self.start += total;
            self.need = 0;
            let fin = first & 0x80 != 0;
            let opcode = first & 0x0F;
            match opcode {
                TEXT | BINARY if self.fragmented.is_some() => {
                    bail!("a new message inside a fragmented one")
                }
                TEXT | BINARY if fin => {
                    let payload = &self.buf[payload];
                    return Ok(Some(if opcode == TEXT {
                        Frame::Text(payload)
                    } else {
                        Frame::Binary(payload)
                    }));
                }
                TEXT | BINARY => {
                    self.message.clear();
                    self.message.extend_from_slice(&self.buf[payload]);
                    self.fragmented = Some(opcode);
                }
                CONTINUATION => {
                    let Some(opcode) = self.fragmented else {
                        bail!("a continuation frame without a fragmented message");
                    };
                    if self.message.len() + len > MAX_MESSAGE_BYTES {
                        bail!("a fragmented message over {MAX_MESSAGE_BYTES} bytes");
                    }
                    self.message.extend_from_slice(&self.buf[payload]);
                    if fin {
                        self.fragmented = None;
                        return Ok(Some(if opcode == TEXT {
                            Frame::Text(&self.message)
                        } else {
                            Frame::Binary(&self.message)
                        }));
                    }
                }
                CLOSE | PING | PONG => {
                    if !fin || len > 125 {
                        bail!("a fragmented or oversized control frame (opcode {opcode:#x})");
                    }
                    let payload = &self.buf[payload];
                    return Ok(Some(match opcode {
                        CLOSE => Frame::Close(payload),
                        PING => Frame::Ping(payload),
                        _ => Frame::Pong,
                    }));
                }
                _ => bail!("a frame with the reserved opcode {opcode:#x}"),
            }
        }
    }
}

/// The header length and payload length of the server frame at the start of `bytes`; `None`
/// while the header is incomplete.
///
/// # Errors
/// On reserved bits, a masked frame or a length over 64 MiB.
fn frame_header(bytes: &[u8]) -> anyhow::Result<Option<(usize, usize)>> {
    let mut cursor = Cursor::new(bytes);
    let Some((header, len)) = FrameHeader::parse(&mut cursor)? else {
        return Ok(None);
    };
    if header.rsv1 || header.rsv2 || header.rsv3 {
        bail!("a frame with reserved bits set ({:#04x})", bytes[0]);
    }
    if header.mask.is_some() {
        bail!("a masked frame from the server");
    }
    // The cursor stopped after the header: at most 14 bytes.
    let header_len = cursor.position() as usize;
    match usize::try_from(len) {
        Ok(len) if len <= MAX_MESSAGE_BYTES => Ok(Some((header_len, len))),
        _ => bail!("a frame of {len} bytes"),
    }
}

/// Appends a masked client frame (FIN set) with `opcode` and `payload` to `out`.
pub fn encode_client_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    let header = FrameHeader {
        opcode: OpCode::from(opcode),
        mask: Some(mask),
        ..FrameHeader::default()
    };
    // Writing into a Vec cannot fail, so neither can the header's formatting.
    let _ = header.format(payload.len() as u64, out);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
}

/// A masked text frame with `text`, appended to `out` (a fresh random mask each).
pub fn text_frame(out: &mut Vec<u8>, text: &str) {
    encode_client_frame(out, TEXT, text.as_bytes(), rand::random());
}

/// A masked pong returning a ping's `payload`, appended to `out`.
pub fn pong_frame(out: &mut Vec<u8>, payload: &[u8]) {
    encode_client_frame(out, PONG, payload, rand::random());
}

/// A masked close frame with status 1000 (normal closure), appended to `out`.
pub fn close_frame(out: &mut Vec<u8>) {
    encode_client_frame(out, CLOSE, &1000u16.to_be_bytes(), rand::random());
}

/// Describes a close frame's payload for the member's error: its status code and reason.
pub fn describe_close(payload: &[u8]) -> String {
    match payload {
        [a, b, reason @ ..] => format!(
            "status {}, reason {:?}",
            u16::from_be_bytes([*a, *b]),
            String::from_utf8_lossy(reason)
        ),
        _ => "no status".to_owned(),
    }
}

/// `ws://HOST:PORT/PATH?QUERY` split into the address to connect to (also the `Host` header)
/// and the request target.
///
/// # Errors
/// When the URL is not `ws://`.
fn split_url(url: &str) -> anyhow::Result<(&str, String)> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| anyhow!("only ws:// URLs are supported, got {url}"))?;
    Ok(match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('/') => (&rest[..at], rest[at..].to_owned()),
        // `ws://host?query`: the path is `/`.
        Some(at) => (&rest[..at], format!("/{}", &rest[at..])),
        None => (rest, "/".to_owned()),
    })
}

/// The HTTP/1.1 upgrade request for `target` on `host` with the client's `key`.
fn upgrade_request(host: &str, target: &str, key: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// The length of the handshake response's head at the start of `bytes` (through the blank
/// line), once complete: `None` while it is not.
///
/// # Errors
/// When the status is not 101 (the error names the status line), `Sec-WebSocket-Accept` is
/// missing or not `accept`, or the head is too long.
pub fn parse_handshake_response(bytes: &[u8], accept: &str) -> anyhow::Result<Option<usize>> {
    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        if bytes.len() > MAX_HEAD_BYTES {
            bail!("a handshake response head over {MAX_HEAD_BYTES} bytes");
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let mut parts = status.split(' ');
    if !matches!(
        (parts.next(), parts.next()),
        (Some(version), Some("101")) if version.starts_with("HTTP/1.")
    ) {
        bail!("the server answered {status:?} instead of 101 Switching Protocols");
    }
    let got = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-accept"))
        .map(|(_, value)| value.trim());
    match got {
        Some(got) if got == accept => Ok(Some(end + 4)),
        Some(got) => bail!("Sec-WebSocket-Accept is {got:?}, expected {accept:?}"),
        None => bail!("no Sec-WebSocket-Accept in the handshake response"),
    }
}

/// Connects to the WebSocket `url` (`ws://` only): TCP with `TCP_NODELAY`, then the upgrade.
/// The reader returned holds whatever the server sent after its response (its first frames).
///
/// # Errors
/// When connecting or the handshake fails.
pub async fn connect(url: &str) -> anyhow::Result<(TcpStream, FrameReader)> {
    let (host, target) = split_url(url)?;
    let mut stream = TcpStream::connect(host)
        .await
        .with_context(|| format!("connecting to {host}"))?;
    stream.set_nodelay(true).context("setting TCP_NODELAY")?;
    let key = generate_key();
    let accept = derive_accept_key(key.as_bytes());
    stream
        .write_all(upgrade_request(host, &target, &key).as_bytes())
        .await
        .context("sending the upgrade request")?;
    let mut reader = FrameReader::new();
    loop {
        let n = stream
            .read(reader.spare())
            .await
            .context("reading the handshake response")?;
        if n == 0 {
            bail!("the server closed the connection during the handshake");
        }
        reader.filled(n);
        if let Some(head) = parse_handshake_response(reader.unparsed(), &accept)? {
            reader.consume(head);
            return Ok((stream, reader));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unmasked server frame with `first` (FIN and opcode) and `payload`.
    fn server_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![first];
        match payload.len() {
            len @ 0..=125 => out.push(len as u8),
            len @ 126..=0xFFFF => {
                out.push(126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    /// Feeds `bytes` into `reader` as one read.
    fn feed(reader: &mut FrameReader, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let spare = reader.spare();
            let n = spare.len().min(bytes.len());
            spare[..n].copy_from_slice(&bytes[..n]);
            reader.filled(n);
            bytes = &bytes[n..];
        }
    }

    /// Every frame now complete in `reader`, as owned copies.
    fn drain(reader: &mut FrameReader) -> Vec<(char, Vec<u8>)> {
        let mut frames = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            frames.push(match frame {
                Frame::Text(b) => ('t', b.to_vec()),
                Frame::Binary(b) => ('b', b.to_vec()),
                Frame::Close(b) => ('c', b.to_vec()),
                Frame::Ping(b) => ('i', b.to_vec()),
                Frame::Pong => ('o', Vec::new()),
            });
        }
        frames
    }

    #[test]
    fn all_three_length_encodings() {
        for len in [0, 1, 125, 126, 300, 0xFFFF, 0x1_0000, 100_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut reader = FrameReader::new();
            feed(&mut reader, &server_frame(0x82, &payload));
            assert_eq!(drain(&mut reader), vec![('b', payload)], "length {len}");
            // Grown for the large one, then back to its usual size.
            reader.spare();
            assert_eq!(reader.buf.len(), READ_BUFFER_BYTES);
        }
    }

    #[test]
    fn several_frames_in_one_read() {
        let mut bytes = server_frame(0x81, b"one");
        bytes.extend(server_frame(0x81, b"two"));
        bytes.extend(server_frame(0x8A, b""));
        bytes.extend(server_frame(0x81, b"three"));
        let mut reader = FrameReader::new();
        feed(&mut reader, &bytes);
        assert_eq!(
            drain(&mut reader),
            vec![
                ('t', b"one".to_vec()),
                ('t', b"two".to_vec()),
                ('o', Vec::new()),
                ('t', b"three".to_vec()),
            ]
        );
    }

    #[test]
    fn a_frame_split_across_reads() {
        let mut bytes = server_frame(0x81, b"first");
        bytes.extend(server_frame(0x81, &[b'x'; 300]));
        // Split everywhere, including inside the 16-bit length.
        for cut in 0..bytes.len() {
            let mut reader = FrameReader::new();
            feed(&mut reader, &bytes[..cut]);
            let mut frames = drain(&mut reader);
            feed(&mut reader, &bytes[cut..]);
            frames.extend(drain(&mut reader));
            assert_eq!(
                frames,
                vec![('t', b"first".to_vec()), ('t', vec![b'x'; 300])],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_frame_larger_than_the_buffer_across_reads() {
        let payload = vec![7u8; 3 * READ_BUFFER_BYTES];
        let bytes = server_frame(0x81, &payload);
        let mut reader = FrameReader::new();
        for chunk in bytes.chunks(1000) {
            assert!(drain(&mut reader).is_empty());
            feed(&mut reader, chunk);
        }
        assert_eq!(drain(&mut reader), vec![('t', payload)]);
    }

    #[test]
    fn fragmented_messages_are_reassembled() {
        let mut bytes = server_frame(0x01, b"hel");
        // A ping between fragments is returned as it comes.
        bytes.extend(server_frame(0x89, b"p"));
        bytes.extend(server_frame(0x00, b"lo "));
        bytes.extend(server_frame(0x80, b"world"));
        bytes.extend(server_frame(0x02, b"\x01"));
        bytes.extend(server_frame(0x80, b"\x02"));
        bytes.extend(server_frame(0x81, b"after"));
        let mut reader = FrameReader::new();
        feed(&mut reader, &bytes);
        assert_eq!(
            drain(&mut reader),
            vec![
                ('i', b"p".to_vec()),
                ('t', b"hello world".to_vec()),
                ('b', vec![1, 2]),
                ('t', b"after".to_vec()),
            ]
        );
    }

    #[test]
    fn protocol_errors() {
        for bytes in [
            server_frame(0x80, b"continuation without a start"),
            server_frame(0xC1, b"rsv1"),
            server_frame(0x83, b"reserved opcode"),
            server_frame(0x09, b"fragmented ping"),
            server_frame(0x88, &[0; 126]),
            vec![0x81, 0x81, 1, 2, 3, 4, 5],
            [server_frame(0x01, b"a"), server_frame(0x81, b"b")].concat(),
        ] {
            let mut reader = FrameReader::new();
            feed(&mut reader, &bytes);
            let failed = loop {
                match reader.next_frame() {
                    Ok(Some(_)) => {}
                    Ok(None) => break false,
                    Err(_) => break true,
                }
            };
            assert!(failed, "{bytes:?}");
        }
    }

    #[test]
    fn close_frames() {
        let mut reader = FrameReader::new();
        feed(&mut reader, &server_frame(0x88, b"\x03\xe9bye"));
        let Some(Frame::Close(payload)) = reader.next_frame().unwrap() else {
            panic!("not a close");
        };
        assert_eq!(describe_close(payload), "status 1001, reason \"bye\"");
        assert_eq!(describe_close(b""), "no status");
    }

    /// Unmasks the client frame `bytes`: its opcode and payload (checking FIN and the mask bit).
    fn unmask(bytes: &[u8]) -> (u8, Vec<u8>) {
        assert_eq!(bytes[0] & 0xF0, 0x80, "FIN, no reserved bits");
        assert_eq!(bytes[1] & 0x80, 0x80, "masked");
        let (len, at) = match bytes[1] & 0x7F {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                10,
            ),
            len => (len as usize, 2),
        };
        let mask = &bytes[at..at + 4];
        let payload = &bytes[at + 4..];
        assert_eq!(payload.len(), len);
        let payload = payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m);
        (bytes[0] & 0x0F, payload.collect())
    }

    #[test]
    fn a_ping_is_answered_with_a_masked_pong() {
        let mut reader = FrameReader::new();
        feed(&mut reader, &server_frame(0x89, b"are you there"));
        let Some(Frame::Ping(payload)) = reader.next_frame().unwrap() else {
            panic!("not a ping");
        };
        let mut out = Vec::new();
        encode_client_frame(&mut out, PONG, payload, [1, 2, 3, 4]);
        let mut expected = vec![0x8A, 0x80 | 13, 1, 2, 3, 4];
        expected.extend(
            b"are you there"
                .iter()
                .zip([1, 2, 3, 4].iter().cycle())
                .map(|(b, m)| b ^ m),
        );
        assert_eq!(out, expected);
        let mut out = Vec::new();
        pong_frame(&mut out, payload);
        assert_eq!(unmask(&out), (PONG, b"are you there".to_vec()));
    }

    #[test]
    fn client_frames_of_every_length() {
        for len in [0, 125, 126, 0xFFFF, 0x1_0000] {
            let payload = vec![b'a'; len];
            let mut out = Vec::new();
            encode_client_frame(&mut out, TEXT, &payload, [9, 8, 7, 6]);
            assert_eq!(unmask(&out), (TEXT, payload));
        }
        let mut out = Vec::new();
        text_frame(&mut out, "40");
        assert_eq!(unmask(&out), (TEXT, b"40".to_vec()));
        let mut out = Vec::new();
        close_frame(&mut out);
        assert_eq!(unmask(&out), (CLOSE, vec![0x03, 0xE8]));
    }

    #[test]
    fn handshake_responses() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let accept = derive_accept_key(key.as_bytes());
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
             sec-websocket-accept: {accept}\r\n\r\n"
        );
        // The first frame came with the response: kept in the reader.
        let frame = server_frame(0x81, br#"{"type":"history","messages":[]}"#);
        let bytes = [head.as_bytes(), &frame].concat();
        for cut in 0..head.len() {
            assert_eq!(
                parse_handshake_response(&bytes[..cut], &accept).unwrap(),
                None
            );
        }
        assert_eq!(
            parse_handshake_response(&bytes, &accept).unwrap(),
            Some(head.len())
        );
        let mut reader = FrameReader::new();
        feed(&mut reader, &bytes);
        let len = parse_handshake_response(reader.unparsed(), &accept)
            .unwrap()
            .unwrap();
        reader.consume(len);
        assert_eq!(
            drain(&mut reader),
            vec![('t', br#"{"type":"history","messages":[]}"#.to_vec())]
        );

        let refused = "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n";
        let error = parse_handshake_response(refused.as_bytes(), &accept).unwrap_err();
        assert!(
            error.to_string().contains("HTTP/1.1 401 Unauthorized"),
            "{error}"
        );
        let wrong = "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\n\r\n";
        assert!(parse_handshake_response(wrong.as_bytes(), &accept).is_err());
        let missing = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        assert!(parse_handshake_response(missing.as_bytes(), &accept).is_err());
    }

    #[test]
    fn urls_and_requests() {
        assert_eq!(
            split_url("ws://127.0.0.1:1/api/v1/gigs/g/chat?token=t").unwrap(),
            ("127.0.0.1:1", "/api/v1/gigs/g/chat?token=t".to_owned())
        );
        assert_eq!(
            split_url("ws://127.0.0.1:2/socket.io/?EIO=4&transport=websocket").unwrap(),
            (
                "127.0.0.1:2",
                "/socket.io/?EIO=4&transport=websocket".to_owned()
            )
        );
        assert_eq!(split_url("ws://h:3").unwrap(), ("h:3", "/".to_owned()));
        assert_eq!(split_url("ws://h:4?q").unwrap(), ("h:4", "/?q".to_owned()));
        assert!(split_url("wss://h").is_err());
        assert_eq!(
            upgrade_request("h:1", "/x?y=1", "k"),
            "GET /x?y=1 HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
    }
}
