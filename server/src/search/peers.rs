//! [`SearchPeers`]: how a node's search index hears of the gig changes the other nodes make,
//! and tells them of its own. Chosen once per node ([`crate::node::Node`]): [`Alone`] on a
//! node by itself (it makes every change, so there is nothing to hear), and
//! [`crate::cluster::search_news::RedisSearchPeers`] on a node of a cluster (Redis pub/sub).
//!
//! The news is small on purpose: a gig's id (read it again from the store, which is the truth
//! and holds its latest write whichever message comes last) or a stream that came or went.
//! Whenever a node may have missed news (before its first subscription, after a lost
//! connection, a full queue, or at the periodic reconciliation), its peers say
//! [`Heard::Resync`] and the feed rebuilds the index from the store.

use std::sync::Arc;

use bookmygig_api::GigId;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Something a node did to a gig, as the other nodes' indexes must hear it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum News {
    /// The gig was written (registered, edited, cancelled): read it again from the store.
    Gig(GigId),
    /// Its publisher came (`live`) or went on the node telling it.
    Stream {
        /// The gig.
        gig: GigId,
        /// Whether it is on air now.
        live: bool,
    },
}

/// What a node's feed hears from its peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    /// Another node's news.
    News(News),
    /// News may have been missed (or nothing was built yet): rebuild from the store.
    Resync,
}

/// How a node's search shares its news with the other nodes and hears theirs.
pub trait SearchPeers: Send + Sync + std::fmt::Debug + 'static {
    /// Tells the other nodes `news` made on this node; never waits (news that cannot be sent
    /// is caught up by the others' next resync).
    fn tell(&self, news: News);

    /// Starts hearing the other nodes until `stopping` turns true: what they tell, and
    /// [`Heard::Resync`] first (once hearing, so nothing falls between the rebuild's reads and
    /// the first news) and whenever news may have been missed. The channel closing means
    /// nothing more will be heard. Returns the task doing it, if any.
    fn listen(
        self: Arc<Self>,
        stopping: watch::Receiver<bool>,
    ) -> (mpsc::Receiver<Heard>, Option<JoinHandle<()>>);
}

/// A node by itself: nobody to tell, nothing to hear but one first [`Heard::Resync`] (the
/// build at start-up).
#[derive(Debug, Default)]
pub struct Alone;

impl SearchPeers for Alone {
    fn tell(&self, _news: News) {}

    fn listen(
        self: Arc<Self>,
        _stopping: watch::Receiver<bool>,
    ) -> (mpsc::Receiver<Heard>, Option<JoinHandle<()>>) {
        let (sender, receiver) = mpsc::channel(1);
        // Room for one: cannot fail. The sender goes, so the feed then stops listening.
        let _ = sender.try_send(Heard::Resync);
        (receiver, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn alone_hears_one_resync_then_nothing() {
        let (_stop, stopping) = watch::channel(false);
        let (mut heard, task) = Arc::new(Alone).listen(stopping);
        assert!(task.is_none());
        assert_eq!(heard.recv().await, Some(Heard::Resync));
        assert_eq!(heard.recv().await, None);
    }
}
