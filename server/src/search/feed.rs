//! What keeps a node's [`SearchIndex`] current besides the HTTP hooks
//! ([`crate::state::AppState::gig_changed`]: registered, edited, cancelled): one task that
//! builds it from the store at start-up, follows this node's stream hub (a publisher came or
//! went: the gig is live or offline), retires the gigs that have ended, and rebuilds it
//! whenever it may have missed a hub event.
//!
//! A rebuild reads the catalogue the store lists by default (scheduled, live, offline), then
//! asks the stream directory about every gig the store calls live: a crash can leave a gig
//! stored as live with nobody publishing it (the directory takes such gigs off air at start-up,
//! maybe after the rebuild read them).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bookmygig_store::{GigCursor, GigQuery, StatusFilter, Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::SearchIndex;
use super::index::Index;
use super::shared::{Change, RebuildOverflow};
use crate::live::StreamDirectory;
use crate::live::hub::{HubEvent, StreamHub};

/// Gigs read from the store at a time during a rebuild.
const REBUILD_PAGE: usize = 1_000;
/// How long to wait before trying a failed rebuild again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often ended gigs are taken out (they are never shown meanwhile: the clock decides).
const RETIRE_EVERY: Duration = Duration::from_secs(60);

/// Why a rebuild failed.
#[derive(Debug, thiserror::Error)]
enum RebuildError {
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Overflow(#[from] RebuildOverflow),
}

/// What the feed reads from.
pub struct Sources {
    /// Where the gigs are.
    pub store: Arc<dyn Store>,
    /// This node's live streams: their events, subscribed to before the first rebuild.
    pub hub: Arc<StreamHub>,
    /// Who is on air, for gigs the store calls live.
    pub directory: Arc<dyn StreamDirectory>,
}

/// Starts the feed of `index` (see the module docs); it ends when `stopping` turns true.
pub fn spawn(
    index: Arc<SearchIndex>,
    sources: Sources,
    stopping: watch::Receiver<bool>,
) -> JoinHandle<()> {
    // Subscribed now, before the rebuild reads anything, so no event falls in between.
    let events = sources.hub.subscribe();
    tokio::spawn(run(index, sources, events, stopping))
}

async fn run(
    index: Arc<SearchIndex>,
    sources: Sources,
    mut events: broadcast::Receiver<HubEvent>,
    stopping: watch::Receiver<bool>,
) {
    tokio::select! {
        () = rebuild_until_done(&index, &sources) => {}
        () = stopped(stopping.clone()) => return,
    }
    let mut retire = tokio::time::interval(RETIRE_EVERY);
    retire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(HubEvent::Live(status)) => index.apply(Change::Stream {
                    gig: status.gig_id,
                    live: true,
                }),
                Ok(HubEvent::Offline(gig)) => index.apply(Change::Stream { gig, live: false }),
                Ok(HubEvent::Facts(_)) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the search index missed stream events; rebuilding it");
                    tokio::select! {
                        () = rebuild_until_done(&index, &sources) => {}
                        () = stopped(stopping.clone()) => return,
                    }
                }
                Err(RecvError::Closed) => return,
            },
            _ = retire.tick() => {
                let retired = index.retire_ended(OffsetDateTime::now_utc());
                if retired > 0 {
                    tracing::debug!(retired, "ended gigs left the search index");
                }
            }
            () = stopped(stopping.clone()) => return,
        }
    }
}

/// Resolves when `stopping` turns true (or its sender is gone).
async fn stopped(mut stopping: watch::Receiver<bool>) {
    drop(stopping.wait_for(|stopping| *stopping).await);
}

/// Rebuilds until a rebuild succeeds, waiting [`RETRY_AFTER`] after each failure.
async fn rebuild_until_done(index: &SearchIndex, sources: &Sources) {
    loop {
        let began = Instant::now();
        match rebuild(index, sources).await {
            Ok(()) => {
                let (gigs, words) = index.size();
                tracing::info!(
                    gigs,
                    words,
                    ms = began.elapsed().as_millis(),
                    "search index built"
                );
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot build the search index; trying again");
                tokio::time::sleep(RETRY_AFTER).await;
            }
        }
    }
}

/// Builds the index anew from the store (see the module docs).
async fn rebuild(index: &SearchIndex, sources: &Sources) -> Result<(), RebuildError> {
    index.begin_rebuild();
    let mut rebuilt = Index::default();
    let mut query = GigQuery {
        category: None,
        status: StatusFilter::Upcoming,
        text: None,
        after: None,
        limit: REBUILD_PAGE,
        now: OffsetDateTime::now_utc(),
    };
    loop {
        let page = sources.store.list_gigs(&query).await?;
        for gig in &page {
            rebuilt.put(gig);
        }
        match page.last() {
            Some(last) if page.len() == REBUILD_PAGE => query.after = Some(GigCursor::after(last)),
            _ => break,
        }
    }
    index.finish_rebuild(rebuilt)?;
    for gig in index.live() {
        match sources.directory.status(gig).await {
            Ok(status) if !status.live => index.apply(Change::Stream { gig, live: false }),
            Ok(_) => {}
            Err(error) => tracing::debug!(%gig, %error, "cannot ask whether the gig is on air"),
        }
    }
    Ok(())
}
