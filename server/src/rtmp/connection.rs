//! One RTMP connection: bytes from the socket go through rml_rtmp's handshake and session;
//! their events become publish/play decisions (asked of [`super::policy`]) and media for the
//! hub; outbound packets go back in order. Everything a stranger controls has a ceiling: time
//! to speak, chunk size, bytes buffered towards one message.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bookmygig_api::{AccountId, GigId};
use bookmygig_media::flv::TagKind;
use bookmygig_media::gop::MediaTag;
use bookmygig_store::{GigState, TokenHash};
use bytes::Bytes;
use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent, ServerSessionResult,
};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::RtmpContext;
use super::guard::{ChunkGuard, GuardError};
use super::media;
use super::policy::{self, PlayGrant, PlayRefusal, PublishGrant, PublishRefusal};
use crate::access;
use crate::cluster::registry::StreamClaim;
use crate::live::seats::StreamSeat;
use crate::live::{FeedEnd, LiveMetrics, Publisher, ViewerFeed};
use crate::money::WatchGuard;

/// Largest chunk size a peer may announce (OBS uses 4 KiB; the protocol allows 2 GiB).
pub const MAX_CHUNK_SIZE: u32 = 1 << 20;
/// How often a player's right to watch is checked again (a refunded ticket ends playback).
const ACCESS_RECHECK: Duration = Duration::from_secs(3);
/// How often a publisher's right to publish is checked again against the store (see
/// [`policy::still_may_publish`] for why a re-check rather than a message): a rotated key, a
/// cancelled gig or a closed window cuts the publisher within this plus one store read, well
/// inside the 2 s the creator is promised.
pub const PUBLISH_RECHECK: Duration = Duration::from_millis(500);
/// How long a player may send nothing at all.
const PLAYER_SILENCE: Duration = Duration::from_secs(3_600);
/// How long one write to a peer may take before the peer is let go (a player that stopped
/// reading; as for HTTP-FLV viewers).
const WRITE_STALL: Duration = Duration::from_secs(15);
/// The only RTMP application we serve.
const APP: &str = "live";

