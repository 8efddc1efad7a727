//! Top-ups over Open Payments.
//!
//! A top-up's steps, each recorded on its [`PaymentRecord`] before the next begins:
//!
//! 1. `requested`: the record exists (so a retried request with the same `Idempotency-Key`
//!    finds it); then the viewer's wallet address is read, an incoming payment for exactly the
//!    amount is created on the platform's wallet, and an interactive outgoing-payment grant is
//!    requested on the viewer's wallet, limited to that amount and that incoming payment.
//! 2. `awaiting_consent`: the worker polls the grant's continuation (a terminal has no callback
//!    URL) until the viewer approves (→ `sending`), declines (→ `declined`) or the consent
//!    timeout passes (→ `expired`, the grant cancelled).
//! 3. `sending`: the worker reads the platform's incoming payment first; once it shows the whole
//!    amount received, the record becomes `completed` **and** the viewer's wallet is credited,
//!    in one store step (so exactly once). Until then it creates the outgoing payment on the
//!    viewer's wallet, or watches it. Creating it again after a crash cannot pay twice: the
//!    grant allows one amount in all, and the incoming payment accepts no more than the amount.
//!    A payment that failed, or arrived short, ends `failed` with nothing credited.
//!
//! A top-up interrupted in `requested` (the node died while asking the wallets) ends `failed`:
//! no grant was approved, so nothing moved.

use bookmygig_api::EntryKind;
use bookmygig_openpayments::Amount;
use bookmygig_openpayments::types::{
    AccessItem, AccessToken, Continuation, Limits, NewIncomingPayment, NewOutgoingPayment,
};
use bookmygig_store::{LedgerAccount, PaymentRecord, PaymentState, Transaction};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::{OpenPayments, PaymentError, SENDING_GRACE, platform_unreachable, poll_wait, rfc3339};
use crate::forms;

/// What a top-up's record keeps of the wallets' side (its `details`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct TopUpDetails {
    /// The viewer's wallet address URL.
    pub(super) from: String,
    /// After this, an unapproved top-up expires.
    #[serde(with = "time::serde::rfc3339")]
    pub(super) deadline: OffsetDateTime,
    /// The viewer's resource server.
    #[serde(default)]
    pub(super) resource_server: Option<String>,
    /// The amount in the viewer's asset.
    #[serde(default)]
    pub(super) debit: Option<Amount>,
    /// The amount in the platform's asset.
    #[serde(default)]
    pub(super) receive: Option<Amount>,
    /// The platform's incoming payment.
    #[serde(default)]
    pub(super) incoming_payment: Option<String>,
    /// Where the viewer approves.
    #[serde(default)]
    pub(super) consent_url: Option<String>,
    /// The grant's continuation, while consent is awaited.
    #[serde(default)]
    pub(super) continuation: Option<Continuation>,
    /// The viewer's outgoing-payment token, once approved.
    #[serde(default)]
    pub(super) token: Option<AccessToken>,
    /// The outgoing payment, once created.
    #[serde(default)]
    pub(super) outgoing_payment: Option<String>,
}

impl TopUpDetails {
    pub(super) fn of(record: &PaymentRecord) -> Result<Self, PaymentError> {
        serde_json::from_value(record.details.clone()).map_err(|err| {
            PaymentError::Internal(format!(
                "top-up {} has unreadable details: {err}",
                record.id
            ))
        })
    }

    pub(super) fn into_value(self) -> Result<serde_json::Value, PaymentError> {
        serde_json::to_value(self)
            .map_err(|err| PaymentError::Internal(format!("cannot encode top-up details: {err}")))
    }
}

