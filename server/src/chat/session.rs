//! One chat socket: joined to its room (held until its history is sent first), a writer task
//! that writes what the room could not write at once plus pings every 20 s and the close frame
//! at the end, and a reader task that handles what the client sends. Whichever ends first ends
//! the other.
//!
//! Bytes reach the socket through its [`Outbox`]: the room's fan-out writes each tick's frames
//! (encoded once for the whole room, [`wire`]) straight to the socket when it takes them, and
//! the writer waits out a socket that is full. The reader parses the client's frames with
//! tungstenite, whose automatic replies go to the same outbox. The socket's halves are generic
//! (`AsyncRead`, `AsyncWrite`), so unit tests drive a session over an in-memory pipe with
//! paused time; the server passes the upgraded connection and its TCP socket.

use std::sync::Arc;
use std::time::Duration;

use bookmygig_api::limits::{CHAT_FRAME_MAX_BYTES, CHAT_HISTORY_ON_JOIN};
use bookmygig_api::{AccountId, ChatErrorCode, ChatUser, GigId, ServerMessage, StreamStatus};
use bookmygig_store::{AccountRecord, GigState, Store};
use bytes::Bytes;
use futures::StreamExt as _;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use super::command::Commands;
use super::inbound::Refusal;
use super::outbox::Outbox;
use super::room::{Joining, Kick, Membership, Outbound};
use super::rooms::{ChatRooms, Seat};
use super::wire::{self, ReadSide};

/// Messages each gig's stored history keeps.
pub const HISTORY_KEPT: usize = 1_000;
/// How often the server pings.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// A peer that sends nothing (not even a pong) for this long is closed.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// Longest one write may take before the peer counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing socket waits for the peer's side of the close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Bytes read from a chat socket at a time: two of the largest frames allowed.
const READ_BUFFER_BYTES: usize = 2 * CHAT_FRAME_MAX_BYTES;

/// Close codes (RFC 6455 §7.4.1).
mod code {
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL: u16 = 1011;
}

/// Everything a session needs, gathered by the HTTP handler before the upgrade.
pub struct SessionContext {
    /// Where messages, bans and deletions are kept.
    pub store: Arc<dyn Store>,
    /// This node's rooms, for room-wide events.
    pub rooms: Arc<ChatRooms>,
    /// The place reserved in the gig's room.
    pub seat: Seat,
    /// The gig.
    pub gig: GigId,
    /// Its creator, the only moderator.
    pub creator: AccountId,
    /// The signed-in account.
    pub account: AccountRecord,
    /// The stream's state now, sent after `presence`.
    pub stream: StreamStatus,
    /// Turns true when the server stops.
    pub shutdown: watch::Receiver<bool>,
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The client closed or went away.
    ClientClosed,
    /// The room let the member go.
    Kicked(Kick),
    /// A frame over 4 KiB.
    TooBig,
    /// A frame RFC 6455 forbids (reserved bits or opcode, no mask, a bad control frame).
    ProtocolError,
    /// Nothing heard for [`SILENCE_LIMIT`].
    Silent,
    /// The server is stopping.
    Shutdown,
    /// The history could not be read.
    Unavailable,
    /// A read or write failed, or a write took too long.
    SocketFailed,
}

impl Ending {
    /// The close frame to send, if one is due.
    fn close_frame(self) -> Option<Bytes> {
        let (code, reason) = match self {
            Ending::ClientClosed | Ending::SocketFailed => return None,
            Ending::Kicked(Kick::Banned) => (code::POLICY, "banned from this chat by the host"),
            Ending::Kicked(Kick::TooSlow) => (code::POLICY, "too slow to keep up with the room"),
            Ending::Kicked(Kick::Cancelled) => (
                code::POLICY,
                "the host cancelled this gig; tickets are refunded",
            ),
            Ending::TooBig => (code::TOO_BIG, "frames are limited to 4 KiB"),
            Ending::ProtocolError => (code::PROTOCOL_ERROR, "frames must follow RFC 6455"),
            Ending::Silent => (code::POLICY, "nothing heard for 60 seconds"),
            Ending::Shutdown => (code::GOING_AWAY, "server shutting down"),
            Ending::Unavailable => (code::INTERNAL, "chat unavailable, try again"),
        };
        Some(wire::close(code, reason))
    }
}