/// Why a connection ended early. Logged; never contains a stream key or a token.
#[derive(Debug, thiserror::Error)]
enum Closed {
    #[error("peer went away")]
    PeerGone,
    #[error("silent for {0:?}")]
    Silent(Duration),
    #[error("neither publishing nor playing {0:?} after connecting")]
    SetupTooSlow(Duration),
    #[error("a write did not finish within {WRITE_STALL:?}")]
    WriteStalled,
    #[error("handshake failed: {0}")]
    Handshake(String),
    #[error("malformed RTMP: {0}")]
    Protocol(String),
    #[error("{0}")]
    Guard(#[from] GuardError),
    #[error("application `{0}` is not served (use /live)")]
    UnknownApp(String),
    #[error("publish refused: {0}")]
    PublishRefused(PublishRefusal),
    #[error("publishing no longer allowed: {0}")]
    PublishRevoked(PublishRefusal),
    #[error("play refused: {0}")]
    PlayRefused(PlayRefusal),
    #[error("viewer fell behind and was dropped")]
    TooSlow,
    #[error("watching is no longer allowed (ticket refunded or revoked)")]
    AccessRevoked,
    #[error("another publisher took the gig while this node's claim had lapsed")]
    ClaimLost,
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// What the connection is doing.
enum Role {
    /// Connected, neither publishing nor playing yet.
    Idle,
    /// Sending a gig's media.
    Publishing {
        gig: GigId,
        /// Hash of the key the publisher used: a rotation changes the gig's.
        key_hash: TokenHash,
        publisher: Publisher,
        /// The gig's claim across the cluster (Redis mode).
        claim: Option<StreamClaim>,
    },
    /// Receiving a gig's media.
    Playing {
        gig: GigId,
        account: AccountId,
        stream_id: u32,
        feed: ViewerFeed,
        /// Accrues micropayments while the viewer plays; dropped with the role.
        _watching: WatchGuard,
        /// One of the account's `--max-streams-per-ticket`; given back with the role.
        _seat: StreamSeat,
    },
}

/// Serves one connection until it ends, and logs how it ended.
pub async fn run<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(
    socket: S,
    peer: SocketAddr,
    context: RtmpContext,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connection = Connection {
        context,
        role: Role::Idle,
        session: None,
        guard: ChunkGuard::new(MAX_CHUNK_SIZE),
    };
    let outcome = tokio::select! {
        outcome = connection.serve(socket) => outcome,
        _ = shutdown.wait_for(|stopping| *stopping) => Ok(()),
    };
    let gig = connection.gig();
    connection.finish().await;
    let outcome = match outcome {
        Err(Closed::Io(error))
            if matches!(
                error.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            Err(Closed::PeerGone)
        }
        other => other,
    };
    match outcome {
        Ok(()) | Err(Closed::PeerGone) => {
            tracing::info!(%peer, gig = ?gig, "RTMP connection closed")
        }
        Err(reason) => {
            LiveMetrics::add(&connection.context.hub.metrics.rtmp_rejected, 1);
            tracing::warn!(%peer, gig = ?gig, %reason, "RTMP connection closed");
        }
    }
}

struct Connection {
    context: RtmpContext,
    role: Role,
    session: Option<ServerSession>,
    /// Checks every message ahead of the session (chunk size, AMF, bytes per message).
    guard: ChunkGuard,
}

impl Connection {
    fn gig(&self) -> Option<GigId> {
        match &self.role {
            Role::Idle => None,
            Role::Publishing { gig, .. } | Role::Playing { gig, .. } => Some(*gig),
        }
    }

    /// Plain TCP or TLS (RTMPS) alike.
    async fn serve<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(
        &mut self,
        socket: S,
    ) -> Result<(), Closed> {
        let setup = self.context.setup_timeout;
        let setup_deadline = tokio::time::Instant::now() + setup;
        let (mut reader, writer) = tokio::io::split(socket);
        let mut writer = Writer(Box::pin(writer));
        let idle = self.context.idle_timeout;
        let mut buffer = vec![0u8; 64 * 1024];

        // Handshake, then the session, until a publish or play is granted: within the setup
        // deadline however the peer paces its bytes.
        let mut handshake = Handshake::new(PeerType::Server);
        let leftover = tokio::time::timeout_at(setup_deadline, async {
            loop {
                let read = tokio::time::timeout(idle, reader.read(&mut buffer))
                    .await
                    .map_err(|_| Closed::Silent(idle))??;
                let bytes = buffer.get(..read).unwrap_or_default();
                if bytes.is_empty() {
                    return Err(Closed::PeerGone);
                }
                match handshake
                    .process_bytes(bytes)
                    .map_err(|e| Closed::Handshake(e.to_string()))?
                {
                    HandshakeProcessResult::InProgress { response_bytes } => {
                        writer.write_all(&response_bytes).await?;
                    }
                    HandshakeProcessResult::Completed {
                        response_bytes,
                        remaining_bytes,
                    } => {
                        writer.write_all(&response_bytes).await?;
                        return Ok(remaining_bytes);
                    }
                }
            }
        })
        .await
        .map_err(|_| Closed::SetupTooSlow(setup))??;

        let (session, results) = ServerSession::new(ServerSessionConfig::new())
            .map_err(|e| Closed::Protocol(e.to_string()))?;
        self.session = Some(session);
        self.handle_results(results, &mut writer).await?;
        self.handle_input(&leftover, &mut writer).await?;

        let mut recheck = tokio::time::interval(ACCESS_RECHECK);
        recheck.tick().await;
        let mut publish_recheck = tokio::time::interval(PUBLISH_RECHECK);
        publish_recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        publish_recheck.tick().await;
        loop {
            let playing = matches!(self.role, Role::Playing { .. });
            let publishing = matches!(self.role, Role::Publishing { .. });
            let idle_role = matches!(self.role, Role::Idle);
            tokio::select! {
                read = tokio::time::timeout(if playing { PLAYER_SILENCE } else { idle }, reader.read(&mut buffer)) => {
                    // Players only send control messages, so long silences are normal for them.
                    let read = read.map_err(|_| Closed::Silent(idle))??;
                    let bytes = buffer.get(..read).unwrap_or_default();
                    if bytes.is_empty() {
                        return Err(Closed::PeerGone);
                    }
                    self.handle_input(bytes, &mut writer).await?;
                }
                _ = tokio::time::sleep_until(setup_deadline), if idle_role => {
                    return Err(Closed::SetupTooSlow(setup));
                }
                event = role_event(&mut self.role) => {
                    match event {
                        RoleEvent::Tag(Ok(tag)) => self.send_tag(&tag, &mut writer).await?,
                        RoleEvent::Tag(Err(FeedEnd::StreamEnded)) => {
                            self.finish_playing(&mut writer).await?;
                            return Ok(());
                        }
                        RoleEvent::Tag(Err(FeedEnd::TooSlow)) => return Err(Closed::TooSlow),
                        RoleEvent::ClaimLost => return Err(Closed::ClaimLost),
                    }
                }
                _ = recheck.tick(), if playing => self.recheck_access().await?,
                _ = publish_recheck.tick(), if publishing => self.recheck_publishing().await?,
            }
        }
    }

    async fn handle_input(&mut self, bytes: &[u8], writer: &mut Writer) -> Result<(), Closed> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.guard.inspect(bytes)?;
        let session = self
            .session
            .as_mut()
            .ok_or(Closed::Protocol("no session".into()))?;
        let results = session
            .handle_input(bytes)
            .map_err(|e| Closed::Protocol(e.to_string()))?;
        self.handle_results(results, writer).await
    }

    async fn handle_results(
        &mut self,
        results: Vec<ServerSessionResult>,
        writer: &mut Writer,
    ) -> Result<(), Closed> {
        let mut queue = std::collections::VecDeque::from(results);
        while let Some(result) = queue.pop_front() {
            match result {
                ServerSessionResult::OutboundResponse(packet) => {
                    writer.write_all(&packet.bytes).await?;
                }
                ServerSessionResult::RaisedEvent(event) => {
                    let more = self.handle_event(event, writer).await?;
                    queue.extend(more);
                }
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(())
    }

    /// Reacts to one session event; returns session results to process next.
    async fn handle_event(
        &mut self,
        event: ServerSessionEvent,
        writer: &mut Writer,
    ) -> Result<Vec<ServerSessionResult>, Closed> {
        match event {
            ServerSessionEvent::ConnectionRequested {
                request_id,
                app_name,
            } => {
                if app_name != APP {
                    let results = self.session()?.reject_request(
                        request_id,
                        "NetConnection.Connect.Rejected",
                        "unknown application; use rtmp://HOST:PORT/live",
                    );
                    self.write_rejection(results, writer).await?;
                    return Err(Closed::UnknownApp(app_name));
                }
                self.session()?.accept_request(request_id).map_err(protocol)
            }
            ServerSessionEvent::PublishStreamRequested {
                request_id,
                stream_key,
                ..
            } => {
                if !matches!(self.role, Role::Idle) {
                    return Err(Closed::Protocol("publish on a busy connection".into()));
                }
                let now = OffsetDateTime::now_utc();
                match policy::authorize_publish(&self.context, &stream_key, now).await {
                    Ok(PublishGrant {
                        gig,
                        publisher,
                        mut claim,
                    }) => {
                        let results = self
                            .session()?
                            .accept_request(request_id)
                            .map_err(protocol)?;
                        if let Err(error) = self
                            .context
                            .store
                            .set_gig_state(gig.id, GigState::Live)
                            .await
                        {
                            tracing::warn!(gig = %gig.id, %error, "could not mark the gig live");
                        }
                        tracing::info!(gig = %gig.id, "publisher connected: gig is live");
                        if let Some(claim) = &mut claim {
                            claim.keep_alive(
                                Arc::clone(publisher.stream()),
                                Arc::clone(&self.context.hub),
                                Arc::clone(&self.context.store),
                            );
                        }
                        self.guard.allow_media();
                        self.role = Role::Publishing {
                            gig: gig.id,
                            key_hash: gig.stream_key_hash,
                            publisher,
                            claim,
                        };
                        Ok(results)
                    }
                    Err(refusal) => {
                        let results = self.session()?.reject_request(
                            request_id,
                            refusal.code(),
                            &refusal.to_string(),
                        );
                        self.write_rejection(results, writer).await?;
                        Err(Closed::PublishRefused(refusal))
                    }
                }
            }
            ServerSessionEvent::PublishStreamFinished { .. } => {
                self.stop_publishing().await;
                Ok(Vec::new())
            }
            ServerSessionEvent::StreamMetadataChanged { metadata, .. } => {
                self.publish(TagKind::Script, 0, media::on_metadata(&metadata))?;
                Ok(Vec::new())
            }
            ServerSessionEvent::VideoDataReceived {
                data, timestamp, ..
            } => {
                self.publish(TagKind::Video, timestamp.value, data)?;
                Ok(Vec::new())
            }
            ServerSessionEvent::AudioDataReceived {
                data, timestamp, ..
            } => {
                self.publish(TagKind::Audio, timestamp.value, data)?;
                Ok(Vec::new())
            }
            ServerSessionEvent::PlayStreamRequested {
                request_id,
                stream_key,
                stream_id,
                ..
            } => {
                if !matches!(self.role, Role::Idle) {
                    return Err(Closed::Protocol("play on a busy connection".into()));
                }
                let now = OffsetDateTime::now_utc();
                match policy::authorize_play(&self.context, &stream_key, now).await {
                    Ok(PlayGrant {
                        gig,
                        account,
                        stream,
                        seat,
                    }) => {
                        let mut results = self
                            .session()?
                            .accept_request(request_id)
                            .map_err(protocol)?;
                        let subscription = stream.subscribe();
                        let session = self.session()?;
                        let metadata = media::player_metadata(&stream.facts());
                        results.push(ServerSessionResult::OutboundResponse(
                            session
                                .send_metadata(stream_id, &metadata)
                                .map_err(protocol)?,
                        ));
                        for tag in subscription.start.iter().filter(|t| !t.metadata) {
                            results.push(ServerSessionResult::OutboundResponse(
                                media::media_packet(session, stream_id, tag).map_err(packet)?,
                            ));
                        }
                        tracing::info!(gig = %gig.id, account = %account, "RTMP viewer joined");
                        self.role = Role::Playing {
                            gig: gig.id,
                            account,
                            stream_id,
                            feed: subscription.feed,
                            _watching: self.context.meter.watch(account, &gig),
                            _seat: seat,
                        };
                        Ok(results)
                    }
                    Err(refusal) => {
                        let results = self.session()?.reject_request(
                            request_id,
                            refusal.code(),
                            &refusal.to_string(),
                        );
                        self.write_rejection(results, writer).await?;
                        Err(Closed::PlayRefused(refusal))
                    }
                }
            }
            ServerSessionEvent::PlayStreamFinished { .. } => Err(Closed::PeerGone),
            _ => Ok(Vec::new()),
        }
    }

    fn session(&mut self) -> Result<&mut ServerSession, Closed> {
        self.session
            .as_mut()
            .ok_or_else(|| Closed::Protocol("no session".into()))
    }

    /// Sends a refusal's packets before the connection closes, so the peer learns why.
    async fn write_rejection(
        &mut self,
        results: Result<Vec<ServerSessionResult>, rml_rtmp::sessions::ServerSessionError>,
        writer: &mut Writer,
    ) -> Result<(), Closed> {
        for result in results.map_err(protocol)? {
            if let ServerSessionResult::OutboundResponse(packet) = result {
                writer.write_all(&packet.bytes).await?;
            }
        }
        writer.flush().await?;
        Ok(())
    }

    fn publish(&mut self, kind: TagKind, timestamp_ms: u32, data: Bytes) -> Result<(), Closed> {
        let Role::Publishing { publisher, .. } = &self.role else {
            return Err(Closed::Protocol("media before publish".into()));
        };
        let tag =
            MediaTag::new(kind, timestamp_ms, data).map_err(|e| Closed::Protocol(e.to_string()))?;
        publisher.push(tag);
        Ok(())
    }

    async fn send_tag(&mut self, tag: &MediaTag, writer: &mut Writer) -> Result<(), Closed> {
        let Role::Playing {
            stream_id, feed, ..
        } = &self.role
        else {
            return Ok(());
        };
        let stream_id = *stream_id;
        let packet = if tag.metadata {
            let metadata = media::player_metadata(&feed.stream().facts());
            self.session()?
                .send_metadata(stream_id, &metadata)
                .map_err(protocol)?
        } else {
            media::media_packet(self.session()?, stream_id, tag).map_err(packet)?
        };
        writer.write_all(&packet.bytes).await?;
        LiveMetrics::add(
            &self.context.hub.metrics.bytes_out,
            packet.bytes.len() as u64,
        );
        Ok(())
    }

    async fn finish_playing(&mut self, writer: &mut Writer) -> Result<(), Closed> {
        if let Role::Playing { stream_id, .. } = self.role {
            let packet = self
                .session()?
                .finish_playing(stream_id)
                .map_err(protocol)?;
            writer.write_all(&packet.bytes).await?;
            writer.flush().await?;
        }
        Ok(())
    }

    async fn recheck_access(&mut self) -> Result<(), Closed> {
        let Role::Playing { gig, account, .. } = &self.role else {
            return Ok(());
        };
        let allowed = access::still_may_watch(self.context.store.as_ref(), *gig, *account).await;
        if allowed {
            Ok(())
        } else {
            Err(Closed::AccessRevoked)
        }
    }

    /// Cuts a publisher whose key was rotated, whose gig was cancelled or whose window closed.
    async fn recheck_publishing(&mut self) -> Result<(), Closed> {
        let Role::Publishing { gig, key_hash, .. } = &self.role else {
            return Ok(());
        };
        let now = OffsetDateTime::now_utc();
        policy::still_may_publish(&self.context, *gig, key_hash, now)
            .await
            .map_err(Closed::PublishRevoked)
    }

    async fn stop_publishing(&mut self) {
        if let Role::Publishing {
            gig,
            publisher,
            claim,
            ..
        } = std::mem::replace(&mut self.role, Role::Idle)
        {
            drop(publisher);
            if let Some(claim) = claim {
                claim.release().await;
            }
            if let Err(error) = self
                .context
                .store
                .set_gig_state(gig, GigState::Offline)
                .await
            {
                tracing::debug!(gig = %gig, %error, "could not mark the gig offline");
            }
            tracing::info!(gig = %gig, "publisher left: gig is offline");
        }
    }

    /// Releases whatever the connection held.
    async fn finish(&mut self) {
        self.stop_publishing().await;
        self.role = Role::Idle;
    }
}

/// The socket's write half, where every write must finish within [`WRITE_STALL`]: a player
/// that stops reading is let go instead of holding its task, its place and its meter forever.
/// The write side of a plain or TLS connection (boxed: one type for both).
struct Writer(std::pin::Pin<Box<dyn AsyncWrite + Send>>);

impl Writer {
    async fn write_all(&mut self, bytes: &[u8]) -> Result<(), Closed> {
        tokio::time::timeout(WRITE_STALL, self.0.write_all(bytes))
            .await
            .map_err(|_| Closed::WriteStalled)??;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Closed> {
        tokio::time::timeout(WRITE_STALL, self.0.flush())
            .await
            .map_err(|_| Closed::WriteStalled)??;
        Ok(())
    }
}

/// What the role (rather than the peer) has to say.
enum RoleEvent {
    /// A player's next tag, or the end of its feed.
    Tag(Result<Arc<MediaTag>, FeedEnd>),
    /// A publisher's cluster claim was taken by another node's publisher.
    ClaimLost,
}

/// The next [`RoleEvent`]; never resolves for an idle connection.
async fn role_event(role: &mut Role) -> RoleEvent {
    match role {
        Role::Playing { feed, .. } => RoleEvent::Tag(feed.next().await),
        Role::Publishing {
            claim: Some(claim), ..
        } => {
            claim.lost().await;
            RoleEvent::ClaimLost
        }
        _ => std::future::pending().await,
    }
}

fn protocol(error: rml_rtmp::sessions::ServerSessionError) -> Closed {
    Closed::Protocol(error.to_string())
}

fn packet(error: media::MediaPacketError) -> Closed {
    Closed::Protocol(error.to_string())
}
