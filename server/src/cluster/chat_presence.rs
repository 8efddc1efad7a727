//! Chat presence across nodes: who is in each gig's room on any node, counted in Redis, with
//! `join`, `leave` and `presence` announced over the chat bus by the same atomic scripts that
//! change the count, so every node sees the counts in the order they changed.
//!
//! Per gig, in Redis:
//! - `bmg:chat:{gig}:present`, a sorted set of `{node}:{account}` scored by when the entry
//!   expires (Redis time, ms). Each node renews its own entries every [`HEARTBEAT`]; the entries
//!   of a node that died expire after [`ENTRY_TTL`], and whichever node next touches the gig
//!   sweeps them and announces the leaves.
//! - `bmg:chat:{gig}:people`, account → how many nodes hold an entry for it (its length is the
//!   `presence` count: distinct people, however many sockets and nodes).
//! - `bmg:chat:{gig}:leaves`, account → the `leave` frame to announce when it goes.
//!
//! Arrivals and departures are queued in the order the rooms saw them and applied by one task
//! ([`ChatPresence::run`]), so a quick leave-and-return cannot be applied backwards.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bookmygig_api::{AccountId, ChatUser, GigId, ServerMessage};
use redis::Script;
use tokio::sync::{Notify, oneshot, watch};

use super::chat_bus::channel;
use super::{Cluster, stopped as stopping};
use crate::chat::Outbound;
use crate::chat::bus::{Arrival, Roster, TAG_JOIN, TAG_OTHER, tagged};

/// How often a node renews its entries.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long an entry lasts without renewal: a dead node's people leave after at most this.
pub const ENTRY_TTL: Duration = Duration::from_secs(15);
/// The per-gig keys outlive their last change by this much, so abandoned ones go away.
const KEYS_TTL: Duration = Duration::from_secs(24 * 3600);

/// Shared by every script: `now` in Redis time, and the sweep of expired entries.
/// KEYS: present, people, leaves. ARGV[1]: channel.
const PRELUDE: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function presence()
  redis.call('PUBLISH', ARGV[1], 'P{"type":"presence","count":' .. redis.call('HLEN', KEYS[2]) .. '}')
end
local function gone(account)
  local left = redis.call('HINCRBY', KEYS[2], account, -1)
  if left > 0 then return false end
  local frame = redis.call('HGET', KEYS[3], account)
  redis.call('HDEL', KEYS[2], account)
  redis.call('HDEL', KEYS[3], account)
  if frame then redis.call('PUBLISH', ARGV[1], frame) end
  return true
end
local function sweep()
  local changed = false
  for _, entry in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
    redis.call('ZREM', KEYS[1], entry)
    local colon = string.find(entry, ':', 1, true)
    if colon and gone(string.sub(entry, colon + 1)) then changed = true end
  end
  return changed
end
local function keep(ttl)
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
"#;

/// ARGV: channel, entry, account, entry TTL ms, join frame, leave frame, keys TTL ms.
/// Publishes `join` when the account is new to the gig, then `presence` (always).
static ARRIVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PRELUDE}{}",
        r#"
sweep()
if redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2]) == 1 then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[6])
  if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then
    redis.call('PUBLISH', ARGV[1], ARGV[5])
  end
end
presence()
keep(ARGV[7])
return 1
"#
    ))
});

/// ARGV: channel, entry, account. Publishes `leave` and `presence` when the account is gone
/// from every node.
static DEPART: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PRELUDE}{}",
        r#"
local changed = sweep()
if redis.call('ZREM', KEYS[1], ARGV[2]) == 1 and gone(ARGV[3]) then changed = true end
if changed then presence() end
return 1
"#
    ))
});

/// ARGV: channel, entry TTL ms, then entries. Renews the entries; returns the indexes (from 1)
/// of those that were missing (swept while this node was slow), which the caller re-announces.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{PRELUDE}{}",
        r#"
if sweep() then presence() end
local missing = {}
for i = 3, #ARGV do
  if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[i]) == 0
     and not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    table.insert(missing, i - 2)
  end
