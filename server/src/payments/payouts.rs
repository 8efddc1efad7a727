//! Payouts: a creator's earnings from one gig sent to the gig's payment pointer, on request
//! (`POST /me/payouts`) or by the [`run_scheduler`] once the gig ended and `--payout-delay`
//! passed.
//!
//! Requesting one moves the gig's payable amount (earnings less what was paid out, at most the
//! wallet's balance) from the creator's wallet to `payouts:pending`, in the same store step that
//! records the payout, so it is held exactly once. The provider then sends it; `sent` moves it
//! on to `external:payouts`, `failed` gives it back to the creator's wallet, each in the same
//! store step as the state change. A payout in flight blocks no other gig's.

use std::sync::Arc;

use bookmygig_api::{EntryKind, GigId, GigStatus, Money, Payout, PayoutState};
use bookmygig_store::{
    GigQuery, GigRecord, LedgerAccount, PaymentKind, PaymentRecord, PaymentState, StatusFilter,
    Store, StoreError, Transaction,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tokio::sync::watch;

use super::{PaymentError, PaymentProvider};
use crate::forms;
use crate::money::earnings;

/// How often the scheduler looks for gigs to pay out.
pub const SCHEDULE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// Ended gigs the scheduler reads per store call.
const GIGS_PER_READ: usize = 200;

/// What a payout's record keeps besides its state (its `details`); providers add their own
/// fields beside these.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PayoutDetails {
    /// The gig it pays.
    pub gig_id: GigId,
    /// The wallet address it goes to.
    pub to: String,
}

/// Starts a payout of `gig`'s payable earnings to its payment pointer.
///
/// # Errors
/// [`PaymentError::Off`] without a provider that pays out; [`PaymentError::Invalid`] naming
/// `gig_id` when the gig has not ended or there is nothing to pay; the store's errors.
pub async fn request(
    store: &dyn Store,
    provider: &dyn PaymentProvider,
    gig: &GigRecord,
    now: OffsetDateTime,
) -> Result<PaymentRecord, PaymentError> {
    if !provider.pays_out() {
        return Err(PaymentError::Off(
            "payouts are off on this server: earnings are paid out through Open Payments \
             (--open-payments-wallet), or as play money with --dev-topups",
        ));
    }
    if gig.status_at(now) != GigStatus::Ended {
        return Err(PaymentError::Invalid {
            field: "gig_id",
            detail: "the gig is not over yet: its earnings are paid out once it has ended \
                     (until then refunds may still take them back)"
                .into(),
        });
    }
    let creator = gig.creator_id;
    let sums = earnings::by_gig(store, creator)
        .await?
        .remove(&gig.id)
        .unwrap_or_default();
    let balance = store.balance(&LedgerAccount::User(creator)).await?;
    let step = provider.payout_step().await?;
    let amount = whole_steps(sums.payable().min(balance), step);
    if amount <= Money::ZERO {
        let detail = if sums.payable() > Money::ZERO && balance >= sums.payable() {
            format!(
                "nothing to pay out for this gig yet: its payable {} is less than the smallest \
                 amount the platform's wallet sends ({step}); it stays in the earnings",
                sums.payable()
            )
        } else {
            format!(
                "nothing to pay out for this gig (payable {}, wallet {balance})",
                sums.payable()
            )
        };
        return Err(PaymentError::Invalid {
            field: "gig_id",
            detail,
        });
    }
    let to = provider.wallet_url_of(&gig.details.payment_pointer);
    let details = PayoutDetails {
        gig_id: gig.id,
        to: to.clone(),
    };
    let record = PaymentRecord {
        id: uuid::Uuid::now_v7(),
        owner: creator,
        kind: PaymentKind::Payout,
        amount,
        state: PaymentState::Requested,
        version: 0,
        created_at: now,
        updated_at: now,
        next_attempt_at: now,
        attempts: 0,
        // Two requests for the same gig at once read the same payout history: one payout. Each
        // payout (and each return of a failed one) changes it, so the next gets a new key.
        idempotency_key: Some(format!("payout:{}:{}", gig.id, sums.payout_entries)),
        details: serde_json::to_value(&details)
            .map_err(|err| PaymentError::Internal(format!("payout details: {err}")))?,
        error: None,
    };
    let hold = Transaction::transfer(
        EntryKind::Payout,
        LedgerAccount::User(creator),
        LedgerAccount::PayoutsPending,
        amount,
        format!("Payout: {} → {to}", gig.details.title),
        Some(gig.id),
        forms::to_micros(now),
    );
    match store.create_payment(&record, Some(&hold)).await {
        Ok(stored) => Ok(stored),
        // The wallet moved since it was read (a ticket refunded, another payout): try again.
        Err(StoreError::InsufficientFunds { .. }) => Err(PaymentError::Invalid {
            field: "gig_id",
            detail: "the wallet changed while the payout was prepared; please retry".into(),
        }),
        Err(other) => Err(other.into()),
    }
}

