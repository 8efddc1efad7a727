//! An Open Payments server for tests: a test double of a wallet provider that plays the three
//! roles of the standard on one loopback HTTP server, for any number of wallets it hosts, and
//! holds every exchange to the published OpenAPI documents (v1.1.0).
//!
//! - **Wallet addresses** at `{base}/{name}` (and `{base}/{name}/jwks.json`), asset `USD` at
//!   scale [`DEFAULT_ASSET_SCALE`] unless a wallet is created otherwise.
//! - **GNAP auth server** at `{base}/auth`: incoming-payment and quote grants are issued at
//!   once; outgoing-payment grants wait for consent (`interact.redirect` is a consent page; a
//!   test approves or declines through [`TestWallet::approve_grant`] or `/_test`), continued by
//!   polling; token rotation and revocation; grant cancellation.
//! - **Resource server** at `{base}/op`: incoming payments, quotes, outgoing payments. An
//!   outgoing payment to an incoming payment of this server is paid at once: the sender's
//!   balance goes down, the receiver's and the incoming payment's `receivedAmount` go up, within
//!   the grant's `debitAmount`/`receiveAmount` limits per interval.
//!
//! Every signed request's HTTP message signature is verified with the keys of the grant's
//! client wallet ([`verify`]); every request and response body is checked against the specs
//! ([`spec`]). Breaches are answered as the spec says (401, 400) and recorded:
//! [`TestWallet::violations`]. A response of ours outside the spec panics in debug builds.
//!
//! Modules: [`signing`] (the client side of signatures, reusable), [`verify`] (the server
//! side), [`spec`] (the documents), [`money`] (amounts and intervals); `state` and `http` hold
//! the servers.

pub mod money;
/// The client side of signatures: BookMyGig's own (`bookmygig_openpayments::signing`), so the
/// test wallet verifies exactly what the server signs.
pub use bookmygig_openpayments::signing;
pub mod spec;
pub mod verify;

mod http;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use signing::{ClientKey, Jwk};
pub use state::{Fault, FaultAction, GrantInfo, GrantState, Violation, ViolationKind, WalletInfo};
pub use verify::SignatureMode;

/// The asset scale of a wallet created without one: 2 (cents), as the Interledger test wallet
/// and the spec's examples use for USD. Create a wallet with scale 6 to test conversions.
pub const DEFAULT_ASSET_SCALE: u8 = 2;

/// How the test wallet runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it listens (default `127.0.0.1:0`: a free port).
    pub bind: SocketAddr,
    /// The directory of the three OpenAPI documents (default: [`spec::default_spec_dir`]).
    pub spec_dir: PathBuf,
    /// How strictly signatures are parsed (default RFC 9421).
    pub signature_mode: SignatureMode,
    /// The `wait` (seconds) of a pending grant's `continue`, and the least time between two
    /// polls (earlier is `too_fast`). Default 1.
    pub continue_wait_secs: u32,
    /// Access tokens' `expires_in`. Default 600.
    pub token_lifetime_secs: u32,
    /// How long a quote stays valid. Default 300.
    pub quote_lifetime_secs: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            spec_dir: spec::default_spec_dir(),
            signature_mode: SignatureMode::default(),
            continue_wait_secs: 1,
            token_lifetime_secs: 600,
            quote_lifetime_secs: 300,
        }
    }
}

/// Why the test wallet did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The OpenAPI documents did not load.
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    /// The listener could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Why a control operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// No wallet of that name.
    #[error("no wallet {0}")]
    NoSuchWallet(String),
    /// The name is taken.
    #[error("wallet {0} exists")]
    WalletExists(String),
    /// Names are 1 to 64 of `a-z 0-9 - _ .`, and not `auth`, `op` or `_test`.
    #[error("bad wallet name {0:?}")]
    BadName(String),
    /// A key is not an Ed25519 JWK.
    #[error("bad key: {0}")]
    BadKey(String),
    /// No grant with that id or consent URL.
    #[error("no grant {0}")]
    NoSuchGrant(String),
    /// The operation does not apply (a grant not pending, an unknown operation…).
    #[error("{0}")]
    Refused(String),
}

