//! The stream directory: the seam between one node and many for live streams. It answers who
//! holds a gig's publisher slot, which stream a viewer on this node watches a gig from, a gig's
//! status (with the viewers of every node), and whether another node may pull a stream from
//! this one. It is chosen once at start-up ([`StreamSeams`]): [`OneNodeDirectory`] for a single
//! node, or the Redis one ([`crate::cluster::stream_directory`]) for several nodes on one Redis.
//! The rest of the server holds an `Arc<dyn StreamDirectory>` and never asks which it has.
//!
//! What it does not do: decide who may publish or watch (the RTMP policy and [`crate::access`]
//! do), or move media inside the node (the [`super::StreamHub`] does).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bookmygig_api::{GigId, StreamStatus};
use bookmygig_store::{Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{LiveStream, StreamHub};
use crate::cluster::relay_token::RelayTokenError;
use crate::config::PlaybackSecret;
use crate::playback::PlaybackKey;

/// Why the directory could not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Another publisher (on this node or another) holds the gig.
    #[error("the gig is published on node {0}")]
    Taken(String),
    /// The directory itself could not be read (Redis is out).
    #[error("{0}")]
    Unavailable(String),
    /// The node holding the publisher did not serve the stream.
    #[error("origin node: {0}")]
    Origin(String),
}

/// Why a relay request from another node was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RelayRefusal {
    /// This node serves no relays (it has no other nodes).
    #[error("no such endpoint")]
    NotServed,
    /// The relay token does not open this gig.
    #[error("{0}")]
    Token(#[from] RelayTokenError),
}

/// The stream directory (see the module docs).
#[async_trait]
pub trait StreamDirectory: Send + Sync + fmt::Debug {
    /// Claims `gig`'s publisher slot for a publisher on this node.
    ///
    /// # Errors
    /// [`DirectoryError::Taken`] when another publisher holds it;
    /// [`DirectoryError::Unavailable`] when the directory cannot be asked.
    async fn claim(&self, gig: GigId) -> Result<PublishClaim, DirectoryError>;

    /// The stream to watch `gig` from on this node; `None` when the gig is not live.
    ///
    /// # Errors
    /// When the directory or the node holding the publisher fails.
    async fn watchable_stream(&self, gig: GigId)
    -> Result<Option<Arc<LiveStream>>, DirectoryError>;

    /// `gig`'s stream status, with the viewers of every node that serves it.
    ///
    /// # Errors
    /// When the directory cannot be read.
    async fn status(&self, gig: GigId) -> Result<StreamStatus, DirectoryError>;

    /// Whether another node, showing `token`, may pull `gig`'s stream from this node now.
    ///
    /// # Errors
    /// Why not.
    fn admit_relay(
        &self,
        token: Option<&str>,
        gig: GigId,
        now: OffsetDateTime,
    ) -> Result<(), RelayRefusal>;

    /// What the directory does while the node runs (until `stopping` turns true): on one node,
    /// take the gigs left live by a crash off air (at once, before anything is served); on
    /// several, sweep the gigs of dead nodes. Returns the task to await at shutdown, if any.
    ///
    /// # Errors
    /// When the store fails during the start-up work.
    async fn start(
        &self,
        store: Arc<dyn Store>,
        stopping: watch::Receiver<bool>,
    ) -> Result<Option<JoinHandle<()>>, StoreError>;
}

/// What a claim does, for each implementation (see [`PublishClaim`]).
#[async_trait]
pub trait ClaimHold: Send + Sync + fmt::Debug {
    /// Keeps the claim alive while `stream` is published (see [`PublishClaim::keep_alive`]).
    fn keep_alive(&mut self, stream: Arc<LiveStream>, hub: Arc<StreamHub>, store: Arc<dyn Store>);
    /// Resolves when another publisher has taken the gig.
    async fn lost(&mut self);
    /// Gives the slot back.
    async fn release(self: Box<Self>);
}

/// A publisher's hold on its gig's slot in the directory, for as long as it publishes.
/// Dropping it releases it too (in the background).
#[derive(Debug)]
pub struct PublishClaim(Box<dyn ClaimHold>);

impl PublishClaim {
    /// A claim held by `hold`.
    pub fn new(hold: impl ClaimHold + 'static) -> Self {
        PublishClaim(Box::new(hold))
    }

