//! Settlement: every accrual brought up to now and what is due posted to the ledger as
//! balanced micropayment entries; a wallet that cannot pay in full pays down to zero and stops.

use std::collections::HashMap;

use bookmygig_api::{AccountId, EntryKind, Money};
use bookmygig_store::{LedgerAccount, StoreError, Transaction};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::Meter;
use super::accrual::{Accrual, Payer, Recipient};

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

impl Meter {
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
