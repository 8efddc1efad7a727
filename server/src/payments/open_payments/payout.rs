//! Payouts over Open Payments: an incoming payment on the creator's wallet (under a
//! non-interactive grant from the creator's authorization server), paid by an outgoing payment
//! from the platform's wallet under the payout grant its host approved once
//! (`bookmygig-server payouts authorize`, kept as the [`PAYOUT_GRANT`] setting and rotated as it
//! expires).
//!
//! Steps, each recorded before the next: `requested` → the incoming payment exists
//! (`sending`) → the outgoing payment exists → the incoming payment shows the whole amount:
//! `completed`, booked `payouts:pending → external:payouts` in the same step. The incoming
//! payment is read first at every look, so a crash between paying and recording, or an answer
//! lost, is reconciled from what arrived; paying again cannot overpay, since the creator's
//! incoming payment accepts no more than the amount. Without a usable payout grant, payouts
//! wait (logged, and shown on the payout and in `/healthz`); nothing is lost.

use bookmygig_openpayments::Amount;
use bookmygig_openpayments::types::{
    AccessItem, AccessToken, IncomingPayment, NewIncomingPayment, NewOutgoingPayment,
};
use bookmygig_store::{PaymentRecord, PaymentState, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{OpenPayments, PaymentError};
use crate::payments::payouts;

/// The setting holding the platform's payout grant.
pub const PAYOUT_GRANT: &str = "open-payments.payout-grant";

/// The platform's payout grant, as kept in the store.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PayoutGrant {
    /// The outgoing-payment token for the platform's wallet.
    pub access_token: AccessToken,
}

/// A payout's provider fields, beside [`payouts::PayoutDetails`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct OpenPayout {
    #[serde(default)]
    payee_token: Option<String>,
    #[serde(default)]
    receive: Option<Amount>,
    #[serde(default)]
    debit: Option<Amount>,
    #[serde(default)]
    incoming_payment: Option<String>,
    #[serde(default)]
    outgoing_payment: Option<String>,
}

/// Reads the provider fields of a payout record.
fn open_fields(record: &PaymentRecord) -> OpenPayout {
    serde_json::from_value(record.details.clone()).unwrap_or_default()
}

/// Writes the provider fields into a payout record's details, beside the common ones.
fn with_fields(record: &PaymentRecord, fields: &OpenPayout) -> serde_json::Value {
    let mut details = record.details.clone();
    if let (Some(map), Ok(serde_json::Value::Object(extra))) =
        (details.as_object_mut(), serde_json::to_value(fields))
    {
        for (key, value) in extra {
            map.insert(key, value);
        }
    }
    details
}

impl OpenPayments {
    /// Moves a payout a step on.
    pub(super) async fn advance_payout(&self, record: PaymentRecord) -> Result<(), PaymentError> {
        let Ok(common) = serde_json::from_value::<payouts::PayoutDetails>(record.details.clone())
        else {
            return self
                .fail_payout(record, "the payout's record is unreadable")
                .await;
        };
        match record.state {
            PaymentState::Requested => self.prepare_payout(record, &common.to).await,
            PaymentState::Sending => self.send_payout(record, &common.to).await,
            _ => Ok(()),
        }
    }

