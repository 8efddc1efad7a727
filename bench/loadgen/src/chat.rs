//! `bookmygig-loadgen chat`: N WebSocket members in one chat room, R messages per second from S
//! of them, against BookMyGig's chat (`GET /api/v1/gigs/{id}/chat`) or a socket.io 4 server
//! that broadcasts each `message` event to the room (Engine.IO v4 over WebSocket).
//!
//! Every message's text is `bench SEQ NANOS`: its sequence number and the time it was sent, in
//! nanoseconds since the run's start on this process's monotonic clock, so every member measures
//! the delivery latency of every message exactly and notes which sequence numbers arrived.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::chat_setup;
use crate::procstat::{self, RssSampler};

/// Histogram bucket width in microseconds.
const BUCKET_US: u64 = 10;
/// Buckets: 10 µs each up to 10 s; later deliveries land in the last one.
const BUCKETS: usize = 1_000_000;
/// Bytes each member reads at most per read (frames are small).
const READ_BUFFER_BYTES: usize = 8 * 1024;
/// Histogram shards; member `i` records into shard `i % HISTOGRAM_SHARDS`.
const HISTOGRAM_SHARDS: usize = 16;
/// Members connecting at once while ramping up.
const CONNECTS_IN_FLIGHT: usize = 64;

/// Options of the chat benchmark.
#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// Set up on the BookMyGig server at this base URL (e.g. http://127.0.0.1:8080): member
    /// accounts with tickets for a new gig, whose chat they enter.
    #[arg(
        long,
        required_unless_present = "socketio",
        conflicts_with = "socketio"
    )]
    bookmygig: Option<String>,

    /// Use the socket.io 4 server at this base URL instead (e.g. http://127.0.0.1:3000):
    /// members emit `join` with the room's name, senders emit `message`.
    #[arg(long)]
    socketio: Option<String>,

    /// Members in the room.
    #[arg(long, default_value_t = 100)]
    members: usize,

    /// Messages per second, all senders together.
    #[arg(long, default_value_t = 10)]
    rate: u32,

    /// Members that send (default: enough for each to send 0.8 a second, under BookMyGig's
    /// limit of 1 a second after a burst of 5).
    #[arg(long)]
    senders: Option<usize>,

    /// Seconds of sending.
    #[arg(long, default_value_t = 15)]
    duration: u64,

    /// Milliseconds members keep reading after the last message, for those still in flight.
    #[arg(long, default_value_t = 2_000)]
    grace_ms: u64,

    /// Member accounts cached here (BookMyGig): read if it exists, extended and written when it
    /// holds fewer than --members. Valid for as long as the server keeps its data.
    #[arg(long)]
    accounts: Option<PathBuf>,

    /// Only sign the members up (into --accounts) and exit: so that a fresh server process on
    /// the same data directory is measured without the sign-ups' memory and CPU.
    #[arg(long, requires_all = ["accounts", "bookmygig"])]
    pub prepare_only: bool,

    /// Members connecting per second while ramping up.
    #[arg(long, default_value_t = 500)]
    ramp_per_second: u32,

    /// Chat in this existing gig's room (BookMyGig) instead of a new one: the members buy
    /// tickets for it. For filling a room someone else watches, e.g. the TUI benchmark.
    #[arg(long, requires = "bookmygig")]
    gig: Option<String>,

    /// Seconds to wait for every member to be in the room before measuring anyway.
    #[arg(long, default_value_t = 120)]
    join_timeout: u64,

    /// Milliseconds to wait after the last member joined, for the room to settle.
    #[arg(long, default_value_t = 2_000)]
    settle_ms: u64,

    /// The server's process id: its CPU time and RSS are measured.
    #[arg(long)]
    server_pid: Option<u32>,

    /// Name of the server in the output.
    #[arg(long, default_value = "server")]
    label: String,

    /// Clock ticks per second in /proc/PID/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u32,
}

/// Which protocol members speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    BookMyGig,
    SocketIo,
}

/// What all members share.
struct Shared {
    start: Instant,
    protocol: Protocol,
    /// Latency histograms of every delivery, 10 µs buckets, one per shard of the members: a
    /// single one had both cores fighting over its cache lines at half a million a second.
    histograms: Vec<Vec<AtomicU32>>,
    joined: AtomicUsize,
    failed: AtomicUsize,
    /// Refusals (`error` frames) the senders got, e.g. `rate_limited`.
    refused: AtomicU64,
    /// Sequence numbers sent so far (all below are sent or skipped).
    sent: AtomicU64,
    /// Set once sending starts.
    go: AtomicBool,
}

