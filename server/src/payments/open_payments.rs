//! Real money over Open Payments: a top-up is an incoming payment on the platform's wallet,
//! paid by an outgoing payment from the viewer's wallet under a grant the viewer approves.
//!
//!
//! - `top_up`: a top-up's steps, from the wallets' consent to the credit.
//! - `payout`: payouts to creators' wallets.
//! - `authorize`: the host's one-time approval of the payout grant.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bookmygig_api::Money;
use bookmygig_openpayments::types::{AccessItem, AccessToken, IncomingPayment, WalletAddress};
use bookmygig_openpayments::{
    ClientKey, LEDGER_SCALE, OpenPaymentsClient, OpenPaymentsError, pointer::wallet_address_url,
};
use bookmygig_store::{PaymentKind, PaymentRecord, PaymentState, Store, StoreError, Transaction};
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

use super::{PaymentError, PaymentProvider, TopUpAnswer, TopUpRequest, topup_status};

mod authorize;
mod payout;
mod top_up;

use top_up::TopUpDetails;

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

    async fn payout_step(&self) -> Result<Money, PaymentError> {
        let scale = self.platform().await?.asset_scale;
        let step = match LEDGER_SCALE.checked_sub(scale) {
            // Coarser than the ledger: 10^(6 - scale) micro-units (10,000 for cents).
            Some(coarser) => 10_i64.checked_pow(u32::from(coarser)).ok_or_else(|| {
                PaymentError::Internal(format!("the platform's asset scale {scale}"))
            })?,
            // As fine as the ledger or finer: every micro-unit can be sent.
            None => 1,
        };
        Ok(Money::from_micros(step))
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