    /// Keeps the claim alive (and the stored gig `live`) while `stream` is published.
    pub fn keep_alive(
        &mut self,
        stream: Arc<LiveStream>,
        hub: Arc<StreamHub>,
        store: Arc<dyn Store>,
    ) {
        self.0.keep_alive(stream, hub, store);
    }

    /// Resolves when another publisher has taken the gig (the claim is then worthless); never
    /// on one node.
    pub async fn lost(&mut self) {
        self.0.lost().await;
    }

    /// Gives the slot back, waiting for the directory to hear it.
    pub async fn release(self) {
        self.0.release().await;
    }
}

/// The claim of a single node: the hub's publisher slot is the only hold there is, so this one
/// holds nothing, is never lost and releases nothing.
#[derive(Debug)]
struct LocalClaim;

#[async_trait]
impl ClaimHold for LocalClaim {
    fn keep_alive(&mut self, _: Arc<LiveStream>, _: Arc<StreamHub>, _: Arc<dyn Store>) {}

    async fn lost(&mut self) {
        std::future::pending::<()>().await;
    }

    async fn release(self: Box<Self>) {}
}

/// The directory of a single node: every stream is in this node's hub.
#[derive(Debug)]
pub struct OneNodeDirectory {
    hub: Arc<StreamHub>,
}

impl OneNodeDirectory {
    /// The directory of the node whose streams are in `hub`.
    pub fn new(hub: Arc<StreamHub>) -> Arc<Self> {
        Arc::new(OneNodeDirectory { hub })
    }
}

#[async_trait]
impl StreamDirectory for OneNodeDirectory {
    async fn claim(&self, _gig: GigId) -> Result<PublishClaim, DirectoryError> {
        // The hub refuses a second publisher on this node; there is no other node.
        Ok(PublishClaim::new(LocalClaim))
    }

    async fn watchable_stream(
        &self,
        gig: GigId,
    ) -> Result<Option<Arc<LiveStream>>, DirectoryError> {
        Ok(self.hub.stream(gig))
    }

    async fn status(&self, gig: GigId) -> Result<StreamStatus, DirectoryError> {
        Ok(self
            .hub
            .stream(gig)
            .map_or_else(|| offline_status(gig), |stream| stream.status()))
    }

    fn admit_relay(
        &self,
        _: Option<&str>,
        _: GigId,
        _: OffsetDateTime,
    ) -> Result<(), RelayRefusal> {
        Err(RelayRefusal::NotServed)
    }

    async fn start(
        &self,
        store: Arc<dyn Store>,
        _stopping: watch::Receiver<bool>,
    ) -> Result<Option<JoinHandle<()>>, StoreError> {
        // Only the embedded store belongs to this node alone; a shared one (Redis) may hold the
        // live gigs of nodes started with it some other way, which are not ours to end.
        if store.backend_name() == "embedded" {
            let orphaned = super::recovery::mark_orphaned_streams_offline(store.as_ref()).await?;
            if orphaned > 0 {
                tracing::info!(gigs = orphaned, "gigs left live by a crash are offline now");
            }
        }
        Ok(None)
    }
}

/// The status of a gig nobody publishes.
pub fn offline_status(gig: GigId) -> StreamStatus {
    StreamStatus {
        gig_id: gig,
        live: false,
        started_at: None,
        viewers: 0,
        video: None,
        audio: None,
    }
}

/// The stream seams of a node, chosen together once at start-up: its stream directory and the
/// key its playback tokens are signed with.
#[derive(Clone, Debug)]
pub struct StreamSeams {
    /// Who publishes each gig, and how a viewer on this node reaches it.
    pub directory: Arc<dyn StreamDirectory>,
    /// Signs and checks playback tokens.
    pub playback_key: PlaybackKey,
}

impl StreamSeams {
    /// The seams of a single node: its hub is the directory; playback tokens are signed with
    /// `--playback-secret` when given, else with a fresh random key.
    pub fn one_node(hub: Arc<StreamHub>, playback_secret: Option<&PlaybackSecret>) -> Self {
        StreamSeams {
            directory: OneNodeDirectory::new(hub),
            playback_key: PlaybackKey::choose(playback_secret, None),
        }
    }
}
