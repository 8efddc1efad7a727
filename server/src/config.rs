//! Command-line flags of `bookmygig-server`, each with a `BOOKMYGIG_*` environment fall-back.

use std::net::SocketAddr;
use std::path::PathBuf;

use bookmygig_api::{Money, PaymentPointer};
use clap::{Parser, Subcommand};

/// Server configuration. Tests build it with `Config::try_parse_from`, exactly as the binary does.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "bookmygig-server",
    version,
    about = "BookMyGig server: REST API, live video, chat and wallets"
)]
pub struct Config {
    /// A one-off task instead of serving (the flags above still say which store and wallet).
    #[command(subcommand)]
    pub command: Option<ServerCommand>,

    /// Address for HTTP (API, FLV, WebSocket).
    #[arg(long, env = "BOOKMYGIG_HTTP", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,

    /// Address of the private listener for Prometheus metrics (`GET /metrics`); keep it off
    /// the public network.
    #[arg(long, env = "BOOKMYGIG_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    pub metrics_addr: SocketAddr,

    /// Address of the private listener other nodes relay live streams from
    /// (`/internal/v1/…`, Redis mode); the nodes must reach it, the public need not.
    #[arg(
        long,
        env = "BOOKMYGIG_INTERNAL_ADDR",
        default_value = "127.0.0.1:8081"
    )]
    pub internal_addr: SocketAddr,

    /// Seconds a client has to send a request's complete headers, from the connection's
    /// start or from the previous response (so also the keep-alive idle limit).
    #[arg(long, env = "BOOKMYGIG_HTTP_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub http_header_timeout: u64,

    /// Seconds an API request may take before it is answered 503 `deadline-exceeded`
    /// (streams — FLV, chat, server-sent events — are not bounded by it).
    #[arg(long, env = "BOOKMYGIG_HTTP_REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub http_request_timeout: u64,

    /// Most HTTP connections (WebSockets and streams included) served at once; over it, a
    /// new connection gets a 503 and is closed.
    #[arg(long, env = "BOOKMYGIG_HTTP_MAX_CONNECTIONS", default_value_t = 8_192, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub http_max_connections: u32,

    /// Most HTTP connections one client address may hold at once; over it, a new one gets a
    /// 429 and is closed. Connections from `--trusted-proxies` are not counted per address.
    #[arg(long, env = "BOOKMYGIG_HTTP_MAX_CONNECTIONS_PER_IP", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub http_max_connections_per_ip: u32,

    /// Address for RTMP ingest and play.
    #[arg(long, env = "BOOKMYGIG_RTMP", default_value = "127.0.0.1:1935")]
    pub rtmp: SocketAddr,

    /// Directory of the embedded database (used when no --redis-url is given).
    #[arg(long, env = "BOOKMYGIG_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Where recordings are stored (`--recordings`, the S3 settings).
    #[command(flatten)]
    pub recording_storage: crate::recording::storage::RecordingStorageArgs,

    /// Record nothing (shows then have no replay); for nodes without storage and for
    /// benchmarks that compare the live path with and without recording.
    #[arg(long, env = "BOOKMYGIG_NO_RECORDING")]
    pub no_recording: bool,

    /// Longest recording kept per gig, in hours: past it the oldest segments are dropped (and
    /// logged). Shows last at most 24 hours; the default leaves room for one that runs over.
    #[arg(long, env = "BOOKMYGIG_MAX_RECORDING_HOURS", default_value_t = 26, value_parser = clap::value_parser!(u32).range(1..=8760))]
    pub max_recording_hours: u32,

    /// Redis URL (redis://, rediss:// or redis+unix://); when set, all state lives in Redis.
    #[arg(long, env = "BOOKMYGIG_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<RedisUrl>,

    /// Base URL people reach this server at; defaults to http://<--http address>.
    #[arg(long, env = "BOOKMYGIG_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Base URL the other nodes of a cluster reach this node's internal listener at (Redis
    /// mode); defaults to http://<--internal-addr>. Relayed streams are pulled from it.
    #[arg(long, env = "BOOKMYGIG_ADVERTISE_URL")]
    pub advertise_url: Option<String>,

    /// Fee a creator pays to list a gig, in dollars.
    #[arg(long, env = "BOOKMYGIG_LISTING_FEE", default_value = "99", value_parser = parse_dollars)]
    pub listing_fee: Money,

    /// Platform commission on ticket sales, in percent (0–100, up to two decimals).
    #[arg(long, env = "BOOKMYGIG_TICKET_COMMISSION", default_value = "0", value_parser = parse_percent)]
    pub ticket_commission: u32,

    /// Default streaming micropayment rate, in dollars per hour watched.
    #[arg(long, env = "BOOKMYGIG_MICROPAYMENT_RATE", default_value = "0.36", value_parser = parse_dollars)]
    pub micropayment_rate: Money,

    /// Seconds between settlements of streaming micropayments (sessions that end settle at once).
    #[arg(long, env = "BOOKMYGIG_SETTLEMENT_INTERVAL", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub settlement_interval: u64,

    /// The platform's payment pointer, shown (resolved) to viewers while browsing pays the
    /// platform.
    #[arg(
        long,
        env = "BOOKMYGIG_PLATFORM_POINTER",
        default_value = "$wallet.example/bookmygig"
    )]
    pub platform_pointer: PaymentPointer,

    /// How many minutes before a gig's start its stream key starts working (sound checks).
    #[arg(long, env = "BOOKMYGIG_PUBLISH_EARLY_MINUTES", default_value_t = 60)]
    pub publish_early_minutes: u32,

    /// How many minutes after a gig's end its stream key keeps working (overruns).
    #[arg(long, env = "BOOKMYGIG_PUBLISH_LATE_MINUTES", default_value_t = 30)]
    pub publish_late_minutes: u32,

    /// Seconds an RTMP peer may stay silent (handshake included) before it is disconnected.
    #[arg(long, env = "BOOKMYGIG_RTMP_IDLE_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub rtmp_idle_timeout: u64,

    /// Seconds an RTMP peer has from its first byte to a granted publish or play (handshake,
    /// connect, createStream, publish/play). Keeps sockets that trickle from holding a place.
    #[arg(long, env = "BOOKMYGIG_RTMP_SETUP_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub rtmp_setup_timeout: u64,

    /// Most RTMP connections served at once (publishers and players). Over it, a new
    /// connection is closed as soon as it is accepted.
    #[arg(long, env = "BOOKMYGIG_RTMP_MAX_CONNECTIONS", default_value_t = 4_096, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rtmp_max_connections: u32,

    /// Most RTMP connections one IP address may hold at once. Over it, a new connection from
    /// that address is closed as soon as it is accepted.
    #[arg(long, env = "BOOKMYGIG_RTMP_MAX_CONNECTIONS_PER_IP", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rtmp_max_connections_per_ip: u32,

    /// Most streams (HTTP-FLV and RTMP play together) one account plays of one gig at once:
    /// the devices one ticket serves. Over it, the next play is refused with 409
    /// `too-many-streams` (RTMP: `NetStream.Play.Failed`). Counted across nodes in Redis mode;
    /// the gig's creator counts too. `--no-rate-limits` lifts it.
    #[arg(long, env = "BOOKMYGIG_MAX_STREAMS_PER_TICKET", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_streams_per_ticket: u32,

    /// PEM certificate chain: with --tls-key, HTTP is served as HTTPS and RTMP as RTMPS.
    #[arg(long, env = "BOOKMYGIG_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, env = "BOOKMYGIG_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Proxies (addresses or CIDR blocks, comma-separated) whose `X-Forwarded-For` is believed:
    /// behind a load balancer every connection comes from its address, so per-IP limits need
    /// the client's address it forwards. Empty: the peer's address is the client's.
    #[arg(long, env = "BOOKMYGIG_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Lifts the per-IP and per-account rate limits (sign-up, sign-in, per-IP connection
    /// caps) for benchmarks and load tests run from one machine. Parser, size and memory
    /// ceilings stay. Never in production: the server says so loudly at start-up.
    #[arg(long, env = "BOOKMYGIG_NO_RATE_LIMITS")]
    pub no_rate_limits: bool,

    /// Turns on the development top-up provider (`POST /api/v1/wallet/topups` credits play
    /// money on request), for demos, tests and benchmarks. Off, top-ups answer 403: anyone
    /// could otherwise mint money and pay every listing fee and ticket with it.
    #[arg(long, env = "BOOKMYGIG_DEV_TOPUPS")]
    pub dev_topups: bool,

    /// The platform's Open Payments wallet address (`https://wallet.example/bookmygig`): with
    /// it, money is real: top-ups are paid from viewers' wallets into it, payouts leave it for
    /// creators' wallets. Needs --open-payments-key-id and --open-payments-key.
    #[arg(
        long,
        env = "BOOKMYGIG_OPEN_PAYMENTS_WALLET",
        requires_all = ["open_payments_key_id", "open_payments_key"],
        value_name = "URL"
    )]
    pub open_payments_wallet: Option<String>,

    /// The id of the platform's signing key, as registered with its wallet (its JWK's `kid`).
    #[arg(long, env = "BOOKMYGIG_OPEN_PAYMENTS_KEY_ID", value_name = "ID")]
    pub open_payments_key_id: Option<String>,

    /// The platform's Ed25519 private key (PKCS#8 PEM) registered with its wallet: every Open
    /// Payments request is signed with it.
    #[arg(long, env = "BOOKMYGIG_OPEN_PAYMENTS_KEY", value_name = "FILE")]
    pub open_payments_key: Option<PathBuf>,

    /// Testing only: wallet addresses and payment pointers may use plain `http://` (a test
    /// wallet on loopback). Never in production: payments would cross the network in clear.
    #[arg(long, env = "BOOKMYGIG_OPEN_PAYMENTS_INSECURE_HTTP")]
    pub open_payments_insecure_http: bool,

    /// How long after a gig ends its earnings are paid out to its payment pointer by
    /// themselves (refunds and chargebacks settle first); a creator may ask sooner with
    /// `POST /me/payouts`.
    #[arg(
        long,
        env = "BOOKMYGIG_PAYOUT_DELAY",
        default_value_t = 86_400,
        value_name = "SECONDS"
    )]
    pub payout_delay: u64,

    /// How long a viewer has to approve a top-up in their wallet before it expires.
    #[arg(long, env = "BOOKMYGIG_TOPUP_CONSENT_TIMEOUT", default_value_t = 600, value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub topup_consent_timeout: u64,

    /// 64 hex digits signing playback URLs. When absent: shared through Redis by every node in
    /// Redis mode; random on the embedded store (URLs then last until the server restarts).
    #[arg(long, env = "BOOKMYGIG_PLAYBACK_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub playback_secret: Option<PlaybackSecret>,

    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `bookmygig_server=debug`.
    #[arg(long, env = "BOOKMYGIG_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    /// The base URL other nodes reach this one's internal listener at, without a trailing
    /// slash.
    pub fn advertise_url(&self, bound_internal: SocketAddr) -> String {
        match &self.advertise_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{bound_internal}"),
        }
    }

    /// The public base URL, resolved against the bound HTTP address (`https://` with TLS).
    pub fn public_url(&self, bound_http: SocketAddr) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.tls_cert.is_some() => format!("https://{bound_http}"),
            None => format!("http://{bound_http}"),
        }
    }
}

