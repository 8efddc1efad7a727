//! Live video: the stream's state and facts, and playback grants.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::GigId;

/// `GET /gigs/{id}/stream`: whether the gig is on air, and what the media says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamStatus {
    /// The gig.
    pub gig_id: GigId,
    /// A publisher is connected.
    pub live: bool,
    /// When the current broadcast started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// Viewers watching now (HTTP-FLV and RTMP).
    pub viewers: u32,
    /// Video facts, once the video sequence header arrived.
    pub video: Option<VideoFacts>,
    /// Audio facts, once the audio sequence header arrived.
    pub audio: Option<AudioFacts>,
}

/// What the video track is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VideoFacts {
    /// `h264`, `hevc`, `av1`, `vp9`, …
    pub codec: String,
    /// Pixels.
    pub width: Option<u32>,
    /// Pixels.
    pub height: Option<u32>,
    /// Frames per second as announced by the encoder.
    pub fps: Option<f64>,
    /// Measured over the last seconds.
    pub kbps: Option<f64>,
}

/// What the audio track is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AudioFacts {
    /// `aac`, `mp3`, `opus`, …
    pub codec: String,
    /// Hz.
    pub sample_rate: Option<u32>,
    /// 1 mono, 2 stereo.
    pub channels: Option<u8>,
}

/// `POST /gigs/{id}/playback`: signed URLs for a ticket holder (or the creator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Playback {
    /// HTTP-FLV URL (for mpv, ffplay, flv.js).
    pub flv_url: String,
    /// RTMP play URL.
    pub rtmp_url: String,
    /// After this the URLs open no new connection (running ones go on while the ticket holds).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}
