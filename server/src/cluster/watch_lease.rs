//! Metering leases: which node charges an account for watching a gig (or for browsing), so a
//! viewer watching one gig through two nodes pays once.
//!
//! A lease is `bmg:meter:{account}:{gig}` (or `…:browse`) holding the charging node's id, with
//! a TTL of [`LEASE_TTL`]. The meter claims or renews the leases of everything it meters every
//! [`crate::money::meter::LEASE_RENEW`] and charges only while it holds them; a node that dies
//! stops renewing, and another node metering the same pair takes over once the lease expires.
//!
//! Browsing pays only while the account watches nothing (as on one node): every held watch
//! lease also sets `bmg:meter:{account}:watching` with the same TTL, and a browse lease is
//! refused while it exists, whichever node watches.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;

use super::Cluster;
use crate::money::meter::{LeaseError, MeteredPair, WatchLeases};

/// How long a lease lasts without renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// Shared by both scripts: the account's `watching` key, and whether a key is a browse lease.
const PRELUDE: &str = r#"
local function watching(key)
  return string.match(key, '^(.*):[^:]+$') .. ':watching'
end
local function browsing(key)
  return string.sub(key, -7) == ':browse'
end
"#;

/// KEYS: leases. ARGV: node, TTL ms. Takes every free lease, renews this node's, and answers
/// 1 (held) or 0 (another node's, or browsing while watching somewhere) per key.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PRELUDE}{}",
        r#"
local held = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  held[i] = 0
  if browsing(key) and redis.call('EXISTS', watching(key)) == 1 then
    -- Watching on some node: browsing is free.
  elseif not holder or holder == ARGV[1] then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    if not browsing(key) then redis.call('SET', watching(key), ARGV[1], 'PX', ARGV[2]) end
    held[i] = 1
  end
end
return held
"#
    ))
});

/// KEYS: leases. ARGV: node. Gives up the leases this node holds.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PRELUDE}{}",
        r#"
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    -- Another gig still watched here sets it again at the next renewal.
    if not browsing(key) and redis.call('GET', watching(key)) == ARGV[1] then
      redis.call('DEL', watching(key))
    end
  end
end
return 1
"#
    ))
});

/// The meter's leases in Redis.
#[derive(Debug)]
pub struct RedisWatchLeases {
    cluster: Arc<Cluster>,
}

impl RedisWatchLeases {
    /// Leases on `cluster`'s Redis.
    pub fn new(cluster: Arc<Cluster>) -> Arc<Self> {
        Arc::new(RedisWatchLeases { cluster })
    }

    fn key(&self, pair: &MeteredPair) -> String {
        match pair.gig {
            Some(gig) => self.cluster.key(format!("meter:{}:{gig}", pair.account)),
            None => self.cluster.key(format!("meter:{}:browse", pair.account)),
        }
    }

    fn invocation<'a>(
        &self,
        script: &'a Script,
        pairs: &[MeteredPair],
    ) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.prepare_invoke();
        for pair in pairs {
            invocation.key(self.key(pair));
        }
        invocation.arg(self.cluster.node().to_string());
        invocation
    }
}

#[async_trait]
impl WatchLeases for RedisWatchLeases {
    async fn claim(&self, pairs: &[MeteredPair]) -> Result<Vec<bool>, LeaseError> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let ttl = u64::try_from(LEASE_TTL.as_millis()).unwrap_or(u64::MAX);
        let mut invocation = self.invocation(&CLAIM, pairs);
        invocation.arg(ttl);
        let held: Vec<i64> = invocation
            .invoke_async(&mut self.cluster.connection())
            .await
            .map_err(|e| LeaseError(e.to_string()))?;
        Ok(held.into_iter().map(|h| h == 1).collect())
    }

    async fn release(&self, pairs: &[MeteredPair]) -> Result<(), LeaseError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let _: i64 = self
            .invocation(&RELEASE, pairs)
            .invoke_async(&mut self.cluster.connection())
            .await
            .map_err(|e| LeaseError(e.to_string()))?;
        Ok(())
    }
}