/// Runs one chat socket, read from `read` and written to `write`, to its end, then gives its
/// seat back. With `direct` (the TCP socket under `write`), the room writes to it at once
/// whenever it takes the bytes; else every write goes through the session's writer.
pub async fn run<R, W>(
    read: R,
    mut write: W,
    direct: Option<Arc<TcpStream>>,
    mut ctx: SessionContext,
) -> Ending
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let user = ChatUser {
        handle: ctx.account.handle.clone(),
        display_name: ctx.account.display_name.clone(),
    };
    // In a cluster, events from other nodes must flow before the arrival is announced (the
    // newcomer's own `presence` comes back that way) and before the history is read.
    if let Err(e) = ctx.rooms.listening(ctx.gig).await {
        tracing::error!(gig = %ctx.gig, error = %e, "chat room cannot hear the other nodes");
        return close(&mut write, Ending::Unavailable).await;
    }
    // The current `stream` follows the newcomer's first `presence`.
    let greeting = Outbound::new(&ServerMessage::Stream(ctx.stream.clone()));
    let joining = Joining {
        greeting: Some(greeting),
        outbox: Some(Outbox::new(direct)),
        // Nothing is written before the history, which is read below.
        held: true,
    };
    let mut membership = match ctx.seat.join_with(user, joining) {
        Ok(membership) => membership,
        Err(kick) => return close(&mut write, Ending::Kicked(kick)).await,
    };
    if let Some(announced) = membership.announced.take()
        && announced.await != Ok(true)
    {
        tracing::error!(gig = %ctx.gig, "chat arrival could not be announced");
        return close(&mut write, Ending::Unavailable).await;
    }
    // A cancellation stored after the upgrade's check, but published before this node
    // listened (or before the room existed), is caught here.
    match ctx.store.gig(ctx.gig).await {
        Ok(Some(gig)) if gig.state == GigState::Cancelled => {
            return close(&mut write, Ending::Kicked(Kick::Cancelled)).await;
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(gig = %ctx.gig, error = %e, "cannot read the gig");
            return close(&mut write, Ending::Unavailable).await;
        }
    }
    // A ban stored on another node after the upgrade's check, but published before this node
    // listened, is caught here.
    match ctx.store.is_chat_banned(ctx.gig, ctx.account.id).await {
        Ok(false) => {}
        Ok(true) => return close(&mut write, Ending::Kicked(Kick::Banned)).await,
        Err(e) => {
            tracing::error!(gig = %ctx.gig, error = %e, "cannot read chat bans");
            return close(&mut write, Ending::Unavailable).await;
        }
    }
    // Joined (held) before reading the history, so no message falls between the two; one in
    // both is skipped by id in the room (`ChatRoom::open`).
    let history = match ctx.store.chat_history(ctx.gig, CHAT_HISTORY_ON_JOIN).await {
        Ok(records) => records.into_iter().map(|r| r.message).collect::<Vec<_>>(),
        Err(e) => {
            tracing::error!(gig = %ctx.gig, error = %e, "cannot read chat history");
            return close(&mut write, Ending::Unavailable).await;
        }
    };
    let room = Arc::clone(ctx.seat.room());
    let member = membership.id;
    let seen = history.iter().map(|m| m.id).collect();
    room.open(
        member,
        &Outbound::new(&ServerMessage::History { messages: history }),
        seen,
    );
    tracing::info!(gig = %ctx.gig, account = %ctx.account.id, "chat member joined");

    let config = frame_config();
    let replies = ReadSide::new(read, Arc::clone(&membership.outbox));
    let stream = WebSocketStream::from_raw_socket(replies, Role::Server, Some(config)).await;
    let (stop, stopped) = oneshot::channel();
    let mut writer = tokio::spawn(write_out(
        write,
        membership,
        Signals {
            shutdown: ctx.shutdown.clone(),
            stopped,
        },
    ));
    let mut reader = tokio::spawn(read_in(
        stream,
        Commands {
            store: Arc::clone(&ctx.store),
            rooms: Arc::clone(&ctx.rooms),
            room,
            member,
            gig: ctx.gig,
            creator: ctx.creator,
            account: ctx.account.clone(),
        },
    ));
    let ending = tokio::select! {
        read = &mut reader => {
            let ending = read.unwrap_or(Ending::SocketFailed);
            let _ = stop.send(ending);
            let _ = tokio::time::timeout(CLOSE_GRACE + WRITE_TIMEOUT, &mut writer).await;
            writer.abort();
            ending
        }
        written = &mut writer => {
            // Give the reader a moment to see the peer's close reply, then stop it.
            let _ = tokio::time::timeout(CLOSE_GRACE, &mut reader).await;
            reader.abort();
            written.unwrap_or(Ending::SocketFailed)
        }
    };
    tracing::info!(gig = %ctx.gig, account = %ctx.account.id, ?ending, "chat member left");
    drop(ctx.seat);
    ending
}