    /// `requested`: an incoming payment for the amount on the creator's wallet.
    async fn prepare_payout(&self, record: PaymentRecord, to: &str) -> Result<(), PaymentError> {
        let payee = match self.client.wallet_address(to).await {
            Ok(payee) => payee,
            Err(err) if err.is_transient() => return self.retry_later(record, &err).await,
            Err(err) => {
                return self
                    .fail_payout(
                        record,
                        &format!("the creator's wallet {to} is unusable: {err}"),
                    )
                    .await;
            }
        };
        let platform = self.platform().await?;
        if payee.asset_code != platform.asset_code {
            return self
                .fail_payout(
                    record,
                    &format!(
                        "the wallet {to} holds {}, not {}",
                        payee.asset_code, platform.asset_code
                    ),
                )
                .await;
        }
        let micros = record.amount.micros();
        let (receive, debit) = match (
            Amount::from_micros(micros, &payee.asset_code, payee.asset_scale),
            Amount::from_micros(micros, &platform.asset_code, platform.asset_scale),
        ) {
            (Ok(receive), Ok(debit)) => (receive, debit),
            (Err(err), _) | (_, Err(err)) => {
                return self.fail_payout(record, &format!("{err}")).await;
            }
        };
        let grant = self.client.grant_request(
            vec![AccessItem {
                kind: "incoming-payment".into(),
                actions: vec!["create".into(), "read".into()],
                identifier: Some(payee.id.clone()),
                limits: None,
            }],
            false,
        );
        let token = match self.client.request_grant(&payee.auth_server, &grant).await {
            Ok(answer) => match answer.access_token {
                Some(token) => token.value,
                None => {
                    return self
                        .fail_payout(record, "the creator's wallet wants interaction to be paid")
                        .await;
                }
            },
            Err(err) if err.is_transient() => return self.retry_later(record, &err).await,
            Err(err) => {
                return self
                    .fail_payout(record, &format!("the creator's wallet refused: {err}"))
                    .await;
            }
        };
        let incoming = match self
            .client
            .create_incoming_payment(
                &payee.resource_server,
                &token,
                &NewIncomingPayment {
                    wallet_address: payee.id.clone(),
                    incoming_amount: Some(receive.clone()),
                    expires_at: None,
                    metadata: Some(serde_json::json!({
                        "description": "BookMyGig payout",
                        "externalRef": record.id.to_string(),
                    })),
                },
            )
            .await
        {
            Ok(incoming) => incoming,
            Err(err) if err.is_transient() => return self.retry_later(record, &err).await,
            Err(err) => {
                return self
                    .fail_payout(record, &format!("the creator's wallet refused: {err}"))
                    .await;
            }
        };
        let fields = OpenPayout {
            payee_token: Some(token),
            receive: Some(receive),
            debit: Some(debit),
            incoming_payment: Some(incoming.id),
            outgoing_payment: None,
        };
        let now = OffsetDateTime::now_utc();
        let mut next = record.clone();
        next.details = with_fields(&record, &fields);
        next.state = PaymentState::Sending;
        next.attempts = 0;
        next.error = None;
        next.updated_at = now;
        next.next_attempt_at = now;
        self.save(next).await
    }

    /// `sending`: credit-side first (what arrived), then pay or watch.
    async fn send_payout(&self, record: PaymentRecord, to: &str) -> Result<(), PaymentError> {
        let mut fields = open_fields(&record);
        let (Some(incoming_url), Some(token), Some(receive), Some(debit)) = (
            fields.incoming_payment.clone(),
            fields.payee_token.clone(),
            fields.receive.clone(),
            fields.debit.clone(),
        ) else {
            return self
                .fail_payout(record, "the payout's record is incomplete")
                .await;
        };
        let incoming: IncomingPayment =
            match self.client.incoming_payment(&incoming_url, &token).await {
                Ok(incoming) => incoming,
                Err(err) => return self.retry_later(record, &err).await,
            };
        let expected = receive.to_micros().unwrap_or(i64::MAX);
        if incoming.received_amount.to_micros().unwrap_or(0) >= expected {
            if let Ok(mut waiting) = self.payouts_waiting.lock() {
                *waiting = None;
            }
            let sent = payouts::settlement(&record, true, &format!("Payout sent to {to}"));
            return self
                .finish_with(record, PaymentState::Completed, None, Some(&sent))
                .await;
        }
        let Some(grant) = self.payout_grant().await? else {
            return self
                .wait_for_grant(
                    record,
                    "waiting for the platform's payout grant: the host runs `bookmygig-server \
                     payouts authorize`",
                )
                .await;
        };
        let now = OffsetDateTime::now_utc();
        if let Some(outgoing_url) = fields.outgoing_payment.clone() {
            return match self
                .client
                .outgoing_payment(&outgoing_url, &grant.access_token.value)
                .await
            {
                Ok(outgoing) if outgoing.failed => {
                    self.fail_payout(record, "the platform's wallet could not send the payout")
                        .await
                }
                Ok(_) => {
                    let mut next = record;
                    next.next_attempt_at = now + time::Duration::seconds(1);
                    self.save(next).await
                }
                Err(err) => self.retry_later(record, &err).await,
            };
        }
        let platform = self.platform().await?;
        let payment = NewOutgoingPayment {
            wallet_address: platform.id.clone(),
            incoming_payment: incoming_url,
            debit_amount: debit,
            metadata: Some(serde_json::json!({ "description": "BookMyGig payout" })),
        };
        match self
            .client
            .create_outgoing_payment(
                &platform.resource_server,
                &grant.access_token.value,
                &payment,
            )
            .await
        {
            Ok(outgoing) => {
                fields.outgoing_payment = Some(outgoing.id);
                let mut next = record.clone();
                next.details = with_fields(&record, &fields);
                next.attempts = 0;
                next.error = None;
                next.updated_at = now;
                next.next_attempt_at = now;
                self.save(next).await
            }
            Err(err) if err.status() == Some(401) => {
                self.rotate_payout_grant(grant).await;
                self.retry_later(record, &err).await
            }
            Err(err) if err.status() == Some(403) => {
                self.wait_for_grant(
                    record,
                    "the platform's payout grant is spent or revoked: the host runs \
                     `bookmygig-server payouts authorize` again",
                )
                .await
            }
            Err(err) if err.is_transient() => self.retry_later(record, &err).await,
            Err(err) => {
                self.fail_payout(record, &format!("the platform's wallet refused: {err}"))
                    .await
            }
        }
    }

