//! What keeps a node's [`SearchIndex`] current besides the HTTP hooks
//! ([`crate::search::CatalogueSearch::gig_changed`]: registered, edited, cancelled here): one
//! task that builds it from the store, follows this node's stream hub (a publisher came or
//! went: the gig is live or offline, which it also tells the other nodes), hears the other
//! nodes' news through the [`SearchPeers`] (a gig they wrote is read again from the store),
//! retires the gigs that have ended, and rebuilds the index whenever it may have missed
//! something.
//!
//! When it rebuilds: at the first [`Heard::Resync`] (at once on a node alone; in a cluster once
//! subscribed to the others' news, so none falls between the rebuild's reads and the first
//! news), at every later one (the peers lost their connection, their queue overflowed, or
//! the periodic reconciliation came round), when this node's hub events overflowed, and when
//! a gig heard of cannot be read.
//!
//! A rebuild reads the catalogue the store lists by default (scheduled, live, offline), then
//! asks the stream directory about every gig the store calls live: a crash can leave a gig
//! stored as live with nobody publishing it (the directory takes such gigs off air at start-up,
//! maybe after the rebuild read them).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bookmygig_store::{GigBounds, GigCursor, GigQuery, StatusFilter, Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::SearchIndex;
use super::index::Index;
use super::peers::{Heard, News, SearchPeers};
use super::shared::{Change, RebuildOverflow};
use crate::catalogue::CatalogueCache;
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
    /// The node's ready-made catalogue pages, retired when another node's news changes the
    /// index (this node's own writes retire them already).
    pub catalogue: Arc<CatalogueCache>,
}

/// Starts the feed of `index` (see the module docs), hearing and telling `peers`; it ends when
/// `stopping` turns true.
pub fn spawn(
    index: Arc<SearchIndex>,
    peers: Arc<dyn SearchPeers>,
    sources: Sources,
    stopping: watch::Receiver<bool>,
) -> JoinHandle<()> {
    // Subscribed now, before the rebuild reads anything, so no event falls in between.
    let events = sources.hub.subscribe();
    tokio::spawn(run(index, peers, sources, events, stopping))
}

async fn run(
    index: Arc<SearchIndex>,
    peers: Arc<dyn SearchPeers>,
    sources: Sources,
    mut events: broadcast::Receiver<HubEvent>,
    stopping: watch::Receiver<bool>,
) {
    let (mut heard, listener) = Arc::clone(&peers).listen(stopping.clone());
    let mut hearing = true;
    let mut rebuild_due = false;
    let mut retire = tokio::time::interval(RETIRE_EVERY);
    retire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if std::mem::take(&mut rebuild_due) {
            tokio::select! {
                () = rebuild_until_done(&index, &sources) => {}
                () = stopped(stopping.clone()) => break,
            }
        }
        tokio::select! {
            // The peers first: on a node alone, the first thing heard is the build.
            biased;
            news = heard.recv(), if hearing => match news {
                Some(news) => rebuild_due = hear(&index, &sources, news).await,
                None => hearing = false,
            },
            event = events.recv() => {
                let here = match event {
                    Ok(HubEvent::Live(status)) => Some(News::Stream {
                        gig: status.gig_id,
                        live: true,
                    }),
                    Ok(HubEvent::Offline(gig)) => Some(News::Stream { gig, live: false }),
                    Ok(HubEvent::Facts(_)) => None,
                    Err(RecvError::Lagged(missed)) => {
                        // The other nodes missed these too: their periodic reconciliation
                        // catches them up.
                        tracing::warn!(missed, "the search index missed stream events; rebuilding it");
                        rebuild_due = true;
                        None
                    }
                    Err(RecvError::Closed) => break,
                };
                if let Some(news @ News::Stream { gig, live }) = here {
                    index.apply(Change::Stream { gig, live });
                    peers.tell(news);
                }
            }
            _ = retire.tick() => {
                let retired = index.retire_ended(OffsetDateTime::now_utc());
                if retired > 0 {
                    tracing::debug!(retired, "ended gigs left the search index");
                }
            }
            () = stopped(stopping.clone()) => break,
        }
    }
    drop(heard);
    if let Some(listener) = listener
        && let Err(error) = listener.await
    {
        tracing::warn!(%error, "the search index's listener failed");
    }
}

/// Applies what was heard from the other nodes; returns whether the index must be rebuilt.
async fn hear(index: &SearchIndex, sources: &Sources, heard: Heard) -> bool {
    match heard {
        Heard::Resync => return true,
        Heard::News(News::Stream { gig, live }) => index.apply(Change::Stream { gig, live }),
        Heard::News(News::Gig(id)) => match sources.store.gig(id).await {
            Ok(Some(gig)) => index.apply(Change::Gig(Box::new(gig))),
            // Gigs are never deleted: a gig not there yet is one a rebuild will find.
            Ok(None) => return false,
            Err(error) => {
                tracing::warn!(gig = %id, %error, "cannot read a gig another node changed; rebuilding the search index");
                return true;
            }
        },
    }
    sources.catalogue.invalidate();
    false
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
        bounds: GigBounds::default(),
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