/// The booking that ends a payout: `sent` moves the held amount out, `failed` gives it back.
pub fn settlement(record: &PaymentRecord, sent: bool, memo: &str) -> Transaction {
    let gig = serde_json::from_value::<PayoutDetails>(record.details.clone())
        .ok()
        .map(|d| d.gig_id);
    let to = if sent {
        LedgerAccount::ExternalPayouts
    } else {
        LedgerAccount::User(record.owner)
    };
    Transaction::transfer(
        EntryKind::Payout,
        LedgerAccount::PayoutsPending,
        to,
        record.amount,
        memo,
        gig,
        forms::to_micros(OffsetDateTime::now_utc()),
    )
}

/// The API view of a stored payout.
pub fn payout_view(record: &PaymentRecord) -> Option<Payout> {
    let details: PayoutDetails = serde_json::from_value(record.details.clone()).ok()?;
    Some(Payout {
        id: record.id,
        gig_id: details.gig_id,
        amount: record.amount,
        to: details.to,
        state: match record.state {
            PaymentState::Requested | PaymentState::AwaitingConsent => PayoutState::Requested,
            PaymentState::Sending => PayoutState::Sending,
            PaymentState::Completed => PayoutState::Sent,
            PaymentState::Failed | PaymentState::Declined | PaymentState::Expired => {
                PayoutState::Failed
            }
        },
        error: record.error.clone(),
        created_at: record.created_at,
        updated_at: record.updated_at,
    })
}

/// `amount` rounded down to a whole number of `step`s (what a wallet can receive); the rest
/// stays with the creator for a later payout.
fn whole_steps(amount: Money, step: Money) -> Money {
    if step.micros() <= 1 || amount <= Money::ZERO {
        return amount;
    }
    Money::from_micros(amount.micros() - amount.micros() % step.micros())
}

/// Pays out every ended gig whose end is `delay` ago and that has something payable, every
/// [`SCHEDULE_EVERY`], until `stopping` turns true.
pub async fn run_scheduler(
    store: Arc<dyn Store>,
    provider: Arc<dyn PaymentProvider>,
    delay: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    if !provider.pays_out() {
        return;
    }
    let mut ticks = tokio::time::interval(SCHEDULE_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = async { drop(stopping.wait_for(|stopping| *stopping).await) } => break,
        }
        if let Err(error) = schedule_once(store.as_ref(), provider.as_ref(), delay).await {
            tracing::warn!(%error, "cannot schedule payouts");
        }
    }
}

/// One pass of the scheduler.
///
/// # Errors
/// When the store fails.
pub async fn schedule_once(
    store: &dyn Store,
    provider: &dyn PaymentProvider,
    delay: Duration,
) -> Result<usize, PaymentError> {
    let now = OffsetDateTime::now_utc();
    let mut started = 0;
    let mut after = None;
    loop {
        let page = store
            .list_gigs(&GigQuery {
                category: None,
                status: StatusFilter::Is(GigStatus::Ended),
                text: None,
                after,
                limit: GIGS_PER_READ,
                now,
                bounds: bookmygig_store::GigBounds::default(),
            })
            .await?;
        for gig in &page {
            if gig.details.ends_at + delay > now {
                continue;
            }
            match request(store, provider, gig, now).await {
                Ok(_) => started += 1,
                // Nothing payable (the common case), or a wallet that moved: next pass.
                Err(PaymentError::Invalid { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        match page.last() {
            Some(last) if page.len() == GIGS_PER_READ => {
                after = Some(bookmygig_store::GigCursor::after(last));
            }
            _ => break,
        }
    }
    Ok(started)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payout_is_whole_steps_and_the_rest_stays() {
        let cent = Money::from_micros(10_000);
        assert_eq!(
            whole_steps(Money::from_micros(5_123_456), cent),
            Money::from_micros(5_120_000)
        );
        assert_eq!(whole_steps(Money::from_micros(9_999), cent), Money::ZERO);
        assert_eq!(
            whole_steps(Money::from_micros(20_000), cent),
            Money::from_micros(20_000)
        );
        // The development provider sends any micro-unit.
        assert_eq!(
            whole_steps(Money::from_micros(7), Money::from_micros(1)),
            Money::from_micros(7)
        );
    }
}
