//! The chat's per-person rate limit across nodes: one token bucket per (gig, account) in Redis,
//! `bmg:chat:{gig}:rate:{account}`, so a person with sockets on several nodes gets the same
//! burst of [`CHAT_BURST`] and one message per [`RATE_REFILL`] as on one node.
//!
//! The bucket counts thousandths of a token and reads Redis's clock, so nodes' clocks do not
//! matter and refills are exact to the millisecond.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use bookmygig_api::limits::CHAT_BURST;
use bookmygig_api::{AccountId, GigId};
use redis::Script;

use super::Cluster;
use crate::chat::bus::{BusError, SpeechLimit};
use crate::chat::room::RATE_REFILL;

/// KEYS: the bucket. ARGV: burst (tokens), refill (ms per token). Answers 0 when a token was
/// taken, else the milliseconds until the next one.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local full = tonumber(ARGV[1]) * 1000
local refill = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'milli', 'at')
local milli = tonumber(state[1]) or full
local at = tonumber(state[2]) or now
milli = math.min(full, milli + math.floor((now - at) * 1000 / refill))
local wait = 0
if milli >= 1000 then
  milli = milli - 1000
else
  wait = math.ceil((1000 - milli) * refill / 1000)
end
redis.call('HSET', KEYS[1], 'milli', milli, 'at', now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * refill + 1000)
return wait
"#,
    )
});

/// Chat rate limits in Redis.
#[derive(Debug)]
pub struct RedisSpeechLimit {
    cluster: Arc<Cluster>,
}

impl RedisSpeechLimit {
    /// Buckets on `cluster`'s Redis.
    pub fn new(cluster: Arc<Cluster>) -> Arc<Self> {
        Arc::new(RedisSpeechLimit { cluster })
    }
}

#[async_trait]
impl SpeechLimit for RedisSpeechLimit {
    async fn take_token(
        &self,
        gig: GigId,
        account: AccountId,
    ) -> Result<Result<(), Duration>, BusError> {
        let refill = u64::try_from(RATE_REFILL.as_millis()).unwrap_or(u64::MAX);
        let wait: u64 = TAKE
            .key(self.cluster.key(format!("chat:{gig}:rate:{account}")))
            .arg(CHAT_BURST)
            .arg(refill)
            .invoke_async(&mut self.cluster.connection())
            .await
            .map_err(|e| BusError::Redis(e.to_string()))?;
        Ok(match wait {
            0 => Ok(()),
            ms => Err(Duration::from_millis(ms)),
        })
    }
}
