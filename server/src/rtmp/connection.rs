//! One RTMP connection, wired from three layers: [`super::socket`] moves the bytes under
//! deadlines, [`super::session`] (sans-IO: rml_rtmp and our checks) says what to send and what
//! the peer asks for, and the role ([`super::publisher`] or [`super::player`]) talks to the hub,
//! the meter and the store. This module asks [`super::policy`] when the peer asks to publish or
//! play, runs the deadlines and re-checks, and logs how the connection ended. Everything a
//! stranger controls has a ceiling: time to speak, chunk size, bytes buffered towards one
//! message.

use std::net::SocketAddr;
use std::time::Duration;

use std::collections::VecDeque;

use bookmygig_api::GigId;
use bytes::Bytes;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::RtmpContext;
use super::player::Playing;
use super::policy::{self, PlayRefusal, PublishRefusal};
use super::publisher::Publishing;
use super::session::{Output, Session, SessionError};
use super::socket::{self, PeerWriter, SocketError};
use crate::live::{FeedEnd, LiveMetrics};

// The session's chunk-size ceiling, named here too for the `rtmp_server` fuzz target.
pub use super::session::MAX_CHUNK_SIZE;

/// How often a player's right to watch is checked again (a refunded ticket ends playback).
const ACCESS_RECHECK: Duration = Duration::from_secs(3);
/// How often a publisher's right to publish is checked again against the store (see
/// [`policy::still_may_publish`] for why a re-check rather than a message): a rotated key, a
/// cancelled gig or a closed window cuts the publisher within this plus one store read, well
/// inside the 2 s the creator is promised.
pub const PUBLISH_RECHECK: Duration = Duration::from_millis(500);
/// How long a player may send nothing at all.
const PLAYER_SILENCE: Duration = Duration::from_secs(3_600);

