//! The account throttles: sign-in attempts per handle and per client address, sign-ups per
//! client address. What they allow is [`policy`]; where their counts live is an
//! [`AccountThrottle`] chosen once at start-up: [`LocalThrottle`] in this process (one node),
//! [`crate::cluster::account_throttle::RedisThrottle`] in Redis (several nodes share the
//! counts, so spreading attempts over nodes buys nothing), or [`Unthrottled`] with
//! `--no-rate-limits`. Handlers never ask which.
//!
//! A sign-in attempt is counted as a failure when it starts ([`AccountThrottle::begin_sign_in`])
//! and forgiven when it succeeds, so a hundred concurrent guesses are throttled like a hundred
//! sequential ones. The handle is counted as typed, whether or not an account has it, so a
//! locked unknown handle answers exactly as a locked known one.
//!
//! Client addresses are counted per IPv4 address and per IPv6 /64 (one customer's network,
//! which hands out the addresses inside it freely).

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

/// What the throttles allow (the same numbers in both implementations).
pub mod policy {
    use std::time::Duration;

    /// Sign-in failures a handle may have before it is locked.
    pub const SIGN_IN_FREE_FAILURES: u32 = 5;
    /// The first lock of a handle; each further failure doubles it.
    pub const SIGN_IN_FIRST_LOCK: Duration = Duration::from_secs(1);
    /// The longest lock of a handle.
    pub const SIGN_IN_MAX_LOCK: Duration = Duration::from_secs(15 * 60);
    /// A handle's failures are forgotten this long after the last attempt (or its lock's end).
    pub const SIGN_IN_FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
    /// Failed sign-ins one address may make at once (any handles).
    pub const SIGN_IN_IP_BURST: u32 = 30;
    /// Then one more failed sign-in per this long.
    pub const SIGN_IN_IP_INTERVAL: Duration = Duration::from_secs(10);
    /// Sign-ups one address may make at once.
    pub const SIGN_UP_IP_BURST: u32 = 20;
    /// Then one more sign-up per this long.
    pub const SIGN_UP_IP_INTERVAL: Duration = Duration::from_secs(3 * 60);
    /// Most handles and addresses the in-process throttle tracks, per kind; past it, the
    /// entries closest to expiring are dropped first.
    pub const MAX_TRACKED: usize = 65_536;

    /// The lock after a handle's `failures`-th counted failure, if any.
    pub fn lock_after(failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(SIGN_IN_FREE_FAILURES)?;
        let factor = 1u32.checked_shl(over.min(31)).unwrap_or(u32::MAX);
        Some(
            SIGN_IN_FIRST_LOCK
                .saturating_mul(factor)
                .min(SIGN_IN_MAX_LOCK),
        )
    }
}

/// What is throttled when an attempt must wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The handle signed in to (too many failures for it).
    Handle,
    /// The client's address (too many failures or sign-ups from it).
    Address,
}

/// The answer of a throttle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead (and the attempt is counted).
    Allowed,
    /// Not now: `scope` is over its budget for `retry_after`.
    Wait {
        /// What is over its budget.
        scope: Scope,
        /// How long until an attempt can be allowed.
        retry_after: Duration,
    },
}

/// The throttle's counts cannot be reached (Redis down).
#[derive(Debug, thiserror::Error)]
#[error("account throttle: {0}")]
pub struct ThrottleError(pub String);

/// Where the account throttles keep their counts (see the module doc).
#[async_trait]
pub trait AccountThrottle: Send + Sync + fmt::Debug {
    /// Counts a sign-in attempt for `handle` from `ip` as a failure, unless the handle is
    /// locked or the address is over its budget.
    async fn begin_sign_in(&self, handle: &str, ip: IpAddr) -> Result<Verdict, ThrottleError>;

    /// The attempt begun for `handle` from `ip` succeeded: the handle's failures are cleared
    /// and the address gets its attempt back.
    async fn sign_in_succeeded(&self, handle: &str, ip: IpAddr) -> Result<(), ThrottleError>;

