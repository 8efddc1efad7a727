//! One chat socket: a writer task that sends the member's queue (history first, pings every
//! 20 s, the close frame at the end) and a reader task that handles what the client sends.
//! Whichever ends first ends the other.
//!
//! The socket is generic (a `Stream` + `Sink` of axum WebSocket messages), so unit tests drive
//! a session over channels with paused time; the server passes axum's `WebSocket`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use bookmygig_api::limits::CHAT_HISTORY_ON_JOIN;
use bookmygig_api::{
    AccountId, ChatErrorCode, ChatMessage, ChatUser, ClientMessage, GigId, MessageId, Money,
    ServerMessage, StreamStatus,
};
use bookmygig_store::{AccountRecord, ChatRecord, LedgerAccount, Store};
use futures::{Sink, SinkExt as _, Stream, StreamExt as _};
use time::OffsetDateTime;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::inbound::{self, Refusal};
use super::room::{ChatRoom, Kick, MemberId, Membership, Outbound};
use super::rooms::{ChatRooms, RoomEvent, Seat};
use super::text::{self, TextRefusal};

/// Messages each gig's stored history keeps.
pub const HISTORY_KEPT: usize = 1_000;
/// How often the server pings.
pub const PING_EVERY: Duration = Duration::from_secs(20);
/// A peer that sends nothing (not even a pong) for this long is closed.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// Longest one write may take before the peer counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most queued deliveries written with one flush.
const WRITE_BATCH: usize = 64;
/// How long a closing socket waits for the peer's side of the close handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long a message whose id was in the newcomer's history may still arrive from the room.
const DEDUPE_WINDOW: Duration = Duration::from_secs(10);

/// Close codes (RFC 6455 §7.4.1).
mod code {
    pub const GOING_AWAY: u16 = 1001;
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
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            Ending::ClientClosed | Ending::SocketFailed => return None,
            Ending::Kicked(Kick::Banned) => (code::POLICY, "banned from this chat by the host"),
            Ending::Kicked(Kick::TooSlow) => (code::POLICY, "too slow to keep up with the room"),
            Ending::TooBig => (code::TOO_BIG, "frames are limited to 4 KiB"),
            Ending::Silent => (code::POLICY, "nothing heard for 60 seconds"),
            Ending::Shutdown => (code::GOING_AWAY, "server shutting down"),
            Ending::Unavailable => (code::INTERNAL, "chat unavailable, try again"),
        };
        Some(CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        })
    }
}