/// A wallet to create.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewWallet {
    /// The path segment: the wallet address is `{base}/{name}`.
    pub name: String,
    /// `publicName` (default: the name).
    #[serde(default)]
    pub public_name: Option<String>,
    /// Asset code (default `USD`).
    #[serde(default)]
    pub asset_code: Option<String>,
    /// Asset scale (default [`DEFAULT_ASSET_SCALE`]).
    #[serde(default)]
    pub asset_scale: Option<u8>,
    /// Starting balance in the smallest unit.
    #[serde(default)]
    pub balance: u64,
    /// Public keys published at `jwks.json` (a client wallet's signing keys).
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

impl NewWallet {
    /// A USD wallet at the default scale with a zero balance and no keys.
    pub fn new(name: impl Into<String>) -> NewWallet {
        NewWallet {
            name: name.into(),
            ..NewWallet::default()
        }
    }

    /// With this starting balance (smallest unit).
    pub fn balance(mut self, balance: u64) -> NewWallet {
        self.balance = balance;
        self
    }

    /// In this asset.
    pub fn asset(mut self, code: impl Into<String>, scale: u8) -> NewWallet {
        self.asset_code = Some(code.into());
        self.asset_scale = Some(scale);
        self
    }

    /// Publishing this key (the wallet acts as a client).
    pub fn key(mut self, jwk: Jwk) -> NewWallet {
        self.keys.push(jwk);
        self
    }
}

/// A running test wallet. Dropping it stops the server.
pub struct TestWallet {
    base: String,
    app: http::App,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for TestWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestWallet")
            .field("base", &self.base)
            .finish()
    }
}