    /// Counts a sign-up from `ip`, unless the address is over its budget.
    async fn begin_sign_up(&self, ip: IpAddr) -> Result<Verdict, ThrottleError>;
}

/// The key an address is counted under: IPv4 as is, IPv6 by its /64.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

/// The key a handle is counted under: as typed, when it could be a handle at all; every
/// longer string (never an account) shares one key.
pub fn handle_key(handle: &str) -> &str {
    if handle.len() <= bookmygig_api::limits::HANDLE_MAX {
        handle
    } else {
        "\u{0}oversized"
    }
}

/// No throttle (`--no-rate-limits`): every attempt is allowed.
#[derive(Debug, Default)]
pub struct Unthrottled;

#[async_trait]
impl AccountThrottle for Unthrottled {
    async fn begin_sign_in(&self, _: &str, _: IpAddr) -> Result<Verdict, ThrottleError> {
        Ok(Verdict::Allowed)
    }

    async fn sign_in_succeeded(&self, _: &str, _: IpAddr) -> Result<(), ThrottleError> {
        Ok(())
    }

    async fn begin_sign_up(&self, _: IpAddr) -> Result<Verdict, ThrottleError> {
        Ok(Verdict::Allowed)
    }
}

/// A handle's failures.
#[derive(Clone, Copy, Debug)]
struct HandleState {
    failures: u32,
    locked_until: Instant,
    forget_at: Instant,
}

/// An address's budget as a GCRA "theoretical arrival time": each counted attempt pushes it
/// one interval later (from now at the earliest); the address is over its budget while it is
/// more than `burst - 1` intervals ahead of now.
#[derive(Clone, Copy, Debug)]
struct Budget {
    tat: Instant,
}

trait Expiring {
    /// When the entry means nothing any more and may be dropped.
    fn expires_at(&self) -> Instant;
    /// Until when the entry holds something back: when the map is full, the entries that hold
    /// back least long are dropped first.
    fn holds_until(&self) -> Instant;
}

impl Expiring for HandleState {
    fn expires_at(&self) -> Instant {
        self.forget_at.max(self.locked_until)
    }

    /// A lock in force matters most; unlocked failure counts go first.
    fn holds_until(&self) -> Instant {
        self.locked_until
    }
}

impl Expiring for Budget {
    fn expires_at(&self) -> Instant {
        self.tat
    }

    fn holds_until(&self) -> Instant {
        self.tat
    }
}

/// A map that never holds more than `cap` entries: when full, expired entries are swept, and
/// if that is not enough, the tenth that holds back least long ([`Expiring::holds_until`]) is
/// dropped (so the work of a sweep is paid for by many inserts).
#[derive(Debug)]
struct BoundedMap<K, V> {
    map: HashMap<K, V>,
    cap: usize,
}

impl<K: Hash + Eq + Clone, V: Expiring> BoundedMap<K, V> {
    fn new(cap: usize) -> Self {
        BoundedMap {
            map: HashMap::new(),
            cap: cap.max(1),
        }
    }

    /// The live entry of `key`, if any (an expired one is dropped).
    fn live(&mut self, key: &K, now: Instant) -> Option<&mut V> {
        if self.map.get(key).is_some_and(|v| v.expires_at() <= now) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    fn insert(&mut self, key: K, value: V, now: Instant) {
        if !self.map.contains_key(&key) && self.map.len() >= self.cap {
            self.make_room(now);
        }
        self.map.insert(key, value);
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key)
    }

