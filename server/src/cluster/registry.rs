//! `StreamRegistry`: which node holds each gig's publisher, in Redis, so any node can serve any
//! viewer (by relaying from that node) and a second publisher is refused on every node.
//!
//! Keys (under the deployment's `bmg:` prefix):
//! - `stream:{gig}` → `{node} {claim} {advertise_url}`, set only if absent when a publish is
//!   requested, renewed every [`HEARTBEAT`] with a [`STREAM_TTL`] expiry, deleted only by the
//!   claim that wrote it (compare-and-delete). A node that dies without a word loses its claims
//!   within the TTL.
//! - `stream-status:{gig}` → the origin's [`StreamStatus`] as JSON, written with each renewal, so
//!   every node can report the stream's facts.
//! - `stream-viewers:{gig}` → hash of relaying node → `{viewers} {expires_ms}`, so the viewer
//!   count covers every node.
//! - `streams:tracked` → set of gigs ever claimed and not yet swept, which the
//!   [`super::sweeper`] checks for claims that lapsed.
//!
//! What it does not do: decide who may publish (the RTMP policy does) or move media (the
//! [`super::relay`] does).

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bookmygig_api::{GigId, StreamStatus};
use redis::Script;

use super::stream_claim::{Renewal, StreamClaim};
use super::{Cluster, ClusterError, NodeId};

/// How long a publishing node's claim outlives its last renewal: a node killed without a word
/// leaves its gigs live on other nodes for at most this long (plus one sweep).
pub const STREAM_TTL: Duration = Duration::from_secs(5);
/// How often a publishing node renews its claims and a relaying node reports its viewers.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// Claims `stream:{gig}` if nobody holds it and tracks the gig.
/// KEYS: entry, tracked set. ARGV: value, ttl ms, gig. Returns `claimed` or `held {value}`.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
          redis.call('SADD', KEYS[2], ARGV[3])
          return 'claimed'
        end
        return 'held ' .. (redis.call('GET', KEYS[1]) or '')
        ",
    )
});

/// Renews a claim (or takes it back after a lapse nobody used) and stores the status.
/// KEYS: entry, status, tracked set. ARGV: value, ttl ms, status JSON, gig.
/// Returns `renewed`, `reclaimed` or `lost`.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local held = redis.call('GET', KEYS[1])
        local outcome
        if held == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          outcome = 'renewed'
        elseif not held then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          redis.call('SADD', KEYS[3], ARGV[4])
          outcome = 'reclaimed'
        else
          return 'lost'
        end
        redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
        return outcome
        ",
    )
});

/// Deletes a claim and its status if (and only if) it is still this claim.
/// KEYS: entry, status. ARGV: value. Returns 1 when deleted.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1], KEYS[2])
        end
        return 0
        ",
    )
});

/// Untracks a gig whose claim is gone; exactly one node wins each orphan.
/// KEYS: entry, tracked set. ARGV: gig. Returns 1 to the winner.
static TAKE_ORPHAN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 1 then
          return 0
        end
        return redis.call('SREM', KEYS[2], ARGV[1])
        ",
    )
});

/// Records (or, at 0, withdraws) one node's viewer count, stamped with Redis's clock.
/// KEYS: viewers hash. ARGV: node, viewers, ttl ms.
static REPORT_VIEWERS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        if tonumber(ARGV[2]) > 0 then
          redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. (now + tonumber(ARGV[3])))
          redis.call('PEXPIRE', KEYS[1], ARGV[3])
        else
          redis.call('HDEL', KEYS[1], ARGV[1])
        end
        return 1
        ",
    )
});

/// The origin's status and the viewers other nodes report.
/// KEYS: status, viewers hash. Returns `{status JSON or '', viewers}`.
static READ_STATUS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        local sum = 0
        local fields = redis.call('HGETALL', KEYS[2])
        for i = 2, #fields, 2 do
          local count, expires = string.match(fields[i], '^(%d+) (%d+)$')
          if count and tonumber(expires) > now then
            sum = sum + tonumber(count)
          end
        end
        return { redis.call('GET', KEYS[1]) or '', sum }
        ",
    )
});

/// Why the registry could not answer.
#[derive(Clone, Debug, thiserror::Error)]
pub enum RegistryError {
    /// Redis failed (the message never holds the URL).
    #[error("stream registry: {0}")]
    Redis(String),
    /// Another node (or another publisher on this one) holds the gig.
    #[error("the gig is published on node {0}")]
    Taken(String),
}

impl From<redis::RedisError> for RegistryError {
    fn from(error: redis::RedisError) -> Self {
        RegistryError::Redis(ClusterError::from(error).to_string())
    }
}

/// Where a gig's publisher is connected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamOrigin {
    /// The node holding the publisher.
    pub node: NodeId,
    /// Its advertise URL (the base of its internal endpoint).
    pub url: String,
}

/// The stream registry, shared by this node's RTMP, HTTP, relays and sweeper.
#[derive(Debug)]
pub struct StreamRegistry {
    cluster: Arc<Cluster>,
}

/// What a registry entry says, parsed.
struct Entry<'a> {
    node: &'a str,
    url: &'a str,
}

impl<'a> Entry<'a> {
    fn parse(value: &'a str) -> Option<Self> {
        let mut parts = value.splitn(3, ' ');
        let node = parts.next()?;
        let _claim = parts.next()?;
        let url = parts.next()?;
        Some(Entry { node, url })
    }
}

impl StreamRegistry {
    /// The registry of `cluster`.
    pub fn new(cluster: Arc<Cluster>) -> Arc<Self> {
        Arc::new(StreamRegistry { cluster })
    }

    /// This node's id.
    pub fn node(&self) -> NodeId {
        self.cluster.node()
    }

