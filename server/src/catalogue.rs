//! `CatalogueCache`: ready-to-send catalogue pages. Browsing is by far the most frequent
//! request and its answer changes only when a gig or a seat count changes, so each distinct
//! query is serialized once and then served as shared bytes.
//!
//! Any local write that touches gigs bumps the generation, which retires every page at once;
//! pages also age out after `ttl`, which bounds how stale a page can be when another node
//! (sharing Redis) made the change, and keeps time-derived statuses (`ended`) honest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Most distinct queries kept; past that the cache starts over (a stranger cannot grow it).
const MAX_ENTRIES: usize = 1_024;
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

    /// The cached page for `query`, if it is still current.
    pub fn get(&self, query: &str) -> Option<Bytes> {
        let generation = self.generation();
        let pages = self.pages.lock().ok()?;
        let page = pages.get(query)?;
        (page.generation == generation && page.made.elapsed() < self.ttl).then(|| page.body.clone())
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
        assert_eq!(cache.get("limit=5").as_deref(), Some(&b"[1]"[..]));
        assert_eq!(cache.get("limit=6"), None);
        cache.invalidate();
        assert_eq!(cache.get("limit=5"), None);

        let stale = CatalogueCache::new(Duration::ZERO);
        stale.put("", stale.generation(), Bytes::from_static(b"[]"));
        assert_eq!(stale.get(""), None);
    }

    #[test]
    fn a_page_built_across_a_write_is_never_served() {
        let cache = CatalogueCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.invalidate();
        cache.put("", before, Bytes::from_static(b"old"));
        assert_eq!(cache.get(""), None);
    }
}
