//! The account throttles across nodes: the counts of [`crate::throttle`] kept in Redis, so an
//! attacker who spreads sign-in attempts or sign-ups over the nodes gets the budget of one.
//!
//! Keys (each expiring when it stops mattering): `throttle:signin:handle:{handle}` (a hash of
//! `failures` and `until`, the lock's end in ms), `throttle:signin:ip:{address}` and
//! `throttle:signup:ip:{address}` (an address's GCRA time in ms, see
//! [`crate::throttle`]). Scripts read Redis's clock, so the nodes' clocks do not matter.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;

use super::Cluster;
use crate::throttle::{
    AccountThrottle, Scope, ThrottleError, Verdict, address_key, handle_key, policy,
};

/// Shared by the scripts: Redis's time in ms, and an address budget's wait.
const PRELUDE: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
-- The wait (ms) before one more attempt fits an address budget of `burst` per `interval`
-- whose GCRA time is `tat`, and the time to store if it is taken now.
local function budget(tat, burst, interval)
  tat = math.max(tonumber(tat) or now, now)
  local debt = tat - now
  local allowance = (burst - 1) * interval
  if debt > allowance then
    return debt - allowance, tat
  end
  return 0, tat + interval
end
"#;

/// KEYS: handle hash, address budget. ARGV: free failures, first lock (ms), longest lock
/// (ms), forget after (ms), address burst, address interval (ms). Answers {0} when the attempt
/// is allowed and counted, {1, ms} when the handle is locked, {2, ms} when the address is over
/// its budget.
static BEGIN_SIGN_IN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PRELUDE}{}",
        r#"
local free, first, longest, forget = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local locked = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if locked > now then
  return { 1, locked - now }
end
local wait, tat = budget(redis.call('GET', KEYS[2]), tonumber(ARGV[5]), tonumber(ARGV[6]))
if wait > 0 then
  return { 2, wait }
end
redis.call('SET', KEYS[2], string.format('%d', tat), 'PX', string.format('%d', tat - now + 1))
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local lock = 0
if failures >= free then
  lock = first * 2 ^ math.min(failures - free, 31)
  lock = math.min(lock, longest)
end
redis.call('HSET', KEYS[1], 'until', string.format('%d', now + lock))
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.max(forget, lock)))
return { 0 }
"#
    ))
});

/// KEYS: handle hash, address budget. ARGV: address interval (ms). Clears the handle and gives
/// the address its attempt back.
static SIGN_IN_SUCCEEDED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PRELUDE}{}",
        r#"
redis.call('DEL', KEYS[1])
local tat = tonumber(redis.call('GET', KEYS[2]) or '0')
local back = tat - tonumber(ARGV[1])
if back > now then
  redis.call('SET', KEYS[2], string.format('%d', back), 'PX', string.format('%d', back - now + 1))
else
  redis.call('DEL', KEYS[2])
end
return 0
"#
    ))
});

/// KEYS: address budget. ARGV: burst, interval (ms). Answers 0 when the attempt is allowed
/// and counted, else the wait in ms.
static BEGIN_SIGN_UP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PRELUDE}{}",
        r#"
local wait, tat = budget(redis.call('GET', KEYS[1]), tonumber(ARGV[1]), tonumber(ARGV[2]))
if wait > 0 then
  return wait
end
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', string.format('%d', tat - now + 1))
return 0
"#
    ))
});

/// Account throttles in Redis.
#[derive(Debug)]
pub struct RedisThrottle {
    cluster: Arc<Cluster>,
}

impl RedisThrottle {
    /// Counts on `cluster`'s Redis.
    pub fn new(cluster: Arc<Cluster>) -> Arc<Self> {
        Arc::new(RedisThrottle { cluster })
    }

    fn handle(&self, handle: &str) -> String {
        self.cluster
            .key(format!("throttle:signin:handle:{}", handle_key(handle)))
    }

    fn address(&self, kind: &str, ip: IpAddr) -> String {
        self.cluster
            .key(format!("throttle:{kind}:ip:{}", address_key(ip)))
    }
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn failed(error: redis::RedisError) -> ThrottleError {
    ThrottleError(error.to_string())
}

#[async_trait]
impl AccountThrottle for RedisThrottle {
    async fn begin_sign_in(&self, handle: &str, ip: IpAddr) -> Result<Verdict, ThrottleError> {
        let answer: Vec<u64> = BEGIN_SIGN_IN
            .key(self.handle(handle))
            .key(self.address("signin", ip))
            .arg(policy::SIGN_IN_FREE_FAILURES)
            .arg(ms(policy::SIGN_IN_FIRST_LOCK))
            .arg(ms(policy::SIGN_IN_MAX_LOCK))
            .arg(ms(policy::SIGN_IN_FORGET_AFTER))
            .arg(policy::SIGN_IN_IP_BURST)
            .arg(ms(policy::SIGN_IN_IP_INTERVAL))
            .invoke_async(&mut self.cluster.connection())
            .await
            .map_err(failed)?;
        let wait = Duration::from_millis(answer.get(1).copied().unwrap_or(0));
        Ok(match answer.first() {
            Some(1) => Verdict::Wait {
                scope: Scope::Handle,
                retry_after: wait,
            },
            Some(2) => Verdict::Wait {
                scope: Scope::Address,
                retry_after: wait,
            },
            _ => Verdict::Allowed,
        })
    }

    async fn sign_in_succeeded(&self, handle: &str, ip: IpAddr) -> Result<(), ThrottleError> {
        let _: i64 = SIGN_IN_SUCCEEDED
            .key(self.handle(handle))
            .key(self.address("signin", ip))
            .arg(ms(policy::SIGN_IN_IP_INTERVAL))
            .invoke_async(&mut self.cluster.connection())
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn begin_sign_up(&self, ip: IpAddr) -> Result<Verdict, ThrottleError> {
        let wait: u64 = BEGIN_SIGN_UP
            .key(self.address("signup", ip))
            .arg(policy::SIGN_UP_IP_BURST)
            .arg(ms(policy::SIGN_UP_IP_INTERVAL))
            .invoke_async(&mut self.cluster.connection())
            .await
            .map_err(failed)?;
        Ok(match wait {
            0 => Verdict::Allowed,
            ms => Verdict::Wait {
                scope: Scope::Address,
                retry_after: Duration::from_millis(ms),
            },
        })
    }
}
