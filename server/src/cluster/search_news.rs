//! The catalogue search across nodes: every node keeps its own in-memory index
//! ([`crate::search`]) and the nodes tell each other what they change over one pub/sub
//! channel, `bmg:search`, so a gig listed, edited, cancelled or gone live on one node is found
//! (or not) accordingly on every node within a fraction of a second.
//!
//! A message is a little JSON: the sending node and a gig, `{"node":…,"gig":…}` (the gig was
//! written: read it again from the store) or with `"live":true|false` (its publisher came or
//! went there). The gig itself is not sent: the store holds its latest write whichever message
//! arrives last, and a gig record carries its stream key, which has no business on a channel
//! every node reads. A node skips its own messages (it applied the change already).
//!
//! Catching up. Pub/sub keeps nothing for a subscriber that is not connected, so whenever a
//! node may have missed news it rebuilds its index from the store ([`Heard::Resync`]), which
//! the store makes exact because every change is written there before it is told:
//! - at every subscription: the first at start-up (the first build, so no news falls between
//!   the build's reads and the subscription), and every one after a lost connection (noticed
//!   at once, or by an unanswered PING within [`super::PING_EVERY`] + [`super::PING_TIMEOUT`]);
//! - when the queue to the index's feed overflows ([`HEARD_QUEUE`] messages behind);
//! - every [`RECONCILE_EVERY`], which bounds how long anything else stays missing: a
//!   `PUBLISH` that failed on the sending node after its write succeeded, news dropped
//!   because the sending queue was full, a node's stream event its own feed missed.
//!
//! A rebuild reads the whole catalogue (about a second for 100,000 gigs) while the old index
//! keeps answering, and the changes heard meanwhile are replayed onto the new one.

use std::sync::Arc;
use std::time::Duration;

use bookmygig_api::GigId;
use futures::StreamExt as _;
use redis::aio::{PubSubSink, PubSubStream};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{Cluster, PING_EVERY, stopped};
use crate::search::{Heard, News, SearchPeers};

/// First wait before reconnecting; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often a node rebuilds its index from the store even though it heard of no loss.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(600);
/// News waiting to be sent; past it news is dropped (the others' reconciliation catches up).
const TELL_QUEUE: usize = 1_024;
/// News heard and waiting for the index's feed; past it the feed is told to rebuild.
pub const HEARD_QUEUE: usize = 4_096;

/// One message on the channel.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    /// The sending node ([`super::NodeId`] in hex).
    node: String,
    /// The gig.
    gig: GigId,
    /// Absent: the gig was written. Present: its publisher came (`true`) or went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    live: Option<bool>,
}

impl Wire {
    fn news(&self) -> News {
        match self.live {
            None => News::Gig(self.gig),
            Some(live) => News::Stream {
                gig: self.gig,
                live,
            },
        }
    }
}

/// The other nodes of the cluster, as the search index hears and tells them (see the module
/// docs).
#[derive(Debug)]
pub struct RedisSearchPeers {
    cluster: Arc<Cluster>,
    /// `bmg:search`.
    channel: String,
    /// This node's news, to the task that publishes it.
    outbox: mpsc::Sender<News>,
}

impl RedisSearchPeers {
    /// Peers on `cluster`'s Redis, and the task that publishes this node's news until
    /// `stopping` turns true.
    pub fn start(
        cluster: Arc<Cluster>,
        stopping: watch::Receiver<bool>,
    ) -> (Arc<Self>, JoinHandle<()>) {
        let (outbox, news) = mpsc::channel(TELL_QUEUE);
        let peers = Arc::new(RedisSearchPeers {
            channel: cluster.key("search"),
            cluster,
            outbox,
        });
        let teller = tokio::spawn(Arc::clone(&peers).tell_all(news, stopping));
        (peers, teller)
    }

