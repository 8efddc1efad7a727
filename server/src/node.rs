//! The node: what differs between a single BookMyGig server and one node of a cluster, chosen
//! once at start-up from `--redis-url`, as the store is. [`Node::assemble`] picks every seam
//! together, so from there on `serve` runs one code path whichever the node is:
//!
//! | seam | one node | a node of a cluster (Redis) |
//! |---|---|---|
//! | stream directory, playback key | [`OneNodeDirectory`](crate::live::directory::OneNodeDirectory), the flag or a random key | [`crate::cluster::stream_directory`]: registry, relays, the shared secret |
//! | chat link (bus, roster, speech limit) | [`crate::chat::in_process`] | [`crate::cluster::chat_bus`], [`crate::cluster::chat_presence`], [`crate::cluster::chat_rate`] |
//! | metering leases | [`OneNodeLeases`] | [`RedisWatchLeases`] |
//! | stream seats | [`LocalSeats`] | [`RedisSeats`] |
//! | account throttles | [`LocalThrottle`] | [`RedisThrottle`] |
//! | catalogue search (each node keeps its own index) | [`Alone`]: nobody else changes gigs | [`RedisSearchPeers`]: the nodes' changes over pub/sub, catch-up from the store |
//!
//! Each seam's conformance suite runs on both implementations (`server/tests/node_seams.rs`,
//! `chat_seams.rs`, `stream_directory.rs`).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chat::{ChatLink, ChatRooms};
use crate::cluster::Cluster;
use crate::cluster::account_throttle::RedisThrottle;
use crate::cluster::chat_bus::ChatBus;
use crate::cluster::chat_presence::ChatPresence;
use crate::cluster::chat_rate::RedisSpeechLimit;
use crate::cluster::search_news::RedisSearchPeers;
use crate::cluster::stream_seats::RedisSeats;
use crate::cluster::watch_lease::RedisWatchLeases;
use crate::live::StreamHub;
use crate::live::directory::StreamSeams;
use crate::live::seats::{LocalSeats, SeatBook};
use crate::money::meter::{OneNodeLeases, WatchLeases};
use crate::search::{Alone, CatalogueSearch};
use crate::throttle::{AccountThrottle, LocalThrottle, Unthrottled};
use crate::{Config, ServerError};

/// The parts of a node that depend on whether it is alone or in a cluster.
pub struct Node {
    /// How the node names itself in logs: its id in a cluster, `single` alone.
    pub name: String,
    /// Who publishes each gig and how a viewer here reaches it; the playback key.
    pub streams: StreamSeams,
    /// The chat rooms, linked to the other nodes' or alone.
    pub chat: Arc<ChatRooms>,
    /// Which node charges each (account, gig).
    pub leases: Arc<dyn WatchLeases>,
    /// How many streams each ticket plays, here or across the nodes.
    pub seats: Arc<dyn SeatBook>,
    /// Sign-in and sign-up throttles ([`Unthrottled`] with `--no-rate-limits`).
    pub throttle: Arc<dyn AccountThrottle>,
    /// The catalogue's search: this node's in-memory index, hearing the other nodes' changes
    /// in a cluster.
    pub search: Arc<CatalogueSearch>,
    /// The node's own background work (the cluster heartbeat, the chat bus and presence, the
    /// search news sent to the other nodes); each
    /// ends when `stopping` turns true.
    pub tasks: Vec<JoinHandle<()>>,
}

impl Node {
    /// Builds this node's parts: a cluster node on `--redis-url` (joining it, advertised at
    /// `--advertise-url` or the internal listener's `internal_addr`), else a single node.
    ///
    /// # Errors
    /// When the cluster cannot be joined or its shared secret read, or the relays' HTTP
    /// client cannot be built.
    pub async fn assemble(
        config: &Config,
        internal_addr: SocketAddr,
        hub: &Arc<StreamHub>,
        stopping: &watch::Receiver<bool>,
    ) -> Result<Self, ServerError> {
        let mut node = match &config.redis_url {
            Some(url) => {
                let cluster = Cluster::join(&url.0, &config.advertise_url(internal_addr)).await?;
                Self::clustered(cluster, config, hub, stopping).await?
            }
            None => Self::single(config, hub),
        };
        if config.no_rate_limits {
            node.throttle = Arc::new(Unthrottled);
        }
        Ok(node)
    }

    /// A node alone: everything in process.
    fn single(config: &Config, hub: &Arc<StreamHub>) -> Self {
        Node {
            name: "single".into(),
            streams: StreamSeams::one_node(Arc::clone(hub), config.playback_secret.as_ref()),
            chat: ChatRooms::new(),
            leases: Arc::new(OneNodeLeases),
            seats: LocalSeats::new(),
            throttle: Arc::new(LocalThrottle::default()),
            search: CatalogueSearch::new(Arc::new(Alone)),
            tasks: Vec::new(),
        }
    }

    /// A node of the cluster `cluster` joined: every seam in Redis.
    async fn clustered(
        cluster: Arc<Cluster>,
        config: &Config,
        hub: &Arc<StreamHub>,
        stopping: &watch::Receiver<bool>,
    ) -> Result<Self, ServerError> {
        let streams = crate::cluster::stream_directory::seams(
            &cluster,
            Arc::clone(hub),
            config.playback_secret.as_ref(),
            stopping.clone(),
        )
        .await?;
        let bus = ChatBus::new(Arc::clone(&cluster));
        let presence = ChatPresence::new(Arc::clone(&cluster));
        let chat = ChatRooms::linked(ChatLink {
            bus: bus.clone(),
            roster: presence.clone(),
            limit: RedisSpeechLimit::new(Arc::clone(&cluster)),
        });
        let (search_peers, search_teller) =
            RedisSearchPeers::start(Arc::clone(&cluster), stopping.clone());
        let tasks = vec![
            tokio::spawn(Arc::clone(&cluster).heartbeat(stopping.clone())),
            tokio::spawn(bus.run(Arc::clone(&chat), stopping.clone())),
            tokio::spawn(presence.run(stopping.clone())),
            search_teller,
        ];
        Ok(Node {
            name: cluster.node().to_string(),
            streams,
            chat,
            leases: RedisWatchLeases::new(Arc::clone(&cluster)),
            seats: RedisSeats::start(Arc::clone(&cluster), stopping.clone()),
            throttle: RedisThrottle::new(cluster),
            search: CatalogueSearch::new(search_peers),
            tasks,
        })
    }
}
