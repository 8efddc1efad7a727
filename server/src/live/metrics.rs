//! Counters of the live side, rendered in Prometheus text format at `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Process-wide live-video counters.
#[derive(Debug, Default)]
pub struct LiveMetrics {
    /// Bytes written to viewers (HTTP-FLV and RTMP play).
    pub bytes_out: AtomicU64,
    /// Bytes received from publishers.
    pub bytes_in: AtomicU64,
    /// Viewers cut loose for staying behind.
    pub dropped_viewers: AtomicU64,
    /// Times a viewer skipped to the next keyframe after overflowing.
    pub viewer_skips: AtomicU64,
    /// Viewers connected now.
    pub viewers: AtomicU64,
    /// Publishers connected now.
    pub publishers: AtomicU64,
    /// RTMP connections closed because of bad input or timeouts.
    pub rtmp_rejected: AtomicU64,
    /// Other nodes' relay connections to this node's streams now (Redis mode).
    pub relay_connections: AtomicU64,
    /// Streams this node pulls from another node now (Redis mode).
    pub relayed_streams: AtomicU64,
    /// Streams being recorded here now.
    pub recordings: AtomicU64,
    /// Recording segments stored.
    pub recording_segments: AtomicU64,
    /// Recording segments lost (storage too slow or failing; the viewers never wait for it).
    pub recording_segments_lost: AtomicU64,
    /// Bytes of recordings stored.
    pub recording_bytes: AtomicU64,
}

/// One stream's line in the per-gig metrics.
#[derive(Clone, Debug)]
pub struct StreamMetrics {
    /// The gig, as text.
    pub gig: String,
    /// Measured ingest bitrate.
    pub ingest_kbps: f64,
    /// Other nodes relaying it from here.
    pub relay_connections: u32,
}

impl LiveMetrics {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters plus the per-stream ingest bitrates and relay connections, as Prometheus
    /// text.
    pub fn render(&self, streams: &[StreamMetrics]) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        metric(
            "bookmygig_viewers",
            "gauge",
            "Viewers connected now.",
            load(&self.viewers),
        );
        metric(
            "bookmygig_publishers",
            "gauge",
            "Publishers connected now.",
            load(&self.publishers),
        );
        metric(
            "bookmygig_bytes_out_total",
            "counter",
            "Media bytes sent to viewers.",
            load(&self.bytes_out),
        );
        metric(
            "bookmygig_bytes_in_total",
            "counter",
            "Media bytes received from publishers.",
            load(&self.bytes_in),
        );
        metric(
            "bookmygig_dropped_viewers_total",
            "counter",
            "Viewers cut loose for staying behind.",
            load(&self.dropped_viewers),
        );
        metric(
            "bookmygig_viewer_skips_total",
            "counter",
            "Keyframe skips by viewers that overflowed.",
            load(&self.viewer_skips),
        );
        metric(
            "bookmygig_relay_connections_open",
            "gauge",
            "Other nodes' relay connections to streams published here, now.",
            load(&self.relay_connections),
        );
        metric(
            "bookmygig_relayed_streams",
            "gauge",
            "Streams this node relays from the node that holds their publisher, now.",
            load(&self.relayed_streams),
        );
        metric(
            "bookmygig_rtmp_rejected_total",
            "counter",
            "RTMP connections closed for bad input or timeouts.",
            load(&self.rtmp_rejected),
        );
        metric(
            "bookmygig_recordings",
            "gauge",
            "Streams being recorded on this node now.",
            load(&self.recordings),
        );
        metric(
            "bookmygig_recording_segments_total",
            "counter",
            "Recording segments stored.",
            load(&self.recording_segments),
        );
        metric(
            "bookmygig_recording_segments_lost_total",
            "counter",
            "Recording segments lost because storage was too slow or failed.",
            load(&self.recording_segments_lost),
        );
        metric(
            "bookmygig_recording_bytes_total",
            "counter",
            "Bytes of recordings stored.",
            load(&self.recording_bytes),
        );
        let _ = writeln!(
            out,
            "# HELP bookmygig_ingest_kbps Measured ingest bitrate per live gig.\n# TYPE bookmygig_ingest_kbps gauge"
        );
        for stream in streams {
            let _ = writeln!(
                out,
                "bookmygig_ingest_kbps{{gig=\"{}\"}} {:.1}",
                stream.gig, stream.ingest_kbps
            );
        }
        let _ = writeln!(
            out,
            "# HELP bookmygig_relay_connections Other nodes' relay connections per gig published here.\n# TYPE bookmygig_relay_connections gauge"
        );
        for stream in streams {
            let _ = writeln!(
                out,
                "bookmygig_relay_connections{{gig=\"{}\"}} {}",
                stream.gig, stream.relay_connections
            );
        }
        out
    }
}
