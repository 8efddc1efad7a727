//! Real money over Open Payments: a top-up is an incoming payment on the platform's wallet,
//! paid by an outgoing payment from the viewer's wallet under a grant the viewer approves.
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

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bookmygig_api::EntryKind;
use bookmygig_openpayments::types::{
    AccessItem, AccessToken, Continuation, IncomingPayment, Limits, NewIncomingPayment,
    NewOutgoingPayment, WalletAddress,
};
use bookmygig_openpayments::{
    Amount, ClientKey, OpenPaymentsClient, OpenPaymentsError, pointer::wallet_address_url,
};
use bookmygig_store::{
    LedgerAccount, PaymentKind, PaymentRecord, PaymentState, Store, StoreError, Transaction,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

use super::{PaymentError, PaymentProvider, TopUpAnswer, TopUpRequest, topup_status};
use crate::forms;

mod authorize;
mod payout;

/// A `requested` top-up untouched this long was interrupted (the node died mid-request).
const REQUESTED_GRACE: Duration = Duration::seconds(60);
/// How long after its consent deadline a top-up may still be sending.
const SENDING_GRACE: Duration = Duration::minutes(10);
/// The most a worker waits between two looks at a payment.
const MAX_BACKOFF: Duration = Duration::seconds(60);
/// The least and most time between two polls of a grant continuation, whatever the wallet's
/// `wait` says.
const POLL_MIN: Duration = Duration::seconds(1);
const POLL_MAX: Duration = Duration::seconds(30);

/// What the Open Payments provider is configured with.
#[derive(Clone, Debug)]
pub struct OpenPaymentsSettings {
    /// The platform's wallet address URL (also the `client` of its grant requests, where its
    /// public key is published).
    pub wallet: String,
    /// The platform's signing key.
    pub key: ClientKey,
    /// The HTTP client wallets are called with.
    pub http: reqwest::Client,
    /// Whether `http://` wallet addresses are taken (test wallets on loopback).
    pub allow_http: bool,
    /// How long a viewer has to approve a top-up.
    pub consent_timeout: Duration,
}

/// The platform's incoming-payment token, while it lives.
struct CachedToken {
    token: AccessToken,
    expires: Option<Instant>,
}

/// The Open Payments provider.
pub struct OpenPayments {
    store: Arc<dyn Store>,
    client: OpenPaymentsClient,
    wallet: String,
    allow_http: bool,
    consent_timeout: Duration,
    platform: Mutex<Option<WalletAddress>>,
    incoming_token: Mutex<Option<CachedToken>>,
    /// Why payouts wait, while they do (for `/healthz`).
    payouts_waiting: std::sync::Mutex<Option<String>>,
}

/// What a top-up's record keeps of the wallets' side (its `details`).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TopUpDetails {
    /// The viewer's wallet address URL.
    from: String,
    /// After this, an unapproved top-up expires.
    #[serde(with = "time::serde::rfc3339")]
    deadline: OffsetDateTime,
    /// The viewer's resource server.
    #[serde(default)]
    resource_server: Option<String>,
    /// The amount in the viewer's asset.
    #[serde(default)]
    debit: Option<Amount>,
    /// The amount in the platform's asset.
    #[serde(default)]
    receive: Option<Amount>,
    /// The platform's incoming payment.
    #[serde(default)]
    incoming_payment: Option<String>,
    /// Where the viewer approves.
    #[serde(default)]
    consent_url: Option<String>,
    /// The grant's continuation, while consent is awaited.
    #[serde(default)]
    continuation: Option<Continuation>,
    /// The viewer's outgoing-payment token, once approved.
    #[serde(default)]
    token: Option<AccessToken>,
    /// The outgoing payment, once created.
    #[serde(default)]
    outgoing_payment: Option<String>,
}

impl TopUpDetails {
    fn of(record: &PaymentRecord) -> Result<Self, PaymentError> {
        serde_json::from_value(record.details.clone()).map_err(|err| {
            PaymentError::Internal(format!(
                "top-up {} has unreadable details: {err}",
                record.id
            ))
        })
    }

    fn into_value(self) -> Result<serde_json::Value, PaymentError> {
        serde_json::to_value(self)
            .map_err(|err| PaymentError::Internal(format!("cannot encode top-up details: {err}")))
    }
}

impl OpenPayments {
    /// The provider over `store`, as `settings` say.
    pub fn new(store: Arc<dyn Store>, settings: OpenPaymentsSettings) -> Self {
        Self {
            store,
            client: OpenPaymentsClient::new(settings.http, settings.key, settings.wallet.clone()),
            wallet: settings.wallet,
            allow_http: settings.allow_http,
            consent_timeout: settings.consent_timeout,
            platform: Mutex::new(None),
            incoming_token: Mutex::new(None),
            payouts_waiting: std::sync::Mutex::new(None),
        }
    }