end
return missing
"#
    ))
});

/// One change to apply, in the order it happened.
enum Change {
    Arrived {
        gig: GigId,
        account: AccountId,
        user: ChatUser,
        done: oneshot::Sender<bool>,
    },
    Departed {
        gig: GigId,
        account: AccountId,
    },
}

/// This node's side of chat presence. Share it as `Arc<ChatPresence>`.
#[derive(Debug)]
pub struct ChatPresence {
    cluster: Arc<Cluster>,
    /// Changes not yet applied; at most one per socket that joined or left, so bounded by the
    /// sockets the server admits.
    queue: Mutex<Queue>,
    /// Woken when `queue` grows.
    queued: Notify,
}

#[derive(Debug, Default)]
struct Queue {
    changes: VecDeque<Change>,
    /// The task ended: arrivals are refused at once.
    closed: bool,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Arrived { gig, account, .. } => write!(f, "Arrived({gig}, {account})"),
            Change::Departed { gig, account } => write!(f, "Departed({gig}, {account})"),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The bus forms of `account`'s `join` and `leave` (see [`crate::chat::bus`]).
fn frames(account: AccountId, user: &ChatUser) -> (Vec<u8>, Vec<u8>) {
    // Plain structs of strings: serializing cannot fail.
    let json = |message| serde_json::to_string(&message).unwrap_or_default();
    let join = tagged(TAG_JOIN, account, &json(ServerMessage::Join(user.clone())));
    let mut leave = vec![TAG_OTHER];
    leave.extend(json(ServerMessage::Leave(user.clone())).into_bytes());
    (join, leave)
}

impl ChatPresence {
    /// Presence on `cluster`'s Redis; changes are applied once [`ChatPresence::run`] runs.
    pub fn new(cluster: Arc<Cluster>) -> Arc<Self> {
        Arc::new(ChatPresence {
            cluster,
            queue: Mutex::new(Queue::default()),
            queued: Notify::new(),
        })
    }

    fn push(&self, change: Change) {
        let mut queue = lock(&self.queue);
        if queue.closed {
            return; // An arrival's sender drops here: its session hears "not announced".
        }
        queue.changes.push_back(change);
        drop(queue);
        self.queued.notify_one();
    }