/// Runs one chat socket to its end, then gives its seat back.
pub async fn run<S>(socket: S, mut ctx: SessionContext) -> Ending
where
    S: Stream<Item = Result<Message, axum::Error>>
        + Sink<Message, Error = axum::Error>
        + Send
        + Unpin
        + 'static,
{
    let (mut sink, stream) = socket.split();
    let user = ChatUser {
        handle: ctx.account.handle.clone(),
        display_name: ctx.account.display_name.clone(),
    };
    // In a cluster, events from other nodes must flow before the arrival is announced (the
    // newcomer's own `presence` comes back that way) and before the history is read.
    if let Err(e) = ctx.rooms.listening(ctx.gig).await {
        tracing::error!(gig = %ctx.gig, error = %e, "chat room cannot hear the other nodes");
        return close(&mut sink, Ending::Unavailable).await;
    }
    // The current `stream` follows the newcomer's first `presence`.
    let greeting = Outbound::new(&ServerMessage::Stream(ctx.stream.clone()));
    let mut membership = match ctx.seat.join_greeted(user, Some(greeting)) {
        Ok(membership) => membership,
        Err(kick) => return close(&mut sink, Ending::Kicked(kick)).await,
    };
    if let Some(announced) = membership.announced.take()
        && announced.await != Ok(true)
    {
        tracing::error!(gig = %ctx.gig, "chat arrival could not be announced");
        return close(&mut sink, Ending::Unavailable).await;
    }
    // A ban stored on another node after the upgrade's check, but published before this node
    // listened, is caught here.
    match ctx.store.is_chat_banned(ctx.gig, ctx.account.id).await {
        Ok(false) => {}
        Ok(true) => return close(&mut sink, Ending::Kicked(Kick::Banned)).await,
        Err(e) => {
            tracing::error!(gig = %ctx.gig, error = %e, "cannot read chat bans");
            return close(&mut sink, Ending::Unavailable).await;
        }
    }
    // Joined before reading the history, so no message falls between the two; one in both is
    // skipped by id in the writer.
    let history = match ctx.store.chat_history(ctx.gig, CHAT_HISTORY_ON_JOIN).await {
        Ok(records) => records.into_iter().map(|r| r.message).collect::<Vec<_>>(),
        Err(e) => {
            tracing::error!(gig = %ctx.gig, error = %e, "cannot read chat history");
            return close(&mut sink, Ending::Unavailable).await;
        }
    };
    let room = Arc::clone(ctx.seat.room());
    let member = membership.id;
    tracing::info!(gig = %ctx.gig, account = %ctx.account.id, "chat member joined");

    let (stop, stopped) = oneshot::channel();
    let mut writer = tokio::spawn(write(
        sink,
        history,
        membership,
        ctx.shutdown.clone(),
        stopped,
    ));
    let mut reader = tokio::spawn(read(
        stream,
        Reader {
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

/// Sends a close frame (when `ending` calls for one) and returns `ending`.
async fn close<K>(sink: &mut K, ending: Ending) -> Ending
where
    K: Sink<Message, Error = axum::Error> + Unpin,
{
    if let Some(frame) = ending.close_frame() {
        let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
    }
    ending
}

/// The writer: history, then the member's queue and pings, until told to stop.
async fn write<K>(
    mut sink: K,
    history: Vec<ChatMessage>,
    mut membership: Membership,
    mut shutdown: watch::Receiver<bool>,
    mut stopped: oneshot::Receiver<Ending>,
) -> Ending
where
    K: Sink<Message, Error = axum::Error> + Unpin,
{
    let mut seen: HashSet<MessageId> = history.iter().map(|m| m.id).collect();
    let dedupe_until = Instant::now() + DEDUPE_WINDOW;
    let first = Outbound::new(&ServerMessage::History { messages: history });
    if !send(&mut sink, Message::Text(first.frame)).await {
        return Ending::SocketFailed;
    }
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let ending = tokio::select! {
            biased;
            ending = &mut stopped => ending.unwrap_or(Ending::ClientClosed),
            kick = &mut membership.kicked => match kick {
                Ok(kick) => Ending::Kicked(kick),
                Err(_) => Ending::ClientClosed,
            },
            () = stopping(&mut shutdown) => Ending::Shutdown,
            delivery = membership.queue.recv() => {
                let Some(delivery) = delivery else { return Ending::ClientClosed };
                // Deliveries already waiting go out with it: buffered, then one flush (one
                // write system call), so a member that fell behind catches up cheaply.
                let mut next = Some(delivery);
                let mut batch = 0;
                let mut fed = true;
                'feeding: while let Some(delivery) = next.take() {
                    batch += 1;
                    if batch < WRITE_BATCH {
                        next = membership.queue.try_recv().ok();
                    }
                    for out in delivery.frames() {
                        if !seen.is_empty() {
                            if Instant::now() > dedupe_until {
                                seen = HashSet::new();
                            } else if out.message().is_some_and(|id| seen.remove(&id)) {
                                continue;
                            }
                        }
                        // A copy of its own rather than a clone of the shared frame: at
                        // thousands of members the shared reference count, bumped and dropped
                        // by every writer on every core, costs more than the small copy.
                        let own = Utf8Bytes::from(out.frame.as_str().to_owned());
                        if !feed(&mut sink, Message::Text(own)).await {
                            fed = false;
                            break 'feeding;
                        }
                    }
                }
                if fed && flush(&mut sink).await {
                    continue;
                }
                Ending::SocketFailed
            }
            _ = ping.tick() => {
                if send(&mut sink, Message::Ping(bytes::Bytes::new())).await {
                    continue;
                }
                Ending::SocketFailed
            }
        };
        let ending = close(&mut sink, ending).await;
        if ending == Ending::TooBig {
            // The reader is gone (the stream is unusable after an oversized frame), so nobody
            // will see the peer's reply: linger briefly so the close frame is read before the
            // connection drops.
            tokio::time::sleep(CLOSE_GRACE / 4).await;
        }
        return ending;
    }
}

/// Buffers one message for the next flush within [`WRITE_TIMEOUT`] (the sink writes on its own
/// only when its buffer is full); false when the peer is gone or stuck.
async fn feed<K>(sink: &mut K, message: Message) -> bool
where
    K: Sink<Message, Error = axum::Error> + Unpin,
{
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, sink.feed(message)).await,
        Ok(Ok(()))
    )
}

