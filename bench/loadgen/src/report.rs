//! The run's result: the viewers' reports and the publisher's folded into one summary, printed
//! as a line for people and a JSON line for `scripts/bench`.

use serde::Serialize;

use crate::procstat::CpuTime;
use crate::publish::PublishReport;
use crate::viewer::{Outcome, ViewerReport};

/// Bytes in a GiB.
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Percentiles of a set of milliseconds.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Spread {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// How many values.
    pub count: usize,
}

impl Spread {
    /// Nearest-rank percentiles of `values` (in µs), in milliseconds; all zero when empty.
    pub fn of_micros(mut values: Vec<u32>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_unstable();
        let rank = |p: f64| {
            let index = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
            f64::from(values[index]) / 1000.0
        };
        Self {
            p50: rank(0.50),
            p99: rank(0.99),
            max: rank(1.0),
            count: values.len(),
        }
    }
}

/// The server's cost over the window.
#[derive(Debug, Default, Serialize)]
pub struct ServerCost {
    /// CPU seconds (user + system) used during the window.
    pub cpu_s: f64,
    /// The user-mode part of them.
    pub user_s: f64,
    /// The kernel-mode part.
    pub system_s: f64,
    /// Those per GiB delivered to the viewers.
    pub cpu_s_per_gib: f64,
    /// Largest sampled RSS over the whole run, MiB.
    pub max_rss_mib: f64,
}

/// Everything one run measured.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Label of the server measured.
    pub server: String,
    /// Viewers asked for.
    pub viewers: usize,
    /// Viewers that got the stream (first frame received).
    pub connected: usize,
    /// Viewers that never got it.
    pub failed: usize,
    /// Viewers that got it and lost it before the end.
    pub dropped: usize,
    /// Viewers whose first frame was not a keyframe.
    pub non_key_starts: usize,
    /// Length of the window in media time, seconds.
    pub window_s: f64,
    /// Publish-to-viewer latency of video tags inside the window, ms.
    pub latency_ms: Spread,
    /// Time to first frame, ms.
    pub ttff_ms: Spread,
    /// Window video tags whose send time was unknown.
    pub unmatched: u64,
    /// FLV bytes of window media tags received, all viewers together.
    pub delivered_bytes: u64,
    /// The publisher's window bytes times the viewers asked for.
    pub expected_bytes: u64,
    /// `delivered_bytes / expected_bytes`.
    pub delivered_ratio: f64,
    /// Window video frames received, all viewers together.
    pub frames_delivered: u64,
    /// The publisher's window video frames times the viewers asked for.
    pub frames_expected: u64,
    /// Media bitrate published, kbit/s.
    pub published_kbps: f64,
    /// The server's CPU and memory, when its pid was given.
    pub server_cost: Option<ServerCost>,
    /// The load generator's own CPU seconds over the window (it shares the machine).
    pub loadgen_cpu_s: f64,
    /// CPU seconds the rest of the machine was busy over the window (other processes, and
    /// interrupt work not charged to a process); large values mean the numbers are disturbed.
    pub other_cpu_s: f64,
    /// Latest a publisher tag left after its due time, ms.
    pub publisher_max_lag_ms: f64,
    /// The first few reasons viewers failed or dropped.
    pub errors: Vec<String>,
}

/// What the run measured besides the viewers.
pub struct RunFacts {
    /// The publisher's report.
    pub publish: PublishReport,
    /// Server CPU time over the window and largest RSS in KiB, if measured.
    pub server: Option<(CpuTime, u64)>,
    /// The load generator's CPU seconds over the window.
    pub loadgen_cpu_s: f64,
    /// Busy CPU seconds of the whole machine over the window.
    pub machine_busy_s: f64,
}