    /// Applies queued changes and renews this node's entries until `shutdown` turns true; then
    /// withdraws this node's people so the others see them leave at once.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        // Who is here, per gig, for the heartbeat: account → user.
        let mut here: HashMap<GigId, HashMap<AccountId, ChatUser>> = HashMap::new();
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = lock(&self.queue).changes.pop_front();
            if let Some(change) = next {
                self.apply(change, &mut here).await;
                continue;
            }
            tokio::select! {
                () = self.queued.notified() => {}
                _ = heartbeat.tick() => self.renew(&mut here).await,
                () = stopping(&mut shutdown) => break,
            }
        }
        let left = {
            let mut queue = lock(&self.queue);
            queue.closed = true;
            std::mem::take(&mut queue.changes)
        };
        drop(left);
        for (gig, people) in std::mem::take(&mut here) {
            for account in people.into_keys() {
                if let Err(error) = self.depart(gig, account).await {
                    tracing::warn!(%gig, %error, "cannot withdraw chat presence at shutdown");
                    return;
                }
            }
        }
    }

    async fn apply(&self, change: Change, here: &mut HashMap<GigId, HashMap<AccountId, ChatUser>>) {
        match change {
            Change::Arrived {
                gig,
                account,
                user,
                done,
            } => {
                let announced = self.arrive(gig, account, &user).await;
                if let Err(error) = &announced {
                    tracing::warn!(%gig, %error, "cannot announce a chat arrival");
                }
                here.entry(gig).or_default().insert(account, user);
                let _ = done.send(announced.is_ok());
            }
            Change::Departed { gig, account } => {
                if let Some(people) = here.get_mut(&gig) {
                    people.remove(&account);
                    if people.is_empty() {
                        here.remove(&gig);
                    }
                }
                if let Err(error) = self.depart(gig, account).await {
                    // The entry expires by itself; the others see the leave later.
                    tracing::warn!(%gig, %error, "cannot announce a chat departure");
                }
            }
        }
    }

    fn keys(&self, gig: GigId) -> [String; 3] {
        ["present", "people", "leaves"].map(|k| self.cluster.key(format!("chat:{gig}:{k}")))
    }

    fn entry(&self, account: AccountId) -> String {
        format!("{}:{account}", self.cluster.node())
    }

    async fn arrive(
        &self,
        gig: GigId,
        account: AccountId,
        user: &ChatUser,
    ) -> redis::RedisResult<()> {
        let (join, leave) = frames(account, user);
        let mut invocation = ARRIVE.prepare_invoke();
        for key in self.keys(gig) {
            invocation.key(key);
        }
        invocation
            .arg(channel(&self.cluster, gig))
            .arg(self.entry(account))
            .arg(account.to_string())
            .arg(millis(ENTRY_TTL))
            .arg(join)
            .arg(leave)
            .arg(millis(KEYS_TTL));
        let _: i64 = invocation
            .invoke_async(&mut self.cluster.connection())
            .await?;
        Ok(())
    }

    async fn depart(&self, gig: GigId, account: AccountId) -> redis::RedisResult<()> {
        let mut invocation = DEPART.prepare_invoke();
        for key in self.keys(gig) {
            invocation.key(key);
        }
        invocation
            .arg(channel(&self.cluster, gig))
            .arg(self.entry(account))
            .arg(account.to_string());
        let _: i64 = invocation
            .invoke_async(&mut self.cluster.connection())
            .await?;
        Ok(())
    }

    /// Renews this node's entries, sweeps expired ones, and re-announces anyone whose entry
    /// expired while this node could not renew it.
    async fn renew(&self, here: &mut HashMap<GigId, HashMap<AccountId, ChatUser>>) {
        for (gig, people) in here.iter() {
            let accounts: Vec<AccountId> = people.keys().copied().collect();
            let mut invocation = RENEW.prepare_invoke();
            for key in self.keys(*gig) {
                invocation.key(key);
            }
            invocation
                .arg(channel(&self.cluster, *gig))
                .arg(millis(ENTRY_TTL));
            for account in &accounts {
                invocation.arg(self.entry(*account));
            }
            let missing: Vec<usize> = match invocation
                .invoke_async(&mut self.cluster.connection())
                .await
            {
                Ok(missing) => missing,
                Err(error) => {
                    tracing::warn!(gig = %gig, %error, "cannot renew chat presence");
                    continue;
                }
            };
            for index in missing {
                let Some(account) = index.checked_sub(1).and_then(|i| accounts.get(i)) else {
                    continue;
                };
                if let Some(user) = people.get(account)
                    && let Err(error) = self.arrive(*gig, *account, user).await
                {
                    tracing::warn!(gig = %gig, %error, "cannot re-announce chat presence");
                }
            }
        }
    }
}

impl Roster for ChatPresence {
    fn arrived(&self, gig: GigId, account: AccountId, user: &ChatUser) -> Arrival {
        let (done, announced) = oneshot::channel();
        self.push(Change::Arrived {
            gig,
            account,
            user: user.clone(),
            done,
        });
        Arrival::Later(announced)
    }

    /// The departure is announced through the bus: no frame for the room to deliver.
    fn departed(&self, gig: GigId, account: AccountId, _user: &ChatUser) -> Vec<Outbound> {
        self.push(Change::Departed { gig, account });
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_presence_frame_is_the_protocols() {
        // PRELUDE builds it by hand; it must read as the typed message does.
        let typed = serde_json::to_string(&ServerMessage::Presence { count: 42 }).unwrap();
        assert_eq!(typed, r#"{"type":"presence","count":42}"#);
        assert!(PRELUDE.contains(r#"'P{"type":"presence","count":' .. "#));
    }
}
