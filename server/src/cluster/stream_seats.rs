//! Stream seats across the nodes of a cluster: how many streams each (account, gig) plays, in
//! Redis, so `--max-streams-per-ticket` holds however a load balancer spreads one viewer's
//! connections.
//!
//! A (account, gig) is `bmg:plays:{account}:{gig}`, a sorted set of `{node}:{stream}` members
//! scored by when each lapses (Redis's clock, in ms). Taking a seat drops the lapsed members,
//! counts the rest and adds one if under the limit, in one script. The node renews the seats it
//! holds every [`SEAT_RENEW`] (one script call for all of them) and removes each when its stream
//! ends; a node that dies stops renewing, and its seats lapse within [`SEAT_TTL`].
//!
//! As with the metering leases ([`super::watch_lease`]), a seat is a lease with a TTL rather
//! than a counter, so nothing a dead node held stays counted.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;
use tokio::sync::watch;

use super::Cluster;
use crate::live::seats::{SeatBook, SeatBookError, SeatHolder};

/// How long a seat outlives its node's last renewal.
pub const SEAT_TTL: Duration = Duration::from_secs(10);
/// How often a node renews the seats it holds (well inside [`SEAT_TTL`]).
pub const SEAT_RENEW: Duration = Duration::from_secs(3);

/// KEYS: the (account, gig) set. ARGV: member, ttl ms, max. Returns 1 when the seat is taken.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
          return 0
        end
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        ",
    )
});

/// KEYS: sets, one per seat. ARGV: ttl ms, then the seats' members in the keys' order. Pushes
/// back the lapse of each seat still in its set (one that lapsed meanwhile is not re-added:
/// its place may be someone else's now).
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        local ttl = tonumber(ARGV[1])
        for i, key in ipairs(KEYS) do
          if redis.call('ZADD', key, 'XX', 'CH', now + ttl, ARGV[i + 1]) == 1 then
            redis.call('PEXPIRE', key, ttl)
          end
        end
        return 1
        ",
    )
});

/// The seats of a cluster, in Redis; this node renews the ones it holds.
#[derive(Debug)]
pub struct RedisSeats {
    cluster: Arc<Cluster>,
    /// Seats held by streams on this node, by stream id: what the renewal renews.
    held: Mutex<HashMap<u64, SeatHolder>>,
}

impl RedisSeats {
    /// Seats on `cluster`'s Redis, renewed by a task that runs until `stopping` turns true.
    pub fn start(cluster: Arc<Cluster>, stopping: watch::Receiver<bool>) -> Arc<Self> {
        let seats = Arc::new(RedisSeats {
            cluster,
            held: Mutex::new(HashMap::new()),
        });
        tokio::spawn(Arc::clone(&seats).renew_until(stopping));
        seats
    }

    fn key(&self, holder: &SeatHolder) -> String {
        self.cluster
            .key(format!("plays:{}:{}", holder.account, holder.gig))
    }

    fn member(&self, holder: &SeatHolder) -> String {
        format!("{}:{:016x}", self.cluster.node(), holder.id)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<u64, SeatHolder>> {
        // A plain map, consistent between statements: usable after a panic elsewhere.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn renew_until(self: Arc<Self>, mut stopping: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(SEAT_RENEW);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Err(error) = self.renew().await {
                        tracing::warn!(%error, "cannot renew stream seats; they lapse if this lasts");
                    }
                }
                () = async { drop(stopping.wait_for(|stopping| *stopping).await) } => return,
            }
        }
    }

    async fn renew(&self) -> Result<(), SeatBookError> {
        let holders: Vec<SeatHolder> = self.held().values().copied().collect();
        if holders.is_empty() {
            return Ok(());
        }
        let mut invocation = RENEW.prepare_invoke();
        invocation.arg(ttl_ms());
        for holder in &holders {
            invocation.key(self.key(holder));
            invocation.arg(self.member(holder));
        }
        let _: i64 = invocation
            .invoke_async(&mut self.cluster.connection())
            .await
            .map_err(|e| SeatBookError(e.to_string()))?;
        Ok(())
    }
}

#[async_trait]
impl SeatBook for RedisSeats {
    async fn take(&self, holder: &SeatHolder, max: u32) -> Result<bool, SeatBookError> {
        let taken: i64 = TAKE
            .key(self.key(holder))
            .arg(self.member(holder))
            .arg(ttl_ms())
            .arg(max)
            .invoke_async(&mut self.cluster.connection())
            .await
            .map_err(|e| SeatBookError(e.to_string()))?;
        if taken == 1 {
            self.held().insert(holder.id, *holder);
        }
        Ok(taken == 1)
    }

    fn release(&self, holder: &SeatHolder) {
        self.held().remove(&holder.id);
        let (key, member) = (self.key(holder), self.member(holder));
        let mut conn = self.cluster.connection();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let removed: Result<i64, _> = redis::cmd("ZREM")
                    .arg(&key)
                    .arg(&member)
                    .query_async(&mut conn)
                    .await;
                if let Err(error) = removed {
                    tracing::warn!(%error, "cannot give a stream seat back; it lapses by itself");
                }
            });
        }
    }
}

fn ttl_ms() -> u64 {
    u64::try_from(SEAT_TTL.as_millis()).unwrap_or(u64::MAX)
}
