//! Which node charges what. A [`WatchLeases`] grants this node the right to charge each
//! [`MeteredPair`]: on one node every lease is held from the start ([`OneNodeLeases`]); in a
//! cluster, Redis decides (`crate::cluster::watch_lease`), so a viewer on two nodes pays once.

use std::time::Duration;

use async_trait::async_trait;
use bookmygig_api::{AccountId, GigId};
use tokio::time::Instant;

use super::Meter;
use super::accrual::Accrual;

/// How often a meter that claims leases renews them (well inside their TTL).
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

/// Decides which node charges each [`MeteredPair`], chosen once at start-up: every pair on a
/// single node, the pairs whose lease this node holds in a cluster.
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

    /// Whether this node holds every lease from the start (a single node: no other node can
    /// charge), so accruals charge from their first millisecond and nothing is claimed.
    fn held_from_the_start(&self) -> bool {
        false
    }
}

/// The leases of a single node: it is the only one that charges, so it holds them all.
#[derive(Debug, Default)]
pub struct OneNodeLeases;

#[async_trait]
impl WatchLeases for OneNodeLeases {
    async fn claim(&self, pairs: &[MeteredPair]) -> Result<Vec<bool>, LeaseError> {
        Ok(vec![true; pairs.len()])
    }

    async fn release(&self, _pairs: &[MeteredPair]) -> Result<(), LeaseError> {
        Ok(())
    }

    fn held_from_the_start(&self) -> bool {
        true
    }
}

impl Meter {
    /// Remembers to give back the lease of an accrual that ended while charging.
    pub(super) fn ended_lease(&self, account: AccountId, gig: Option<GigId>, accrual: &Accrual) {
        if accrual.charging && !self.leases.held_from_the_start() {
            self.to_release
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(MeteredPair { account, gig });
        }
    }

    /// Claims or renews the lease of everything metered here, and switches each accrual to
    /// charging or not accordingly (charging up to now under the old state first).
    pub async fn claim_leases(&self) {
        let leases = &self.leases;
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
    pub(super) async fn release_leases(&self) {
        let leases = &self.leases;
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
}