/// One-off tasks of the server binary.
#[derive(Clone, Debug, Subcommand)]
pub enum ServerCommand {
    /// Payouts to creators over Open Payments.
    #[command(subcommand)]
    Payouts(PayoutsCommand),
}

/// `bookmygig-server payouts …`.
#[derive(Clone, Debug, Subcommand)]
pub enum PayoutsCommand {
    /// Asks the platform's wallet for the grant payouts are sent under: prints the page where
    /// the wallet's holder approves it, waits, and keeps it in the store for every node.
    Authorize {
        /// The most all payouts together may send per interval, in dollars (e.g. 5000).
        #[arg(long, default_value = "1000")]
        limit: Money,
        /// The interval the limit renews on, as an ISO 8601 duration (P1D, P1W, P1M).
        #[arg(long, default_value = "P1M")]
        interval: String,
        /// How long to wait for the approval.
        #[arg(long, default_value_t = 1_800, value_name = "SECONDS")]
        wait: u64,
    },
}

/// A Redis URL, which may carry a password: its `Debug` shows only the scheme.
#[derive(Clone)]
pub struct RedisUrl(pub String);

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.0.split("://").next().unwrap_or("redis");
        write!(f, "RedisUrl({scheme}://<redacted>)")
    }
}

impl std::str::FromStr for RedisUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if ["redis://", "rediss://", "redis+unix://", "unix://"]
            .iter()
            .any(|scheme| s.starts_with(scheme))
        {
            Ok(RedisUrl(s.to_owned()))
        } else {
            Err("expected a redis://, rediss:// or redis+unix:// URL".into())
        }
    }
}