    /// The cluster this registry lives in.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    fn entry_key(&self, gig: GigId) -> String {
        self.cluster.key(format!("stream:{gig}"))
    }

    fn status_key(&self, gig: GigId) -> String {
        self.cluster.key(format!("stream-status:{gig}"))
    }

    fn viewers_key(&self, gig: GigId) -> String {
        self.cluster.key(format!("stream-viewers:{gig}"))
    }

    fn tracked_key(&self) -> String {
        self.cluster.key("streams:tracked")
    }

    /// Claims `gig` for a publisher on this node. The claim lasts [`STREAM_TTL`] unless kept
    /// alive ([`StreamClaim::keep_alive`]); dropping it releases it.
    ///
    /// # Errors
    /// [`RegistryError::Taken`] when a node holds the gig; [`RegistryError::Redis`].
    pub async fn claim(self: &Arc<Self>, gig: GigId) -> Result<StreamClaim, RegistryError> {
        let claim: u64 = rand::random();
        let value = format!(
            "{} {claim:016x} {}",
            self.node(),
            self.cluster.advertise_url()
        );
        let outcome: String = CLAIM
            .key(self.entry_key(gig))
            .key(self.tracked_key())
            .arg(&value)
            .arg(ttl_ms(STREAM_TTL))
            .arg(gig.to_string())
            .invoke_async(&mut self.cluster.connection())
            .await?;
        if outcome != "claimed" {
            let holder = outcome.strip_prefix("held ").unwrap_or_default();
            let node = Entry::parse(holder).map_or("?", |entry| entry.node);
            return Err(RegistryError::Taken(node.to_owned()));
        }
        Ok(StreamClaim::new(Arc::clone(self), gig, value))
    }

    /// Where `gig`'s publisher is connected, if anywhere.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn origin(&self, gig: GigId) -> Result<Option<StreamOrigin>, RegistryError> {
        let value: Option<String> = redis::cmd("GET")
            .arg(self.entry_key(gig))
            .query_async(&mut self.cluster.connection())
            .await?;
        Ok(value.as_deref().and_then(Entry::parse).and_then(|entry| {
            Some(StreamOrigin {
                node: entry.node.parse().ok()?,
                url: entry.url.to_owned(),
            })
        }))
    }

    /// The origin's last reported status of `gig` (`None` when nobody publishes it), and the
    /// viewers the relaying nodes report.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn status(&self, gig: GigId) -> Result<(Option<StreamStatus>, u32), RegistryError> {
        let (json, relayed): (String, u32) = READ_STATUS
            .key(self.status_key(gig))
            .key(self.viewers_key(gig))
            .invoke_async(&mut self.cluster.connection())
            .await?;
        Ok((serde_json::from_str(&json).ok(), relayed))
    }

    /// Reports how many viewers this node serves `gig` to through its relay (0 withdraws).
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn report_relay_viewers(
        &self,
        gig: GigId,
        viewers: u32,
    ) -> Result<(), RegistryError> {
        let _: i64 = REPORT_VIEWERS
            .key(self.viewers_key(gig))
            .arg(self.node().to_string())
            .arg(viewers)
            .arg(ttl_ms(STREAM_TTL))
            .invoke_async(&mut self.cluster.connection())
            .await?;
        Ok(())
    }

    /// Adds `gig` to the gigs the sweeper checks (for gigs stored as live by an earlier run).
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn track(&self, gig: GigId) -> Result<(), RegistryError> {
        let _: i64 = redis::cmd("SADD")
            .arg(self.tracked_key())
            .arg(gig.to_string())
            .query_async(&mut self.cluster.connection())
            .await?;
        Ok(())
    }

    /// Every gig claimed at some point and not yet swept.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn tracked(&self) -> Result<Vec<GigId>, RegistryError> {
        let members: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.tracked_key())
            .query_async(&mut self.cluster.connection())
            .await?;
        Ok(members.iter().filter_map(|gig| gig.parse().ok()).collect())
    }

    /// Whether this node is the one to settle `gig`, whose claim is gone: exactly one node
    /// gets `true` per lapsed claim, and none while a claim exists.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn take_orphan(&self, gig: GigId) -> Result<bool, RegistryError> {
        let taken: i64 = TAKE_ORPHAN
            .key(self.entry_key(gig))
            .key(self.tracked_key())
            .arg(gig.to_string())
            .invoke_async(&mut self.cluster.connection())
            .await?;
        Ok(taken == 1)
    }

    /// Renews `gig`'s claim written as `value` and stores `status` beside it.
    pub(super) async fn renew(
        &self,
        gig: GigId,
        value: &str,
        status: &StreamStatus,
    ) -> Result<Renewal, RegistryError> {
        let status = serde_json::to_string(status).unwrap_or_default();
        let outcome: String = RENEW
            .key(self.entry_key(gig))
            .key(self.status_key(gig))
            .key(self.tracked_key())
            .arg(value)
            .arg(ttl_ms(STREAM_TTL))
            .arg(status)
            .arg(gig.to_string())
            .invoke_async(&mut self.cluster.connection())
            .await?;
        Ok(match outcome.as_str() {
            "renewed" => Renewal::Renewed,
            "reclaimed" => Renewal::Reclaimed,
            _ => Renewal::Lost,
        })
    }

    /// Deletes `gig`'s claim if it is still the one written as `value`.
    pub(super) async fn release(&self, gig: GigId, value: &str) -> Result<bool, RegistryError> {
        let deleted: i64 = RELEASE
            .key(self.entry_key(gig))
            .key(self.status_key(gig))
            .arg(value)
            .invoke_async(&mut self.cluster.connection())
            .await?;
        Ok(deleted > 0)
    }
}

pub(super) fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)
}