impl Summary {
    /// Folds the viewers' reports and the run's facts together.
    pub fn new(label: String, viewers: Vec<ViewerReport>, facts: RunFacts) -> Self {
        let requested = viewers.len();
        let mut errors = Vec::new();
        let (mut failed, mut dropped, mut non_key_starts) = (0, 0, 0);
        let (mut delivered_bytes, mut frames_delivered, mut unmatched) = (0, 0, 0);
        let mut latencies = Vec::new();
        let mut ttffs = Vec::new();
        for viewer in viewers {
            match &viewer.outcome {
                Outcome::Watched => {}
                Outcome::Failed(reason) => {
                    failed += 1;
                    errors.push(format!("failed: {reason}"));
                }
                Outcome::Dropped(reason) => {
                    dropped += 1;
                    errors.push(format!("dropped: {reason}"));
                }
            }
            if let Some(ttff) = viewer.ttff {
                ttffs.push(u32::try_from(ttff.as_micros()).unwrap_or(u32::MAX));
                non_key_starts += usize::from(!viewer.started_on_keyframe);
            }
            delivered_bytes += viewer.window_bytes;
            frames_delivered += viewer.window_frames;
            unmatched += viewer.unmatched;
            latencies.extend_from_slice(&viewer.latencies_us);
        }
        errors.sort();
        errors.dedup();
        errors.truncate(5);
        let publish = &facts.publish;
        let expected_bytes = publish.window_bytes * requested as u64;
        let window_s = publish.window_media.as_secs_f64();
        let server_cpu_s = facts.server.map_or(0.0, |(cpu, _)| cpu.total());
        let server_cost = facts.server.map(|(cpu, rss_kib)| ServerCost {
            cpu_s: cpu.total(),
            user_s: cpu.user,
            system_s: cpu.system,
            cpu_s_per_gib: if delivered_bytes > 0 {
                cpu.total() / (delivered_bytes as f64 / GIB)
            } else {
                0.0
            },
            max_rss_mib: rss_kib as f64 / 1024.0,
        });
        Self {
            server: label,
            viewers: requested,
            connected: ttffs.len(),
            failed,
            dropped,
            non_key_starts,
            window_s,
            latency_ms: Spread::of_micros(latencies),
            ttff_ms: Spread::of_micros(ttffs),
            unmatched,
            delivered_bytes,
            expected_bytes,
            delivered_ratio: if expected_bytes > 0 {
                delivered_bytes as f64 / expected_bytes as f64
            } else {
                0.0
            },
            frames_delivered,
            frames_expected: publish.window_frames * requested as u64,
            published_kbps: if window_s > 0.0 {
                publish.window_bytes as f64 * 8.0 / 1000.0 / window_s
            } else {
                0.0
            },
            server_cost,
            loadgen_cpu_s: facts.loadgen_cpu_s,
            other_cpu_s: (facts.machine_busy_s - server_cpu_s - facts.loadgen_cpu_s).max(0.0),
            publisher_max_lag_ms: publish.max_lag.as_secs_f64() * 1000.0,
            errors,
        }
    }

    /// One line for people.
    pub fn human(&self) -> String {
        let cost = match &self.server_cost {
            Some(cost) => format!(
                " | server {:.2} CPU s ({:.2} s/GiB), max RSS {:.1} MiB",
                cost.cpu_s, cost.cpu_s_per_gib, cost.max_rss_mib
            ),
            None => String::new(),
        };
        format!(
            "{} | viewers {}/{} | latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms | TTFF p50 {:.1} ms p99 {:.1} ms | delivered {:.2}% ({:.1} MiB) | failed {} dropped {}{} | loadgen {:.2} CPU s, others {:.2} CPU s, publisher lag {:.1} ms",
            self.server,
            self.connected,
            self.viewers,
            self.latency_ms.p50,
            self.latency_ms.p99,
            self.latency_ms.max,
            self.ttff_ms.p50,
            self.ttff_ms.p99,
            self.delivered_ratio * 100.0,
            self.delivered_bytes as f64 / 1024.0 / 1024.0,
            self.failed,
            self.dropped,
            cost,
            self.loadgen_cpu_s,
            self.other_cpu_s,
            self.publisher_max_lag_ms,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let spread = Spread::of_micros((1..=100).map(|ms| ms * 1000).collect());
        assert_eq!(
            spread,
            Spread {
                p50: 50.0,
                p99: 99.0,
                max: 100.0,
                count: 100
            }
        );
        assert_eq!(Spread::of_micros(vec![1500]).p99, 1.5);
        assert_eq!(Spread::of_micros(Vec::new()), Spread::default());
    }
}
