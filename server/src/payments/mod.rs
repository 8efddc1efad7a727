//! How money enters and leaves the ledger: one [`PaymentProvider`], chosen once at start-up
//! ([`provider`]), behind `POST /wallet/topups` and the payment worker.
//!
//! - [`NoTopUps`]: neither `--dev-topups` nor an Open Payments wallet: top-ups answer 403.
//! - [`Development`]: play money, credited at once (`--dev-topups`; demos and tests).
//! - [`OpenPayments`]: real money from viewers' wallets (`--open-payments-wallet`): a top-up is
//!   a [`PaymentRecord`] that the [`worker`] moves through consent, sending and crediting.
//!
//! The ledger stays the source of truth: a provider only books balanced transactions, and every
//! booking that follows an outside event is written in the same atomic store step as the state
//! change that records it, so it happens exactly once.

mod development;
mod open_payments;
pub mod payouts;
pub mod setup;
pub mod worker;

use std::sync::Arc;

use async_trait::async_trait;
use bookmygig_api::{AccountId, Money, TopUpReceipt, TopUpState, TopUpStatus};
use bookmygig_store::{PaymentRecord, PaymentState, Store, StoreError};

pub use development::{Development, NoTopUps};
pub use open_payments::{OpenPayments, OpenPaymentsSettings};

/// The provider's name in top-up receipts from the development provider.
pub const DEVELOPMENT_PROVIDER: &str = "development";

/// What a top-up is told when no provider is on: the flags that turn one on.
pub const TOPUPS_OFF: &str = "top-ups are off on this server: the development provider (play \
    money) works only when the server runs with --dev-topups, never in production, and real \
    money needs --open-payments-wallet";

/// A viewer asking for funds.
#[derive(Clone, Debug)]
pub struct TopUpRequest {
    /// Whose wallet is credited.
    pub account: AccountId,
    /// How much, in micro-USD (already checked: more than zero, at most the limit).
    pub amount: Money,
    /// The paying wallet address or payment pointer, for providers that take one.
    pub from: Option<String>,
    /// The client's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

/// How a top-up was answered.
#[derive(Clone, Debug)]
pub enum TopUpAnswer {
    /// Credited at once (`201`).
    Credited(TopUpReceipt),
    /// Started; the viewer approves it in their wallet and the worker finishes it (`202`).
    Pending(TopUpStatus),
}

/// Why a payment step failed.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// No provider takes this request (a 403 naming the flags).
    #[error("{0}")]
    Off(&'static str),
    /// A field of the request cannot be paid (422 naming it).
    #[error("{field}: {detail}")]
    Invalid {
        /// The wire field.
        field: &'static str,
        /// What is wrong, for a person.
        detail: String,
    },
    /// An outside wallet could not be reached or refused (502 naming the field of the wallet).
    #[error("{detail}")]
    Wallet {
        /// The wire field naming the wallet, when a request named one.
        field: Option<&'static str>,
        /// What failed, for a person.
        detail: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug: something that cannot happen did.
    #[error("{0}")]
    Internal(String),
}

/// Where money comes from and goes to. Implementations are chosen once, at start-up.
#[async_trait]
pub trait PaymentProvider: Send + Sync + 'static {
    /// `none`, `development` or `open-payments`, for logs and `/healthz`.
    fn name(&self) -> &'static str;

    /// Adds funds to a viewer's wallet, or starts doing so.
    ///
    /// # Errors
    /// [`PaymentError`]: off, an unpayable field, an unreachable wallet, the store.
    async fn top_up(&self, request: TopUpRequest) -> Result<TopUpAnswer, PaymentError>;

    /// What needs the host's attention, if anything (shown in `/healthz`): e.g. payouts
    /// waiting for a payout grant.
    fn attention(&self) -> Option<String> {
        None
    }

    /// Whether this provider sends creators' earnings out (the development provider does, as
    /// play money; no provider does not).
    fn pays_out(&self) -> bool;

    /// The smallest amount this provider sends, and so the step every payout is a whole
    /// multiple of: a wallet counts in its asset's scale (cents for USD at scale 2), while the
    /// ledger counts micro-units, so a payout is rounded down to it and the rest stays payable
    /// for later. The development provider sends any number of micro-units.
    ///
    /// # Errors
    /// When the platform's wallet cannot be read.
    async fn payout_step(&self) -> Result<Money, PaymentError> {
        Ok(Money::from_micros(1))
    }

    /// The wallet address URL payouts to `pointer` go to.
    fn wallet_url_of(&self, pointer: &bookmygig_api::PaymentPointer) -> String {
        pointer.resolve()
    }

    /// Checks that a creator's payment pointer can be paid, at registration and on edit. The
    /// providers without real money take any well-formed pointer (demos use made-up ones);
    /// Open Payments resolves it to its wallet address and checks the asset.
    ///
    /// # Errors
    /// [`PaymentError::Invalid`] naming `payment_pointer`.
    async fn check_payee(
        &self,
        pointer: &bookmygig_api::PaymentPointer,
    ) -> Result<(), PaymentError>;

    /// Moves one unfinished payment a step on (called by the [`worker`] when it is due). A
    /// provider that leaves nothing unfinished never sees one.
    ///
    /// # Errors
    /// When the store fails; outside failures are recorded on the payment instead.
    async fn advance(&self, record: PaymentRecord) -> Result<(), PaymentError>;
}

/// The provider the configuration asks for.
pub fn provider(
    store: Arc<dyn Store>,
    dev_topups: bool,
    open_payments: Option<OpenPaymentsSettings>,
) -> Arc<dyn PaymentProvider> {
    match (open_payments, dev_topups) {
        (Some(settings), _) => Arc::new(OpenPayments::new(store, settings)),
        (None, true) => Arc::new(Development::new(store)),
        (None, false) => Arc::new(NoTopUps),
    }
}

/// The API view of a stored top-up.
pub fn topup_status(record: &PaymentRecord) -> TopUpStatus {
    let detail = |name: &str| {
        record
            .details
            .get(name)
            .and_then(|value| value.as_str())
            .map(str::to_owned)
    };
    let state = match record.state {
        PaymentState::Requested | PaymentState::AwaitingConsent => TopUpState::AwaitingConsent,
        PaymentState::Sending => TopUpState::Sending,
        PaymentState::Completed => TopUpState::Completed,
        PaymentState::Declined => TopUpState::Declined,
        PaymentState::Expired => TopUpState::Expired,
        PaymentState::Failed => TopUpState::Failed,
    };
    TopUpStatus {
        id: record.id,
        amount: record.amount,
        from: detail("from").unwrap_or_default(),
        state,
        consent_url: (record.state == PaymentState::AwaitingConsent)
            .then(|| detail("consent_url"))
            .flatten(),
        error: record.error.clone(),
        created_at: record.created_at,
        updated_at: record.updated_at,
    }
}
