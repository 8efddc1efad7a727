//! RTMP: ingest from OBS/ffmpeg (`rtmp://HOST:PORT/live/{stream_key}`) and play
//! (`rtmp://HOST:PORT/live/{gig_id}?token=…`).
//!
//! Layers, as in mmids: [`listener`] accepts sockets under a connection ceiling; for each,
//! [`connection`] wires [`socket`] (bytes, with deadlines on silence and stalled writes) to
//! [`session`] (sans-IO: rml_rtmp's handshake and session behind the [`guard`]'s ceilings on
//! chunk and message sizes, media via [`media`]) and to the role, [`publisher`] or [`player`],
//! which talks to the hub, the meter and the store; [`policy`] decides who may publish and who
//! may watch.

pub mod chunks;
pub mod connection;
pub mod guard;
pub mod listener;
pub mod media;
pub mod player;
pub mod policy;
pub mod publisher;
pub mod session;
pub mod socket;

use std::sync::Arc;
use std::time::Duration;

use bookmygig_store::Store;

use crate::live::{StreamDirectory, StreamHub};
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
    /// Who publishes each gig (one publisher per gig, across nodes with several) and how a
    /// viewer here reaches it.
    pub directory: Arc<dyn StreamDirectory>,
    /// How many streams each account plays of each gig (`--max-streams-per-ticket`).
    pub stream_seats: Arc<crate::live::seats::StreamSeats>,
}