impl OpenPayments {
    /// Asks the wallets for a top-up just recorded: the incoming payment, the grant.
    pub(super) async fn ask_consent(
        &self,
        record: PaymentRecord,
    ) -> Result<PaymentRecord, PaymentError> {
        let mut details = TopUpDetails::of(&record)?;
        let from = details.from.clone();
        let viewer =
            self.client
                .wallet_address(&from)
                .await
                .map_err(|err| PaymentError::Wallet {
                    field: Some("from"),
                    detail: format!("cannot read the wallet address {from}: {err}"),
                })?;
        let platform = self.platform().await?;
        if viewer.asset_code != platform.asset_code {
            return Err(PaymentError::Invalid {
                field: "from",
                detail: format!(
                    "the wallet at {from} holds {}; BookMyGig takes {} only (pay from a {} \
                     wallet)",
                    viewer.asset_code, platform.asset_code, platform.asset_code
                ),
            });
        }
        let amount = record.amount.micros();
        let unpayable = |err: bookmygig_openpayments::AmountError| PaymentError::Invalid {
            field: "amount",
            detail: format!("{err}: choose a whole number of the wallet's units"),
        };
        let debit = Amount::from_micros(amount, &viewer.asset_code, viewer.asset_scale)
            .map_err(unpayable)?;
        let receive = Amount::from_micros(amount, &platform.asset_code, platform.asset_scale)
            .map_err(unpayable)?;
        let token = self.incoming_token(&platform).await?;
        let incoming = self
            .client
            .create_incoming_payment(
                &platform.resource_server,
                &token,
                &NewIncomingPayment {
                    wallet_address: platform.id.clone(),
                    incoming_amount: Some(receive.clone()),
                    expires_at: rfc3339(details.deadline + SENDING_GRACE),
                    metadata: Some(serde_json::json!({
                        "description": "BookMyGig top-up",
                        "externalRef": record.id.to_string(),
                    })),
                },
            )
            .await
            .map_err(|err| platform_unreachable(&err))?;
        let request = self.client.grant_request(
            vec![AccessItem {
                kind: "outgoing-payment".into(),
                actions: vec!["create".into(), "read".into()],
                identifier: Some(viewer.id.clone()),
                limits: Some(Limits {
                    debit_amount: Some(debit.clone()),
                    receiver: Some(incoming.id.clone()),
                    interval: None,
                }),
            }],
            true,
        );
        let grant = self
            .client
            .request_grant(&viewer.auth_server, &request)
            .await
            .map_err(|err| PaymentError::Wallet {
                field: Some("from"),
                detail: format!("the wallet at {from} refused the payment request: {err}"),
            })?;
        details.resource_server = Some(viewer.resource_server.clone());
        details.debit = Some(debit);
        details.receive = Some(receive);
        details.incoming_payment = Some(incoming.id);
        let now = OffsetDateTime::now_utc();
        let mut next = record.clone();
        next.updated_at = now;
        next.attempts = 0;
        match (grant.access_token, grant.interact) {
            // Approved without asking (a wallet that trusts this client): straight to sending.
            (Some(token), _) => {
                details.token = Some(token);
                next.state = PaymentState::Sending;
                next.next_attempt_at = now;
            }
            (None, Some(interact)) => {
                details.consent_url = Some(interact.redirect);
                next.next_attempt_at = now + poll_wait(grant.continuation.wait);
                details.continuation = Some(grant.continuation);
                next.state = PaymentState::AwaitingConsent;
            }
            (None, None) => {
                return Err(PaymentError::Wallet {
                    field: Some("from"),
                    detail: format!(
                        "the wallet at {from} answered the grant request with neither a token \
                         nor an interaction"
                    ),
                });
            }
        }
        next.details = details.into_value()?;
        Ok(self.store.update_payment(&next, None).await?)
    }

    /// Polls the grant of a top-up awaiting consent.
    pub(super) async fn poll_consent(&self, record: PaymentRecord) -> Result<(), PaymentError> {
        let mut details = TopUpDetails::of(&record)?;
        let now = OffsetDateTime::now_utc();
        let Some(continuation) = details.continuation.clone() else {
            return self.lost(record, "grant").await;
        };
        if now > details.deadline {
            if let Err(err) = self.client.cancel_grant(&continuation).await {
                tracing::info!(payment = %record.id, %err, "cannot cancel an expired grant");
            }
            let minutes = self.consent_timeout.whole_minutes().max(1);
            return self
                .finish(
                    record,
                    PaymentState::Expired,
                    format!("nobody approved the payment in the wallet within {minutes} min"),
                    None,
                )
                .await;
        }
        match self.client.continue_grant(&continuation).await {
            Ok(answer) => {
                let mut next = record.clone();
                next.updated_at = now;
                next.attempts = 0;
                match answer.access_token {
                    Some(token) => {
                        details.token = Some(token);
                        details.continuation = None;
                        next.state = PaymentState::Sending;
                        next.next_attempt_at = now;
                    }
                    None => {
                        next.next_attempt_at = now + poll_wait(answer.continuation.wait);
                        details.continuation = Some(answer.continuation);
                    }
                }
                next.details = details.into_value()?;
                self.save(next).await
            }
            Err(err) if matches!(err.status(), Some(401 | 403 | 404)) => {
                self.finish(
                    record,
                    PaymentState::Declined,
                    format!("the holder of {} declined the payment", details.from),
                    None,
                )
                .await
            }
            Err(err) => self.retry_later(record, &err).await,
        }
    }

