//! `bookmygig-server` as a library: the binary's `main` only parses flags, binds and waits for
//! a signal; tests start the very same [`serve`] on port 0.
//!
//! [`serve`] builds one [`node::Node`] (a node alone, or one of a cluster on Redis: every seam
//! that differs is chosen there, once), the [`state::AppState`] handlers share, and then runs
//! the same code either way. Where each behaviour lives:
//!
//! - [`config`]: flags and their environment fall-backs. [`node`]: one node or a cluster.
//! - [`net`]: below HTTP and RTMP: the listeners, connection ceilings, TLS, TCP options,
//!   deadlines, the WebSocket upgrade, the HTTP server loop and the FLV response body.
//! - [`http`]: the REST API (router, problems, auth and playback extractors, one module per
//!   resource, `/metrics`, the internal relay endpoint).
//! - [`rtmp`]: RTMP ingest and play in three layers: the socket (bytes, deadlines), a sans-IO
//!   session (rml_rtmp plus our checks, and the guard ahead of it), the roles (publisher,
//!   player); `policy` decides who may publish or play.
//! - [`live`]: the stream hub and its fan-out, the stream directory (who publishes a gig, how a
//!   viewer here reaches it), stream seats per ticket, recovery after a crash.
//! - [`chat`]: the live chat rooms (sessions, one module per command, batching, presence,
//!   moderation, limits) and their seams (bus, roster, speech limit) in process.
//! - [`cluster`]: the Redis side of every seam: node identity and heartbeat, the stream
//!   registry, claims and relays, the chat bus and presence, leases, seats, throttles.
//! - [`money`]: the micropayment meter and what each gig earned (the ledger's rules are in
//!   `bookmygig_store::ledger`). [`payments`]: the payment provider (none, development or Open
//!   Payments), the worker that finishes top-ups, payouts.
//! - [`access`], [`playback`]: who may watch (tickets, playback tokens). [`forms`]: validation
//!   of what people type. [`catalogue`]: the cache of serialized catalogue pages.
//!   [`search`]: the catalogue's in-memory search index and what keeps it current.
//! - [`secret`], [`password`]: tokens, stream keys and password hashes (argon2 bounded to the
//!   cores). [`throttle`]: sign-in and sign-up throttles per handle and per client address.
//! - [`state`]: what handlers share. [`purge`]: the periodic removal of expired sessions and
//!   idempotency records. [`shutdown`]: SIGTERM/Ctrl-C.
//!
//! Storage lives in the `bookmygig-store` crate; this crate picks the backend at start-up.

pub mod access;
pub mod catalogue;
pub mod chat;
pub mod cluster;
pub mod config;
pub mod forms;
pub mod http;
pub mod live;
pub mod money;
pub mod net;
pub mod node;
pub mod password;
pub mod payments;
pub mod playback;
pub mod purge;
pub mod recording;
pub mod rtmp;
pub mod search;
pub mod secret;
pub mod shutdown;
pub mod state;
pub mod throttle;

use std::future::Future;
use std::sync::Arc;

use bookmygig_store::{EmbeddedStore, RedisStore, Store, StoreError};
use tokio::sync::watch;

use live::StreamHub;
use rtmp::RtmpContext;
use rtmp::policy::PublishWindow;

pub use config::Config;
pub use net::listeners::Listeners;
pub use payments::setup::{authorize_payouts, open_payments_settings};
use state::AppState;

