//! The micropayment meter: one per node. Playback sessions (HTTP-FLV, RTMP play) register a
//! *watch* while they run; an open monetization channel whose account watches nothing is
//! *browsing*. Accruals are keyed by (account, gig), so one viewer on two devices pays once,
//! and they settle in batches — every settlement interval and as soon as a session ends — so the
//! store is not hit per packet.
//!
//! Amounts are exact: rate (micro-USD per hour) × whole milliseconds, divided by 3,600,000,
//! with the remainder carried to the next settlement, so nothing is lost to rounding. A wallet
//! that cannot pay the full amount pays what is left, down to exactly zero, and the account is
//! *stopped*: the paid-for playback goes on, nothing more accrues until a top-up (seen at the
//! next settlement) resumes payments.
//!
//! With several nodes (Redis mode) each accrual charges only while this node holds its
//! *lease* ([`WatchLeases`], one per (account, gig), or per account while browsing): a viewer
//! watching one gig through two nodes is charged by one of them. Leases are claimed as soon as
//! something starts and renewed every [`LEASE_RENEW`]; time is charged exactly for the spans
//! this node held the lease, so the switch from one node to another neither loses nor doubles
//! a millisecond beyond the Redis round trip.
//!
//! Time is `tokio::time::Instant`, so tests drive the meter with paused time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bookmygig_api::{AccountId, EntryKind, GigId, Money};
use bookmygig_store::{GigRecord, LedgerAccount, Store, StoreError, Transaction};
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Milliseconds per hour: rates are per hour, elapsed time is in milliseconds.
const MS_PER_HOUR: u128 = 3_600_000;

/// How often a clustered meter renews its leases (well inside their TTL).
pub const LEASE_RENEW: Duration = Duration::from_secs(2);

/// What one lease covers: an account watching a gig, or browsing (`gig: None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MeteredPair {
    /// Who pays.
    pub account: AccountId,
    /// The gig watched; `None` while browsing.
    pub gig: Option<GigId>,
}

/// Why leases could not be claimed or released.
#[derive(Debug, thiserror::Error)]
#[error("metering lease: {0}")]
pub struct LeaseError(pub String);

/// Decides which node charges each [`MeteredPair`] (a cluster). Without it a meter charges
/// everything it meters.
#[async_trait]
pub trait WatchLeases: Send + Sync + std::fmt::Debug {
    /// Claims, or renews, the lease of each pair; answers per pair whether this node holds it.
    ///
    /// # Errors
    /// When the answer is unknown (the meter then charges none of them).
    async fn claim(&self, pairs: &[MeteredPair]) -> Result<Vec<bool>, LeaseError>;

    /// Gives up leases this node holds, so another node can take over at once.
    ///
    /// # Errors
    /// When they could not be released (they then expire by themselves).
    async fn release(&self, pairs: &[MeteredPair]) -> Result<(), LeaseError>;
}

/// Where an account's micropayments go right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The ledger account credited.
    pub account: LedgerAccount,
    /// The resolved payment pointer shown to the viewer.
    pub url: String,
    /// The ledger memo.
    pub memo: String,
    /// The gig concerned (none when browsing).
    pub gig: Option<GigId>,
}

/// What an account's monetization channels show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelStatus {
    /// Where payments go now.
    pub recipient: String,
    /// A settlement paid the current recipient since it became the recipient.
    pub started: bool,
    /// The wallet ran dry; nothing accrues until a top-up.
    pub stopped: bool,
    /// Micro-USD this account paid since the meter started tracking it (channels subtract
    /// what it was when they opened).
    pub paid: Money,
}

/// One accrual: a payer paying one recipient at one rate since `last`.
#[derive(Debug)]
struct Accrual {
    to: Recipient,
    /// Micro-USD per hour.
    rate: Money,
    /// Open connections sharing it (two devices on one gig pay once).
    connections: u32,
    /// Accrued up to here.
    last: Instant,
    /// Sub-micro remainder, in micro-USD × ms / hour units (< 3,600,000).
    carry: u128,
    /// Accrued, not yet posted.
    due: i64,
    /// This node charges it (holds its lease, or there are no leases) since `last`.
    charging: bool,
}

