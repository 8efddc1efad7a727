//! `SearchIndex`: the node's [`Index`] behind a lock, and the seam that feeds it. Every change
//! of a gig reaches it as a [`Change`]; while a rebuild from the store runs (at start-up, or
//! after the node lost track of changes), the changes are also logged and replayed onto the
//! new index before it replaces the old one, so a change racing with the rebuild's reads is
//! never lost. Until the first rebuild is done it answers nothing and the catalogue asks the
//! store instead.
//!
//! On one node every change is made here, so feeding it from this node's hooks keeps it exact.
//! On several nodes (Redis) each node's index also hears the others' changes (see
//! [`super::peers`]) and is rebuilt whenever it may have missed one.

use std::sync::{PoisonError, RwLock};

use bookmygig_api::GigId;
use bookmygig_store::GigRecord;
use time::OffsetDateTime;

use super::index::{Filter, Index};
use super::query::SearchQuery;
use super::rank::Position;

/// Most changes logged while a rebuild runs; past that the rebuild is void and starts over
/// (a rebuild of 100,000 gigs takes about a second, far fewer changes than this).
const REBUILD_LOG_MAX: usize = 10_000;

/// Something that changed about a gig, as the index must hear it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The gig as it is now (registered, edited or cancelled).
    Gig(Box<GigRecord>),
    /// Its publisher came (`live`) or went.
    Stream {
        /// The gig.
        gig: GigId,
        /// Whether it is on air now.
        live: bool,
    },
}

/// A rebuild's log could not hold every change made during it; build again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("more than {REBUILD_LOG_MAX} changes during a rebuild of the search index")]
pub struct RebuildOverflow;

/// The node's search index (see the module docs).
#[derive(Debug, Default)]
pub struct SearchIndex {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The index searches use; `None` until the first rebuild is done.
    serving: Option<Index>,
    /// While a rebuild runs: the changes made since it began.
    log: Option<Vec<Change>>,
    /// The log overflowed: the running rebuild is void.
    overflowed: bool,
}

impl SearchIndex {
    /// An index that answers nothing until its first rebuild.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `change`.
    pub fn apply(&self, change: Change) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = inner.serving.as_mut() {
            apply_to(index, &change);
        }
        let overflowed = match inner.log.as_mut() {
            Some(log) if log.len() < REBUILD_LOG_MAX => {
                log.push(change);
                false
            }
            Some(_) => true,
            None => false,
        };
        if overflowed {
            inner.overflowed = true;
            inner.log = Some(Vec::new());
        }
    }

    /// Whether searches are answered (the first rebuild is done).
    pub fn is_ready(&self) -> bool {
        self.read(|index| index.is_some())
    }

    /// The first `limit` gigs matching `query` and `filter` after `after`; `None` before the
    /// first rebuild is done.
    pub fn search(
        &self,
        query: &SearchQuery,
        filter: &Filter,
        after: Option<Position>,
        limit: usize,
    ) -> Option<Vec<Position>> {
        self.read(|index| Some(index?.search(query, filter, after, limit)))
    }

    /// The gigs indexed as live.
    pub fn live(&self) -> Vec<GigId> {
        self.read(|index| index.map(Index::live).unwrap_or_default())
    }

    /// How many gigs and distinct words are indexed.
    pub fn size(&self) -> (usize, usize) {
        self.read(|index| index.map_or((0, 0), |i| (i.len(), i.words())))
    }

    /// Takes out the gigs that have ended by `now`; returns how many.
    pub fn retire_ended(&self, now: OffsetDateTime) -> usize {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner
            .serving
            .as_mut()
            .map_or(0, |index| index.retire_ended(now))
    }

    /// Starts logging changes for a rebuild: call before reading the store.
    pub fn begin_rebuild(&self) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.log = Some(Vec::new());
        inner.overflowed = false;
    }

    /// Replays the changes logged since [`SearchIndex::begin_rebuild`] onto `rebuilt` and
    /// serves it from now on.
    ///
    /// # Errors
    /// [`RebuildOverflow`] when too many changes came meanwhile: `rebuilt` is dropped and
    /// the old index stays; begin again.
    pub fn finish_rebuild(&self, mut rebuilt: Index) -> Result<(), RebuildOverflow> {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let log = inner.log.take().unwrap_or_default();
        if std::mem::take(&mut inner.overflowed) {
            return Err(RebuildOverflow);
        }
        for change in &log {
            apply_to(&mut rebuilt, change);
        }
        inner.serving = Some(rebuilt);
        Ok(())
    }

    fn read<T>(&self, f: impl FnOnce(Option<&Index>) -> T) -> T {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        f(inner.serving.as_ref())
    }
}

fn apply_to(index: &mut Index, change: &Change) {
    match change {
        Change::Gig(gig) => index.put(gig),
        Change::Stream { gig, live } => index.set_live(*gig, *live),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::fixtures::gig;

    #[test]
    fn nothing_is_answered_before_the_first_rebuild() {
        let shared = SearchIndex::new();
        shared.apply(Change::Gig(Box::new(gig("Salsa"))));
        let query = SearchQuery::parse("salsa").unwrap();
        assert_eq!(
            shared.search(
                &query,
                &Filter::upcoming_at(OffsetDateTime::now_utc()),
                None,
                5
            ),
            None
        );
        assert!(!shared.is_ready());
    }

    #[test]
    fn changes_during_a_rebuild_are_replayed_onto_it() {
        let shared = SearchIndex::new();
        let mut edited = gig("Salsa");
        shared.begin_rebuild();
        // The rebuild read the old title; the edit came after the read.
        let mut rebuilt = Index::default();
        rebuilt.put(&edited);
        edited.details.title = "Tango".into();
        shared.apply(Change::Gig(Box::new(edited.clone())));
        shared.apply(Change::Stream {
            gig: edited.id,
            live: true,
        });
        shared.finish_rebuild(rebuilt).unwrap();
        let filter = Filter::upcoming_at(OffsetDateTime::now_utc());
        let found = |text: &str| {
            shared
                .search(&SearchQuery::parse(text).unwrap(), &filter, None, 5)
                .unwrap()
        };
        assert!(found("salsa").is_empty());
        assert_eq!(found("tango").len(), 1);
        assert_eq!(shared.live(), [edited.id]);
    }

    #[test]
    fn a_rebuild_flooded_with_changes_is_void() {
        let shared = SearchIndex::new();
        shared.begin_rebuild();
        for _ in 0..=REBUILD_LOG_MAX {
            shared.apply(Change::Stream {
                gig: GigId::new(),
                live: true,
            });
        }
        assert_eq!(
            shared.finish_rebuild(Index::default()),
            Err(RebuildOverflow)
        );
        assert!(!shared.is_ready());
        shared.begin_rebuild();
        assert_eq!(shared.finish_rebuild(Index::default()), Ok(()));
        assert!(shared.is_ready());
    }
}
