//! Several nodes on one Redis: who this node is, how the others reach it, and the Redis
//! connection the cross-node parts share. A node started with `--redis-url` joins the cluster
//! with nothing else to set; without it there is no cluster and every part works locally.
//!
//! Keys live under the same `bmg:` prefix as the store's, so one Redis holds one deployment.

pub mod registry;
pub mod relay;
pub mod relay_token;
pub mod stream_claim;
pub mod stream_directory;
pub mod sweeper;

pub mod account_throttle;
pub mod chat_bus;
pub mod chat_presence;
pub mod chat_rate;
pub mod search_news;
pub mod stream_seats;
pub mod watch_lease;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::watch;

/// Prefix of every cluster key (the store's prefix too).
const PREFIX: &str = "bmg:";

/// Longest wait for one Redis answer; a busy host can take a while.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait to (re)connect.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a node says it is alive, and how long the word lasts.
const NODE_HEARTBEAT: Duration = Duration::from_secs(5);
const NODE_TTL: Duration = Duration::from_secs(15);

/// A node's identity: 128 random bits, fresh each start, so a restarted node is a new one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(u128);

impl NodeId {
    /// A fresh random id.
    pub fn generate() -> Self {
        NodeId(rand::random())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({self})")
    }
}

impl std::str::FromStr for NodeId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u128::from_str_radix(s, 16).map(NodeId)
    }
}

/// Why the node could not join the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Redis refused or failed a command (the message never holds the URL).
    #[error("Redis: {0}")]
    Redis(String),
}

impl From<redis::RedisError> for ClusterError {
    fn from(error: redis::RedisError) -> Self {
        ClusterError::Redis(error.to_string())
    }
}

/// This node's membership in a cluster of nodes sharing one Redis.
pub struct Cluster {
    node: NodeId,
    advertise_url: String,
    client: redis::Client,
    conn: ConnectionManager,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &self.node)
            .field("advertise_url", &self.advertise_url)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects to Redis at `url` as a new node that other nodes reach at `advertise_url`.
    ///
    /// # Errors
    /// When the URL is invalid or Redis does not answer.
    pub async fn join(url: &str, advertise_url: &str) -> Result<Arc<Self>, ClusterError> {
        let client = redis::Client::open(url)
            .map_err(|e| ClusterError::Redis(format!("invalid Redis URL: {:?}", e.kind())))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT));
        let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        let cluster = Arc::new(Cluster {
            node: NodeId::generate(),
            advertise_url: advertise_url.trim_end_matches('/').to_owned(),
            client,
            conn,
        });
        cluster.announce().await?;
        Ok(cluster)
    }

    /// This node's id.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The base URL other nodes reach this node's HTTP side at.
    pub fn advertise_url(&self) -> &str {
        &self.advertise_url
    }

    /// A shared multiplexed connection for commands (cheap to clone).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A new dedicated connection for subscribing to pub/sub channels.
    ///
    /// # Errors
    /// When Redis cannot be reached.
    pub async fn pubsub(&self) -> Result<redis::aio::PubSub, ClusterError> {
        Ok(self.client.get_async_pubsub().await?)
    }

    /// The full name of a cluster key, such as `stream:{gig}`.
    pub fn key(&self, name: impl fmt::Display) -> String {
        format!("{PREFIX}{name}")
    }

    /// The secret every node signs playback and relay tokens with: the first node to ask
    /// creates it, every later node reads the same one, so a token from any node opens any node.
    ///
    /// # Errors
    /// When Redis fails, or holds something that is not a 32-byte secret.
    pub async fn shared_secret(&self) -> Result<[u8; 32], ClusterError> {
        let key = self.key("cluster:playback-secret");
        let mut conn = self.connection();
        let candidate: [u8; 32] = rand::random();
        let _: bool = conn.set_nx(&key, candidate.as_slice()).await?;
        let stored: Vec<u8> = conn.get(&key).await?;
        stored
            .try_into()
            .map_err(|_| ClusterError::Redis(format!("{key} does not hold a 32-byte secret")))
    }

    /// Writes `node:{id}` → advertise URL with a short TTL (what operators list to see nodes).
    async fn announce(&self) -> Result<(), ClusterError> {
        let mut conn = self.connection();
        let ttl = u64::try_from(NODE_TTL.as_millis()).unwrap_or(u64::MAX);
        let _: () = conn
            .pset_ex(
                self.key(format!("node:{}", self.node)),
                &self.advertise_url,
                ttl,
            )
            .await?;
        Ok(())
    }

    /// Renews this node's announcement until `stopping` turns true, then withdraws it.
    pub async fn heartbeat(self: Arc<Self>, mut stopping: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(NODE_HEARTBEAT);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Err(error) = self.announce().await {
                        tracing::warn!(%error, "cannot renew this node's announcement");
                    }
                }
                () = async { drop(stopping.wait_for(|stopping| *stopping).await) } => break,
            }
        }
        let mut conn = self.connection();
        let withdrawn: Result<(), _> = conn.del(self.key(format!("node:{}", self.node))).await;
        if let Err(error) = withdrawn {
            tracing::warn!(%error, "cannot withdraw this node's announcement");
        }
    }
}

/// How often a subscribing (pub/sub) connection is pinged, and how long its answer may take:
/// a connection lost without a word is noticed within the sum.
pub const PING_EVERY: Duration = Duration::from_secs(5);
/// See [`PING_EVERY`].
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Pings a subscribing connection: why it is lost when it does not answer in time.
async fn ping_subscriber(sink: &mut redis::aio::PubSubSink) -> Result<(), String> {
    match tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer to PING".into()),
    }
}

/// Completes when the server stops (or is gone).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopping| *stopping).await;
}