/// A response write that makes no progress for this long fails (a viewer that stopped reading).
const WRITE_STALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(15);
/// Most connections each private listener (metrics, internal) serves at once.
const PRIVATE_MAX_CONNECTIONS: usize = 1_024;
/// How long shutdown waits for in-flight HTTP requests.
const HTTP_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How long shutdown waits for chat sockets to say goodbye.
const CHAT_SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// The node could not join its cluster.
    #[error("cannot join the cluster: {0}")]
    Cluster(#[from] cluster::ClusterError),
    /// The stream relays could not be set up.
    #[error("cannot set up stream relays: {0}")]
    Relay(#[from] cluster::relay::RelayError),
    /// The TLS certificate or key could not be loaded.
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] net::tls::TlsError),
    /// The Open Payments settings are unusable (the key file, the wallet address).
    #[error("cannot set up Open Payments: {0}")]
    OpenPayments(String),
    /// The recordings' storage is unusable.
    #[error("cannot use the recordings' storage: {0}")]
    Recordings(#[from] recording::storage::StorageError),
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

/// Serves HTTP and RTMP with `store` until `shutdown` completes, then stops accepting, ends
/// live streams, finishes in-flight requests, closes chat sockets and flushes the store.
///
/// # Errors
/// When a listener fails.
pub async fn serve(
    config: Config,
    store: Arc<dyn Store>,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    // Chosen once: every public connection speaks TLS, or none does.
    let transport = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => net::Transport::Tls(net::tls::TlsIdentity::load(cert, key)?),
        _ => net::Transport::Plain,
    };
    let http_addr = listeners.http.local_addr()?;
    let rtmp_addr = listeners.rtmp.local_addr()?;
    let metrics_addr = listeners.metrics.local_addr()?;
    let internal_addr = listeners.internal.local_addr()?;
    let (stop, stopping) = watch::channel(false);
    let hub = StreamHub::new();
    // Chosen once: a node alone or one of a cluster; every seam that differs comes from here.
    let node = node::Node::assemble(&config, internal_addr, &hub, &stopping).await?;
    let node_name = node.name.clone();
    let storage = recording::storage::open(&config.recording_storage, &config.data_dir).await?;
    tracing::info!(recordings = %storage, "recordings stored");
    let recordings = Arc::new(recording::Archive::new(
        Arc::clone(storage.store()),
        storage.prefix().clone(),
    ));
    let (state, mut node_tasks) = AppState::assemble(
        &config,
        Arc::clone(&store),
        Arc::clone(&hub),
        node,
        recordings,
        (http_addr, rtmp_addr),
        stopping.clone(),
    )?;
    let chat = Arc::clone(&state.chat);
    let meter = Arc::clone(&state.meter);
    let payments = Arc::clone(&state.payments);
    // One node: the gigs a crash left live go offline now. Several: every node sweeps the gigs
    // of dead nodes while it runs.
    let directory_task = state
        .directory
        .start(Arc::clone(&store), stopping.clone())
        .await?;
    // Rooms write to their members in batches, every ROOM_TICK.
    node_tasks.push(tokio::spawn(Arc::clone(&chat).run_ticks(stopping.clone())));
    let chat_stream = tokio::spawn(chat::rooms::forward_stream_events(
        Arc::clone(&chat),
        hub.subscribe(),
        stopping.clone(),
    ));
    // The meter's last settlement runs once HTTP and RTMP are done, so every session that
    // ended in the drain is paid for before the store is flushed.
    let (meter_stop, meter_stopping) = tokio::sync::oneshot::channel::<()>();
    let metering = tokio::spawn(Arc::clone(&meter).run(
        std::time::Duration::from_secs(config.settlement_interval),
        async move {
            let _ = meter_stopping.await;
        },
    ));
    let purge = tokio::spawn(purge::run(Arc::clone(&store), stopping.clone()));
    let payment_worker = tokio::spawn(payments::worker::run(
        Arc::clone(&store),
        Arc::clone(&payments),
        stopping.clone(),
    ));
    let payout_scheduler = tokio::spawn(payments::payouts::run_scheduler(
        Arc::clone(&store),
        Arc::clone(&payments),
        time::Duration::seconds(i64::try_from(config.payout_delay).unwrap_or(i64::MAX)),
        stopping.clone(),
    ));
    let rtmp_context = RtmpContext {
        store: Arc::clone(&store),
        hub,
        meter,
        playback_key: state.playback_key.clone(),
        window: PublishWindow {
            early: time::Duration::minutes(i64::from(config.publish_early_minutes)),
            late: time::Duration::minutes(i64::from(config.publish_late_minutes)),
        },
        idle_timeout: std::time::Duration::from_secs(config.rtmp_idle_timeout),
        setup_timeout: std::time::Duration::from_secs(config.rtmp_setup_timeout),
        directory: Arc::clone(&state.directory),
        stream_seats: Arc::clone(&state.stream_seats),
    };
    tracing::info!(
        http = %http_addr,
        rtmp = %rtmp_addr,
        metrics = %metrics_addr,
        internal = %internal_addr,
        public_url = %state.settings.public_url,
        node = %node_name,
        store = store.backend_name(),
        "bookmygig-server listening"
    );
    if config.no_rate_limits {
        tracing::warn!(
            "--no-rate-limits: per-IP and per-account rate limits are OFF (sign-up, sign-in, \
             per-IP connection caps, streams per ticket); for benchmarks and load tests only, \
             never in production"
        );
    }
    if config.dev_topups {
        tracing::warn!(
            "--dev-topups: POST /api/v1/wallet/topups credits play money to anyone who asks; \
             for demos and tests only, never in production"
        );
    }
    let rtmp = tokio::spawn(rtmp::listener::serve(
        listeners.rtmp,
        rtmp_context,
        net::admission::Admission::new(net::admission::Caps {
            total: config.rtmp_max_connections as usize,
            per_ip: (!config.no_rate_limits).then_some(config.rtmp_max_connections_per_ip as usize),
        }),
        transport.clone(),
        stopping.clone(),
    ));
    let http_limits = |admission| net::server::HttpLimits {
        admission,
        header_timeout: std::time::Duration::from_secs(config.http_header_timeout),
        write_stall: WRITE_STALL_LIMIT,
        trusted_proxies: config.trusted_proxies.clone(),
    };
    let public_admission = net::admission::Admission::new(net::admission::Caps {
        total: config.http_max_connections as usize,
        per_ip: (!config.no_rate_limits).then_some(config.http_max_connections_per_ip as usize),
    });
    // The private listeners serve operators and other nodes: a small ceiling, none per address.
    let private_admission = || {
        net::admission::Admission::new(net::admission::Caps {
            total: PRIVATE_MAX_CONNECTIONS,
            per_ip: None,
        })
    };
    let http = tokio::spawn(net::server::serve(
        listeners.http,
        http::router(state.clone()),
        http_limits(public_admission.clone()),
        transport,
        stopping.clone(),
    ));
    let private = [
        tokio::spawn(net::server::serve(
            listeners.metrics,
            http::metrics_router(state.clone()),
            http_limits(private_admission()),
            net::Transport::Plain,
            stopping.clone(),
        )),
        tokio::spawn(net::server::serve(
            listeners.internal,
            http::internal_router(state),
            http_limits(private_admission()),
            net::Transport::Plain,
            stopping.clone(),
        )),
    ];
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    // Once shutdown starts, in-flight requests get a grace period; then the server stops
    // anyway.
    let _ = http.await;
    for listener in private {
        let _ = listener.await;
    }
    if !public_admission.wait_until_empty(HTTP_SHUTDOWN_GRACE).await {
        tracing::warn!(
            open = public_admission.open(),
            "HTTP connections still open at shutdown; closing them"
        );
    }
    let _ = rtmp.await;
    let _ = chat_stream.await;
    for task in node_tasks {
        let _ = task.await;
    }
    if let Some(task) = directory_task {
        let _ = task.await;
    }
    let _ = purge.await;
    let _ = payment_worker.await;
    let _ = payout_scheduler.await;
    let _ = meter_stop.send(());
    let _ = metering.await;
    // Upgraded sockets outlive the HTTP server; each closes on the shutdown signal.
    if tokio::time::timeout(CHAT_SHUTDOWN_GRACE, chat.wait_until_idle())
        .await
        .is_err()
    {
        tracing::warn!(
            open = chat.sessions(),
            "chat sockets still open at shutdown"
        );
    }
    store.flush().await?;
    tracing::info!("bookmygig-server stopped");
    Ok(())
}