/// Writes out what [`feed`] buffered within [`WRITE_TIMEOUT`]; false when the peer is gone or
/// stuck.
async fn flush<K>(sink: &mut K) -> bool
where
    K: Sink<Message, Error = axum::Error> + Unpin,
{
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, sink.flush()).await,
        Ok(Ok(()))
    )
}

/// Completes when the server stops (or is gone).
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

/// Sends one message within [`WRITE_TIMEOUT`]; false when the peer is gone or stuck.
async fn send<K>(sink: &mut K, message: Message) -> bool
where
    K: Sink<Message, Error = axum::Error> + Unpin,
{
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await,
        Ok(Ok(()))
    )
}

/// What the reader acts with.
struct Reader {
    store: Arc<dyn Store>,
    rooms: Arc<ChatRooms>,
    room: Arc<ChatRoom>,
    member: MemberId,
    gig: GigId,
    creator: AccountId,
    account: AccountRecord,
}

/// The reader: handles frames until the client goes, goes silent, or sends too much.
async fn read<R>(mut stream: R, reader: Reader) -> Ending
where
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    loop {
        let frame = match tokio::time::timeout(SILENCE_LIMIT, stream.next()).await {
            Err(_) => return Ending::Silent,
            Ok(None) => return Ending::ClientClosed,
            Ok(Some(Err(e))) => {
                return if too_big(e) {
                    Ending::TooBig
                } else {
                    Ending::SocketFailed
                };
            }
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
            // Pings are answered by the WebSocket layer; pongs only prove the peer is there.
            Message::Ping(_) | Message::Pong(_) => {}
            // Keep reading: the next read completes the close handshake and ends the stream.
            Message::Close(_) => {}
        }
    }
}

/// Whether a read failed because a frame was over the size limit.
fn too_big(error: axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error;
    let cause = error.into_inner();
    matches!(cause.downcast_ref::<Error>(), Some(Error::Capacity(_)))
}

impl Reader {
    fn reply(&self, message: &ServerMessage) {
        self.room.send_to(self.member, Outbound::new(message));
    }

    /// Handles one text frame; a refusal goes back to this socket only.
    async fn handle(&self, text: &str) -> Result<(), Refusal> {
        match inbound::parse(text)? {
            ClientMessage::Say { text } => self.say(&text).await,
            ClientMessage::Ban { user } => self.ban(&user, true).await,
            ClientMessage::Unban { user } => self.ban(&user, false).await,
            ClientMessage::Delete { id } => self.delete(id).await,
        }
    }