/// Why a connection ended early. Logged; never contains a stream key or a token.
#[derive(Debug, thiserror::Error)]
enum Closed {
    #[error("{0}")]
    Socket(#[from] SocketError),
    #[error("neither publishing nor playing {0:?} after connecting")]
    SetupTooSlow(Duration),
    #[error("{0}")]
    Session(#[from] SessionError),
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
}

/// What the connection is doing.
enum Role {
    /// Connected, neither publishing nor playing yet.
    Idle,
    /// Sending a gig's media.
    Publishing(Publishing),
    /// Receiving a gig's media.
    Playing(Playing),
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
        session: Session::new(),
    };
    let outcome = tokio::select! {
        outcome = connection.serve(socket) => outcome,
        _ = shutdown.wait_for(|stopping| *stopping) => Ok(()),
    };
    let gig = connection.gig();
    connection.finish().await;
    match outcome {
        Ok(()) | Err(Closed::Socket(SocketError::PeerGone)) => {
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
    session: Session,
}

impl Connection {
    fn gig(&self) -> Option<GigId> {
        match &self.role {
            Role::Idle => None,
            Role::Publishing(publishing) => Some(publishing.gig()),
            Role::Playing(playing) => Some(playing.gig()),
        }
    }

    /// Plain TCP or TLS (RTMPS) alike.
    async fn serve<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(
        &mut self,
        socket: S,
    ) -> Result<(), Closed> {
        let setup = self.context.setup_timeout;
        let setup_deadline = tokio::time::Instant::now() + setup;
        let idle = self.context.idle_timeout;
        let (mut reader, mut writer) = socket::split(socket);

        // The handshake, then the session until a publish or play is granted: within the setup
        // deadline however the peer paces its bytes.
        let session = &mut self.session;
        tokio::time::timeout_at(setup_deadline, async {
            loop {
                let step = session.handshake(reader.read(idle).await?)?;
                writer.write_all(&step.reply).await?;
                if step.done {
                    return Ok::<(), Closed>(());
                }
            }
        })
        .await
        .map_err(|_| Closed::SetupTooSlow(setup))??;
        self.answer(&mut writer).await?;

        let mut recheck = tokio::time::interval(ACCESS_RECHECK);
        recheck.tick().await;
        let mut publish_recheck = tokio::time::interval(PUBLISH_RECHECK);
        publish_recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        publish_recheck.tick().await;
        loop {
            let playing = matches!(self.role, Role::Playing(_));
            let publishing = matches!(self.role, Role::Publishing(_));
            let idle_role = matches!(self.role, Role::Idle);
            // Players only send control messages, so long silences are normal for them.
            let patience = if playing { PLAYER_SILENCE } else { idle };
            tokio::select! {
                read = reader.read(patience) => {
                    // A silence is reported with the idle timeout, whichever one ran out.
                    let bytes = read.map_err(|error| match error {
                        SocketError::Silent(_) => SocketError::Silent(idle),
                        other => other,
                    })?;
                    self.session.receive(bytes)?;
                    self.answer(&mut writer).await?;
                }
                _ = tokio::time::sleep_until(setup_deadline), if idle_role => {
                    return Err(Closed::SetupTooSlow(setup));
                }
                event = role_event(&mut self.role) => match event {
                    RoleEvent::Media(Ok(chunks)) => self.send_media(chunks, &mut writer).await?,
                    RoleEvent::Media(Err(FeedEnd::StreamEnded)) => {
                        if let Some(packet) = self.session.finish_playing()? {
                            writer.write_last(&packet).await?;
                        }
                        return Ok(());
                    }
                    RoleEvent::Media(Err(FeedEnd::TooSlow)) => return Err(Closed::TooSlow),
                    RoleEvent::ClaimLost => return Err(Closed::ClaimLost),
                },
                _ = recheck.tick(), if playing => self.recheck_access().await?,
                _ = publish_recheck.tick(), if publishing => self.recheck_publishing().await?,
            }
        }
    }

    /// Does what the session asks, in order, until it waits for the peer again.
    async fn answer(&mut self, writer: &mut PeerWriter) -> Result<(), Closed> {
        while let Some(output) = self.session.next_output()? {
            match output {
                Output::Send(bytes) => writer.write_all(&bytes).await?,
                Output::UnknownApp { app, farewell } => {
                    writer.write_last(&farewell).await?;
                    return Err(Closed::UnknownApp(app));
                }
                Output::PublishRequested {
                    request_id,
                    stream_key,
                } => self.publish(request_id, &stream_key, writer).await?,
                Output::PlayRequested {
                    request_id,
                    stream_key,
                    stream_id,
                } => {
                    self.play(request_id, &stream_key, stream_id, writer)
                        .await?
                }
                Output::Media(tag) => {
                    if let Role::Publishing(publishing) = &self.role {
                        publishing.push(tag);
                    }
                }
                Output::PublishFinished => self.stop_publishing().await,
                Output::PlayFinished => return Err(SocketError::PeerGone.into()),
            }
        }
        Ok(())
    }

    /// Asks the policy whether the peer may publish with `stream_key`, and goes live or says
    /// why not.
    async fn publish(
        &mut self,
        request_id: u32,
        stream_key: &str,
        writer: &mut PeerWriter,
    ) -> Result<(), Closed> {
        let now = OffsetDateTime::now_utc();
        match policy::authorize_publish(&self.context, stream_key, now).await {
            Ok(grant) => {
                self.session.accept_publish(request_id)?;
                self.role = Role::Publishing(Publishing::start(&self.context, grant).await);
                Ok(())
            }
            Err(refusal) => {
                self.refuse(request_id, refusal.code(), &refusal.to_string(), writer)
                    .await?;
                Err(Closed::PublishRefused(refusal))
            }
        }
    }

    /// Asks the policy whether the peer may play `stream_key`, and starts playing or says why
    /// not.
    async fn play(
        &mut self,
        request_id: u32,
        stream_key: &str,
        stream_id: u32,
        writer: &mut PeerWriter,
    ) -> Result<(), Closed> {
        let now = OffsetDateTime::now_utc();
        match policy::authorize_play(&self.context, stream_key, now).await {
            Ok(grant) => {
                self.session.accept_play(request_id, stream_id)?;
                let playing = Playing::start(&self.context, grant, &mut self.session)?;
                self.role = Role::Playing(playing);
                Ok(())
            }
            Err(refusal) => {
                self.refuse(request_id, refusal.code(), &refusal.to_string(), writer)
                    .await?;
                Err(Closed::PlayRefused(refusal))
            }
        }
    }

    /// Tells the peer why its request `request_id` is refused (`code`, `why`), as the last
    /// thing written before the connection closes.
    async fn refuse(
        &mut self,
        request_id: u32,
        code: &str,
        why: &str,
        writer: &mut PeerWriter,
    ) -> Result<(), Closed> {
        let farewell = self.session.reject(request_id, code, why)?;
        writer.write_last(&farewell).await?;
        Ok(())
    }

    /// Writes a player's next stretch of the stream, in one write where the socket takes it.
    async fn send_media(
        &mut self,
        mut chunks: VecDeque<Bytes>,
        writer: &mut PeerWriter,
    ) -> Result<(), Closed> {
        let bytes: usize = chunks.iter().map(Bytes::len).sum();
        writer.write_all_parts(&mut chunks).await?;
        LiveMetrics::add(&self.context.hub.metrics.bytes_out, bytes as u64);
        Ok(())
    }

    async fn recheck_access(&self) -> Result<(), Closed> {
        let Role::Playing(playing) = &self.role else {
            return Ok(());
        };
        if playing.still_allowed(&self.context).await {
            Ok(())
        } else {
            Err(Closed::AccessRevoked)
        }
    }

    /// Cuts a publisher whose key was rotated, whose gig was cancelled or whose window closed.
    async fn recheck_publishing(&self) -> Result<(), Closed> {
        let Role::Publishing(publishing) = &self.role else {
            return Ok(());
        };
        publishing
            .recheck(&self.context)
            .await
            .map_err(Closed::PublishRevoked)
    }

    /// Leaves whatever role the connection had (as the session does on a finished publish);
    /// a publisher goes offline.
    async fn stop_publishing(&mut self) {
        if let Role::Publishing(publishing) = std::mem::replace(&mut self.role, Role::Idle) {
            publishing.stop(&self.context).await;
        }
    }

    /// Releases whatever the connection held.
    async fn finish(&mut self) {
        self.stop_publishing().await;
        self.role = Role::Idle;
    }
}

/// What the role (rather than the peer) has to say.
enum RoleEvent {
    /// A player's next stretch of the stream as RTMP chunks, or the end of its feed.
    Media(Result<VecDeque<Bytes>, FeedEnd>),
    /// A publisher's claim was taken by another node's publisher.
    ClaimLost,
}

/// The next [`RoleEvent`]; never resolves for an idle connection.
async fn role_event(role: &mut Role) -> RoleEvent {
    match role {
        Role::Playing(playing) => RoleEvent::Media(playing.next_chunks().await),
        Role::Publishing(publishing) => {
            publishing.claim_lost().await;
            RoleEvent::ClaimLost
        }
        Role::Idle => std::future::pending().await,
    }
}
