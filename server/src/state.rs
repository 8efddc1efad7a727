//! `AppState`: what every handler shares — the store, the resolved settings, the live hub, the
//! chat rooms and the micropayment meter. Cheap to clone.

use std::net::SocketAddr;
use std::sync::Arc;

use bookmygig_api::Money;
use bookmygig_store::{GigRecord, Store};

use tokio::sync::watch;

use crate::catalogue::CatalogueCache;
use crate::chat::ChatRooms;
use crate::live::{StreamDirectory, StreamHub};
use crate::money::Meter;
use crate::playback::PlaybackKey;
use crate::search::CatalogueSearch;
use time::Duration;

use crate::Config;

/// Settings resolved from [`crate::Config`] once the listeners are bound.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Base URL people reach the HTTP side at, without a trailing slash.
    pub public_url: String,
    /// The RTMP server URL creators put in OBS (`rtmp://host:port/live`).
    pub rtmp_url: String,
    /// Fee charged when a gig is registered.
    pub listing_fee: Money,
    /// Platform commission on ticket sales, in basis points.
    pub ticket_commission_bps: u32,
    /// Micropayment rate of gigs that set none.
    pub default_micropayment_rate: Money,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Proxies whose `X-Forwarded-For` names the client (see [`crate::http::client_ip`]).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How long an API request may take (`--http-request-timeout`).
    pub request_timeout: std::time::Duration,
    /// Whether per-IP and per-account rate limits apply (`--no-rate-limits` turns them off).
    pub rate_limits: bool,
    /// Whether the development top-up provider credits play money (`--dev-topups`).
    pub dev_topups: bool,
}

/// Longest a cached catalogue page is served (bounds staleness across nodes).
const CATALOGUE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a session token lasts.
const SESSION_TTL: Duration = Duration::days(30);

impl Settings {
    /// The settings handlers see, resolved against the bound addresses.
    pub fn resolve(config: &Config, http_addr: SocketAddr, rtmp_addr: SocketAddr) -> Settings {
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
            rtmp_url: format!(
                "{}://{host}:{}/live",
                if config.tls_cert.is_some() {
                    "rtmps"
                } else {
                    "rtmp"
                },
                rtmp_addr.port()
            ),
            public_url,
            listing_fee: config.listing_fee,
            ticket_commission_bps: config.ticket_commission,
            default_micropayment_rate: config.micropayment_rate,
            session_ttl: SESSION_TTL,
            trusted_proxies: config.trusted_proxies.clone(),
            request_timeout: std::time::Duration::from_secs(config.http_request_timeout),
            rate_limits: !config.no_rate_limits,
            dev_topups: config.dev_topups,
        }
    }
}

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// Where everything is kept.
    pub store: Arc<dyn Store>,
    /// The server's settings.
    pub settings: Arc<Settings>,
    /// Ready-to-send catalogue pages.
    pub catalogue: Arc<CatalogueCache>,
    /// The catalogue's search: this node's index, kept current with every node's changes.
    pub search: Arc<CatalogueSearch>,
    /// The gigs on air on this node.
    pub hub: Arc<StreamHub>,
    /// The chat rooms open on this node.
    pub chat: Arc<ChatRooms>,
    /// Accrues and settles streaming micropayments.
    pub meter: Arc<Meter>,
    /// Signs and checks playback tokens.
    pub playback_key: PlaybackKey,
    /// Who publishes each gig and how a viewer on this node reaches it (relayed from another
    /// node, with several).
    pub directory: Arc<dyn StreamDirectory>,
    /// How many streams each account plays of each gig (`--max-streams-per-ticket`).
    pub stream_seats: Arc<crate::live::seats::StreamSeats>,
    /// Counts sign-in attempts and sign-ups (in Redis on several nodes; off with
    /// `--no-rate-limits`).
    pub throttle: Arc<dyn crate::throttle::AccountThrottle>,
    /// Runs argon2 at most one hash per core, in reused memory.
    pub hasher: Arc<crate::password::Hasher>,
    /// Where top-ups come from (none, development or Open Payments), chosen at start-up.
    pub payments: Arc<dyn crate::payments::PaymentProvider>,
    /// Recordings of shows, in the object store `--recordings` names.
    pub recordings: Arc<crate::recording::Archive>,
    /// Turns true when the server stops, so endless responses (FLV) end too.
    pub shutdown: watch::Receiver<bool>,
}

impl AppState {
    /// Everything handlers share, for a node built from `node`'s parts, serving at `addrs`
    /// (HTTP, RTMP) with `store` and `hub`, until `shutdown` turns true: the meter charging
    /// through the node's leases, the stream seats (`--max-streams-per-ticket`, lifted by
    /// `--no-rate-limits`), the payment provider the flags choose. Returns the node's background
    /// tasks beside it, for the caller to await at shutdown.
    ///
    /// # Errors
    /// When the Open Payments settings are unusable.
    pub fn assemble(
        config: &Config,
        store: Arc<dyn Store>,
        hub: Arc<StreamHub>,
        node: crate::node::Node,
        recordings: Arc<crate::recording::Archive>,
        (http_addr, rtmp_addr): (SocketAddr, SocketAddr),
        shutdown: watch::Receiver<bool>,
    ) -> Result<(Self, Vec<tokio::task::JoinHandle<()>>), crate::ServerError> {
        let meter = Meter::new(
            Arc::clone(&store),
            config.micropayment_rate,
            config.platform_pointer.resolve(),
            node.leases,
        );
        // Load generators share one playback URL: --no-rate-limits lifts the limit.
        let stream_seats = crate::live::seats::StreamSeats::new(
            node.seats,
            if config.no_rate_limits {
                u32::MAX
            } else {
                config.max_streams_per_ticket
            },
        );
        let payments = crate::payments::provider(
            Arc::clone(&store),
            config.dev_topups,
            crate::open_payments_settings(config)?,
        );
        let mut tasks = node.tasks;
        let catalogue = Arc::new(CatalogueCache::new(CATALOGUE_TTL));
        tasks.push(node.search.feed(
            crate::search::feed::Sources {
                store: Arc::clone(&store),
                hub: Arc::clone(&hub),
                directory: Arc::clone(&node.streams.directory),
                catalogue: Arc::clone(&catalogue),
            },
            shutdown.clone(),
        ));
        // Every stream published here is recorded (unless --no-recording).
        if !config.no_recording {
            tasks.push(tokio::spawn(
                crate::recording::Recorder::new(
                    Arc::clone(&hub),
                    Arc::clone(&recordings),
                    std::time::Duration::from_secs(u64::from(config.max_recording_hours) * 3600),
                )
                .run(shutdown.clone()),
            ));
        }
        let state = AppState {
            recordings,
            meter,
            search: node.search,
            chat: node.chat,
            store,
            settings: Arc::new(Settings::resolve(config, http_addr, rtmp_addr)),
            catalogue,
            hub,
            playback_key: node.streams.playback_key,
            directory: node.streams.directory,
            stream_seats,
            throttle: node.throttle,
            hasher: Arc::new(crate::password::Hasher::for_this_machine()),
            payments,
            shutdown,
        };
        Ok((state, tasks))
    }

    /// Call after every write of a gig on this node (registered, edited, cancelled) with the
    /// gig as written: retires the cached catalogue pages and re-indexes it for search.
    pub fn gig_changed(&self, gig: &GigRecord) {
        self.catalogue.invalidate();
        self.search.gig_changed(gig);
    }
}