    /// The platform's wallet address document (read once, then kept).
    async fn platform(&self) -> Result<WalletAddress, PaymentError> {
        let mut cached = self.platform.lock().await;
        if let Some(address) = cached.as_ref() {
            return Ok(address.clone());
        }
        let address = self
            .client
            .wallet_address(&self.wallet)
            .await
            .map_err(|err| platform_unreachable(&err))?;
        *cached = Some(address.clone());
        Ok(address)
    }

    /// A token for the platform's incoming payments (a non-interactive grant, kept until it
    /// expires).
    async fn incoming_token(&self, platform: &WalletAddress) -> Result<String, PaymentError> {
        let mut cached = self.incoming_token.lock().await;
        if let Some(token) = cached.as_ref()
            && token.expires.is_none_or(|at| Instant::now() < at)
        {
            return Ok(token.token.value.clone());
        }
        let request = self.client.grant_request(
            vec![AccessItem {
                kind: "incoming-payment".into(),
                actions: vec!["create".into(), "read".into(), "complete".into()],
                identifier: Some(platform.id.clone()),
                limits: None,
            }],
            false,
        );
        let grant = self
            .client
            .request_grant(&platform.auth_server, &request)
            .await
            .map_err(|err| platform_unreachable(&err))?;
        let token = grant.access_token.ok_or_else(|| PaymentError::Wallet {
            field: None,
            detail: "the platform's wallet wants interaction for incoming payments".into(),
        })?;
        let value = token.value.clone();
        // Renewed a little before it expires, so a call never carries a dead token.
        let expires = token.expires_in.map(|seconds| {
            Instant::now() + std::time::Duration::from_secs(seconds.saturating_sub(5))
        });
        *cached = Some(CachedToken { token, expires });
        Ok(value)
    }

    /// Forgets the incoming-payment token (after the wallet refused it).
    async fn drop_incoming_token(&self) {
        *self.incoming_token.lock().await = None;
    }

    /// Reads the platform's incoming payment at `url`, with one fresh token on a 401.
    async fn read_incoming(&self, url: &str) -> Result<IncomingPayment, OpenPaymentsError> {
        let platform = self.platform().await.map_err(to_unreachable)?;
        for attempt in 0..2 {
            let token = self
                .incoming_token(&platform)
                .await
                .map_err(to_unreachable)?;
            match self.client.incoming_payment(url, &token).await {
                Err(err) if err.status() == Some(401) && attempt == 0 => {
                    self.drop_incoming_token().await;
                }
                other => return other,
            }
        }
        Err(OpenPaymentsError::Unreachable {
            url: url.to_owned(),
            reason: "the platform's token was refused twice".into(),
        })
    }