    /// Publishes this node's news, one message each, in the order made.
    async fn tell_all(
        self: Arc<Self>,
        mut news: mpsc::Receiver<News>,
        mut stopping: watch::Receiver<bool>,
    ) {
        let node = self.cluster.node().to_string();
        let mut failing = false;
        loop {
            let next = tokio::select! {
                next = news.recv() => next,
                () = stopped(&mut stopping) => None,
            };
            let Some(next) = next else { break };
            let (gig, live) = match next {
                News::Gig(gig) => (gig, None),
                News::Stream { gig, live } => (gig, Some(live)),
            };
            let wire = Wire {
                node: node.clone(),
                gig,
                live,
            };
            let Ok(payload) = serde_json::to_vec(&wire) else {
                continue;
            };
            let mut conn = self.cluster.connection();
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(payload)
                .query_async(&mut conn)
                .await;
            match sent {
                Ok(_) if failing => {
                    tracing::info!("search news reaches the other nodes again");
                    failing = false;
                }
                Ok(_) => {}
                Err(error) if !failing => {
                    tracing::warn!(%error, "cannot tell the other nodes of a gig change; \
                        their periodic reconciliation will catch it");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    }

    /// Hears the other nodes into `heard` until `stopping` turns true, reconnecting whenever
    /// Redis drops (see the module docs).
    async fn hear_all(
        self: Arc<Self>,
        heard: mpsc::Sender<Heard>,
        mut stopping: watch::Receiver<bool>,
    ) {
        let mut queue = Queue {
            heard,
            resync_due: false,
        };
        let mut backoff = MIN_BACKOFF;
        let mut failing = false;
        loop {
            let lost = match self.cluster.pubsub().await {
                Ok(pubsub) => {
                    let (mut sink, stream) = pubsub.split();
                    match sink.subscribe(&self.channel).await {
                        Ok(()) => {
                            if failing {
                                tracing::info!(
                                    "search news: subscribed again; rebuilding the index"
                                );
                                failing = false;
                            }
                            backoff = MIN_BACKOFF;
                            queue.resync();
                            match self.serve(sink, stream, &mut queue, &mut stopping).await {
                                Ending::Shutdown | Ending::FeedGone => return,
                                Ending::Lost(error) => error,
                            }
                        }
                        Err(error) => error.to_string(),
                    }
                }
                Err(error) => error.to_string(),
            };
            if !failing {
                tracing::warn!(error = %lost, "search news lost Redis; the index rebuilds once \
                    it is back");
                failing = true;
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stopped(&mut stopping) => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Runs one subscription until it fails, the feed goes or the server stops.
    async fn serve(
        &self,
        mut sink: PubSubSink,
        mut stream: PubSubStream,
        queue: &mut Queue,
        stopping: &mut watch::Receiver<bool>,
    ) -> Ending {
        let own = self.cluster.node().to_string();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reconcile = tokio::time::interval_at(
            tokio::time::Instant::now() + RECONCILE_EVERY,
            RECONCILE_EVERY,
        );
        reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Waits for room for a resync owed, so it goes even if no more news comes.
        let owed = queue.heard.clone();
        loop {
            if queue.heard.is_closed() {
                return Ending::FeedGone;
            }
            tokio::select! {
                biased;
                () = stopped(stopping) => return Ending::Shutdown,
                permit = owed.reserve(), if queue.resync_due => match permit {
                    Ok(permit) => {
                        permit.send(Heard::Resync);
                        queue.resync_due = false;
                    }
                    Err(_) => return Ending::FeedGone,
                },
                message = stream.next() => match message {
                    Some(message) => {
                        match serde_json::from_slice::<Wire>(message.get_payload_bytes()) {
                            Ok(wire) if wire.node == own => {}
                            Ok(wire) => queue.push(Heard::News(wire.news())),
                            Err(_) => tracing::warn!("search news: ignored a message it cannot read"),
                        }
                    }
                    None => return Ending::Lost("connection closed".into()),
                },
                _ = ping.tick() => {
                    if let Err(lost) = super::ping_subscriber(&mut sink).await {
                        return Ending::Lost(lost);
                    }
                }
                _ = reconcile.tick() => queue.resync(),
            }
        }
    }
}

impl SearchPeers for RedisSearchPeers {
    fn tell(&self, news: News) {
        if let Err(TrySendError::Full(_)) = self.outbox.try_send(news) {
            tracing::warn!("search news: too much to tell the other nodes; dropped one");
        }
    }

    fn listen(
        self: Arc<Self>,
        stopping: watch::Receiver<bool>,
    ) -> (mpsc::Receiver<Heard>, Option<JoinHandle<()>>) {
        let (heard, receiver) = mpsc::channel(HEARD_QUEUE);
        let task = tokio::spawn(self.hear_all(heard, stopping));
        (receiver, Some(task))
    }
}

/// Why one subscription ended.
enum Ending {
    Shutdown,
    /// The index's feed stopped listening.
    FeedGone,
    Lost(String),
}

/// What goes to the index's feed: news while there is room, and a resync owed when there was
/// not (the resync covers everything dropped before it, since it reads the store after).
struct Queue {
    heard: mpsc::Sender<Heard>,
    /// A resync must go before anything else.
    resync_due: bool,
}

impl Queue {
    fn push(&mut self, heard: Heard) {
        if self.resync_due {
            match self.heard.try_send(Heard::Resync) {
                Ok(()) => self.resync_due = false,
                // Still full: this news is covered by the resync owed.
                Err(_) => return,
            }
        }
        if let Err(TrySendError::Full(_)) = self.heard.try_send(heard) {
            if !self.resync_due {
                tracing::warn!("search news: the index is behind; it will rebuild");
            }
            self.resync_due = true;
        }
    }

    /// Owes a resync, sent at once if there is room.
    fn resync(&mut self) {
        self.resync_due = self.heard.try_send(Heard::Resync).is_err();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_reads_back_as_the_news_sent() {
        let gig = GigId::new();
        for (live, news) in [
            (None, News::Gig(gig)),
            (Some(true), News::Stream { gig, live: true }),
            (Some(false), News::Stream { gig, live: false }),
        ] {
            let wire = Wire {
                node: "a".into(),
                gig,
                live,
            };
            let text = serde_json::to_vec(&wire).unwrap();
            let back: Wire = serde_json::from_slice(&text).unwrap();
            assert_eq!(back.news(), news);
        }
    }

    #[test]
    fn a_full_queue_owes_one_resync_sent_before_the_next_news() {
        let (heard, mut receiver) = mpsc::channel(2);
        let mut queue = Queue {
            heard,
            resync_due: false,
        };
        let gig = GigId::new();
        for _ in 0..5 {
            queue.push(Heard::News(News::Gig(gig)));
        }
        assert!(queue.resync_due);
        assert_eq!(receiver.try_recv(), Ok(Heard::News(News::Gig(gig))));
        assert_eq!(receiver.try_recv(), Ok(Heard::News(News::Gig(gig))));
        let later = News::Stream { gig, live: true };
        queue.push(Heard::News(later));
        assert_eq!(receiver.try_recv(), Ok(Heard::Resync));
        assert_eq!(receiver.try_recv(), Ok(Heard::News(later)));
        assert!(!queue.resync_due);
    }
}
