//! `bookmygig-server payouts authorize`: the host approves, once, the grant payouts are sent
//! under — outgoing payments from the platform's wallet, limited per interval.

use bookmygig_api::Money;
use bookmygig_openpayments::Amount;
use bookmygig_openpayments::types::{AccessItem, Limits};
use bookmygig_store::StoreError;
use time::OffsetDateTime;

use super::payout::{PAYOUT_GRANT, PayoutGrant};
use super::{OpenPayments, PaymentError, poll_wait};

impl OpenPayments {
    /// Requests the payout grant (`limit` per `interval`, an ISO 8601 duration), tells the
    /// host where to approve it through `say`, polls until approved (or `patience` passes),
    /// and keeps it for every node.
    ///
    /// # Errors
    /// [`PaymentError::Invalid`] for a limit the wallet cannot express; [`PaymentError::Wallet`]
    /// when the wallet refuses, the holder declines or nobody approves in time.
    pub async fn authorize_payouts(
        &self,
        limit: Money,
        interval: &str,
        patience: std::time::Duration,
        say: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), PaymentError> {
        let platform = self.platform().await?;
        let debit = Amount::from_micros(limit.micros(), &platform.asset_code, platform.asset_scale)
            .map_err(|err| PaymentError::Invalid {
                field: "limit",
                detail: err.to_string(),
            })?;
        let start = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc())
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|err| PaymentError::Internal(err.to_string()))?;
        let request = self.client.grant_request(
            vec![AccessItem {
                kind: "outgoing-payment".into(),
                actions: vec!["create".into(), "read".into(), "list".into()],
                identifier: Some(platform.id.clone()),
                limits: Some(Limits {
                    debit_amount: Some(debit),
                    receiver: None,
                    interval: Some(format!("R/{start}/{interval}")),
                }),
            }],
            true,
        );
        let wallet_error = |err: bookmygig_openpayments::OpenPaymentsError| PaymentError::Wallet {
            field: None,
            detail: err.to_string(),
        };
        let grant = self
            .client
            .request_grant(&platform.auth_server, &request)
            .await
            .map_err(wallet_error)?;
        let token = match (grant.access_token, grant.interact) {
            (Some(token), _) => token,
            (None, Some(interact)) => {
                say(&format!(
                    "Approve payouts of up to {limit} per {interval} from {} at:\n  {}",
                    platform.id, interact.redirect
                ));
                let deadline = tokio::time::Instant::now() + patience;
                let mut continuation = grant.continuation;
                loop {
                    let wait = poll_wait(continuation.wait);
                    tokio::time::sleep(std::time::Duration::from_secs(
                        u64::try_from(wait.whole_seconds()).unwrap_or(1),
                    ))
                    .await;
                    if tokio::time::Instant::now() > deadline {
                        let _ = self.client.cancel_grant(&continuation).await;
                        return Err(PaymentError::Wallet {
                            field: None,
                            detail: "nobody approved the payout grant in time".into(),
                        });
                    }
                    match self.client.continue_grant(&continuation).await {
                        Ok(answer) => match answer.access_token {
                            Some(token) => break token,
                            None => continuation = answer.continuation,
                        },
                        Err(err) if matches!(err.status(), Some(401 | 403 | 404)) => {
                            return Err(PaymentError::Wallet {
                                field: None,
                                detail: "the wallet's holder declined the payout grant".into(),
                            });
                        }
                        Err(err) if err.is_transient() => {}
                        Err(err) => return Err(wallet_error(err)),
                    }
                }
            }
            (None, None) => {
                return Err(PaymentError::Wallet {
                    field: None,
                    detail: "the wallet answered with neither a token nor an interaction".into(),
                });
            }
        };
        let value = serde_json::to_value(PayoutGrant {
            access_token: token,
        })
        .map_err(|err| PaymentError::Internal(err.to_string()))?;
        // Replaces the grant before it (a new limit, or one spent or revoked).
        loop {
            let current = self.store.setting(PAYOUT_GRANT).await?;
            match self
                .store
                .put_setting(
                    PAYOUT_GRANT,
                    &value,
                    current.map(|setting| setting.version),
                    OffsetDateTime::now_utc(),
                )
                .await
            {
                Ok(_) => break,
                Err(StoreError::SettingConflict) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        say(&format!(
            "Payouts authorized: up to {limit} per {interval}."
        ));
        Ok(())
    }
}
