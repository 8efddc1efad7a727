//! [`CatalogueSearch`]: how a node answers catalogue queries with search text. Every node, alone
//! or in a cluster, keeps its own in-memory [`SearchIndex`]; what differs is only who else makes
//! changes, the [`SearchPeers`] chosen once at start-up ([`crate::node::Node`]), so every
//! handler runs one code path.

use std::sync::Arc;

use bookmygig_store::{GigQuery, GigRecord, Store, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::feed::{self, Sources};
use super::listing::{self, Listing};
use super::peers::{News, SearchPeers};
use super::shared::{Change, SearchIndex};

/// A node's catalogue search: its index, and the peers it shares changes with.
#[derive(Debug)]
pub struct CatalogueSearch {
    /// The node's own index.
    index: Arc<SearchIndex>,
    /// The other nodes (none alone).
    peers: Arc<dyn SearchPeers>,
}

impl CatalogueSearch {
    /// A search whose index is not built yet (its [`CatalogueSearch::feed`] builds it), sharing
    /// changes with `peers`.
    pub fn new(peers: Arc<dyn SearchPeers>) -> Arc<Self> {
        Arc::new(CatalogueSearch {
            index: Arc::new(SearchIndex::new()),
            peers,
        })
    }

    /// The node's index.
    pub fn index(&self) -> &Arc<SearchIndex> {
        &self.index
    }

    /// A gig was registered, edited or cancelled on this node (as written): indexed here at
    /// once, and told to the other nodes.
    pub fn gig_changed(&self, gig: &GigRecord) {
        self.index.apply(Change::Gig(Box::new(gig.clone())));
        self.peers.tell(News::Gig(gig.id));
    }

    /// The page `query` asks for, or `None` when the index leaves it to the store's scan by
    /// start time (no text, a status the index does not hold, not built yet).
    ///
    /// # Errors
    /// When the store fails to give a gig of the page.
    pub async fn page(
        &self,
        store: &dyn Store,
        query: &GigQuery,
    ) -> Result<Option<Listing>, StoreError> {
        listing::page(&self.index, store, query).await
    }

    /// Starts the task that builds the index and keeps it current (see [`feed`]); it ends when
    /// `stopping` turns true.
    pub fn feed(&self, sources: Sources, stopping: watch::Receiver<bool>) -> JoinHandle<()> {
        feed::spawn(
            Arc::clone(&self.index),
            Arc::clone(&self.peers),
            sources,
            stopping,
        )
    }
}
