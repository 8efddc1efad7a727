//! `bookmygig-server` as a library: the binary's `main` only parses flags, binds and waits for
//! a signal; tests start the very same [`serve`] on port 0.
//!
//! - [`config`] — flags and their environment fall-backs.
//! - [`http`] — the REST API (router, problems, auth extractors, one module per resource).
//! - [`catalogue`] — the cache of serialized catalogue pages.
//! - [`forms`] — validation of what people type.
//! - [`secret`], [`password`]: tokens, stream keys and password hashes.
//! - [`state`] — what handlers share.
//! - [`shutdown`] — SIGTERM/Ctrl-C.
//!
//! Storage lives in the `bookmygig-store` crate; this crate picks the backend at start-up.

pub mod catalogue;
pub mod config;
pub mod forms;
pub mod http;
pub mod password;
pub mod playback;
pub mod secret;
pub mod shutdown;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bookmygig_store::{EmbeddedStore, RedisStore, Store, StoreError};
use tokio::net::TcpListener;

use catalogue::CatalogueCache;
pub use config::Config;
use state::{AppState, Settings};

/// Longest a cached catalogue page is served (bounds staleness across nodes).
const CATALOGUE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a session token lasts.
const SESSION_TTL: time::Duration = time::Duration::days(30);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// A socket failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the store the configuration asks for: Redis with `--redis-url`, else the embedded
/// database under `--data-dir`.
///
/// # Errors
/// When the database cannot be opened or Redis cannot be reached.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, ServerError> {
    Ok(match &config.redis_url {
        Some(url) => Arc::new(RedisStore::connect(&url.0).await?),
        None => Arc::new(EmbeddedStore::open(&config.data_dir)?),
    })
}

/// The settings handlers see, resolved against the bound HTTP address.
pub fn settings(config: &Config, http_addr: SocketAddr) -> Settings {
    let public_url = config.public_url(http_addr);
    let host = public_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(|authority| match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => authority,
        })
        .unwrap_or("127.0.0.1")
        .to_owned();
    Settings {
        rtmp_url: format!("rtmp://{host}:{}/live", config.rtmp.port()),
        public_url,
        listing_fee: config.listing_fee,
        ticket_commission_bps: config.ticket_commission,
        default_micropayment_rate: config.micropayment_rate,
        session_ttl: SESSION_TTL,
    }
}

/// Serves HTTP on `http` with `store` until `shutdown` completes, then stops accepting,
/// finishes in-flight requests and flushes the store.
///
/// # Errors
/// When the listener fails.
pub async fn serve(
    config: Config,
    store: Arc<dyn Store>,
    http: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let http_addr = http.local_addr()?;
    let state = AppState {
        store: Arc::clone(&store),
        settings: Arc::new(settings(&config, http_addr)),
        catalogue: Arc::new(CatalogueCache::new(CATALOGUE_TTL)),
    };
    tracing::info!(
        http = %http_addr,
        public_url = %state.settings.public_url,
        store = store.backend_name(),
        "bookmygig-server listening"
    );
    axum::serve(http, http::router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
    store.flush().await?;
    tracing::info!("bookmygig-server stopped");
    Ok(())
}