/// One member's result.
#[derive(Default)]
struct MemberReport {
    /// Bit per sequence number received.
    received: Vec<u64>,
    duplicates: u64,
    error: Option<String>,
}

/// The run's result.
#[derive(Debug, Serialize)]
pub struct ChatSummary {
    /// Name of the server.
    pub server: String,
    /// Members asked for.
    pub members: usize,
    /// Members that were in the room when sending started.
    pub joined: usize,
    /// Members that sent.
    pub senders: usize,
    /// Messages per second asked for.
    pub rate: u32,
    /// Messages sent.
    pub sent: u64,
    /// Deliveries expected: members in the room × messages sent.
    pub expected: u64,
    /// Deliveries received (each message once per member).
    pub delivered: u64,
    /// Expected but never received.
    pub lost: u64,
    /// Received more than once.
    pub duplicates: u64,
    /// Messages the server refused (`error` frames to the senders).
    pub refused: u64,
    /// Delivery latency percentiles in ms.
    pub p50_ms: f64,
    /// 99th percentile in ms.
    pub p99_ms: f64,
    /// Largest latency in ms (10 s means 10 s or more).
    pub max_ms: f64,
    /// Deliveries per second over the sending time.
    pub deliveries_per_s: f64,
    /// Seconds from the first to the last message sent.
    pub sending_s: f64,
    /// Seconds the ramp-up took.
    pub ramp_s: f64,
    /// The server's CPU seconds (user + system) from the first message to the end of the grace.
    pub server_cpu_s: Option<f64>,
    /// Those per million deliveries.
    pub cpu_s_per_m_deliveries: Option<f64>,
    /// The server's largest sampled RSS over the whole run, MiB.
    pub max_rss_mib: Option<f64>,
    /// The load generator's own CPU seconds over the same span.
    pub loadgen_cpu_s: f64,
    /// Busy CPU seconds of other processes over the same span (disturbance).
    pub other_cpu_s: f64,
    /// Members that failed, with the first few reasons.
    pub failures: Vec<String>,
}

impl ChatSummary {
    /// One line for people.
    pub fn human(&self) -> String {
        format!(
            "{}: {} members ({} joined), {} msg/s from {} senders: p50 {:.2} ms, p99 {:.2} ms, \
             {:.0} deliveries/s, {} lost of {}, {} refused, server CPU {} s per M deliveries, \
             max RSS {} MiB",
            self.server,
            self.members,
            self.joined,
            self.rate,
            self.senders,
            self.p50_ms,
            self.p99_ms,
            self.deliveries_per_s,
            self.lost,
            self.expected,
            self.refused,
            self.cpu_s_per_m_deliveries
                .map_or_else(|| "?".into(), |c| format!("{c:.2}")),
            self.max_rss_mib
                .map_or_else(|| "?".into(), |r| format!("{r:.1}")),
        )
    }
}

/// Signs the members up into the accounts cache (`--prepare-only`).
///
/// # Errors
/// When the set-up fails.
pub async fn prepare_only(args: &ChatArgs) -> anyhow::Result<()> {
    let base = args.bookmygig.as_deref().context("give --bookmygig")?;
    chat_setup::prepare(base, args.members, args.accounts.as_deref(), None)
        .await
        .context("setting up the chat through the BookMyGig API")?;
    Ok(())
}