    /// Asks the wallets for a top-up just recorded: the incoming payment, the grant.
    async fn ask_consent(&self, record: PaymentRecord) -> Result<PaymentRecord, PaymentError> {
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
    async fn poll_consent(&self, record: PaymentRecord) -> Result<(), PaymentError> {
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
    async fn send(&self, record: PaymentRecord) -> Result<(), PaymentError> {
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

    /// Saves `next` (compare-and-set); a conflict means another node moved it: fine.
    async fn save(&self, next: PaymentRecord) -> Result<(), PaymentError> {
        match self.store.update_payment(&next, None).await {
            Ok(_) | Err(StoreError::PaymentConflict) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Ends a top-up whose record lacks what this step needs (a bug, or a record written by
    /// another version): failed, nothing credited.
    async fn lost(&self, record: PaymentRecord, what: &str) -> Result<(), PaymentError> {
        let error = format!("the {what} was lost; nothing was credited");
        self.finish(record, PaymentState::Failed, error, None).await
    }

    /// Ends a payment in `state` with `error`.
    async fn finish(
        &self,
        record: PaymentRecord,
        state: PaymentState,
        error: String,
        booking: Option<&Transaction>,
    ) -> Result<(), PaymentError> {
        self.finish_with(record, state, Some(error), booking).await
    }

    async fn finish_with(
        &self,
        record: PaymentRecord,
        state: PaymentState,
        error: Option<String>,
        booking: Option<&Transaction>,
    ) -> Result<(), PaymentError> {
        let id = record.id;
        let mut next = record;
        next.state = state;
        next.error = error;
        next.updated_at = OffsetDateTime::now_utc();
        match self.store.update_payment(&next, booking).await {
            Ok(saved) => {
                tracing::info!(payment = %id, kind = saved.kind.as_str(), state = saved.state.as_str(), "payment finished");
                Ok(())
            }
            Err(StoreError::PaymentConflict) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Tries the same step again later, further apart each time.
    async fn retry_later(
        &self,
        record: PaymentRecord,
        error: &OpenPaymentsError,
    ) -> Result<(), PaymentError> {
        tracing::info!(payment = %record.id, %error, attempts = record.attempts, "payment step failed; retrying later");
        let now = OffsetDateTime::now_utc();
        let mut next = record;
        next.attempts = next.attempts.saturating_add(1);
        let backoff = Duration::milliseconds(500_i64 << next.attempts.min(7));
        next.next_attempt_at = now + backoff.min(MAX_BACKOFF);
        next.updated_at = now;
        next.error = Some(format!("retrying: {error}"));
        self.save(next).await
    }
}

#[async_trait]
impl PaymentProvider for OpenPayments {
    fn name(&self) -> &'static str {
        "open-payments"
    }

    async fn top_up(&self, request: TopUpRequest) -> Result<TopUpAnswer, PaymentError> {
        let Some(from) = request.from.as_deref() else {
            return Err(PaymentError::Invalid {
                field: "from",
                detail: "this server takes real money: name the wallet address or payment \
                         pointer to pay from (e.g. https://wallet.example/bob)"
                    .into(),
            });
        };
        let from =
            wallet_address_url(from, self.allow_http).map_err(|err| PaymentError::Invalid {
                field: "from",
                detail: err.to_string(),
            })?;
        let now = OffsetDateTime::now_utc();
        let details = TopUpDetails {
            from,
            deadline: now + self.consent_timeout,
            resource_server: None,
            debit: None,
            receive: None,
            incoming_payment: None,
            consent_url: None,
            continuation: None,
            token: None,
            outgoing_payment: None,
        };
        let record = PaymentRecord {
            id: uuid::Uuid::now_v7(),
            owner: request.account,
            kind: PaymentKind::TopUp,
            amount: request.amount,
            state: PaymentState::Requested,
            version: 0,
            created_at: now,
            updated_at: now,
            next_attempt_at: now + REQUESTED_GRACE,
            attempts: 0,
            idempotency_key: request.idempotency_key,
            details: details.into_value()?,
            error: None,
        };
        let stored = self.store.create_payment(&record, None).await?;
        if stored.id != record.id {
            // A retry with the same Idempotency-Key: the first answer, as it stands now.
            return Ok(TopUpAnswer::Pending(topup_status(&stored)));
        }
        match self.ask_consent(stored.clone()).await {
            Ok(asked) => Ok(TopUpAnswer::Pending(topup_status(&asked))),
            Err(failure) => {
                self.finish(stored, PaymentState::Failed, failure.to_string(), None)
                    .await?;
                Err(failure)
            }
        }
    }

    fn pays_out(&self) -> bool {
        true
    }

    fn attention(&self) -> Option<String> {
        self.payouts_waiting
            .lock()
            .map(|waiting| waiting.clone())
            .unwrap_or_default()
    }

    fn wallet_url_of(&self, pointer: &bookmygig_api::PaymentPointer) -> String {
        wallet_address_url(pointer.as_str(), self.allow_http).unwrap_or_else(|_| pointer.resolve())
    }

    async fn check_payee(
        &self,
        pointer: &bookmygig_api::PaymentPointer,
    ) -> Result<(), PaymentError> {
        let invalid = |detail: String| PaymentError::Invalid {
            field: "payment_pointer",
            detail,
        };
        let url = wallet_address_url(pointer.as_str(), self.allow_http)
            .map_err(|err| invalid(err.to_string()))?;
        let payee = self.client.wallet_address(&url).await.map_err(|err| {
            invalid(format!(
                "{} does not resolve to an Open Payments wallet ({err}); check it with your \
                 wallet provider",
                pointer.as_str()
            ))
        })?;
        let platform = self.platform().await?;
        if payee.asset_code != platform.asset_code {
            return Err(invalid(format!(
                "the wallet at {url} holds {}; BookMyGig pays in {} only",
                payee.asset_code, platform.asset_code
            )));
        }
        Ok(())
    }

    async fn advance(&self, record: PaymentRecord) -> Result<(), PaymentError> {
        match (record.kind, record.state) {
            (PaymentKind::TopUp, PaymentState::Requested) => {
                self.finish(
                    record,
                    PaymentState::Failed,
                    "interrupted before the wallet was asked; nothing was charged".into(),
                    None,
                )
                .await
            }
            (PaymentKind::TopUp, PaymentState::AwaitingConsent) => self.poll_consent(record).await,
            (PaymentKind::TopUp, PaymentState::Sending) => self.send(record).await,
            (PaymentKind::Payout, _) => self.advance_payout(record).await,
            (kind, state) => {
                tracing::warn!(payment = %record.id, kind = kind.as_str(), state = state.as_str(), "no step for this payment yet");
                Ok(())
            }
        }
    }
}

/// How long to wait before polling a continuation again.
fn poll_wait(wait: Option<u32>) -> Duration {
    Duration::seconds(i64::from(wait.unwrap_or(5))).clamp(POLL_MIN, POLL_MAX)
}

fn rfc3339(at: OffsetDateTime) -> Option<String> {
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The platform's own wallet failed: the host's problem, not the viewer's.
fn platform_unreachable(err: &OpenPaymentsError) -> PaymentError {
    tracing::warn!(%err, "the platform's wallet failed");
    PaymentError::Wallet {
        field: None,
        detail: "the platform's wallet cannot take payments right now; nothing was charged, \
                 please retry later"
            .into(),
    }
}

fn to_unreachable(err: PaymentError) -> OpenPaymentsError {
    OpenPaymentsError::Unreachable {
        url: "the platform's wallet".into(),
        reason: err.to_string(),
    }
}
