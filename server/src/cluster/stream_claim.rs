//! `StreamClaim`: this node's hold on a gig's publisher slot in the [`StreamRegistry`], renewed
//! while the publisher streams and released (compare-and-delete) when it stops. The Redis
//! stream directory hands it to the RTMP publisher as its
//! [`PublishClaim`](crate::live::directory::PublishClaim).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bookmygig_api::GigId;
use bookmygig_store::{GigState, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::registry::{HEARTBEAT, StreamRegistry};
use crate::live::directory::ClaimHold;
use crate::live::{LiveStream, StreamHub};

/// What a renewal found.
pub(super) enum Renewal {
    /// The claim was still this node's: extended.
    Renewed,
    /// The claim had lapsed (Redis was unreachable for a TTL) and nobody took it: taken back.
    Reclaimed,
    /// Another publisher holds the gig now.
    Lost,
}

/// This node's hold on a gig's publisher slot across the cluster. Dropping it releases it
/// (compare-and-delete), as does [`StreamClaim::release`], which waits for Redis.
pub struct StreamClaim {
    registry: Arc<StreamRegistry>,
    gig: GigId,
    /// The entry's exact value: what compare-and-delete compares.
    value: String,
    heartbeat: Option<JoinHandle<()>>,
    lost_tx: Option<watch::Sender<bool>>,
    lost: watch::Receiver<bool>,
    released: bool,
}

impl fmt::Debug for StreamClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamClaim")
            .field("gig", &self.gig)
            .finish_non_exhaustive()
    }
}

impl StreamClaim {
    /// The claim written as `value` for `gig`, not yet kept alive.
    pub(super) fn new(registry: Arc<StreamRegistry>, gig: GigId, value: String) -> Self {
        let (lost_tx, lost) = watch::channel(false);
        StreamClaim {
            registry,
            gig,
            value,
            heartbeat: None,
            lost_tx: Some(lost_tx),
            lost,
            released: false,
        }
    }

    /// Renews the claim every [`HEARTBEAT`] with `stream`'s status until it is released, and
    /// keeps the stored gig `live` meanwhile: a sweeper that raced this publish, or one that ran
    /// while a Redis outage let the claim lapse, may have marked it offline — then the gig is
    /// marked live and announced live again through `hub`.
    pub fn keep_alive(
        &mut self,
        stream: Arc<LiveStream>,
        hub: Arc<StreamHub>,
        store: Arc<dyn Store>,
    ) {
        let Some(lost_tx) = self.lost_tx.take() else {
            return;
        };
        let registry = Arc::clone(&self.registry);
        let (gig, value) = (self.gig, self.value.clone());
        self.heartbeat = Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(HEARTBEAT);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match registry.renew(gig, &value, &stream.status()).await {
                    Ok(Renewal::Renewed) => {}
                    Ok(Renewal::Reclaimed) => {
                        tracing::warn!(gig = %gig, "stream claim had lapsed; taken back");
                    }
                    Ok(Renewal::Lost) => {
                        tracing::warn!(gig = %gig, "stream claim lost to another publisher");
                        let _ = lost_tx.send(true);
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(gig = %gig, %error, "cannot renew the stream claim");
                        continue;
                    }
                }
                if let Ok(Some(record)) = store.gig(gig).await
                    && record.state == GigState::Offline
                {
                    tracing::info!(gig = %gig, "gig was stored offline while published here; live again");
                    match store.set_gig_state(gig, GigState::Live).await {
                        Ok(_) => hub.announce_live_again(&stream),
                        Err(error) => {
                            tracing::warn!(gig = %gig, %error, "could not mark the gig live");
                        }
                    }
                }
            }
        }));
    }

    /// Resolves when another publisher has taken the gig (the claim is then worthless).
    pub async fn lost(&mut self) {
        if self.lost.wait_for(|lost| *lost).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Stops renewing and deletes the entry if it is still this claim's.
    pub async fn release(mut self) {
        self.released = true;
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        if let Err(error) = self.registry.release(self.gig, &self.value).await {
            tracing::warn!(gig = %self.gig, %error, "cannot release the stream claim; it lapses by itself");
        }
    }
}

impl Drop for StreamClaim {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        if self.released {
            return;
        }
        let (registry, gig, value) = (
            Arc::clone(&self.registry),
            self.gig,
            std::mem::take(&mut self.value),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = registry.release(gig, &value).await {
                    tracing::warn!(gig = %gig, %error, "cannot release the stream claim; it lapses by itself");
                }
            });
        }
    }
}

#[async_trait]
impl ClaimHold for StreamClaim {
    fn keep_alive(&mut self, stream: Arc<LiveStream>, hub: Arc<StreamHub>, store: Arc<dyn Store>) {
        StreamClaim::keep_alive(self, stream, hub, store);
    }

    async fn lost(&mut self) {
        StreamClaim::lost(self).await;
    }

    async fn release(self: Box<Self>) {
        StreamClaim::release(*self).await;
    }
}