/// The playback signing secret; its `Debug` is redacted.
#[derive(Clone)]
pub struct PlaybackSecret(pub [u8; 32]);

impl std::fmt::Debug for PlaybackSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlaybackSecret(<redacted>)")
    }
}

fn parse_secret(text: &str) -> Result<PlaybackSecret, String> {
    let bytes = hex::decode(text.trim()).map_err(|_| "expected 64 hex digits".to_string())?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "expected 64 hex digits".to_string())?;
    Ok(PlaybackSecret(bytes))
}

/// An address (`10.0.0.7`) or a CIDR block (`10.0.0.0/8`).
fn parse_proxy(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| {
            format!("`{text}` is neither an IP address nor a CIDR block such as 10.0.0.0/8")
        })
}

fn parse_dollars(text: &str) -> Result<Money, String> {
    let money: Money = text.parse().map_err(|e| format!("{e}"))?;
    if money < Money::ZERO {
        return Err("must not be negative".into());
    }
    Ok(money)
}

/// Percent with up to two decimals → basis points.
fn parse_percent(text: &str) -> Result<u32, String> {
    let as_money: Money = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| "expected a percentage such as 2.5".to_string())?;
    let bps = as_money.micros() / 10_000;
    if as_money.micros() % 10_000 != 0 || !(0..=10_000).contains(&bps) {
        return Err("expected 0 to 100 with at most two decimals".into());
    }
    u32::try_from(bps).map_err(|e| e.to_string())
}
