//! `Relays`: serving, on this node, a gig whose publisher is connected to another node. The
//! first viewer here opens ONE connection to the origin's internal endpoint
//! (`GET /internal/v1/live/{gig}.flv`, with a [`RelayKey`] token); its tags are fed into this
//! node's [`StreamHub`] as a relayed [`LiveStream`], so every later viewer here shares it through
//! the usual fan-out, GOP cache and keyframe start. The relay ends when the origin ends the
//! stream (its viewers are told it finished), when the origin goes silent or away, or
//! [`RELAY_LINGER`] after its last viewer here left.
//!
//! Relayed streams make no hub events and never touch the stored gig: the origin does both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bookmygig_api::GigId;
use bookmygig_media::flv::FlvReader;
use bookmygig_media::gop::MediaTag;
use bytes::Bytes;
use time::OffsetDateTime;
use tokio::sync::{OnceCell, watch};

use super::registry::{HEARTBEAT, RegistryError, StreamRegistry};
use super::relay_token::{RELAY_TOKEN_TTL, RelayKey};
use crate::live::{LiveStream, Publisher, StreamHub};

/// How long a relay stays up with nobody watching it here (a viewer who reconnects at once
/// finds it still running).
pub const RELAY_LINGER: Duration = Duration::from_secs(5);
/// How long the origin may send nothing before the relay gives up on it.
const ORIGIN_SILENCE: Duration = Duration::from_secs(10);
/// Longest wait to connect to the origin.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for the origin's answer to the relay request.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The path of the internal endpoint that serves a gig's stream to relays.
pub fn internal_path(gig: GigId) -> String {
    format!("/internal/v1/live/{gig}.flv")
}

/// Why no relay could be opened.
#[derive(Clone, Debug, thiserror::Error)]
pub enum RelayError {
    /// The registry could not be read.
    #[error("{0}")]
    Registry(#[from] RegistryError),
    /// The origin node did not serve the stream.
    #[error("origin node: {0}")]
    Origin(String),
}

/// A relay being opened: the first viewer opens it, the others wait for the same outcome
/// (a failure too, so a dead origin is not asked once per waiting viewer).
type Opening = OnceCell<Result<Option<Arc<LiveStream>>, RelayError>>;

/// This node's relays, one per gig at most.
#[derive(Debug)]
pub struct Relays {
    registry: Arc<StreamRegistry>,
    hub: Arc<StreamHub>,
    key: RelayKey,
    http: reqwest::Client,
    /// Relays being opened, so concurrent first viewers share one connection.
    opening: Mutex<HashMap<GigId, Arc<Opening>>>,
    shutdown: watch::Receiver<bool>,
}

impl Relays {
    /// Relays of this node, pulling with tokens signed by `key`, until `shutdown` turns true.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS roots and the like).
    pub fn new(
        registry: Arc<StreamRegistry>,
        hub: Arc<StreamHub>,
        key: RelayKey,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<Self>, RelayError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| RelayError::Origin(e.to_string()))?;
        Ok(Arc::new(Relays {
            registry,
            hub,
            key,
            http,
            opening: Mutex::new(HashMap::new()),
            shutdown,
        }))
    }

    /// The key relay tokens are checked with (by the internal endpoint).
    pub fn key(&self) -> &RelayKey {
        &self.key
    }

    /// The registry the relays consult.
    pub fn registry(&self) -> &Arc<StreamRegistry> {
        &self.registry
    }

