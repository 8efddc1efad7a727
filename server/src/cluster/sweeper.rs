//! The stream sweeper (Redis mode, on every node): a gig stored as `live` whose claim in the
//! [`StreamRegistry`] lapsed — its publishing node died without a word — is marked `offline`,
//! and the sweeping node announces it in the hub's events, which the chat spreads to every node.
//! Every node sweeps, so the cluster notices while any node runs; the registry hands each
//! lapsed claim to exactly one node ([`StreamRegistry::take_orphan`]), so nodes never write
//! over each other. A publishing node that finds its gig marked offline regardless (a race
//! with a republish) marks it live again with its next renewal.
//!
//! This replaces, in Redis mode, the embedded store's start-up recovery
//! ([`crate::live::recovery`]), which would take other nodes' live gigs off air.

use std::sync::Arc;
use std::time::Duration;

use bookmygig_api::GigStatus;
use bookmygig_api::limits::PAGE_LIMIT_MAX;
use bookmygig_store::{GigCursor, GigQuery, GigState, StatusFilter, Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::watch;

use super::registry::{RegistryError, StreamRegistry};
use crate::live::StreamHub;

/// How often each node looks for lapsed claims.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Why a sweep failed (the next one tries again).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The registry failed.
    #[error("{0}")]
    Registry(#[from] RegistryError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Sweeps every [`SWEEP_INTERVAL`] until `stopping` turns true. First it hands the sweeper
/// every gig stored as live (left so by an earlier run, perhaps before any claim existed).
pub async fn run(
    registry: Arc<StreamRegistry>,
    store: Arc<dyn Store>,
    hub: Arc<StreamHub>,
    mut stopping: watch::Receiver<bool>,
) {
    if let Err(error) = track_stored_live_gigs(&registry, store.as_ref()).await {
        tracing::warn!(%error, "cannot list the gigs stored as live");
    }
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                if let Err(error) = sweep(&registry, store.as_ref(), &hub).await {
                    tracing::warn!(%error, "stream sweep failed");
                }
            }
            () = async { drop(stopping.wait_for(|stopping| *stopping).await) } => return,
        }
    }
}

/// Marks offline (and announces so) every tracked gig whose claim lapsed and that this node
/// wins; returns how many it marked.
///
/// # Errors
/// When Redis or the store fails (a gig taken but not written is tracked again).
pub async fn sweep(
    registry: &StreamRegistry,
    store: &dyn Store,
    hub: &StreamHub,
) -> Result<usize, SweepError> {
    let mut marked = 0;
    for gig in registry.tracked().await? {
        if !registry.take_orphan(gig).await? {
            continue;
        }
        let written = async {
            match store.gig(gig).await? {
                Some(record) if record.state == GigState::Live => {
                    store.set_gig_state(gig, GigState::Offline).await?;
                    Ok::<_, StoreError>(true)
                }
                _ => Ok(false),
            }
        }
        .await;
        match written {
            Ok(true) => {
                tracing::info!(gig = %gig, "publishing node is gone: gig is offline");
                hub.announce_gone_elsewhere(gig);
                marked += 1;
            }
            Ok(false) => {}
            Err(error) => {
                registry.track(gig).await?;
                return Err(error.into());
            }
        }
    }
    Ok(marked)
}

/// Tracks every gig the store holds as live.
async fn track_stored_live_gigs(
    registry: &StreamRegistry,
    store: &dyn Store,
) -> Result<(), SweepError> {
    let mut query = GigQuery {
        category: None,
        status: StatusFilter::Is(GigStatus::Live),
        text: None,
        after: None,
        limit: PAGE_LIMIT_MAX,
        now: OffsetDateTime::now_utc(),
        bounds: bookmygig_store::GigBounds::default(),
    };
    loop {
        let page = store.list_gigs(&query).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        query.after = Some(GigCursor::after(last));
        for gig in &page {
            registry.track(gig.id).await?;
        }
    }
}