    async fn say(&self, raw: &str) -> Result<(), Refusal> {
        let text = text::clean(raw).map_err(|refusal| {
            let code = match refusal {
                TextRefusal::Empty => ChatErrorCode::EmptyText,
                TextRefusal::TooLong { .. } => ChatErrorCode::TextTooLong,
            };
            Refusal::new(code, refusal.to_string())
        })?;
        self.must_be_paying().await?;
        let allowed = self
            .rooms
            .take_token(&self.room, self.account.id)
            .await
            .map_err(|e| self.unavailable("rate-limit a chat message", e))?;
        allowed.map_err(|wait| {
            Refusal::new(
                ChatErrorCode::RateLimited,
                format!(
                    "slow down: 5 messages at once, then 1 per second; try again in {:.1} s",
                    wait.as_secs_f64()
                ),
            )
        })?;
        let message = ChatMessage {
            id: MessageId::new(),
            author: self.account.handle.clone(),
            display_name: self.account.display_name.clone(),
            text,
            sent_at: now_micros(),
        };
        let record = ChatRecord {
            gig_id: self.gig,
            author_id: self.account.id,
            message,
        };
        // Stored before anyone sees it, so nothing shown is lost on a restart.
        self.store
            .append_chat(&record, HISTORY_KEPT)
            .await
            .map_err(|e| self.unavailable("store a chat message", e))?;
        let frame = Outbound::new(&ServerMessage::Message(record.message));
        self.rooms
            .publish(self.gig, RoomEvent::Broadcast(frame))
            .await
            .map_err(|e| self.unavailable("send a chat message", e))
    }

    async fn ban(&self, handle: &str, banned: bool) -> Result<(), Refusal> {
        self.must_be_host(if banned { "ban" } else { "unban" })?;
        let target = self
            .store
            .account_by_handle(handle)
            .await
            .map_err(|e| self.unavailable("look up a handle", e))?
            .ok_or_else(|| Refusal::new(ChatErrorCode::NotFound, format!("no user `{handle}`")))?;
        if target.id == self.creator {
            return Err(Refusal::new(
                ChatErrorCode::Forbidden,
                "the host cannot ban themselves",
            ));
        }
        self.store
            .set_chat_ban(self.gig, target.id, banned)
            .await
            .map_err(|e| self.unavailable("store a ban", e))?;
        tracing::info!(gig = %self.gig, account = %target.id, banned, "chat ban changed");
        let event = if banned {
            RoomEvent::Ban(target.id)
        } else {
            RoomEvent::Unban(target.id)
        };
        self.rooms
            .publish(self.gig, event)
            .await
            .map_err(|e| self.unavailable("announce a ban", e))
    }

    async fn delete(&self, id: MessageId) -> Result<(), Refusal> {
        self.must_be_host("delete messages")?;
        let removed = self
            .store
            .delete_chat(self.gig, id)
            .await
            .map_err(|e| self.unavailable("delete a chat message", e))?;
        if removed.is_none() {
            return Err(Refusal::new(
                ChatErrorCode::NotFound,
                format!("no message {id} in this chat"),
            ));
        }
        let frame = Outbound::new(&ServerMessage::Deleted { id });
        self.rooms
            .publish(self.gig, RoomEvent::Broadcast(frame))
            .await
            .map_err(|e| self.unavailable("announce a deletion", e))
    }

    /// As the original disabled its send button when monetization stopped: an empty wallet
    /// (micropayments stopped) may not speak. The host always may. The balance is the shared
    /// truth, so every node agrees.
    async fn must_be_paying(&self) -> Result<(), Refusal> {
        if self.account.id == self.creator {
            return Ok(());
        }
        let balance = self
            .store
            .balance(&LedgerAccount::User(self.account.id))
            .await
            .map_err(|e| self.unavailable("read a wallet", e))?;
        if balance > Money::ZERO {
            return Ok(());
        }
        Err(Refusal::new(
            ChatErrorCode::WalletEmpty,
            "your wallet is empty, so micropayments stopped and chat is paused; \
             top up (POST /api/v1/wallet/topups) to speak again",
        ))
    }

    fn must_be_host(&self, what: &str) -> Result<(), Refusal> {
        if self.account.id == self.creator {
            return Ok(());
        }
        Err(Refusal::new(
            ChatErrorCode::Forbidden,
            format!("only the gig's creator may {what}"),
        ))
    }