    /// The stream to watch `gig` from on this node: the local one (published or already
    /// relayed here), else a new relay from the node holding the publisher; `None` when the
    /// gig is not live anywhere.
    ///
    /// # Errors
    /// When the registry or the origin fails.
    pub async fn stream(
        self: &Arc<Self>,
        gig: GigId,
    ) -> Result<Option<Arc<LiveStream>>, RelayError> {
        if let Some(stream) = self.hub.stream(gig) {
            return Ok(Some(stream));
        }
        let cell = Arc::clone(
            self.opening
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(gig)
                .or_default(),
        );
        let opened = cell.get_or_init(|| self.open(gig)).await.clone();
        let mut opening = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if opening.get(&gig).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            opening.remove(&gig);
        }
        opened
    }

    /// Connects to the origin and starts the relay.
    async fn open(self: &Arc<Self>, gig: GigId) -> Result<Option<Arc<LiveStream>>, RelayError> {
        if let Some(stream) = self.hub.stream(gig) {
            return Ok(Some(stream));
        }
        let Some(origin) = self.registry.origin(gig).await? else {
            return Ok(None);
        };
        if origin.node == self.registry.node() {
            // Our own claim without a stream: a publisher arriving or leaving right now.
            return Ok(None);
        }
        let token = self
            .key
            .sign(gig, OffsetDateTime::now_utc() + RELAY_TOKEN_TTL);
        let request = self
            .http
            .get(format!("{}{}", origin.url, internal_path(gig)))
            .bearer_auth(token)
            .send();
        let response = tokio::time::timeout(ANSWER_TIMEOUT, request)
            .await
            .map_err(|_| RelayError::Origin("no answer".into()))?
            .map_err(|e| RelayError::Origin(e.without_url().to_string()))?;
        match response.status() {
            reqwest::StatusCode::OK => {}
            reqwest::StatusCode::NOT_FOUND => return Ok(None),
            status => return Err(RelayError::Origin(format!("answered {status}"))),
        }
        let feeder = match self.hub.start_relay(gig) {
            Ok(feeder) => feeder,
            // A publisher connected here meanwhile: watch that.
            Err(_) => return Ok(self.hub.stream(gig)),
        };
        let stream = Arc::clone(feeder.stream());
        tracing::info!(gig = %gig, origin = %origin.node, "relay opened");
        tokio::spawn(Arc::clone(self).pump(gig, response, feeder));
        Ok(Some(stream))
    }

    /// Moves the origin's tags into the relayed stream until one of the ends in the module
    /// docs; dropping the feeder then ends the stream for its viewers.
    async fn pump(self: Arc<Self>, gig: GigId, mut response: reqwest::Response, feeder: Publisher) {
        // The origin's ingest took no larger tag; anything larger is not a stream of ours.
        let mut reader = FlvReader::new().with_max_tag_size(crate::live::stream::MAX_TAG_BYTES);
        let mut ticks = tokio::time::interval(HEARTBEAT);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut unwatched_since: Option<tokio::time::Instant> = None;
        let mut shutdown = self.shutdown.clone();
        let reason = loop {
            tokio::select! {
                chunk = tokio::time::timeout(ORIGIN_SILENCE, response.chunk()) => match chunk {
                    Err(_) => break "the origin went silent",
                    Ok(Err(_)) => break "the connection to the origin failed",
                    Ok(Ok(None)) => break "the origin ended the stream",
                    Ok(Ok(Some(bytes))) => {
                        if feed(&mut reader, &feeder, &bytes).is_err() {
                            break "the origin sent invalid FLV";
                        }
                    }
                },
                _ = ticks.tick() => {
                    let viewers = feeder.stream().viewers();
                    let now = tokio::time::Instant::now();
                    if viewers > 0 {
                        unwatched_since = None;
                    } else if now.duration_since(*unwatched_since.get_or_insert(now)) >= RELAY_LINGER {
                        break "nobody watches it here";
                    }
                    if let Err(error) = self.registry.report_relay_viewers(gig, viewers).await {
                        tracing::debug!(gig = %gig, %error, "cannot report relay viewers");
                    }
                }
                () = async { drop(shutdown.wait_for(|stopping| *stopping).await) } => break "the node stops",
            }
        };
        drop(feeder);
        if let Err(error) = self.registry.report_relay_viewers(gig, 0).await {
            tracing::debug!(gig = %gig, %error, "cannot withdraw relay viewers");
        }
        tracing::info!(gig = %gig, reason, "relay ended");
    }
}

/// Parses what the origin sent and pushes every complete tag.
fn feed(
    reader: &mut FlvReader,
    feeder: &Publisher,
    bytes: &Bytes,
) -> Result<(), bookmygig_media::FlvError> {
    reader.push(bytes);
    while let Some(tag) = reader.next_tag()? {
        // A tag the media layer cannot take (over the FLV size) is skipped, as at ingest.
        if let Ok(tag) = MediaTag::new(tag.kind, tag.timestamp_ms, tag.data) {
            feeder.push(tag);
        }
    }
    Ok(())
}
