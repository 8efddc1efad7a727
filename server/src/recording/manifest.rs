//! `Manifest`: the index of one gig's recording, stored beside its segments and rewritten after
//! each segment is stored, so whatever a crash leaves behind is a playable recording up to the
//! last segment written.
//!
//! A recording's timeline follows the wall clock from its first frame (`recorded_from`): a
//! publisher that drops and comes back continues the same recording after a gap as long as it
//! was away, so a chat message sent at `t` sits at position `t - recorded_from`.

use bookmygig_api::GigId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The manifest format this code writes (and the only one it reads).
pub const MANIFEST_VERSION: u32 = 1;

/// One stored piece of a recording: whole FLV tags (without a file header) whose timestamps
/// are positions on the recording's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Its number, which names its object.
    #[serde(rename = "n")]
    pub number: u64,
    /// Position of its first tag, milliseconds from `recorded_from`.
    #[serde(rename = "t")]
    pub start_ms: u64,
    /// Position just after its last frame.
    #[serde(rename = "e")]
    pub end_ms: u64,
    /// Its length in bytes.
    #[serde(rename = "b")]
    pub bytes: u64,
    /// Its keyframes: (position in ms, byte offset within the segment), in order.
    #[serde(rename = "k", default)]
    pub keyframes: Vec<(u64, u64)>,
}

/// The index of one gig's recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// The gig recorded.
    pub gig_id: GigId,
    /// Wall-clock time of position 0.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_from: OffsetDateTime,
    /// Publisher sessions recorded; each after the first left a gap.
    pub sessions: u32,
    /// Segments not stored (storage too slow or failing).
    pub lost_segments: u64,
    /// Segments dropped from the start past `--max-recording-hours`.
    pub trimmed_segments: u64,
    /// The AVC (or other) video sequence header the recording starts with: a video tag's data.
    #[serde(default)]
    pub video_header: Option<Vec<u8>>,
    /// The AAC audio sequence header the recording starts with: an audio tag's data.
    #[serde(default)]
    pub audio_header: Option<Vec<u8>>,
    /// Whether the stream carried video (for the FLV file header).
    pub has_video: bool,
    /// Whether the stream carried audio.
    pub has_audio: bool,
    /// The stored segments in order.
    pub segments: Vec<SegmentEntry>,
}

impl Manifest {
    /// A recording with nothing stored yet whose position 0 is `recorded_from`.
    pub fn new(gig_id: GigId, recorded_from: OffsetDateTime) -> Self {
        Manifest {
            version: MANIFEST_VERSION,
            gig_id,
            recorded_from,
            sessions: 0,
            lost_segments: 0,
            trimmed_segments: 0,
            video_header: None,
            audio_header: None,
            has_video: false,
            has_audio: false,
            segments: Vec::new(),
        }
    }

    /// Where the recording ends (0 when nothing is stored).
    pub fn end_ms(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.end_ms)
    }

    /// Where the stored part begins (later than 0 once the start was trimmed).
    pub fn start_ms(&self) -> u64 {
        self.segments.first().map_or(0, |s| s.start_ms)
    }

    /// Bytes stored in segments.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// The number the next segment takes.
    pub fn next_number(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.number + 1)
    }

    /// Gaps: publisher sessions after the first.
    pub fn gaps(&self) -> u32 {
        self.sessions.saturating_sub(1)
    }

    /// Drops segments from the start until the stored part spans at most `max_ms`; returns
    /// the dropped ones (their objects are then deleted). The last segment always stays.
    pub fn trim_to(&mut self, max_ms: u64) -> Vec<SegmentEntry> {
        let end = self.end_ms();
        let keep_from = self
            .segments
            .iter()
            .position(|s| end.saturating_sub(s.start_ms) <= max_ms)
            .unwrap_or(self.segments.len().saturating_sub(1));
        let dropped: Vec<SegmentEntry> = self.segments.drain(..keep_from).collect();
        self.trimmed_segments += dropped.len() as u64;
        dropped
    }

    /// The manifest as stored.
    ///
    /// # Errors
    /// Never in practice (plain data); the serializer's error otherwise.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// A stored manifest.
    ///
    /// # Errors
    /// The bytes are not a manifest of this version.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let manifest: Manifest = serde_json::from_slice(bytes)?;
        if manifest.version != MANIFEST_VERSION {
            return Err(ManifestError::Version(manifest.version));
        }
        Ok(manifest)
    }
}

/// A stored manifest that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the manifest's shape.
    #[error("the recording's manifest is damaged: {0}")]
    Damaged(#[from] serde_json::Error),
    /// Written by another version of the server.
    #[error(
        "the recording's manifest has version {0}, this server reads version {MANIFEST_VERSION}"
    )]
    Version(u32),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(number: u64, start_ms: u64, end_ms: u64) -> SegmentEntry {
        SegmentEntry {
            number,
            start_ms,
            end_ms,
            bytes: 100,
            keyframes: vec![(start_ms, 0)],
        }
    }

    #[test]
    fn a_manifest_round_trips_and_counts_what_it_holds() {
        let mut manifest = Manifest::new(GigId::new(), OffsetDateTime::UNIX_EPOCH);
        manifest.sessions = 2;
        manifest.segments = vec![segment(0, 0, 2_000), segment(1, 2_000, 4_000)];
        let back = Manifest::from_json(&manifest.to_json().unwrap()).unwrap();
        assert_eq!(back, manifest);
        assert_eq!(
            (back.end_ms(), back.bytes(), back.next_number(), back.gaps()),
            (4_000, 200, 2, 1)
        );
    }

    #[test]
    fn trimming_keeps_the_newest_span_and_at_least_one_segment() {
        let mut manifest = Manifest::new(GigId::new(), OffsetDateTime::UNIX_EPOCH);
        manifest.segments = (0..10)
            .map(|n| segment(n, n * 1_000, (n + 1) * 1_000))
            .collect();
        let dropped = manifest.trim_to(3_000);
        assert_eq!(dropped.len(), 7);
        assert_eq!(manifest.start_ms(), 7_000);
        assert_eq!(manifest.trimmed_segments, 7);
        assert_eq!(manifest.trim_to(10).len(), 2, "the last segment stays");
        assert_eq!(manifest.segments.len(), 1);
    }

    #[test]
    fn damaged_or_foreign_manifests_are_refused() {
        assert!(matches!(
            Manifest::from_json(b"{not json"),
            Err(ManifestError::Damaged(_))
        ));
        let mut manifest = Manifest::new(GigId::new(), OffsetDateTime::UNIX_EPOCH);
        manifest.version = 9;
        assert!(matches!(
            Manifest::from_json(&manifest.to_json().unwrap()),
            Err(ManifestError::Version(9))
        ));
    }
}