    fn make_room(&mut self, now: Instant) {
        self.map.retain(|_, v| v.expires_at() > now);
        let target = self.cap - self.cap / 10 - 1;
        if self.map.len() <= target {
            return;
        }
        let mut holds: Vec<Instant> = self.map.values().map(Expiring::holds_until).collect();
        let drop = self.map.len() - target;
        let (_, cut, _) = holds.select_nth_unstable(drop - 1);
        let cut = *cut;
        let mut dropped = 0;
        self.map.retain(|_, v| {
            if dropped < drop && v.holds_until() <= cut {
                dropped += 1;
                false
            } else {
                true
            }
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

/// The counts of one process, in bounded memory ([`policy::MAX_TRACKED`] entries per kind).
/// Time is `tokio::time::Instant`, so tests drive it with `tokio::time::pause()`.
#[derive(Debug)]
pub struct LocalThrottle {
    handles: Mutex<BoundedMap<String, HandleState>>,
    sign_in_addresses: Mutex<BoundedMap<IpAddr, Budget>>,
    sign_up_addresses: Mutex<BoundedMap<IpAddr, Budget>>,
}

impl Default for LocalThrottle {
    fn default() -> Self {
        Self::with_capacity(policy::MAX_TRACKED)
    }
}

impl LocalThrottle {
    /// Tracks at most `cap` handles and `cap` addresses of each kind.
    pub fn with_capacity(cap: usize) -> Self {
        LocalThrottle {
            handles: Mutex::new(BoundedMap::new(cap)),
            sign_in_addresses: Mutex::new(BoundedMap::new(cap)),
            sign_up_addresses: Mutex::new(BoundedMap::new(cap)),
        }
    }
}

fn poisoned<T>(_: T) -> ThrottleError {
    ThrottleError("a throttle lock was poisoned".into())
}

/// The address's wait if one more attempt would put it over `burst` per `interval`.
fn budget_wait(
    budget: Option<&Budget>,
    now: Instant,
    burst: u32,
    interval: Duration,
) -> Option<Duration> {
    let tat = budget.map_or(now, |b| b.tat.max(now));
    let debt = tat - now;
    let allowance = interval.saturating_mul(burst.saturating_sub(1));
    (debt > allowance).then(|| debt - allowance)
}

/// Counts one attempt against the address's budget.
fn budget_take(budget: Option<&Budget>, now: Instant, interval: Duration) -> Budget {
    let tat = budget.map_or(now, |b| b.tat.max(now));
    Budget {
        tat: tat + interval,
    }
}

#[async_trait]
impl AccountThrottle for LocalThrottle {
    async fn begin_sign_in(&self, handle: &str, ip: IpAddr) -> Result<Verdict, ThrottleError> {
        let now = Instant::now();
        let key = handle_key(handle);
        let address = address_key(ip);
        let mut handles = self.handles.lock().map_err(poisoned)?;
        let state = handles.live(&key.to_owned(), now).copied();
        if let Some(state) = state
            && state.locked_until > now
        {
            return Ok(Verdict::Wait {
                scope: Scope::Handle,
                retry_after: state.locked_until - now,
            });
        }
        let mut addresses = self.sign_in_addresses.lock().map_err(poisoned)?;
        let budget = addresses.live(&address, now).copied();
        if let Some(wait) = budget_wait(
            budget.as_ref(),
            now,
            policy::SIGN_IN_IP_BURST,
            policy::SIGN_IN_IP_INTERVAL,
        ) {
            return Ok(Verdict::Wait {
                scope: Scope::Address,
                retry_after: wait,
            });
        }
        addresses.insert(
            address,
            budget_take(budget.as_ref(), now, policy::SIGN_IN_IP_INTERVAL),
            now,
        );
        let failures = state.map_or(0, |s| s.failures).saturating_add(1);
        let locked_until = policy::lock_after(failures).map_or(now, |lock| now + lock);
        handles.insert(
            key.to_owned(),
            HandleState {
                failures,
                locked_until,
                forget_at: now + policy::SIGN_IN_FORGET_AFTER,
            },
            now,
        );
        Ok(Verdict::Allowed)
    }

    async fn sign_in_succeeded(&self, handle: &str, ip: IpAddr) -> Result<(), ThrottleError> {
        let now = Instant::now();
        self.handles
            .lock()
            .map_err(poisoned)?
            .remove(&handle_key(handle).to_owned());
        let mut addresses = self.sign_in_addresses.lock().map_err(poisoned)?;
        if let Some(budget) = addresses.live(&address_key(ip), now) {
            budget.tat = budget
                .tat
                .checked_sub(policy::SIGN_IN_IP_INTERVAL)
                .unwrap_or(now)
                .max(now);
        }
        Ok(())
    }

    async fn begin_sign_up(&self, ip: IpAddr) -> Result<Verdict, ThrottleError> {
        let now = Instant::now();
        let address = address_key(ip);
        let mut addresses = self.sign_up_addresses.lock().map_err(poisoned)?;
        let budget = addresses.live(&address, now).copied();
        if let Some(wait) = budget_wait(
            budget.as_ref(),
            now,
            policy::SIGN_UP_IP_BURST,
            policy::SIGN_UP_IP_INTERVAL,
        ) {
            return Ok(Verdict::Wait {
                scope: Scope::Address,
                retry_after: wait,
            });
        }
        addresses.insert(
            address,
            budget_take(budget.as_ref(), now, policy::SIGN_UP_IP_INTERVAL),
            now,
        );
        Ok(Verdict::Allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    fn waits(verdict: Verdict) -> Option<(Scope, Duration)> {
        match verdict {
            Verdict::Allowed => None,
            Verdict::Wait { scope, retry_after } => Some((scope, retry_after)),
        }
    }

    #[test]
    fn locks_grow_from_one_second_and_stop_at_the_cap() {
        assert_eq!(policy::lock_after(4), None);
        assert_eq!(policy::lock_after(5), Some(Duration::from_secs(1)));
        assert_eq!(policy::lock_after(6), Some(Duration::from_secs(2)));
        assert_eq!(policy::lock_after(9), Some(Duration::from_secs(16)));
        assert_eq!(policy::lock_after(40), Some(policy::SIGN_IN_MAX_LOCK));
        assert_eq!(policy::lock_after(u32::MAX), Some(policy::SIGN_IN_MAX_LOCK));
    }

    #[tokio::test(start_paused = true)]
    async fn a_handle_is_locked_after_its_free_failures_and_a_success_clears_it() {
        let throttle = LocalThrottle::default();
        for _ in 0..policy::SIGN_IN_FREE_FAILURES {
            assert_eq!(
                throttle.begin_sign_in("bob", HOME).await.unwrap(),
                Verdict::Allowed
            );
        }
        let (scope, wait) = waits(throttle.begin_sign_in("bob", HOME).await.unwrap()).unwrap();
        assert_eq!((scope, wait), (Scope::Handle, Duration::from_secs(1)));
        // Another handle from the same address is not locked.
        assert_eq!(
            throttle.begin_sign_in("carol", HOME).await.unwrap(),
            Verdict::Allowed
        );
        tokio::time::advance(wait).await;
        assert_eq!(
            throttle.begin_sign_in("bob", HOME).await.unwrap(),
            Verdict::Allowed
        );
        let (_, wait) = waits(throttle.begin_sign_in("bob", HOME).await.unwrap()).unwrap();
        assert_eq!(wait, Duration::from_secs(2));
        tokio::time::advance(wait).await;
        assert_eq!(
            throttle.begin_sign_in("bob", HOME).await.unwrap(),
            Verdict::Allowed
        );
        throttle.sign_in_succeeded("bob", HOME).await.unwrap();
        for _ in 0..policy::SIGN_IN_FREE_FAILURES {
            assert_eq!(
                throttle.begin_sign_in("bob", HOME).await.unwrap(),
                Verdict::Allowed
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_forgotten_after_an_hour() {
        let throttle = LocalThrottle::default();
        for _ in 0..policy::SIGN_IN_FREE_FAILURES - 1 {
            throttle.begin_sign_in("bob", HOME).await.unwrap();
        }
        tokio::time::advance(policy::SIGN_IN_FORGET_AFTER).await;
        for _ in 0..policy::SIGN_IN_FREE_FAILURES {
            assert_eq!(
                throttle.begin_sign_in("bob", HOME).await.unwrap(),
                Verdict::Allowed
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_spraying_many_handles_runs_out_of_budget() {
        let throttle = LocalThrottle::default();
        for i in 0..policy::SIGN_IN_IP_BURST {
            let handle = format!("user{i}");
            assert_eq!(
                throttle.begin_sign_in(&handle, HOME).await.unwrap(),
                Verdict::Allowed
            );
        }
        let (scope, wait) = waits(throttle.begin_sign_in("other", HOME).await.unwrap()).unwrap();
        assert_eq!((scope, wait), (Scope::Address, policy::SIGN_IN_IP_INTERVAL));
        // Another address is not affected; a success gives an attempt back.
        assert_eq!(
            throttle.begin_sign_in("other", ip(1)).await.unwrap(),
            Verdict::Allowed
        );
        throttle.sign_in_succeeded("user0", HOME).await.unwrap();
        assert_eq!(
            throttle.begin_sign_in("other", HOME).await.unwrap(),
            Verdict::Allowed
        );
        tokio::time::advance(policy::SIGN_IN_IP_INTERVAL).await;
        assert_eq!(
            throttle.begin_sign_in("again", HOME).await.unwrap(),
            Verdict::Allowed
        );
        assert!(waits(throttle.begin_sign_in("more", HOME).await.unwrap()).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn sign_ups_have_a_burst_then_a_steady_pace_per_address() {
        let throttle = LocalThrottle::default();
        for _ in 0..policy::SIGN_UP_IP_BURST {
            assert_eq!(
                throttle.begin_sign_up(HOME).await.unwrap(),
                Verdict::Allowed
            );
        }
        let (scope, wait) = waits(throttle.begin_sign_up(HOME).await.unwrap()).unwrap();
        assert_eq!((scope, wait), (Scope::Address, policy::SIGN_UP_IP_INTERVAL));
        assert_eq!(
            throttle.begin_sign_up(ip(2)).await.unwrap(),
            Verdict::Allowed
        );
        tokio::time::advance(wait).await;
        assert_eq!(
            throttle.begin_sign_up(HOME).await.unwrap(),
            Verdict::Allowed
        );
        assert!(waits(throttle.begin_sign_up(HOME).await.unwrap()).is_some());
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_bit_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key(HOME), HOME);
    }

    #[tokio::test(start_paused = true)]
    async fn the_maps_stay_bounded_whatever_handles_and_addresses_are_tried() {
        let throttle = LocalThrottle::with_capacity(100);
        for i in 0..5_000 {
            throttle
                .begin_sign_in(&format!("h{i}"), ip(i))
                .await
                .unwrap();
            throttle.begin_sign_up(ip(i)).await.unwrap();
        }
        assert!(throttle.handles.lock().unwrap().len() <= 100);
        assert!(throttle.sign_in_addresses.lock().unwrap().len() <= 100);
        assert!(throttle.sign_up_addresses.lock().unwrap().len() <= 100);
    }

    #[tokio::test(start_paused = true)]
    async fn when_full_a_locked_handle_outlasts_a_flood_of_other_handles() {
        let throttle = LocalThrottle::with_capacity(100);
        for _ in 0..policy::SIGN_IN_FREE_FAILURES {
            throttle.begin_sign_in("victim", HOME).await.unwrap();
        }
        for i in 0..1_000 {
            throttle
                .begin_sign_in(&format!("h{i}"), ip(i))
                .await
                .unwrap();
        }
        let verdict = throttle.begin_sign_in("victim", HOME).await.unwrap();
        assert_eq!(waits(verdict).map(|(scope, _)| scope), Some(Scope::Handle));
    }
}