/// How the reader parses a client's frames: reads of `READ_BUFFER_BYTES`, messages and
/// frames of at most [`CHAT_FRAME_MAX_BYTES`]. Public for the `ws_frames` fuzz target.
pub fn frame_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(CHAT_FRAME_MAX_BYTES))
        .max_frame_size(Some(CHAT_FRAME_MAX_BYTES))
}

/// Writes a close frame (when `ending` calls for one) and returns `ending`.
async fn close<W>(write: &mut W, ending: Ending) -> Ending
where
    W: AsyncWrite + Unpin,
{
    if let Some(frame) = ending.close_frame() {
        let _ = write_all(write, &frame).await;
    }
    ending
}

/// What besides the outbox the writer listens to.
struct Signals {
    /// Turns true when the server stops.
    shutdown: watch::Receiver<bool>,
    /// The reader ended, and how.
    stopped: oneshot::Receiver<Ending>,
}

/// The writer: writes what the outbox holds (what the socket did not take at once) and the
/// pings, until told to stop; then the close frame.
async fn write_out<W>(mut write: W, mut membership: Membership, mut signals: Signals) -> Ending
where
    W: AsyncWrite + Unpin,
{
    let outbox = Arc::clone(&membership.outbox);
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    let ending = loop {
        let ending = tokio::select! {
            biased;
            ending = &mut signals.stopped => ending.unwrap_or(Ending::ClientClosed),
            kick = &mut membership.kicked => match kick {
                Ok(kick) => Ending::Kicked(kick),
                Err(_) => Ending::ClientClosed,
            },
            () = stopping(&mut signals.shutdown) => Ending::Shutdown,
            bytes = outbox.take() => {
                // Empty: a direct write failed and closed the outbox.
                if !bytes.is_empty() && write_all(&mut write, &bytes).await {
                    outbox.written(bytes);
                    continue;
                }
                Ending::SocketFailed
            }
            _ = ping.tick() => {
                if outbox.offer(&wire::ping()).is_ok() {
                    continue;
                }
                Ending::Kicked(Kick::TooSlow)
            }
        };
        break ending;
    };
    // What still waits goes out before the close frame, unless the peer is why it waits.
    let waiting = outbox.close();
    if !matches!(ending, Ending::Kicked(Kick::TooSlow) | Ending::SocketFailed) {
        let _ = write_all(&mut write, &waiting).await;
    }
    let ending = close(&mut write, ending).await;
    if matches!(ending, Ending::TooBig | Ending::ProtocolError) {
        // The reader is gone (the stream is unusable after a bad frame), so nobody
        // will see the peer's reply: linger briefly so the close frame is read before the
        // connection drops.
        tokio::time::sleep(CLOSE_GRACE / 4).await;
    }
    ending
}

/// Writes `bytes` within [`WRITE_TIMEOUT`]; false when the peer is gone or stuck.
async fn write_all<W>(write: &mut W, bytes: &[u8]) -> bool
where
    W: AsyncWrite + Unpin,
{
    let written = async {
        write.write_all(bytes).await?;
        write.flush().await
    };
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, written).await,
        Ok(Ok(()))
    )
}

/// Completes when the server stops (or is gone).
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

