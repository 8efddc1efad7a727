//! The measured server's cost, read from `/proc`: CPU time (`utime + stime` of
//! `/proc/PID/stat`) and resident memory (`VmRSS` of `/proc/PID/status`), sampled on a thread
//! of its own so the viewers' load cannot delay a sample.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};

/// How often the RSS is sampled.
const RSS_INTERVAL: Duration = Duration::from_millis(100);

/// CPU time a process has used so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTime {
    /// User-mode seconds.
    pub user: f64,
    /// Kernel-mode seconds (system calls; on loopback also much of the receivers' TCP work).
    pub system: f64,
}

impl CpuTime {
    /// User plus system seconds.
    pub fn total(self) -> f64 {
        self.user + self.system
    }

    /// The time used between `earlier` and `self`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

/// CPU time (`utime`, `stime`) that process `pid` has used so far, `clk_tck` ticks a second.
///
/// # Errors
/// When `/proc/PID/stat` cannot be read or parsed.
pub fn cpu_time(pid: u32, clk_tck: u32) -> anyhow::Result<CpuTime> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The command name (field 2) may contain spaces and parentheses: count from its end.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("unexpected {path}"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    let (Some(utime), Some(stime)) = (fields.get(11), fields.get(12)) else {
        bail!("unexpected {path}");
    };
    let hz = f64::from(clk_tck.max(1));
    Ok(CpuTime {
        user: utime.parse::<u64>()? as f64 / hz,
        system: stime.parse::<u64>()? as f64 / hz,
    })
}

/// CPU seconds the whole machine has spent busy so far (all CPUs, from `/proc/stat`: everything
/// but idle and I/O wait), `clk_tck` ticks a second. Less the server's and the load generator's
/// own, it shows whether something else competed for the cores during a measurement.
///
/// # Errors
/// When `/proc/stat` cannot be read or parsed.
pub fn machine_busy_seconds(clk_tck: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    let line = stat
        .lines()
        .find(|line| line.starts_with("cpu "))
        .context("no cpu line in /proc/stat")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("unexpected /proc/stat")?;
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    let busy: u64 = ticks
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, t)| t)
        .sum();
    Ok(busy as f64 / f64::from(clk_tck.max(1)))
}

/// Resident set size of process `pid` in KiB.
///
/// # Errors
/// When `/proc/PID/status` cannot be read or has no `VmRSS`.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no VmRSS in {path}"))
}

/// Samples a process's RSS until dropped and keeps the largest value seen.
#[derive(Debug)]
pub struct RssSampler {
    max_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Self {
        let max_kib = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let (max, stopped) = (Arc::clone(&max_kib), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                if let Ok(kib) = rss_kib(pid) {
                    max.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(RSS_INTERVAL);
            }
        });
        Self { max_kib, stop }
    }

    /// The largest RSS seen so far, in KiB.
    pub fn max_kib(&self) -> u64 {
        self.max_kib.load(Ordering::Relaxed)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_and_rss_are_readable() {
        let pid = std::process::id();
        assert!(cpu_time(pid, 100).unwrap().total() >= 0.0);
        assert!(machine_busy_seconds(100).unwrap() > 0.0);
        assert!(rss_kib(pid).unwrap() > 0);
        let sampler = RssSampler::start(pid);
        assert!(sampler.max_kib() > 0);
    }
}