    /// Moves a top-up that is sending: credit once the funds arrived, else pay or watch.
    pub(super) async fn send(&self, record: PaymentRecord) -> Result<(), PaymentError> {
        let mut details = TopUpDetails::of(&record)?;
        let (Some(incoming_url), Some(receive)) =
            (details.incoming_payment.clone(), details.receive.clone())
        else {
            return self.lost(record, "payment").await;
        };
        let incoming = match self.read_incoming(&incoming_url).await {
            Ok(incoming) => incoming,
            Err(err) => return self.retry_later(record, &err).await,
        };
        let expected = receive.to_micros().unwrap_or(i64::MAX);
        let received = incoming.received_amount.to_micros().unwrap_or(0);
        if received >= expected {
            let credit = Transaction::transfer(
                EntryKind::TopUp,
                LedgerAccount::ExternalTopups,
                LedgerAccount::User(record.owner),
                record.amount,
                format!("Top-up from {}", details.from),
                None,
                forms::to_micros(OffsetDateTime::now_utc()),
            );
            return self
                .finish_with(record, PaymentState::Completed, None, Some(&credit))
                .await;
        }
        let now = OffsetDateTime::now_utc();
        let Some(token) = details.token.clone() else {
            return self.lost(record, "grant").await;
        };
        if let Some(outgoing_url) = details.outgoing_payment.clone() {
            return match self
                .client
                .outgoing_payment(&outgoing_url, &token.value)
                .await
            {
                Ok(outgoing) if outgoing.failed => {
                    self.finish(
                        record,
                        PaymentState::Failed,
                        format!("the wallet at {} could not make the payment", details.from),
                        None,
                    )
                    .await
                }
                Ok(_) if now > details.deadline + SENDING_GRACE => {
                    let detail = if received > 0 {
                        format!(
                            "only part of the amount arrived ({}); nothing was credited",
                            bookmygig_api::Money(received)
                        )
                    } else {
                        "the payment never arrived; nothing was credited".into()
                    };
                    self.finish(record, PaymentState::Failed, detail, None)
                        .await
                }
                Ok(_) => {
                    let mut next = record;
                    next.next_attempt_at = now + Duration::seconds(1);
                    self.save(next).await
                }
                Err(err) => self.retry_later(record, &err).await,
            };
        }
        let (Some(resource_server), Some(debit)) =
            (details.resource_server.clone(), details.debit.clone())
        else {
            return self.lost(record, "payment").await;
        };
        let payment = NewOutgoingPayment {
            wallet_address: details.from.clone(),
            incoming_payment: incoming_url,
            debit_amount: debit,
            metadata: Some(serde_json::json!({ "description": "BookMyGig top-up" })),
        };
        match self
            .client
            .create_outgoing_payment(&resource_server, &token.value, &payment)
            .await
        {
            Ok(outgoing) => {
                details.outgoing_payment = Some(outgoing.id);
                let mut next = record;
                next.details = details.into_value()?;
                next.updated_at = now;
                next.attempts = 0;
                next.next_attempt_at = now;
                self.save(next).await
            }
            Err(err) if err.is_transient() => self.retry_later(record, &err).await,
            Err(err) => {
                self.finish(
                    record,
                    PaymentState::Failed,
                    format!("the wallet at {} refused the payment: {err}", details.from),
                    None,
                )
                .await
            }
        }
    }
}