impl Accrual {
    fn new(to: Recipient, rate: Money, now: Instant, charging: bool) -> Self {
        Accrual {
            to,
            rate,
            connections: 1,
            last: now,
            carry: 0,
            due: 0,
            charging,
        }
    }

    /// Brings the accrual up to `now`; time spent stopped, or not charging here, is free.
    fn accrue(&mut self, now: Instant, stopped: bool) {
        let ms = now.saturating_duration_since(self.last).as_millis();
        // Whole milliseconds only; the fraction stays for next time.
        self.last += Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX));
        if stopped || !self.charging || self.rate.0 <= 0 {
            return;
        }
        let rate = u128::try_from(self.rate.0).unwrap_or(0);
        let owed = rate * ms + self.carry;
        self.carry = owed % MS_PER_HOUR;
        let micros = i64::try_from(owed / MS_PER_HOUR).unwrap_or(i64::MAX);
        self.due = self.due.saturating_add(micros);
    }
}

/// Everything the meter knows about one account.
#[derive(Debug)]
struct Payer {
    /// Gigs being watched.
    watches: HashMap<GigId, Accrual>,
    /// Accruing to the platform: some channel is open and nothing is watched.
    browse: Option<Accrual>,
    /// Monetization channels open.
    channels: u32,
    /// Ended accruals waiting for their last settlement.
    ended: Vec<Accrual>,
    stopped: bool,
    /// Pushed to the account's channels.
    status: watch::Sender<ChannelStatus>,
}

impl Payer {
    fn is_idle(&self) -> bool {
        self.watches.is_empty() && self.browse.is_none() && self.channels == 0
    }

    fn current(&self) -> Option<&Recipient> {
        self.watches
            .values()
            .next()
            .or(self.browse.as_ref())
            .map(|a| &a.to)
    }
}

/// One settlement to post.
struct Due {
    payer: AccountId,
    to: Recipient,
    amount: i64,
}

/// What a settlement round did to one account.
#[derive(Default)]
struct Outcome {
    paid: i64,
    paid_current: bool,
    ran_dry: bool,
    resumed: bool,
}

/// Accrues and settles streaming micropayments. Share it as `Arc<Meter>`.
pub struct Meter {
    store: Arc<dyn Store>,
    /// Rate while browsing, micro-USD per hour.
    browse_rate: Money,
    /// The platform's resolved payment pointer, shown while browsing.
    platform_url: String,
    payers: Mutex<HashMap<AccountId, Payer>>,
    /// A session ended: settle now rather than at the next tick.
    wake: Notify,
    /// Who charges what, in a cluster.
    leases: Option<Arc<dyn WatchLeases>>,
    /// Something started: claim its lease now rather than at the next renewal.
    lease_wake: Notify,
    /// Leases of ended accruals, given back at the next settlement.
    to_release: Mutex<Vec<MeteredPair>>,
}

impl std::fmt::Debug for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Meter")
            .field("browse_rate", &self.browse_rate)
            .finish_non_exhaustive()
    }
}

impl Meter {
    /// A meter posting to `store`; browsing pays `browse_rate` per hour to the platform, whose
    /// resolved payment pointer is `platform_url`.
    pub fn new(store: Arc<dyn Store>, browse_rate: Money, platform_url: String) -> Arc<Self> {
        Self::build(store, browse_rate, platform_url, None)
    }

    /// A meter like [`Meter::new`] on a cluster node: it charges only what `leases` grant it.
    pub fn clustered(
        store: Arc<dyn Store>,
        browse_rate: Money,
        platform_url: String,
        leases: Arc<dyn WatchLeases>,
    ) -> Arc<Self> {
        Self::build(store, browse_rate, platform_url, Some(leases))
    }

