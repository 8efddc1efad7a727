//! [`CatalogueSearch`]: how a node answers catalogue queries with search text, chosen once at
//! start-up ([`crate::node::Node`]) the way the store is: a node alone keeps the in-memory
//! [`SearchIndex`]; a node of a cluster, until the nodes share their gig changes, answers with
//! the store's scan ([`StoreScan`]), so every handler runs one code path.

use std::sync::Arc;

use async_trait::async_trait;
use bookmygig_store::{GigQuery, GigRecord, Store, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::feed::{self, Sources};
use super::listing::{self, Listing};
use super::shared::{Change, SearchIndex};

/// A node's catalogue search.
#[async_trait]
pub trait CatalogueSearch: Send + Sync + std::fmt::Debug + 'static {
    /// A gig was registered, edited or cancelled on this node (as written).
    fn gig_changed(&self, gig: &GigRecord);

    /// The page `query` asks for, or `None` when this search leaves it to the store's scan by
    /// start time (no text, a status the search does not hold, not built yet, no index).
    ///
    /// # Errors
    /// When the store fails to give a gig of the page.
    async fn page(
        &self,
        store: &dyn Store,
        query: &GigQuery,
    ) -> Result<Option<Listing>, StoreError>;

    /// The task that keeps it current, if it needs one; it ends when `stopping` turns true.
    fn feed(
        self: Arc<Self>,
        sources: Sources,
        stopping: watch::Receiver<bool>,
    ) -> Option<JoinHandle<()>>;
}

#[async_trait]
impl CatalogueSearch for SearchIndex {
    fn gig_changed(&self, gig: &GigRecord) {
        self.apply(Change::Gig(Box::new(gig.clone())));
    }

    async fn page(
        &self,
        store: &dyn Store,
        query: &GigQuery,
    ) -> Result<Option<Listing>, StoreError> {
        listing::page(self, store, query).await
    }

    fn feed(
        self: Arc<Self>,
        sources: Sources,
        stopping: watch::Receiver<bool>,
    ) -> Option<JoinHandle<()>> {
        Some(feed::spawn(self, sources, stopping))
    }
}

/// No index: every text query is the store's scan (what a cluster's nodes do until they share
/// their gig changes, see [`Change`]).
#[derive(Debug, Default)]
pub struct StoreScan;

#[async_trait]
impl CatalogueSearch for StoreScan {
    fn gig_changed(&self, _gig: &GigRecord) {}

    async fn page(
        &self,
        _store: &dyn Store,
        _query: &GigQuery,
    ) -> Result<Option<Listing>, StoreError> {
        Ok(None)
    }

    fn feed(
        self: Arc<Self>,
        _sources: Sources,
        _stopping: watch::Receiver<bool>,
    ) -> Option<JoinHandle<()>> {
        None
    }
}
