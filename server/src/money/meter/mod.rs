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
//! Each accrual charges only while this node holds its
//! *lease* ([`WatchLeases`], one per (account, gig), or per account while browsing): a viewer
//! watching one gig through two nodes of a cluster is charged by one of them; a single node
//! holds every lease from the start ([`OneNodeLeases`]). Leases are claimed as soon as
//! something starts and renewed every [`LEASE_RENEW`]; time is charged exactly for the spans
//! this node held the lease, so the switch from one node to another neither loses nor doubles
//! a millisecond beyond the Redis round trip.
//!
//! Time is `tokio::time::Instant`, so tests drive the meter with paused time.

//!
//! - `accrual`: what is owed, per payer and recipient, exactly to the micro-dollar.
//! - `sessions`: watches and monetization channels starting and ending.
//! - `leases`: which node charges what ([`WatchLeases`]; [`OneNodeLeases`] on a single node).
//! - `settlement`: posting what is due to the ledger.

mod accrual;
mod leases;
mod sessions;
mod settlement;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bookmygig_api::{AccountId, GigId, Money};
use bookmygig_store::Store;
use tokio::sync::{Notify, watch};

use accrual::Payer;
pub use accrual::{ChannelStatus, Recipient};
pub use leases::{LEASE_RENEW, LeaseError, MeteredPair, OneNodeLeases, WatchLeases};

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
    /// Who charges what: every lease on one node, those this node holds in a cluster.
    leases: Arc<dyn WatchLeases>,
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
    /// resolved payment pointer is `platform_url`; it charges only what `leases` grant it.
    pub fn new(
        store: Arc<dyn Store>,
        browse_rate: Money,
        platform_url: String,
        leases: Arc<dyn WatchLeases>,
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

    /// Whether a new accrual charges from the start (this node holds every lease) or waits
    /// for its lease.
    fn charges_at_once(&self) -> bool {
        self.leases.held_from_the_start()
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

    /// Runs settlement rounds every `interval` and whenever a session ends, until `stop`
    /// resolves; then settles everything one last time.
    /// Unless this node holds every lease from the start, it also claims leases for whatever
    /// starts and renews them every [`LEASE_RENEW`].
    pub async fn run(self: Arc<Self>, interval: Duration, stop: impl Future<Output = ()>) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renewals = tokio::time::interval(LEASE_RENEW);
        renewals.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let claims = !self.leases.held_from_the_start();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                () = self.wake.notified() => {}
                () = self.lease_wake.notified(), if claims => {
                    self.claim_leases().await;
                    continue;
                }
                _ = renewals.tick(), if claims => {
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