    fn unavailable(&self, what: &str, error: impl std::fmt::Display) -> Refusal {
        tracing::error!(gig = %self.gig, %error, "chat cannot {what}");
        Refusal::new(
            ChatErrorCode::Unavailable,
            "the chat cannot do that right now; try again",
        )
    }
}

/// Now, to the microsecond: both stores keep times at that precision.
fn now_micros() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bookmygig_store::EmbeddedStore;
    use tokio::sync::mpsc;
    use tokio_tungstenite::tungstenite;

    use super::*;
    use crate::chat::rooms::offline;

    /// A socket made of two channels: what the test sends in, and what the session writes.
    struct FakeSocket {
        incoming: mpsc::UnboundedReceiver<Result<Message, axum::Error>>,
        outgoing: mpsc::UnboundedSender<Message>,
    }

    impl Stream for FakeSocket {
        type Item = Result<Message, axum::Error>;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.get_mut().incoming.poll_recv(cx)
        }
    }

    impl Sink<Message> for FakeSocket {
        type Error = axum::Error;

        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
            self.outgoing.send(item).map_err(axum::Error::new)
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
    }

    /// The client's ends of a running session.
    struct Peer {
        send: mpsc::UnboundedSender<Result<Message, axum::Error>>,
        seen: mpsc::UnboundedReceiver<Message>,
        session: tokio::task::JoinHandle<Ending>,
        _dir: tempfile::TempDir,
        stop: watch::Sender<bool>,
    }

    impl Peer {
        async fn start() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
            let rooms = ChatRooms::new();
            let (gig, account) = (GigId::new(), AccountId::new());
            let (stop, shutdown) = watch::channel(false);
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
            let (send, incoming) = mpsc::unbounded_channel();
            let (outgoing, seen) = mpsc::unbounded_channel();
            let session = tokio::spawn(run(FakeSocket { incoming, outgoing }, context));
            let mut peer = Peer {
                send,
                seen,
                session,
                _dir: dir,
                stop,
            };
            for greeting in ["history", "presence", "stream"] {
                let Message::Text(text) = peer.next().await else {
                    panic!("expected {greeting}");
                };
                assert!(text.as_str().contains(greeting), "{text}");
            }
            peer
        }

        async fn next(&mut self) -> Message {
            self.seen.recv().await.unwrap()
        }
    }

    fn close_code(message: Message) -> u16 {
        match message {
            Message::Close(Some(frame)) => frame.code,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn pings_every_20_seconds_and_closes_a_peer_silent_for_60() {
        let mut peer = Peer::start().await;
        let start = Instant::now();
        assert!(matches!(peer.next().await, Message::Ping(_)));
        assert_eq!(start.elapsed().as_secs(), 20);
        peer.send
            .send(Ok(Message::Pong(bytes::Bytes::new())))
            .unwrap();
        assert!(matches!(peer.next().await, Message::Ping(_)));
        assert!(matches!(peer.next().await, Message::Ping(_)));
        assert_eq!(start.elapsed().as_secs(), 60);
        // Silent since the pong at 20 s (the ping due at the same instant may come first).
        let mut last = peer.next().await;
        if matches!(last, Message::Ping(_)) {
            last = peer.next().await;
        }
        assert_eq!(close_code(last), code::POLICY);
        assert_eq!(start.elapsed().as_secs(), 80);
        assert_eq!(peer.session.await.unwrap(), Ending::Silent);
    }

    #[tokio::test(start_paused = true)]
    async fn an_oversized_frame_closes_with_1009() {
        let mut peer = Peer::start().await;
        let too_long = tungstenite::error::CapacityError::MessageTooLong {
            size: 5000,
            max_size: 4096,
        };
        peer.send
            .send(Err(axum::Error::new(tungstenite::Error::Capacity(
                too_long,
            ))))
            .unwrap();
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
}
