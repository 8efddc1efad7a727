//! The providers without an outside wallet: [`NoTopUps`] (the default) and [`Development`]
//! (play money, `--dev-topups`).

use std::sync::Arc;

use async_trait::async_trait;
use bookmygig_api::{EntryKind, Money, PaymentPointer, TopUpReceipt};
use bookmygig_store::{
    LedgerAccount, PaymentKind, PaymentRecord, PaymentState, Store, Transaction,
};
use time::OffsetDateTime;

use super::{
    DEVELOPMENT_PROVIDER, PaymentError, PaymentProvider, TOPUPS_OFF, TopUpAnswer, TopUpRequest,
    payouts,
};
use crate::forms;

/// No provider: top-ups are refused, naming the flags that would allow them.
#[derive(Debug)]
pub struct NoTopUps;

#[async_trait]
impl PaymentProvider for NoTopUps {
    fn name(&self) -> &'static str {
        "none"
    }

    async fn top_up(&self, _request: TopUpRequest) -> Result<TopUpAnswer, PaymentError> {
        Err(PaymentError::Off(TOPUPS_OFF))
    }

    fn pays_out(&self) -> bool {
        false
    }

    async fn check_payee(&self, _pointer: &PaymentPointer) -> Result<(), PaymentError> {
        Ok(())
    }

    async fn advance(&self, record: PaymentRecord) -> Result<(), PaymentError> {
        tracing::warn!(payment = %record.id, "an unfinished payment, but no provider to finish it");
        Ok(())
    }
}

/// Play money: a top-up is credited at once from `external:topups`.
pub struct Development {
    store: Arc<dyn Store>,
}

impl Development {
    /// The development provider over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl PaymentProvider for Development {
    fn name(&self) -> &'static str {
        DEVELOPMENT_PROVIDER
    }

    async fn top_up(&self, request: TopUpRequest) -> Result<TopUpAnswer, PaymentError> {
        if request.from.is_some() {
            return Err(PaymentError::Invalid {
                field: "from",
                detail: "this server's top-ups are play money (the development provider): \
                         there is no wallet to pay from, leave `from` out"
                    .into(),
            });
        }
        let wallet = LedgerAccount::User(request.account);
        let transaction = Transaction::transfer(
            EntryKind::TopUp,
            LedgerAccount::ExternalTopups,
            wallet,
            request.amount,
            "Top-up (development provider: play money)",
            None,
            forms::to_micros(OffsetDateTime::now_utc()),
        );
        let entries = self
            .store
            .post(
                &transaction,
                request
                    .idempotency_key
                    .as_deref()
                    .map(|key| (request.account, key)),
            )
            .await?;
        let entry = entries
            .into_iter()
            .find(|r| r.entry.amount > Money::ZERO)
            .ok_or_else(|| PaymentError::Internal("the top-up booked no credit entry".into()))?
            .entry;
        Ok(TopUpAnswer::Credited(TopUpReceipt {
            provider: DEVELOPMENT_PROVIDER.into(),
            balance: entry.balance_after,
            entry,
        }))
    }

    fn pays_out(&self) -> bool {
        true
    }

    async fn check_payee(&self, _pointer: &PaymentPointer) -> Result<(), PaymentError> {
        Ok(())
    }

    /// A payout of play money is sent at once: nothing leaves for real.
    async fn advance(&self, record: PaymentRecord) -> Result<(), PaymentError> {
        if record.kind != PaymentKind::Payout {
            tracing::warn!(payment = %record.id, "an unfinished top-up, but the development provider makes none");
            return Ok(());
        }
        let sent = payouts::settlement(
            &record,
            true,
            "Payout sent (development provider: play money)",
        );
        let mut next = record;
        next.state = PaymentState::Completed;
        next.updated_at = OffsetDateTime::now_utc();
        match self.store.update_payment(&next, Some(&sent)).await {
            Ok(_) | Err(bookmygig_store::StoreError::PaymentConflict) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}
