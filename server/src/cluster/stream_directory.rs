//! The stream directory of several nodes on one Redis: claims in the [`StreamRegistry`] (one
//! publisher per gig across the cluster), viewers served through this node's [`Relays`], the
//! origin's status with every node's viewers, relay requests admitted by their [`RelayKey`]
//! token, and the [`super::sweeper`] running while the node does. The single-node counterpart
//! is [`OneNodeDirectory`](crate::live::directory::OneNodeDirectory).

use std::sync::Arc;

use async_trait::async_trait;
use bookmygig_api::{GigId, StreamStatus};
use bookmygig_store::{Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Cluster;
use super::registry::{RegistryError, StreamRegistry};
use super::relay::{RelayError, Relays};
use super::relay_token::RelayKey;
use crate::config::PlaybackSecret;
use crate::live::directory::{
    DirectoryError, PublishClaim, RelayRefusal, StreamDirectory, StreamSeams, offline_status,
};
use crate::live::{LiveStream, StreamHub};
use crate::playback::PlaybackKey;

/// The Redis stream directory (see the module docs).
#[derive(Debug)]
pub struct RedisStreamDirectory {
    relays: Arc<Relays>,
    hub: Arc<StreamHub>,
}

impl RedisStreamDirectory {
    /// The directory of this node's `relays`, whose streams are in `hub`.
    pub fn new(relays: Arc<Relays>, hub: Arc<StreamHub>) -> Arc<Self> {
        Arc::new(RedisStreamDirectory { relays, hub })
    }

    fn registry(&self) -> &Arc<StreamRegistry> {
        self.relays.registry()
    }
}

/// The stream seams of a node in `cluster`: the Redis directory, relaying with a key derived
/// from the cluster's shared secret, and playback tokens signed with `--playback-secret` when
/// given, else with that shared secret (so a token from any node opens any node).
///
/// # Errors
/// When Redis cannot give the shared secret, or the relays' HTTP client cannot be built.
pub async fn seams(
    cluster: &Arc<Cluster>,
    hub: Arc<StreamHub>,
    playback_secret: Option<&PlaybackSecret>,
    stopping: watch::Receiver<bool>,
) -> Result<StreamSeams, crate::ServerError> {
    let shared = cluster.shared_secret().await?;
    let registry = StreamRegistry::new(Arc::clone(cluster));
    let relays = Relays::new(
        registry,
        Arc::clone(&hub),
        RelayKey::derive(&shared),
        stopping,
    )?;
    Ok(StreamSeams {
        directory: RedisStreamDirectory::new(relays, hub),
        playback_key: PlaybackKey::choose(playback_secret, Some(shared)),
    })
}

#[async_trait]
impl StreamDirectory for RedisStreamDirectory {
    async fn claim(&self, gig: GigId) -> Result<PublishClaim, DirectoryError> {
        match self.registry().claim(gig).await {
            Ok(claim) => Ok(PublishClaim::new(claim)),
            Err(RegistryError::Taken(node)) => Err(DirectoryError::Taken(node)),
            Err(RegistryError::Redis(cause)) => Err(DirectoryError::Unavailable(cause)),
        }
    }

    async fn watchable_stream(
        &self,
        gig: GigId,
    ) -> Result<Option<Arc<LiveStream>>, DirectoryError> {
        self.relays.stream(gig).await.map_err(|error| match error {
            RelayError::Registry(error) => DirectoryError::Unavailable(error.to_string()),
            RelayError::Origin(cause) => DirectoryError::Origin(cause),
        })
    }

    /// The origin's status, with the viewers of every node that relays it.
    async fn status(&self, gig: GigId) -> Result<StreamStatus, DirectoryError> {
        let (origin, relayed_viewers) = self
            .registry()
            .status(gig)
            .await
            .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
        let mut status = match (self.hub.published_stream(gig), origin) {
            (Some(local), _) => local.status(),
            (None, Some(origin)) => origin,
            (None, None) => return Ok(offline_status(gig)),
        };
        status.viewers = status.viewers.saturating_add(relayed_viewers);
        Ok(status)
    }

    fn admit_relay(
        &self,
        token: Option<&str>,
        gig: GigId,
        now: OffsetDateTime,
    ) -> Result<(), RelayRefusal> {
        Ok(self.relays.key().verify(token, gig, now)?)
    }

    /// Sweeps the gigs of dead nodes (instead of the single node's start-up recovery, which
    /// would take other nodes' live gigs off air).
    async fn start(
        &self,
        store: Arc<dyn Store>,
        stopping: watch::Receiver<bool>,
    ) -> Result<Option<JoinHandle<()>>, StoreError> {
        Ok(Some(tokio::spawn(super::sweeper::run(
            Arc::clone(self.registry()),
            store,
            Arc::clone(&self.hub),
            stopping,
        ))))
    }
}