    /// The platform's payout grant, when the host approved one.
    async fn payout_grant(&self) -> Result<Option<PayoutGrant>, PaymentError> {
        Ok(self
            .store
            .setting(PAYOUT_GRANT)
            .await?
            .and_then(|setting| serde_json::from_value(setting.value).ok()))
    }

    /// Rotates the payout grant's token after the wallet refused it (expired), keeping the new
    /// one for every node; a rotation that fails leaves payouts waiting for a new grant.
    async fn rotate_payout_grant(&self, grant: PayoutGrant) {
        let Ok(Some(setting)) = self.store.setting(PAYOUT_GRANT).await else {
            return;
        };
        match self.client.rotate_token(&grant.access_token).await {
            Ok(token) => {
                let value = match serde_json::to_value(PayoutGrant {
                    access_token: token,
                }) {
                    Ok(value) => value,
                    Err(_) => return,
                };
                match self
                    .store
                    .put_setting(
                        PAYOUT_GRANT,
                        &value,
                        Some(setting.version),
                        OffsetDateTime::now_utc(),
                    )
                    .await
                {
                    Ok(_) => tracing::info!("rotated the platform's payout grant token"),
                    // Another node rotated it first: theirs is the one.
                    Err(StoreError::SettingConflict) => {}
                    Err(error) => tracing::warn!(%error, "cannot keep the rotated payout token"),
                }
            }
            Err(error) => tracing::warn!(
                %error,
                "the platform's payout grant cannot be rotated: payouts wait until the host runs \
                 `bookmygig-server payouts authorize`"
            ),
        }
    }

    /// Leaves a payout waiting for a usable grant, saying so (checked again in 5 s).
    async fn wait_for_grant(&self, record: PaymentRecord, why: &str) -> Result<(), PaymentError> {
        tracing::warn!(payout = %record.id, "{why}");
        if let Ok(mut waiting) = self.payouts_waiting.lock() {
            *waiting = Some(why.to_owned());
        }
        let now = OffsetDateTime::now_utc();
        let mut next = record;
        next.error = Some(why.to_owned());
        next.updated_at = now;
        next.next_attempt_at = now + time::Duration::seconds(5);
        self.save(next).await
    }

    /// Ends a payout as failed, giving the held amount back to the creator's wallet.
    async fn fail_payout(&self, record: PaymentRecord, why: &str) -> Result<(), PaymentError> {
        let back = payouts::settlement(&record, false, &format!("Payout returned: {why}"));
        self.finish_with(
            record,
            PaymentState::Failed,
            Some(why.to_owned()),
            Some(&back),
        )
        .await
    }
}
