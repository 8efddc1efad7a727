//! RTMP: ingest from OBS/ffmpeg (`rtmp://HOST:PORT/live/{stream_key}`) and play
//! (`rtmp://HOST:PORT/live/{gig_id}?token=…`).
//!
//! Layers, as in mmids: [`listener`] accepts sockets under a connection ceiling; [`connection`]
//! moves bytes between the socket and rml_rtmp's sans-IO handshake and session, with ceilings
//! on chunk and message sizes (the chunk size is enforced by [`guard`], ahead of rml_rtmp) and
//! timeouts on silence; [`policy`] decides who may publish and
//! who may watch.

pub mod connection;
pub mod guard;
pub mod listener;
pub mod media;
pub mod policy;

use std::sync::Arc;
use std::time::Duration;

use bookmygig_store::Store;

use crate::cluster::relay::Relays;
use crate::live::StreamHub;
use crate::playback::PlaybackKey;

/// Everything an RTMP connection needs.
#[derive(Clone)]
pub struct RtmpContext {
    /// Gigs, stream keys, tickets.
    pub store: Arc<dyn Store>,
    /// Where published streams go and played streams come from.
    pub hub: Arc<StreamHub>,
    /// Accrues micropayments while people play.
    pub meter: Arc<crate::money::Meter>,
    /// Verifies play tokens.
    pub playback_key: PlaybackKey,
    /// When a gig may be published, relative to its times.
    pub window: policy::PublishWindow,
    /// How long a peer may stay silent (including during the handshake).
    pub idle_timeout: Duration,
    /// How long a peer has from its first byte to a granted publish or play.
    pub setup_timeout: Duration,
    /// Redis mode: the stream registry (one publisher per gig across nodes) and the relays
    /// that serve gigs published elsewhere. `None` on one node.
    pub relays: Option<Arc<Relays>>,
    /// How many streams each account plays of each gig (`--max-streams-per-ticket`).
    pub stream_seats: Arc<crate::live::seats::StreamSeats>,
}