    fn build(
        store: Arc<dyn Store>,
        browse_rate: Money,
        platform_url: String,
        leases: Option<Arc<dyn WatchLeases>>,
    ) -> Arc<Self> {
        Arc::new(Meter {
            store,
            browse_rate,
            platform_url,
            payers: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            leases,
            lease_wake: Notify::new(),
            to_release: Mutex::new(Vec::new()),
        })
    }

    /// Whether a new accrual charges from the start (no leases) or waits for its lease.
    fn charges_at_once(&self) -> bool {
        self.leases.is_none()
    }

    fn payers(&self) -> MutexGuard<'_, HashMap<AccountId, Payer>> {
        // A panic while holding the lock leaves plain data behind; keep going with it.
        self.payers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn payer<'a>(&self, payers: &'a mut HashMap<AccountId, Payer>, id: AccountId) -> &'a mut Payer {
        payers.entry(id).or_insert_with(|| Payer {
            watches: HashMap::new(),
            browse: None,
            channels: 0,
            ended: Vec::new(),
            stopped: false,
            status: watch::Sender::new(ChannelStatus {
                recipient: self.platform_url.clone(),
                started: false,
                stopped: false,
                paid: Money::ZERO,
            }),
        })
    }

    /// `account` starts playing `gig`; micropayments accrue to its creator (nothing when the
    /// creator watches their own gig) until the guard is dropped.
    pub fn watch(self: &Arc<Self>, account: AccountId, gig: &GigRecord) -> WatchGuard {
        let now = Instant::now();
        let rate = if gig.creator_id == account {
            Money::ZERO
        } else {
            gig.details.micropayment_rate
        };
        let to = Recipient {
            account: LedgerAccount::User(gig.creator_id),
            url: gig.details.payment_pointer.resolve(),
            memo: format!("Streaming: {}", gig.details.title),
            gig: Some(gig.id),
        };
        let mut payers = self.payers();
        let payer = self.payer(&mut payers, account);
        match payer.watches.get_mut(&gig.id) {
            Some(accrual) => accrual.connections += 1,
            None => {
                let accrual = Accrual::new(to, rate, now, self.charges_at_once());
                payer.watches.insert(gig.id, accrual);
                self.lease_wake.notify_one();
            }
        }
        self.rebalance(account, payer, now);
        WatchGuard {
            meter: Arc::clone(self),
            account,
            gig: gig.id,
        }
    }

    /// `account` opens a monetization channel: while it watches nothing, the platform is paid.
    pub fn open_channel(self: &Arc<Self>, account: AccountId) -> ChannelGuard {
        let now = Instant::now();
        let mut payers = self.payers();
        let payer = self.payer(&mut payers, account);
        payer.channels += 1;
        self.rebalance(account, payer, now);
        ChannelGuard {
            status: payer.status.subscribe(),
            meter: Arc::clone(self),
            account,
        }
    }

    /// Whether `account`'s micropayments are stopped (wallet empty) on this node.
    pub fn is_stopped(&self, account: AccountId) -> bool {
        self.payers().get(&account).is_some_and(|p| p.stopped)
    }

    fn end_watch(&self, account: AccountId, gig: GigId) {
        let now = Instant::now();
        let mut payers = self.payers();
        let Some(payer) = payers.get_mut(&account) else {
            return;
        };
        if let Some(accrual) = payer.watches.get_mut(&gig) {
            accrual.connections -= 1;
            if accrual.connections == 0
                && let Some(mut accrual) = payer.watches.remove(&gig)
            {
                accrual.accrue(now, payer.stopped);
                self.ended_lease(account, Some(gig), &accrual);
                payer.ended.push(accrual);
            }
        }
        self.rebalance(account, payer, now);
        drop(payers);
        self.wake.notify_one();
    }

    fn close_channel(&self, account: AccountId) {
        let now = Instant::now();
        let mut payers = self.payers();
        let Some(payer) = payers.get_mut(&account) else {
            return;
        };
        payer.channels = payer.channels.saturating_sub(1);
        self.rebalance(account, payer, now);
        drop(payers);
        self.wake.notify_one();
    }

    /// Remembers to give back the lease of an accrual that ended while charging.
    fn ended_lease(&self, account: AccountId, gig: Option<GigId>, accrual: &Accrual) {
        if self.leases.is_some() && accrual.charging {
            self.to_release
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(MeteredPair { account, gig });
        }
    }

    /// Starts or ends browsing as watches and channels come and go, and tells the channels
    /// when the recipient changed.
    fn rebalance(&self, account: AccountId, payer: &mut Payer, now: Instant) {
        let browsing = payer.channels > 0 && payer.watches.is_empty();
        match (&payer.browse, browsing) {
            (None, true) => {
                let to = Recipient {
                    account: LedgerAccount::PlatformRevenue,
                    url: self.platform_url.clone(),
                    memo: "Browsing BookMyGig".into(),
                    gig: None,
                };
                payer.browse = Some(Accrual::new(
                    to,
                    self.browse_rate,
                    now,
                    self.charges_at_once(),
                ));
                self.lease_wake.notify_one();
            }
            (Some(_), false) => {
                if let Some(mut accrual) = payer.browse.take() {
                    accrual.accrue(now, payer.stopped);
                    self.ended_lease(account, None, &accrual);
                    payer.ended.push(accrual);
                }
            }
            _ => {}
        }
        let recipient = payer
            .current()
            .map_or_else(|| self.platform_url.clone(), |r| r.url.clone());
        payer.status.send_if_modified(|status| {
            if status.recipient == recipient {
                return false;
            }
            status.recipient = recipient;
            status.started = false;
            true
        });
    }

    /// Runs settlement rounds every `interval` and whenever a session ends, until `stop`
    /// resolves; then settles everything one last time.
    /// In a cluster it also claims leases for whatever starts and renews them every
    /// [`LEASE_RENEW`].
    pub async fn run(self: Arc<Self>, interval: Duration, stop: impl Future<Output = ()>) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renewals = tokio::time::interval(LEASE_RENEW);
        renewals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let clustered = self.leases.is_some();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = self.wake.notified() => {}
                () = self.lease_wake.notified(), if clustered => {
                    self.claim_leases().await;
                    continue;
                }
                _ = renewals.tick(), if clustered => {
                    self.claim_leases().await;
                    continue;
                }
                () = &mut stop => break,
            }
            self.settle().await;
        }
        self.settle().await;
        self.release_leases().await;
    }

    /// Claims or renews the lease of everything metered here, and switches each accrual to
    /// charging or not accordingly (charging up to now under the old state first).
    pub async fn claim_leases(&self) {
        let Some(leases) = &self.leases else { return };
        let pairs: Vec<MeteredPair> = self
            .payers()
            .iter()
            .flat_map(|(&account, payer)| {
                let watched = payer.watches.keys().map(move |&gig| MeteredPair {
                    account,
                    gig: Some(gig),
                });
                let browsing = payer
                    .browse
                    .as_ref()
                    .map(|_| MeteredPair { account, gig: None });
                watched.chain(browsing)
            })
            .collect();
        if pairs.is_empty() {
            return;
        }
        let held = match leases.claim(&pairs).await {
            Ok(held) if held.len() == pairs.len() => held,
            Ok(_) => vec![false; pairs.len()],
            Err(error) => {
                // Unsure who charges: charging nobody cannot double-charge.
                tracing::warn!(%error, "metering leases unknown; charging paused on this node");
                vec![false; pairs.len()]
            }
        };
        let now = Instant::now();
        let mut payers = self.payers();
        for (pair, held) in pairs.into_iter().zip(held) {
            let Some(payer) = payers.get_mut(&pair.account) else {
                continue;
            };
            let stopped = payer.stopped;
            let accrual = match pair.gig {
                Some(gig) => payer.watches.get_mut(&gig),
                None => payer.browse.as_mut(),
            };
            if let Some(accrual) = accrual
                && accrual.charging != held
            {
                accrual.accrue(now, stopped);
                accrual.charging = held;
            }
        }
    }

    /// Gives back the leases of accruals that ended, unless metered here again meanwhile.
    async fn release_leases(&self) {
        let Some(leases) = &self.leases else { return };
        let ended = std::mem::take(&mut *self.to_release.lock().unwrap_or_else(|e| e.into_inner()));
        if ended.is_empty() {
            return;
        }
        let pairs: Vec<MeteredPair> = {
            let payers = self.payers();
            ended
                .into_iter()
                .filter(|pair| {
                    payers
                        .get(&pair.account)
                        .is_none_or(|payer| match pair.gig {
                            Some(gig) => !payer.watches.contains_key(&gig),
                            None => payer.browse.is_none(),
                        })
                })
                .collect()
        };
        if let Err(error) = leases.release(&pairs).await {
            tracing::warn!(%error, "metering leases not released; they expire by themselves");
        }
    }

    /// One settlement round: brings every accrual up to now and books what is due.
    pub async fn settle(&self) {
        self.release_leases().await;
        let now = Instant::now();
        let mut dues = Vec::new();
        let mut stopped = Vec::new();
        {
            let mut payers = self.payers();
            for (&id, payer) in payers.iter_mut() {
                if payer.stopped {
                    stopped.push(id);
                }
                let still = payer.stopped;
                let active = payer.watches.values_mut().chain(payer.browse.as_mut());
                for accrual in active {
                    accrual.accrue(now, still);
                    if accrual.due > 0 {
                        dues.push(Due {
                            payer: id,
                            to: accrual.to.clone(),
                            amount: std::mem::take(&mut accrual.due),
                        });
                    }
                }
                for accrual in payer.ended.drain(..) {
                    if accrual.due > 0 {
                        dues.push(Due {
                            payer: id,
                            to: accrual.to,
                            amount: accrual.due,
                        });
                    }
                }
            }
        }
        let mut outcomes: HashMap<AccountId, Outcome> = HashMap::new();
        for id in stopped {
            let wallet = LedgerAccount::User(id);
            if matches!(self.store.balance(&wallet).await, Ok(balance) if balance > Money::ZERO) {
                outcomes.entry(id).or_default().resumed = true;
            }
        }
        for due in dues {
            let outcome = outcomes.entry(due.payer).or_default();
            if outcome.ran_dry {
                continue;
            }
            let current = self.is_current(due.payer, &due.to);
            match self.pay(&due).await {
                Ok((paid, ran_dry)) => {
                    outcome.paid += paid;
                    outcome.paid_current |= current && paid > 0;
                    outcome.ran_dry |= ran_dry;
                }
                Err(error) => {
                    tracing::warn!(account = %due.payer, %error, "micropayment not settled; retrying later");
                    self.give_back(due);
                }
            }
        }
        let mut payers = self.payers();
        for (id, outcome) in outcomes {
            let Some(payer) = payers.get_mut(&id) else {
                continue;
            };
            if outcome.ran_dry {
                payer.stopped = true;
                tracing::info!(account = %id, "wallet empty: micropayments stopped");
            } else if outcome.resumed {
                payer.stopped = false;
                tracing::info!(account = %id, "wallet topped up: micropayments resume");
            }
            let stopped = payer.stopped;
            payer.status.send_if_modified(|status| {
                let before = status.clone();
                status.paid = Money(status.paid.0 + outcome.paid);
                status.stopped = stopped;
                if outcome.paid_current {
                    status.started = true;
                }
                if outcome.resumed && !outcome.paid_current {
                    status.started = false;
                }
                *status != before
            });
        }
        payers.retain(|_, payer| !payer.is_idle() || !payer.ended.is_empty());
    }

    fn is_current(&self, id: AccountId, to: &Recipient) -> bool {
        self.payers()
            .get(&id)
            .and_then(Payer::current)
            .is_some_and(|current| current == to)
    }

    /// Posts one due amount, or what the wallet still holds; returns what was paid and whether
    /// the wallet ran dry.
    async fn pay(&self, due: &Due) -> Result<(i64, bool), StoreError> {
        match self.post(due, due.amount).await {
            Ok(()) => Ok((due.amount, false)),
            Err(StoreError::InsufficientFunds { balance, .. }) => {
                if balance > Money::ZERO && balance.0 < due.amount {
                    match self.post(due, balance.0).await {
                        Ok(()) => return Ok((balance.0, true)),
                        // Spent elsewhere meanwhile: stop anyway, the next round looks again.
                        Err(StoreError::InsufficientFunds { .. }) => return Ok((0, true)),
                        Err(other) => return Err(other),
                    }
                }
                Ok((0, true))
            }
            Err(other) => Err(other),
        }
    }

    async fn post(&self, due: &Due, amount: i64) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        let at = now
            .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now);
        let transaction = Transaction::transfer(
            EntryKind::Micropayment,
            LedgerAccount::User(due.payer),
            due.to.account,
            Money(amount),
            due.to.memo.clone(),
            due.to.gig,
            at,
        );
        self.store.post(&transaction, None).await.map(|_| ())
    }

    /// A posting failed for a reason other than money: keep the amount for the next round.
    fn give_back(&self, due: Due) {
        let mut payers = self.payers();
        let Some(payer) = payers.get_mut(&due.payer) else {
            tracing::warn!(account = %due.payer, amount = due.amount, "micropayment lost: session gone");
            return;
        };
        let open = payer
            .watches
            .values_mut()
            .chain(payer.browse.as_mut())
            .find(|a| a.to == due.to);
        match open {
            Some(accrual) => accrual.due += due.amount,
            None => {
                let mut accrual = Accrual::new(due.to, Money::ZERO, Instant::now(), true);
                accrual.due = due.amount;
                payer.ended.push(accrual);
            }
        }
    }
}

