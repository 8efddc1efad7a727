//! The chat socket's bytes (RFC 6455): the frames the server writes, encoded once and written
//! as they are to every member, and the reading side, which hands the client's frames to
//! tungstenite and its automatic replies (pong, close) to the socket's writer.
//!
//! Server frames are never masked, so one encoding serves every socket: a room's fan-out is
//! then a copy of prepared bytes and one write per member, with no per-member framing.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use super::outbox::Outbox;

/// A final, unmasked frame of `opcode` carrying `payload`.
fn frame(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(payload.len() + 10);
    let header = FrameHeader {
        opcode,
        ..FrameHeader::default()
    };
    // Writing into a Vec cannot fail, so neither can the header's formatting.
    let _ = header.format(payload.len() as u64, &mut bytes);
    bytes.extend_from_slice(payload);
    bytes
}

/// A text frame carrying `text`.
pub fn text(text: &str) -> Bytes {
    Bytes::from(frame(OpCode::Data(Data::Text), text.as_bytes()))
}

/// An empty ping.
pub fn ping() -> Bytes {
    Bytes::from(frame(OpCode::Control(Control::Ping), &[]))
}

/// A close frame with `code` and `reason` (at most 123 bytes, as control frames allow).
pub fn close(code: u16, reason: &str) -> Bytes {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = Vec::with_capacity(2 + end);
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    Bytes::from(frame(OpCode::Control(Control::Close), &payload))
}

/// The read half of a chat socket as tungstenite sees it: reads come from the socket, and the
/// few bytes tungstenite writes on its own (a pong for each ping, the reply to a close) go to
/// the socket's [`Outbox`], in order with everything else written to it.
///
/// A peer that keeps pinging without reading overflows the outbox and its socket fails.
#[derive(Debug)]
pub struct ReadSide<R> {
    read: R,
    replies: Arc<Outbox>,
}

impl<R> ReadSide<R> {
    /// Reads from `read`; what tungstenite writes goes to `replies`.
    pub fn new(read: R, replies: Arc<Outbox>) -> Self {
        ReadSide { read, replies }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for ReadSide<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().read).poll_read(cx, buf)
    }
}

impl<R: Unpin> AsyncWrite for ReadSide<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // tungstenite writes whole frames from its buffer in one call; taking all of it keeps
        // each frame in one piece among the outbox's bytes.
        Poll::Ready(match self.replies.offer(buf) {
            Ok(()) => Ok(buf.len()),
            Err(_) => Err(io::Error::other(
                "the peer sends faster than it reads what it is sent",
            )),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The frames in `bytes` as written by the server (unmasked, final): opcode and payload.
#[cfg(test)]
pub fn parse_frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut cursor = std::io::Cursor::new(bytes);
    let mut frames = Vec::new();
    while let Some((header, len)) = FrameHeader::parse(&mut cursor).unwrap() {
        let start = usize::try_from(cursor.position()).unwrap();
        let end = start + usize::try_from(len).unwrap();
        frames.push((u8::from(header.opcode), bytes[start..end].to_vec()));
        cursor.set_position(end as u64);
    }
    assert_eq!(cursor.position() as usize, bytes.len(), "whole frames only");
    frames
}

#[cfg(test)]
mod tests {
    use futures::{SinkExt as _, StreamExt as _};
    use tokio::io::AsyncWriteExt as _;
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::Role;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    use super::*;

    /// What a real WebSocket client reads from `bytes`.
    async fn client_reads(bytes: &[u8], frames: usize) -> Vec<Message> {
        let (mut server, client) = tokio::io::duplex(1 << 20);
        server.write_all(bytes).await.unwrap();
        let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let mut seen = Vec::new();
        for _ in 0..frames {
            seen.push(client.next().await.unwrap().unwrap());
        }
        seen
    }

    #[tokio::test]
    async fn a_client_reads_every_length_encoding() {
        let short = "x".repeat(125);
        let medium = "é".repeat(40_000);
        let long = "y".repeat(70_000);
        let mut bytes = Vec::new();
        for t in ["", &short, &medium, &long] {
            bytes.extend_from_slice(&text(t));
        }
        bytes.extend_from_slice(&ping());
        let seen = client_reads(&bytes, 5).await;
        assert_eq!(seen[0], Message::text(""));
        assert_eq!(seen[1], Message::text(short));
        assert_eq!(seen[2], Message::text(medium));
        assert_eq!(seen[3], Message::text(long));
        assert_eq!(seen[4], Message::Ping(Bytes::new()));
    }

    #[tokio::test]
    async fn close_frames_carry_code_and_a_reason_cut_at_a_character() {
        let reason = "ü".repeat(100);
        let seen = client_reads(&close(1009, &reason), 1).await;
        let Message::Close(Some(close)) = &seen[0] else {
            panic!("{seen:?}");
        };
        assert_eq!(close.code, CloseCode::Size);
        assert_eq!(close.reason.as_str(), "ü".repeat(61));
    }

    #[tokio::test]
    async fn replies_go_to_the_outbox_and_a_flood_fails_the_socket() {
        let (server, client) = tokio::io::duplex(1 << 20);
        let outbox = Outbox::new(None);
        let mut reader = WebSocketStream::from_raw_socket(
            ReadSide::new(server, Arc::clone(&outbox)),
            Role::Server,
            None,
        )
        .await;
        let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        client
            .send(Message::Ping(Bytes::from_static(b"hi")))
            .await
            .unwrap();
        client.send(Message::text("hello")).await.unwrap();
        assert_eq!(
            reader.next().await.unwrap().unwrap(),
            Message::Ping(Bytes::from_static(b"hi"))
        );
        assert_eq!(
            reader.next().await.unwrap().unwrap(),
            Message::text("hello")
        );
        // The pong went to the outbox, not to the socket.
        assert_eq!(outbox.drain(), [0x8a, 2, b'h', b'i']);
        assert_eq!(parse_frames(&text("hé")), [(0x1, "hé".as_bytes().to_vec())]);
        let big = Bytes::from(vec![7; 125]);
        for _ in 0..(super::super::outbox::OUTBOX_LIMIT / 127 + 8) {
            client.send(Message::Ping(big.clone())).await.unwrap();
        }
        let mut failed = false;
        while let Some(read) = reader.next().await {
            if read.is_err() {
                failed = true;
                break;
            }
        }
        assert!(
            failed,
            "unread pongs beyond the outbox's limit fail the socket"
        );
    }
}
