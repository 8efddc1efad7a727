//! Replays: the recording of a show that ended, watched by its ticket holders for as long as
//! its creator allows, and the creator's view of what is stored.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::GigId;

/// `POST /gigs/{id}/replay`: a signed URL to watch a show's recording, seekable (an FLV file
/// with a keyframe index, served with HTTP range requests).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replay {
    /// The recording as FLV (`GET`, with `Range` for seeking); bound to the signed-in account.
    pub url: String,
    /// When the URL stops opening new connections (ask again for a new one).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When the replay window closes.
    #[serde(with = "time::serde::rfc3339")]
    pub available_until: OffsetDateTime,
    /// Wall-clock time of the recording's first frame: position 0 of the file. A chat message
    /// sent at `t` belongs at position `t - recorded_from` (gaps included: the file's timeline
    /// follows the clock).
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_from: OffsetDateTime,
    /// Length of the recording in milliseconds.
    pub duration_ms: u64,
}

/// `GET /gigs/{id}/recording`: what is stored of one show (its creator only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recording {
    /// The gig.
    pub gig_id: GigId,
    /// Its title, for listings.
    pub title: String,
    /// Wall-clock time of the first frame kept.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_from: OffsetDateTime,
    /// Length in milliseconds, gaps included.
    pub duration_ms: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// Times the publisher dropped and came back during the show (gaps in the recording).
    pub gaps: u32,
    /// Segments not recorded because storage was too slow or failed (lost seconds).
    pub lost_segments: u64,
    /// Segments dropped from the start because the recording grew past the server's
    /// `--max-recording-hours`.
    pub trimmed_segments: u64,
    /// The gig's replay window in hours.
    pub replay_hours: u32,
    /// Until when ticket holders can watch it; `null` when they cannot (no window, cancelled).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub replay_until: Option<OffsetDateTime>,
}

/// `GET /me/recordings`: every stored recording of the signed-in creator and the storage they
/// use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recordings {
    /// Bytes stored over all of them.
    pub total_bytes: u64,
    /// Newest first.
    pub recordings: Vec<Recording>,
}
