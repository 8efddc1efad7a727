//! `CatalogueCache`: ready-to-send catalogue pages. Browsing is by far the most frequent
//! request and its answer changes only when a gig or a seat count changes, so each distinct
//! query is serialized once and then served as shared bytes.
//!
//! Any local write that touches gigs bumps the generation, which retires every page at once;
//! pages also age out after `ttl`, which bounds how stale a page can be when another node
//! (sharing Redis) made the change, and keeps time-derived statuses (`ended`) honest. When a
//! page ages out, one request rebuilds it while the others are still served the old page, so a
//! busy catalogue never sends every request to the store at the same moment.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Most distinct queries kept; past that the cache starts over (a stranger cannot grow it).
const MAX_ENTRIES: usize = 1_024;
/// How long other requests wait on (and are served the old page during) one rebuild.
const REBUILD_GRACE: Duration = Duration::from_secs(5);
/// Longest query string worth caching.
const MAX_KEY_LEN: usize = 512;

/// Serialized catalogue pages by query string.
#[derive(Debug)]
pub struct CatalogueCache {
    generation: AtomicU64,
    ttl: Duration,
    pages: Mutex<HashMap<String, Page>>,
}

#[derive(Debug)]
struct Page {
    generation: u64,
    made: Instant,
    body: Bytes,
    /// A request is rebuilding this page (since this instant).
    refreshing: Option<Instant>,
}

/// What the cache has for a query.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A current page: send it.
    Fresh(Bytes),
    /// An aged page another request is rebuilding: send it.
    Stale(Bytes),
    /// Nothing usable: build the page and [`CatalogueCache::put`] it.
    Miss,
}

impl CatalogueCache {
    /// An empty cache whose pages live at most `ttl`.
    pub fn new(ttl: Duration) -> Self {
        CatalogueCache {
            generation: AtomicU64::new(0),
            ttl,
            pages: Mutex::new(HashMap::new()),
        }
    }

    /// Retires every page: call after any write that changes what the catalogue shows.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The generation a page about to be built belongs to; read it *before* reading the store,
    /// so a write racing with the build retires the page.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// What the cache holds for `query`. An aged page is handed to exactly one caller as a
    /// [`Lookup::Miss`] (it rebuilds) and to everyone else as [`Lookup::Stale`]; a page retired
    /// by a write is a miss for all.
    pub fn lookup(&self, query: &str) -> Lookup {
        let generation = self.generation();
        let Ok(mut pages) = self.pages.lock() else {
            return Lookup::Miss;
        };
        let Some(page) = pages.get_mut(query) else {
            return Lookup::Miss;
        };
        if page.generation != generation {
            return Lookup::Miss;
        }
        if page.made.elapsed() < self.ttl {
            return Lookup::Fresh(page.body.clone());
        }
        // A rebuild that has not finished by now probably failed: let another request try.
        match page.refreshing {
            Some(since) if since.elapsed() < REBUILD_GRACE => Lookup::Stale(page.body.clone()),
            _ => {
                page.refreshing = Some(Instant::now());
                Lookup::Miss
            }
        }
    }

    /// Keeps `body` as the page for `query`, built at `generation`.
    pub fn put(&self, query: &str, generation: u64, body: Bytes) {
        if query.len() > MAX_KEY_LEN {
            return;
        }
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= MAX_ENTRIES && !pages.contains_key(query) {
                pages.clear();
            }
            pages.insert(
                query.to_owned(),
                Page {
                    generation,
                    made: Instant::now(),
                    body,
                    refreshing: None,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_retired_by_writes_and_by_age() {
        let cache = CatalogueCache::new(Duration::from_secs(60));
        let g = cache.generation();
        cache.put("limit=5", g, Bytes::from_static(b"[1]"));
        assert_eq!(
            cache.lookup("limit=5"),
            Lookup::Fresh(Bytes::from_static(b"[1]"))
        );
        assert_eq!(cache.lookup("limit=6"), Lookup::Miss);
        cache.invalidate();
        assert_eq!(cache.lookup("limit=5"), Lookup::Miss);
        assert_eq!(
            cache.lookup("limit=5"),
            Lookup::Miss,
            "a retired page is a miss for all"
        );
    }

    #[test]
    fn an_aged_page_is_rebuilt_by_one_request_while_others_get_it() {
        let aged = CatalogueCache::new(Duration::ZERO);
        aged.put("", aged.generation(), Bytes::from_static(b"[]"));
        assert_eq!(aged.lookup(""), Lookup::Miss, "the first caller rebuilds");
        assert_eq!(aged.lookup(""), Lookup::Stale(Bytes::from_static(b"[]")));
        aged.put("", aged.generation(), Bytes::from_static(b"[1]"));
        assert_eq!(
            aged.lookup(""),
            Lookup::Miss,
            "the next age-out is rebuilt again"
        );
    }

    #[test]
    fn a_page_built_across_a_write_is_never_served() {
        let cache = CatalogueCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.invalidate();
        cache.put("", before, Bytes::from_static(b"old"));
        assert_eq!(cache.lookup(""), Lookup::Miss);
    }
}