/// A running playback session; dropping it ends the watch and settles it.
#[derive(Debug)]
pub struct WatchGuard {
    meter: Arc<Meter>,
    account: AccountId,
    gig: GigId,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.meter.end_watch(self.account, self.gig);
    }
}

/// An open monetization channel; dropping it closes it.
#[derive(Debug)]
pub struct ChannelGuard {
    meter: Arc<Meter>,
    account: AccountId,
    /// The account's status, as settlements change it.
    pub status: watch::Receiver<ChannelStatus>,
}

impl Drop for ChannelGuard {
    fn drop(&mut self) {
        self.meter.close_channel(self.account);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use bookmygig_api::{Category, PaymentPointer};
    use bookmygig_store::{EmbeddedStore, GigDetails, GigState, TokenHash};

    use super::*;

    /// $0.36/hour, the server default: 100 micro-USD per second.
    const RATE: Money = Money(360_000);

    struct Fixture {
        store: Arc<dyn Store>,
        meter: Arc<Meter>,
        viewer: AccountId,
        gig: GigRecord,
        _dir: tempfile::TempDir,
    }

    async fn fixture(viewer_funds: i64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let viewer = AccountId::new();
        let creator = AccountId::new();
        let top_up = Transaction::transfer(
            EntryKind::TopUp,
            LedgerAccount::ExternalTopups,
            LedgerAccount::User(viewer),
            Money(viewer_funds),
            "top-up",
            None,
            OffsetDateTime::UNIX_EPOCH,
        );
        store.post(&top_up, None).await.unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        let gig = GigRecord {
            id: GigId::new(),
            creator_id: creator,
            details: GigDetails {
                creator_name: "Alice".into(),
                title: "Late Night Laughs".into(),
                description: String::new(),
                category: Category::Comedy,
                price: Money::ZERO,
                starts_at: now,
                ends_at: now,
                capacity: None,
                payment_pointer: PaymentPointer::parse("$wallet.example/alice").unwrap(),
                micropayment_rate: RATE,
            },
            stream_key: String::new(),
            stream_key_hash: TokenHash([0; 32]),
            created_at: now,
            tickets_sold: 0,
            state: GigState::Live,
        };
        let meter = Meter::new(
            Arc::clone(&store),
            RATE,
            "https://wallet.example/bookmygig".into(),
        );
        Fixture {
            store,
            meter,
            viewer,
            gig,
            _dir: dir,
        }
    }

    async fn balance(store: &Arc<dyn Store>, account: LedgerAccount) -> i64 {
        store.balance(&account).await.unwrap().0
    }

    #[tokio::test(start_paused = true)]
    async fn sixty_seconds_watched_credit_the_creator_rate_times_time_exactly() {
        let f = fixture(1_000_000).await;
        let creator = LedgerAccount::User(f.gig.creator_id);
        let guard = f.meter.watch(f.viewer, &f.gig);
        tokio::time::advance(Duration::from_secs(60)).await;
        f.meter.settle().await;
        assert_eq!(balance(&f.store, creator).await, 6_000);
        drop(guard);
        f.meter.settle().await;
        assert_eq!(balance(&f.store, creator).await, 6_000);
        assert_eq!(
            balance(&f.store, LedgerAccount::User(f.viewer)).await,
            994_000
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sub_micro_amounts_carry_over_instead_of_being_lost() {
        let f = fixture(1_000_000).await;
        let creator = LedgerAccount::User(f.gig.creator_id);
        let _guard = f.meter.watch(f.viewer, &f.gig);
        // 100 micro-USD per second is 0.1 per millisecond: 7 ms at a time pays nothing yet.
        for _ in 0..1_000 {
            tokio::time::advance(Duration::from_millis(7)).await;
            f.meter.settle().await;
        }
        assert_eq!(balance(&f.store, creator).await, 700);
    }

    #[tokio::test(start_paused = true)]
    async fn two_devices_on_one_gig_pay_once() {
        let f = fixture(1_000_000).await;
        let creator = LedgerAccount::User(f.gig.creator_id);
        let first = f.meter.watch(f.viewer, &f.gig);
        let second = f.meter.watch(f.viewer, &f.gig);
        tokio::time::advance(Duration::from_secs(10)).await;
        drop(first);
        tokio::time::advance(Duration::from_secs(10)).await;
        drop(second);
        f.meter.settle().await;
        assert_eq!(balance(&f.store, creator).await, 2_000);
    }

    #[tokio::test(start_paused = true)]
    async fn browsing_pays_the_platform_and_watching_pauses_it() {
        let f = fixture(1_000_000).await;
        let channel = f.meter.open_channel(f.viewer);
        tokio::time::advance(Duration::from_secs(30)).await;
        let watching = f.meter.watch(f.viewer, &f.gig);
        tokio::time::advance(Duration::from_secs(30)).await;
        f.meter.settle().await;
        assert_eq!(
            balance(&f.store, LedgerAccount::PlatformRevenue).await,
            3_000
        );
        assert_eq!(
            balance(&f.store, LedgerAccount::User(f.gig.creator_id)).await,
            3_000
        );
        let status = channel.status.borrow().clone();
        assert!(status.started);
        assert_eq!(status.recipient, "https://wallet.example/alice");
        assert_eq!(status.paid, Money(6_000));
        drop(watching);
        drop(channel);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dry_wallet_pays_to_exactly_zero_stops_and_a_top_up_resumes() {
        let f = fixture(2_500).await;
        let viewer = LedgerAccount::User(f.viewer);
        let channel = f.meter.open_channel(f.viewer);
        let _watching = f.meter.watch(f.viewer, &f.gig);
        tokio::time::advance(Duration::from_secs(60)).await;
        f.meter.settle().await;
        assert_eq!(balance(&f.store, viewer).await, 0);
        assert_eq!(
            balance(&f.store, LedgerAccount::User(f.gig.creator_id)).await,
            2_500
        );
        assert!(channel.status.borrow().stopped);
        assert!(f.meter.is_stopped(f.viewer));
        // Time spent stopped is free.
        tokio::time::advance(Duration::from_secs(60)).await;
        f.meter.settle().await;
        let top_up = Transaction::transfer(
            EntryKind::TopUp,
            LedgerAccount::ExternalTopups,
            viewer,
            Money(10_000),
            "top-up",
            None,
            OffsetDateTime::UNIX_EPOCH,
        );
        f.store.post(&top_up, None).await.unwrap();
        f.meter.settle().await;
        assert!(!channel.status.borrow().stopped);
        tokio::time::advance(Duration::from_secs(10)).await;
        f.meter.settle().await;
        assert_eq!(balance(&f.store, viewer).await, 9_000);
    }

    /// Leases held in memory, shared by meters standing for two nodes.
    #[derive(Debug, Default)]
    struct SharedLeases {
        holders: Mutex<HashMap<MeteredPair, usize>>,
    }

    /// One node's view of [`SharedLeases`].
    #[derive(Debug)]
    struct NodeLeases {
        shared: Arc<SharedLeases>,
        node: usize,
    }

    #[async_trait]
    impl WatchLeases for NodeLeases {
        async fn claim(&self, pairs: &[MeteredPair]) -> Result<Vec<bool>, LeaseError> {
            let mut holders = self.shared.holders.lock().unwrap();
            Ok(pairs
                .iter()
                .map(|pair| *holders.entry(*pair).or_insert(self.node) == self.node)
                .collect())
        }

        async fn release(&self, pairs: &[MeteredPair]) -> Result<(), LeaseError> {
            let mut holders = self.shared.holders.lock().unwrap();
            for pair in pairs {
                if holders.get(pair) == Some(&self.node) {
                    holders.remove(pair);
                }
            }
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_viewer_on_two_nodes_pays_once_and_the_other_node_takes_over() {
        let f = fixture(1_000_000).await;
        let creator = LedgerAccount::User(f.gig.creator_id);
        let shared = Arc::new(SharedLeases::default());
        let node = |node| {
            Meter::clustered(
                Arc::clone(&f.store),
                RATE,
                "https://wallet.example/bookmygig".into(),
                Arc::new(NodeLeases {
                    shared: Arc::clone(&shared),
                    node,
                }),
            )
        };
        let (a, b) = (node(0), node(1));
        let on_a = a.watch(f.viewer, &f.gig);
        a.claim_leases().await;
        let on_b = b.watch(f.viewer, &f.gig);
        b.claim_leases().await;
        tokio::time::advance(Duration::from_secs(60)).await;
        a.settle().await;
        b.settle().await;
        assert_eq!(balance(&f.store, creator).await, 6_000, "charged once");

        // A stops; B takes over at its next claim and charges from then on only.
        drop(on_a);
        a.settle().await;
        b.claim_leases().await;
        tokio::time::advance(Duration::from_secs(30)).await;
        b.settle().await;
        drop(on_b);
        b.settle().await;
        assert_eq!(balance(&f.store, creator).await, 9_000);
        assert_eq!(
            balance(&f.store, LedgerAccount::User(f.viewer)).await,
            991_000
        );
        assert!(
            shared.holders.lock().unwrap().is_empty(),
            "leases given back"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_creator_watching_their_own_gig_pays_nothing() {
        let f = fixture(0).await;
        let _guard = f.meter.watch(f.gig.creator_id, &f.gig);
        tokio::time::advance(Duration::from_secs(60)).await;
        f.meter.settle().await;
        assert!(
            f.store
                .balances()
                .await
                .unwrap()
                .iter()
                .all(|(_, m)| m.0 == 0)
        );
        assert!(!f.meter.is_stopped(f.gig.creator_id));
    }
}