/// Runs the chat benchmark.
///
/// # Errors
/// When the set-up fails or too few members got into the room.
pub async fn run(args: ChatArgs) -> anyhow::Result<ChatSummary> {
    let senders = args
        .senders
        .unwrap_or_else(|| (f64::from(args.rate) / 0.8).ceil() as usize)
        .max(1);
    if senders > args.members {
        bail!(
            "{senders} senders need at least as many members (--members {})",
            args.members
        );
    }
    let rss = args.server_pid.map(RssSampler::start);
    // Each member's URL.
    let (protocol, urls): (Protocol, Vec<String>) = match (&args.bookmygig, &args.socketio) {
        (Some(base), _) => {
            let room = chat_setup::prepare(
                base,
                args.members,
                args.accounts.as_deref(),
                args.gig.as_deref(),
            )
            .await
            .context("setting up the chat through the BookMyGig API")?;
            let ws = websocket_base(base)?;
            let urls = room
                .members
                .iter()
                .map(|m| format!("{ws}/api/v1/gigs/{}/chat?token={}", room.gig_id, m.token))
                .collect();
            (Protocol::BookMyGig, urls)
        }
        (None, Some(base)) => {
            let url = format!(
                "{}/socket.io/?EIO=4&transport=websocket",
                websocket_base(base)?
            );
            (Protocol::SocketIo, vec![url; args.members])
        }
        (None, None) => bail!("give --bookmygig or --socketio"),
    };

    let shared = Arc::new(Shared {
        start: Instant::now(),
        protocol,
        histograms: (0..HISTOGRAM_SHARDS)
            .map(|_| (0..BUCKETS).map(|_| AtomicU32::new(0)).collect())
            .collect(),
        joined: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        refused: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        go: AtomicBool::new(false),
    });
    let (stop, stop_rx) = watch::channel(false);
    let (go, go_rx) = watch::channel(None::<Instant>);
    let total = args.rate as u64 * args.duration;
    let slots = usize::try_from(total.div_ceil(64)).unwrap_or(0);
    let connects = Arc::new(tokio::sync::Semaphore::new(CONNECTS_IN_FLIGHT));

    // Ramp up.
    let ramp_started = Instant::now();
    let gap = Duration::from_secs_f64(1.0 / f64::from(args.ramp_per_second.max(1)));
    let mut tasks = Vec::with_capacity(urls.len());
    for (i, url) in urls.into_iter().enumerate() {
        let sender = (i < senders).then_some(Sender {
            index: i as u64,
            every: senders as u64,
            total,
            rate: args.rate,
        });
        tasks.push(tokio::spawn(member(
            url,
            i % HISTOGRAM_SHARDS,
            sender,
            slots,
            Arc::clone(&shared),
            Arc::clone(&connects),
            go_rx.clone(),
            stop_rx.clone(),
        )));
        tokio::time::sleep(gap).await;
    }
    let deadline = Instant::now() + Duration::from_secs(args.join_timeout);
    loop {
        let settled = shared.joined.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed);
        if settled >= args.members || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ramp_s = ramp_started.elapsed().as_secs_f64();
    eprintln!(
        "loadgen: {} of {} members in the room after {ramp_s:.1} s",
        shared.joined.load(Ordering::Relaxed),
        args.members
    );
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let joined = shared.joined.load(Ordering::Relaxed);
    if joined == 0 {
        bail!("no member got into the room");
    }

    // Measure.
    let cpu = |pid: u32| procstat::cpu_time(pid, args.clk_tck);
    let own_pid = std::process::id();
    let server_before = args.server_pid.map(cpu).transpose()?;
    let own_before = cpu(own_pid)?;
    let machine_before = procstat::machine_busy_seconds(args.clk_tck)?;
    let sending_started = Instant::now();
    shared.go.store(true, Ordering::Relaxed);
    let _ = go.send(Some(sending_started + Duration::from_millis(100)));
    eprintln!(
        "loadgen: {} msg/s from {senders} senders for {} s",
        args.rate, args.duration
    );
    tokio::time::sleep(Duration::from_millis(100) + Duration::from_secs(args.duration)).await;
    let sending_s = sending_started.elapsed().as_secs_f64() - 0.1;
    tokio::time::sleep(Duration::from_millis(args.grace_ms)).await;
    let server_after = args.server_pid.map(cpu).transpose()?;
    let own_after = cpu(own_pid)?;
    let machine_after = procstat::machine_busy_seconds(args.clk_tck)?;
    let _ = stop.send(true);

    let mut reports = Vec::with_capacity(tasks.len());
    for task in tasks {
        match tokio::time::timeout(Duration::from_secs(15), task).await {
            Ok(Ok(report)) => reports.push(report),
            Ok(Err(error)) => bail!("a member task failed: {error}"),
            Err(_) => bail!("members did not stop within 15 s"),
        }
    }

    // Fold.
    let sent = shared.sent.load(Ordering::Relaxed).min(total);
    let mut delivered = 0u64;
    let mut duplicates = 0u64;
    let mut failures = Vec::new();
    let mut failed_members = 0usize;
    for report in &reports {
        if let Some(error) = &report.error {
            failed_members += 1;
            if failures.len() < 5 {
                failures.push(error.clone());
            }
        }
        duplicates += report.duplicates;
        delivered += report
            .received
            .iter()
            .map(|w| u64::from(w.count_ones()))
            .sum::<u64>();
    }
    if failed_members > 5 {
        failures.push(format!("{failed_members} members failed in all"));
    }
    let expected = joined as u64 * sent;
    let counts: Vec<u64> = (0..BUCKETS)
        .map(|bucket| {
            shared
                .histograms
                .iter()
                .map(|shard| u64::from(shard[bucket].load(Ordering::Relaxed)))
                .sum()
        })
        .collect();
    let (p50_ms, p99_ms, max_ms) = percentiles(&counts);
    let server_cpu_s = match (server_before, server_after) {
        (Some(before), Some(after)) => Some(after.since(before).total()),
        _ => None,
    };
    let own_cpu = own_after.since(own_before).total();
    Ok(ChatSummary {
        server: args.label,
        members: args.members,
        joined,
        senders,
        rate: args.rate,
        sent,
        expected,
        delivered,
        lost: expected.saturating_sub(delivered),
        duplicates,
        refused: shared.refused.load(Ordering::Relaxed),
        p50_ms,
        p99_ms,
        max_ms,
        deliveries_per_s: delivered as f64 / sending_s.max(0.001),
        sending_s,
        ramp_s,
        server_cpu_s,
        cpu_s_per_m_deliveries: server_cpu_s
            .filter(|_| delivered > 0)
            .map(|cpu| cpu / (delivered as f64 / 1e6)),
        max_rss_mib: rss.map(|r| r.max_kib() as f64 / 1024.0),
        loadgen_cpu_s: own_cpu,
        other_cpu_s: (machine_after - machine_before) - own_cpu - server_cpu_s.unwrap_or(0.0),
        failures,
    })
}

