//! Sessions coming and going: a watch per (account, gig) shared by the account's devices, and
//! monetization channels that make an account browse (and pay the platform) while it watches
//! nothing.

use std::sync::Arc;

use bookmygig_api::{AccountId, GigId, Money};
use bookmygig_store::{GigRecord, LedgerAccount};
use tokio::time::Instant;

use super::accrual::{Accrual, Payer, Recipient};
use super::{ChannelGuard, Meter, WatchGuard};

impl Meter {
    /// `account` starts playing `gig`; micropayments accrue to its creator (nothing when the
    /// creator watches their own gig) until the guard is dropped.
    pub fn watch(self: &Arc<Self>, account: AccountId, gig: &GigRecord) -> WatchGuard {
        self.start_watch(account, gig, format!("Streaming: {}", gig.details.title))
    }

    /// `account` starts playing `gig`'s recording: the same meter at the same rate as
    /// watching live, its ledger entries marked as a replay.
    pub fn watch_replay(self: &Arc<Self>, account: AccountId, gig: &GigRecord) -> WatchGuard {
        self.start_watch(account, gig, format!("Replay: {}", gig.details.title))
    }

    fn start_watch(
        self: &Arc<Self>,
        account: AccountId,
        gig: &GigRecord,
        memo: String,
    ) -> WatchGuard {
        let now = Instant::now();
        let rate = if gig.creator_id == account {
            Money::ZERO
        } else {
            gig.details.micropayment_rate
        };
        let to = Recipient {
            account: LedgerAccount::User(gig.creator_id),
            url: gig.details.payment_pointer.resolve(),
            memo,
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

    pub(super) fn end_watch(&self, account: AccountId, gig: GigId) {
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

    pub(super) fn close_channel(&self, account: AccountId) {
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
}