impl TestWallet {
    /// Loads the specs, binds `config.bind` and serves.
    ///
    /// # Errors
    ///
    /// The specs do not load, or the address cannot be bound.
    pub async fn start(config: Config) -> Result<TestWallet, StartError> {
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.bind,
                source,
            })?;
        TestWallet::start_on(listener, config).await
    }

    /// Serves on a bound listener (its address is the base URL's authority).
    ///
    /// # Errors
    ///
    /// The specs do not load, or the listener has no local address.
    pub async fn start_on(listener: TcpListener, config: Config) -> Result<TestWallet, StartError> {
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
        let spec_dir = config.spec_dir.clone();
        // Compiling the schemas is CPU work: off the async threads.
        let spec = tokio::task::spawn_blocking(move || spec::Spec::load(&spec_dir))
            .await
            .map_err(|e| {
                StartError::Spec(spec::SpecError::Missing {
                    document: spec::Document::Resource,
                    what: format!("a finished loader ({e})"),
                })
            })??;
        let base = format!("http://{addr}");
        let settings = state::Settings {
            base: base.clone(),
            continue_wait_secs: config.continue_wait_secs,
            token_lifetime_secs: config.token_lifetime_secs,
            quote_lifetime_secs: config.quote_lifetime_secs,
        };
        let app = http::App {
            inner: Arc::new(http::Shared {
                state: Mutex::new(state::State::new(settings)),
                spec,
                mode: config.signature_mode,
                http: reqwest::Client::new(),
            }),
        };
        let (shutdown, rx) = watch::channel(false);
        let router = http::router(app.clone());
        let task = tokio::spawn(http::serve(listener, router, rx));
        tracing::info!(%base, "Open Payments test wallet listening");
        Ok(TestWallet {
            base,
            app,
            shutdown,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The wallet address of `name`: `{base}/{name}`.
    pub fn wallet_url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// The auth server: `{base}/auth`.
    pub fn auth_server_url(&self) -> String {
        format!("{}/auth", self.base)
    }

    /// The resource server: `{base}/op`.
    pub fn resource_server_url(&self) -> String {
        format!("{}/op", self.base)
    }

    /// Creates a wallet.
    ///
    /// # Errors
    ///
    /// A bad or taken name, or a key that is not Ed25519.
    pub fn create_wallet(&self, wallet: NewWallet) -> Result<WalletInfo, ControlError> {
        self.app.create_wallet(wallet)
    }

    /// Publishes another key for a wallet (replacing one of the same `kid`).
    ///
    /// # Errors
    ///
    /// No such wallet, or not an Ed25519 key.
    pub fn add_key(&self, wallet: &str, jwk: Jwk) -> Result<(), ControlError> {
        self.app.add_key(wallet, jwk)
    }

    /// A wallet's address, asset and balance.
    ///
    /// # Errors
    ///
    /// No such wallet.
    pub fn wallet(&self, name: &str) -> Result<WalletInfo, ControlError> {
        self.app.wallet(name)
    }

    /// A wallet's balance in its smallest unit.
    ///
    /// # Errors
    ///
    /// No such wallet.
    pub fn balance(&self, name: &str) -> Result<u64, ControlError> {
        self.app.wallet(name).map(|w| w.balance)
    }

    /// Sets a wallet's balance.
    ///
    /// # Errors
    ///
    /// No such wallet.
    pub fn set_balance(&self, name: &str, balance: u64) -> Result<(), ControlError> {
        self.app.set_balance(name, balance)
    }

    /// A wallet's incoming payments, oldest first, as the resource server shows them.
    ///
    /// # Errors
    ///
    /// No such wallet.
    pub fn incoming_payments(&self, name: &str) -> Result<Vec<Value>, ControlError> {
        self.app.payments(name, false)
    }

    /// A wallet's outgoing payments, oldest first, as the resource server shows them.
    ///
    /// # Errors
    ///
    /// No such wallet.
    pub fn outgoing_payments(&self, name: &str) -> Result<Vec<Value>, ControlError> {
        self.app.payments(name, true)
    }

    /// Every grant, oldest first.
    pub fn grants(&self) -> Vec<GrantInfo> {
        self.app.grants()
    }

    /// A grant, by id or by the consent URL (`interact.redirect`) the client was given.
    ///
    /// # Errors
    ///
    /// No such grant.
    pub fn grant(&self, id_or_consent_url: &str) -> Result<GrantInfo, ControlError> {
        self.app.grant(id_or_consent_url)
    }

    /// The resource owner approves a pending grant: its next continuation gets the token.
    ///
    /// # Errors
    ///
    /// No such grant, or it is not pending.
    pub fn approve_grant(&self, id_or_consent_url: &str) -> Result<GrantInfo, ControlError> {
        self.app.grant_action(id_or_consent_url, "approve")
    }

    /// The resource owner declines a pending grant: its continuation answers 401
    /// `request_denied`.
    ///
    /// # Errors
    ///
    /// No such grant, or it is not pending.
    pub fn decline_grant(&self, id_or_consent_url: &str) -> Result<GrantInfo, ControlError> {
        self.app.grant_action(id_or_consent_url, "decline")
    }

    /// Expires a grant: a pending one's interaction (continuation answers 401
    /// `request_denied`), or an issued one's access tokens (the resource server answers 401;
    /// rotation still works).
    ///
    /// # Errors
    ///
    /// No such grant, or it is declined or revoked.
    pub fn expire_grant(&self, id_or_consent_url: &str) -> Result<GrantInfo, ControlError> {
        self.app.grant_action(id_or_consent_url, "expire")
    }

    /// Revokes a grant and its tokens, as a resource owner would in their wallet.
    ///
    /// # Errors
    ///
    /// No such grant.
    pub fn revoke_grant(&self, id_or_consent_url: &str) -> Result<GrantInfo, ControlError> {
        self.app.grant_action(id_or_consent_url, "revoke")
    }

    /// Arms a fault for the next `count` requests of an operation.
    ///
    /// # Errors
    ///
    /// The operation is not in the specs.
    pub fn inject_fault(&self, fault: Fault) -> Result<(), ControlError> {
        self.app.inject_fault(fault)
    }

    /// The next `count` requests of `operation` answer `status` (and do nothing).
    ///
    /// # Errors
    ///
    /// The operation is not in the specs.
    pub fn fail_next(&self, operation: &str, count: u32, status: u16) -> Result<(), ControlError> {
        self.inject_fault(Fault {
            operation: operation.to_string(),
            count,
            action: FaultAction::Status(status),
        })
    }

    /// The next request of `operation` is carried out but its connection is closed without an
    /// answer: a crash between the wallet acting and the client recording it.
    ///
    /// # Errors
    ///
    /// The operation is not in the specs.
    pub fn drop_next_response(&self, operation: &str) -> Result<(), ControlError> {
        self.inject_fault(Fault {
            operation: operation.to_string(),
            count: 1,
            action: FaultAction::DropResponse,
        })
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.app.clear_faults();
    }

    /// Every breach of the specs seen so far.
    pub fn violations(&self) -> Vec<Violation> {
        self.app.violations()
    }

    /// Forgets the recorded violations.
    pub fn clear_violations(&self) {
        self.app.clear_violations();
    }

    /// The patches applied to the published documents (see [`spec::Spec::errata`]).
    pub fn spec_errata(&self) -> Vec<String> {
        self.app.inner.spec.errata().to_vec()
    }

    /// Stops accepting, lets open connections finish, and waits for the server to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestWallet {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