/// `http://…` → `ws://…` without a trailing slash.
fn websocket_base(base: &str) -> anyhow::Result<String> {
    let base = base.trim_end_matches('/');
    match base.strip_prefix("http://") {
        Some(rest) => Ok(format!("ws://{rest}")),
        None => bail!("only http:// URLs are supported, got {base}"),
    }
}

/// p50, p99 and max of the histogram `counts` (per bucket), in ms.
fn percentiles(counts: &[u64]) -> (f64, f64, f64) {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return (0.0, 0.0, 0.0);
    }
    let rank = |p: f64| {
        let target = ((p * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                // The bucket's upper edge.
                return ((i as u64 + 1) * BUCKET_US) as f64 / 1000.0;
            }
        }
        (BUCKETS as u64 * BUCKET_US) as f64 / 1000.0
    };
    (rank(0.50), rank(0.99), rank(1.0))
}

/// A member that sends: sequence numbers `index`, `index + every`, … below `total`, number k
/// due `k / rate` seconds after the start of sending.
#[derive(Clone, Copy, Debug)]
struct Sender {
    index: u64,
    every: u64,
    total: u64,
    rate: u32,
}

/// A connected member's socket.
type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One member: connects, joins, reads (and sends, if a sender) until stopped.
#[allow(clippy::too_many_arguments)]
async fn member(
    url: String,
    shard: usize,
    sender: Option<Sender>,
    slots: usize,
    shared: Arc<Shared>,
    connects: Arc<tokio::sync::Semaphore>,
    go: watch::Receiver<Option<Instant>>,
    stop: watch::Receiver<bool>,
) -> MemberReport {
    let mut report = MemberReport {
        received: vec![0; slots],
        ..MemberReport::default()
    };
    let mut joined = false;
    if let Err(error) = member_inner(
        &url,
        shard,
        sender,
        &shared,
        &connects,
        go,
        stop,
        &mut report,
        &mut joined,
    )
    .await
    {
        report.error = Some(format!("{error:#}"));
        if !joined {
            shared.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    report
}

#[allow(clippy::too_many_arguments)]
async fn member_inner(
    url: &str,
    shard: usize,
    sender: Option<Sender>,
    shared: &Shared,
    connects: &tokio::sync::Semaphore,
    mut go: watch::Receiver<Option<Instant>>,
    mut stop: watch::Receiver<bool>,
    report: &mut MemberReport,
    joined: &mut bool,
) -> anyhow::Result<()> {
    let mut socket: Socket = {
        let _permit = connects.acquire().await?;
        let (socket, _) = tokio::time::timeout(
            Duration::from_secs(60),
            // tungstenite zero-fills its whole read buffer before every read (128 KiB by
            // default): with thousands of members reading small frames that memset was over a
            // third of the load generator's CPU, taken from the server it shares the cores with.
            tokio_tungstenite::connect_async_with_config(
                url,
                Some(WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES)),
                false,
            ),
        )
        .await
        .context("connecting timed out")?
        .context("connecting")?;
        socket
    };
    let protocol = shared.protocol;
    let mut next_seq = sender.map(|s| s.index);
    let mut start_at: Option<Instant> = None;
    // Made once: a fresh `wait_for` per frame registers and drops a waiter every time.
    let stopped = async {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::pin!(stopped);
    loop {
        let due = match (next_seq, start_at, sender) {
            (Some(seq), Some(start), Some(s)) if seq < s.total => {
                Some(start + Duration::from_secs_f64(seq as f64 / f64::from(s.rate)))
            }
            _ => None,
        };
        let sleep = async {
            match due {
                Some(due) => tokio::time::sleep_until(due.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut stopped => {
                let _ = socket.close(None).await;
                return Ok(());
            }
            changed = go.changed(), if start_at.is_none() => {
                if changed.is_err() {
                    return Ok(());
                }
                start_at = *go.borrow();
            }
            () = sleep => {
                let (Some(seq), Some(s)) = (next_seq, sender) else { continue };
                let nanos = shared.start.elapsed().as_nanos();
                let text = format!("bench {seq} {nanos}");
                let frame = match protocol {
                    Protocol::BookMyGig => {
                        serde_json::json!({ "type": "say", "text": text }).to_string()
                    }
                    Protocol::SocketIo => format!(
                        "42{}",
                        serde_json::json!(["message", { "author": "bench", "text": text }])
                    ),
                };
                shared.sent.fetch_max(seq + 1, Ordering::Relaxed);
                socket.send(Message::text(frame)).await.context("sending")?;
                next_seq = Some(seq + s.every);
            }
            frame = socket.next() => {
                let frame = match frame {
                    None => bail!("the server closed the connection"),
                    Some(Err(e)) => return Err(e).context("reading"),
                    Some(Ok(frame)) => frame,
                };
                let text = match frame {
                    Message::Text(text) => text,
                    Message::Close(close) => bail!("closed by the server: {close:?}"),
                    _ => continue,
                };
                let text = text.as_str();
                if let Some(at) = text.find("bench ") {
                    record(&shared.histograms[shard], shared.start, report, &text[at + 6..]);
                    continue;
                }
                match protocol {
                    Protocol::BookMyGig => {
                        if !*joined && text.starts_with("{\"type\":\"history\"") {
                            *joined = true;
                            shared.joined.fetch_add(1, Ordering::Relaxed);
                        } else if text.starts_with("{\"type\":\"error\"") {
                            shared.refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Protocol::SocketIo => {
                        if text == "2" {
                            socket.send(Message::text("3")).await.context("sending a pong")?;
                        } else if text.starts_with('0') {
                            socket.send(Message::text("40")).await.context("connecting")?;
                        } else if text.starts_with("40") {
                            socket
                                .send(Message::text("42[\"join\",\"bench\"]"))
                                .await
                                .context("joining")?;
                        } else if text.starts_with("42[\"joined\"") && !*joined {
                            *joined = true;
                            shared.joined.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    }
}

/// Notes one delivery: `rest` starts with `SEQ NANOS`.
fn record(histogram: &[AtomicU32], start: Instant, report: &mut MemberReport, rest: &str) {
    let now = start.elapsed().as_nanos();
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let (Some(Ok(seq)), Some(Ok(sent))) = (
        parts.next().map(str::parse::<u64>),
        parts.next().map(str::parse::<u128>),
    ) else {
        return;
    };
    let Some(word) = report.received.get_mut((seq / 64) as usize) else {
        return;
    };
    let bit = 1u64 << (seq % 64);
    if *word & bit != 0 {
        report.duplicates += 1;
        return;
    }
    *word |= bit;
    let micros = now.saturating_sub(sent) / 1_000;
    let bucket = usize::try_from(micros / u128::from(BUCKET_US))
        .unwrap_or(usize::MAX)
        .min(BUCKETS - 1);
    histogram[bucket].fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_bucket_upper_edges() {
        let mut counts = vec![0u64; BUCKETS];
        counts[0] = 50;
        counts[99] = 49;
        counts[999] = 1;
        assert_eq!(percentiles(&counts), (0.01, 1.0, 10.0));
    }

    #[test]
    fn websocket_bases() {
        assert_eq!(
            websocket_base("http://127.0.0.1:1/").unwrap(),
            "ws://127.0.0.1:1"
        );
        assert!(websocket_base("https://x").is_err());
    }
}