/// The reader: handles frames until the client goes, goes silent, or sends too much.
async fn read_in<R>(mut stream: WebSocketStream<ReadSide<R>>, reader: Commands) -> Ending
where
    R: AsyncRead + Unpin,
{
    loop {
        let frame = match tokio::time::timeout(SILENCE_LIMIT, stream.next()).await {
            Err(_) => return Ending::Silent,
            Ok(None) => return Ending::ClientClosed,
            Ok(Some(Err(tungstenite::Error::Capacity(_)))) => return Ending::TooBig,
            // A frame RFC 6455 forbids is answered with 1002 (§7.1.7), so the client knows
            // not to send it again; a peer that hung up without a close frame has just gone.
            Ok(Some(Err(tungstenite::Error::Protocol(error))))
                if error != tungstenite::error::ProtocolError::ResetWithoutClosingHandshake =>
            {
                return Ending::ProtocolError;
            }
            Ok(Some(Err(_))) => return Ending::SocketFailed,
            Ok(Some(Ok(frame))) => frame,
        };
        match frame {
            Message::Text(text) => {
                if let Err(refusal) = reader.handle(text.as_str()).await {
                    reader.reply(&refusal.to_message());
                }
            }
            Message::Binary(_) => reader.reply(
                &Refusal::new(
                    ChatErrorCode::BinaryFrame,
                    "binary frames are not part of the protocol; send JSON text frames",
                )
                .to_message(),
            ),
            // Pings are answered by tungstenite (through the writer); pongs only prove the
            // peer is there.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            // Keep reading: the next read completes the close handshake and ends the stream.
            Message::Close(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use bookmygig_store::EmbeddedStore;
    use tokio::io::{AsyncReadExt as _, DuplexStream};
    use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode;

    use bookmygig_api::ServerMessage;
    use time::OffsetDateTime;

    use super::*;
    use crate::chat::room::ChatRoom;
    use crate::chat::rooms::offline;

    /// Opcodes the tests send and expect.
    const TEXT: u8 = 0x1;
    const CLOSE: u8 = 0x8;
    const PING: u8 = 0x9;
    const PONG: u8 = 0xa;

    /// The client's end of a running session, spoken byte by byte, so a test decides whether
    /// (and when) the client answers.
    struct Peer {
        io: DuplexStream,
        session: tokio::task::JoinHandle<Ending>,
        _dir: tempfile::TempDir,
        stop: watch::Sender<bool>,
        room: Arc<ChatRoom>,
    }

    impl Peer {
        async fn start() -> Self {
            Self::start_with_pipe(1 << 16).await
        }

        /// A session whose pipe to the client holds `capacity` bytes.
        async fn start_with_pipe(capacity: usize) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
            let rooms = ChatRooms::new();
            let (gig, account) = (GigId::new(), AccountId::new());
            let (stop, shutdown) = watch::channel(false);
            // The room delivers what is broadcast at each tick.
            tokio::spawn(Arc::clone(&rooms).run_ticks(stop.subscribe()));
            let context = SessionContext {
                store,
                rooms: Arc::clone(&rooms),
                seat: rooms.take_seat(gig, account).unwrap(),
                gig,
                creator: AccountId::new(),
                account: AccountRecord {
                    id: account,
                    handle: "bob".into(),
                    display_name: "Bob".into(),
                    password_hash: String::new(),
                    created_at: OffsetDateTime::now_utc(),
                },
                stream: offline(gig),
                shutdown,
            };
            let room = Arc::clone(context.seat.room());
            let (server, io) = tokio::io::duplex(capacity);
            let (read, write) = tokio::io::split(server);
            let session = tokio::spawn(run(read, write, None, context));
            let mut peer = Peer {
                io,
                session,
                _dir: dir,
                stop,
                room,
            };
            for greeting in ["history", "presence", "stream"] {
                let (opcode, payload) = peer.next().await;
                assert_eq!(opcode, TEXT);
                let text = String::from_utf8(payload).unwrap();
                assert!(text.contains(greeting), "{text}");
            }
            peer
        }

        /// The next frame the server wrote: opcode and payload.
        async fn next(&mut self) -> (u8, Vec<u8>) {
            let mut head = [0; 2];
            self.io.read_exact(&mut head).await.unwrap();
            assert_eq!(head[0] & 0xf0, 0x80, "final frames, no extensions");
            assert_eq!(head[1] & 0x80, 0, "server frames are not masked");
            let len = match head[1] {
                126 => u64::from(self.io.read_u16().await.unwrap()),
                127 => self.io.read_u64().await.unwrap(),
                len => u64::from(len),
            };
            let mut payload = vec![0; usize::try_from(len).unwrap()];
            self.io.read_exact(&mut payload).await.unwrap();
            (head[0] & 0x0f, payload)
        }

        /// Sends a masked frame whose header announces `len` bytes, with `payload`.
        async fn send_announcing(&mut self, opcode: u8, len: u16, payload: &[u8]) {
            let mask = [0x12, 0x34, 0x56, 0x78];
            let header = FrameHeader {
                opcode: OpCode::from(opcode),
                mask: Some(mask),
                ..FrameHeader::default()
            };
            let mut bytes = Vec::new();
            header.format(u64::from(len), &mut bytes).unwrap();
            bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
            self.io.write_all(&bytes).await.unwrap();
        }

        async fn send(&mut self, opcode: u8, payload: &[u8]) {
            let len = u16::try_from(payload.len()).unwrap();
            self.send_announcing(opcode, len, payload).await;
        }
    }

    fn close_code((opcode, payload): (u8, Vec<u8>)) -> u16 {
        assert_eq!(opcode, CLOSE, "expected a close frame, got {payload:?}");
        u16::from_be_bytes([payload[0], payload[1]])
    }

    #[tokio::test(start_paused = true)]
    async fn pings_every_20_seconds_and_closes_a_peer_silent_for_60() {
        let start = Instant::now();
        let mut peer = Peer::start().await;
        assert_eq!(peer.next().await.0, PING);
        assert_eq!(start.elapsed().as_secs(), 20);
        peer.send(PONG, b"").await;
        assert_eq!(peer.next().await.0, PING);
        assert_eq!(peer.next().await.0, PING);
        assert_eq!(start.elapsed().as_secs(), 60);
        // Silent since the pong at 20 s (the ping due at the same instant may come first).
        let mut last = peer.next().await;
        if last.0 == PING {
            last = peer.next().await;
        }
        assert_eq!(close_code(last), code::POLICY);
        assert_eq!(start.elapsed().as_secs(), 80);
        assert_eq!(peer.session.await.unwrap(), Ending::Silent);
    }

    #[tokio::test(start_paused = true)]
    async fn an_oversized_frame_closes_with_1009() {
        let mut peer = Peer::start().await;
        peer.send_announcing(TEXT, 5000, b"{").await;
        assert_eq!(close_code(peer.next().await), code::TOO_BIG);
        assert_eq!(peer.session.await.unwrap(), Ending::TooBig);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_closes_as_going_away() {
        let mut peer = Peer::start().await;
        peer.stop.send(true).unwrap();
        assert_eq!(close_code(peer.next().await), code::GOING_AWAY);
        assert_eq!(peer.session.await.unwrap(), Ending::Shutdown);
    }

    #[tokio::test(start_paused = true)]
    async fn pings_are_answered_and_a_close_is_returned() {
        let mut peer = Peer::start().await;
        peer.send(PING, b"are you there").await;
        assert_eq!(peer.next().await, (PONG, b"are you there".to_vec()));
        let mut bye = 1000u16.to_be_bytes().to_vec();
        bye.extend_from_slice(b"bye");
        peer.send(CLOSE, &bye).await;
        assert_eq!(peer.next().await, (CLOSE, bye));
        assert_eq!(peer.session.await.unwrap(), Ending::ClientClosed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_reaches_only_the_sender_and_the_socket_stays() {
        let mut peer = Peer::start().await;
        peer.send(TEXT, b"{\"type\":\"shout\"}").await;
        let (opcode, payload) = peer.next().await;
        assert_eq!(opcode, TEXT);
        let refusal: ServerMessage = serde_json::from_slice(&payload).unwrap();
        assert!(
            matches!(refusal, ServerMessage::Error { .. }),
            "{refusal:?}"
        );
        peer.send(PING, b"").await;
        assert_eq!(peer.next().await, (PONG, Vec::new()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_stops_reading_is_let_go_without_holding_up_the_room() {
        let peer = Peer::start_with_pipe(4096).await;
        let text = "x".repeat(400);
        let frame = Outbound::new(&ServerMessage::Error {
            code: ChatErrorCode::RateLimited,
            detail: text,
        });
        // Far more than the pipe and the outbox hold; the room never waits.
        for _ in 0..(super::super::outbox::OUTBOX_LIMIT / 400 + 64) {
            peer.room.broadcast(frame.clone());
        }
        peer.room.flush();
        assert_eq!(peer.room.presence(), 0, "dropped by the room at its flush");
        let ending = peer.session.await.unwrap();
        assert!(
            matches!(ending, Ending::Kicked(Kick::TooSlow) | Ending::SocketFailed),
            "{ending:?}"
        );
    }
}
