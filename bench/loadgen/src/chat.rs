//! `bookmygig-loadgen chat`: N WebSocket members in one chat room, R messages per second from S
//! of them, against BookMyGig's chat (`GET /api/v1/gigs/{id}/chat`) or a socket.io 4 server
//! that broadcasts each `message` event to the room (Engine.IO v4 over WebSocket).
//!
//! Every message's text is `bench SEQ NANOS`: its sequence number and the time it was sent, in
//! nanoseconds since the run's start on this process's monotonic clock, so every member measures
//! the delivery latency of every message exactly and notes which sequence numbers arrived.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use memchr::memmem;
use serde::Serialize;
use tokio::io::{AsyncRead as _, AsyncWriteExt as _, ReadBuf};
use tokio::sync::watch;

use crate::chat_setup;
use crate::procstat::{self, RssSampler};
use crate::ws_frames::{self, Frame};

/// Histogram bucket width in microseconds.
const BUCKET_US: u64 = 10;
/// Buckets: 10 µs each up to 10 s; later deliveries land in the last one.
const BUCKETS: usize = 1_000_000;
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

/// Frames a member handles at most per wake-up before it yields: the other members on its core
/// get their turn, and a sender's timer is looked at again at least every this many frames.
const BURST_FRAMES: usize = 64;

/// What a member's loop acts on next.
enum Event {
    /// The run is over: close and stop.
    Stop,
    /// Sending starts at this time; `None`: the run ended before sending started.
    Go(Option<Instant>),
    /// This sender's next message is due.
    Due,
    /// A received frame asks for this answer (socket.io's handshake and pings).
    Reply(Reply),
    /// The server pinged with this payload: answer with a pong.
    Pong(Vec<u8>),
    /// The connection failed or the server closed it.
    Failed(anyhow::Error),
}

/// A frame a member sends in answer to a received one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reply {
    /// The frame's text.
    text: &'static str,
    /// What sending it is for, for the error when that fails.
    doing: &'static str,
}

/// One member once it has its URL: connects, then reads (and sends, if a sender) until stopped.
/// `joined` is set once it is in the room.
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
    let (mut stream, mut frames) = {
        let _permit = connects.acquire().await?;
        tokio::time::timeout(Duration::from_secs(60), ws_frames::connect(url))
            .await
            .context("connecting timed out")?
            .context("connecting")?
    };
    let protocol = shared.protocol;
    let histogram = &shared.histograms[shard];
    let mut next_seq = sender.map(|s| s.index);
    let mut start_at: Option<Instant> = None;
    // The stop and go futures are made once: a fresh one per frame registers and drops a waiter
    // every time. Once polled they stay registered with this task's waker, and polling a waiting
    // one again takes its channel's waiter lock, which all members share: later wake-ups only
    // load the channel's version (one atomic) and poll the future when that changed.
    let stop_version = stop.clone();
    let go_version = go.clone();
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let started = async move { go.wait_for(Option::is_some).await.ok().and_then(|at| *at) };
    tokio::pin!(stopped, started);
    let (mut stop_polled, mut go_polled) = (false, false);
    // A sender's timer, there while a message is due; reset rather than made per message.
    let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
    // The receive time of the frames parsed from the last read (nanoseconds since the run's
    // start): they arrived together, so one look at the clock, at the first delivery among them,
    // serves all of them, also those handled after a yield.
    let mut received_at: Option<u128> = None;
    // The frames this member sends, built here: messages, socket.io replies, pongs, the close.
    let mut out = Vec::new();
    loop {
        let event = std::future::poll_fn(|cx| {
            if !stop_polled || !matches!(stop_version.has_changed(), Ok(false)) {
                stop_polled = true;
                if stopped.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Stop);
                }
            }
            if start_at.is_none() && (!go_polled || !matches!(go_version.has_changed(), Ok(false)))
            {
                go_polled = true;
                if let Poll::Ready(at) = started.as_mut().poll(cx) {
                    return Poll::Ready(Event::Go(at));
                }
            }
            // Before the frames: a sender sends on time however many keep arriving.
            if timer
                .as_mut()
                .is_some_and(|timer| timer.as_mut().poll(cx).is_ready())
            {
                return Poll::Ready(Event::Due);
            }
            // Every complete frame in the buffer, then a read for more, without going round the
            // loop for each frame; at most a burst of them per wake-up.
            let mut handled = 0;
            loop {
                let frame = match frames.next_frame() {
                    Ok(Some(frame)) => frame,
                    Ok(None) => {
                        let mut buf = ReadBuf::new(frames.spare());
                        match Pin::new(&mut stream).poll_read(cx, &mut buf) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(Err(error)) => {
                                return Poll::Ready(Event::Failed(
                                    anyhow::Error::new(error).context("reading"),
                                ));
                            }
                            Poll::Ready(Ok(())) => {}
                        }
                        let n = buf.filled().len();
                        if n == 0 {
                            return Poll::Ready(Event::Failed(anyhow!(
                                "the server closed the connection"
                            )));
                        }
                        frames.filled(n);
                        received_at = None;
                        continue;
                    }
                    Err(error) => return Poll::Ready(Event::Failed(error.context("reading"))),
                };
                if let Frame::Ping(payload) = frame {
                    return Poll::Ready(Event::Pong(payload.to_vec()));
                }
                match on_frame(
                    frame,
                    protocol,
                    shared,
                    histogram,
                    report,
                    joined,
                    &mut received_at,
                ) {
                    Ok(None) => {}
                    Ok(Some(reply)) => return Poll::Ready(Event::Reply(reply)),
                    Err(error) => return Poll::Ready(Event::Failed(error)),
                }
                handled += 1;
                if handled == BURST_FRAMES {
                    // A full burst and maybe more waiting: yield, to be polled again after the
                    // others (the rest stays in the buffer).
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
        })
        .await;
        match event {
            Event::Stop => {
                let _ = send(&mut stream, &mut out, ws_frames::close_frame).await;
                return Ok(());
            }
            Event::Go(None) => return Ok(()),
            Event::Go(Some(at)) => start_at = Some(at),
            Event::Due => {
                if let (Some(seq), Some(s)) = (next_seq, sender) {
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
                    send(&mut stream, &mut out, |out| {
                        ws_frames::text_frame(out, &frame)
                    })
                    .await
                    .context("sending")?;
                    next_seq = Some(seq + s.every);
                }
            }
            Event::Reply(reply) => {
                send(&mut stream, &mut out, |out| {
                    ws_frames::text_frame(out, reply.text)
                })
                .await
                .context(reply.doing)?;
                continue;
            }
            Event::Pong(payload) => {
                send(&mut stream, &mut out, |out| {
                    ws_frames::pong_frame(out, &payload)
                })
                .await
                .context("sending a pong")?;
                continue;
            }
            Event::Failed(error) => return Err(error),
        }
        // Sending started or a message went out: the timer for the next one, if any.
        match (send_due(sender, next_seq, start_at), &mut timer) {
            (Some(due), Some(timer)) => timer.as_mut().reset(due.into()),
            (Some(due), None) => timer = Some(Box::pin(tokio::time::sleep_until(due.into()))),
            (None, _) => timer = None,
        }
    }
}

/// Writes the frame `encode` puts into `out` (emptied first, kept for the next).
async fn send(
    stream: &mut tokio::net::TcpStream,
    out: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>),
) -> std::io::Result<()> {
    out.clear();
    encode(out);
    stream.write_all(out).await
}

/// When a sender's message `next_seq` is due, once sending started at `start_at`; `None` when
/// there is none (not a sender, not started, or all sent).
fn send_due(
    sender: Option<Sender>,
    next_seq: Option<u64>,
    start_at: Option<Instant>,
) -> Option<Instant> {
    match (next_seq, start_at, sender) {
        (Some(seq), Some(start), Some(s)) if seq < s.total => {
            Some(start + Duration::from_secs_f64(seq as f64 / f64::from(s.rate)))
        }
        _ => None,
    }
}

/// Handles one received frame: notes a `bench` message's delivery, counts the member in when
/// it joined and the senders' refusals, and says which frame to answer with, if any.
///
/// `now` is the receive time (nanoseconds since the run's start) of the frames that came with
/// one read: read from the clock at the first delivery among them.
///
/// The text is not checked for UTF-8 (only ASCII is looked for in it): the check cost a pass
/// over every frame, and the servers measured send JSON.
///
/// # Errors
/// When the server closed the connection.
fn on_frame(
    frame: Frame<'_>,
    protocol: Protocol,
    shared: &Shared,
    histogram: &[AtomicU32],
    report: &mut MemberReport,
    joined: &mut bool,
    now: &mut Option<u128>,
) -> anyhow::Result<Option<Reply>> {
    let text = match frame {
        Frame::Text(text) => text,
        Frame::Close(close) => bail!("closed by the server: {}", ws_frames::describe_close(close)),
        _ => return Ok(None),
    };
    if let Some(at) = after_bench(text) {
        if let Some((seq, sent)) = text.get(at..).and_then(parse_bench) {
            let now = *now.get_or_insert_with(|| shared.start.elapsed().as_nanos());
            record(histogram, report, seq, sent, now);
        }
        return Ok(None);
    }
    match protocol {
        Protocol::BookMyGig => {
            if !*joined && text.starts_with(b"{\"type\":\"history\"") {
                *joined = true;
                shared.joined.fetch_add(1, Ordering::Relaxed);
            } else if text.starts_with(b"{\"type\":\"error\"") {
                shared.refused.fetch_add(1, Ordering::Relaxed);
            }
        }
        Protocol::SocketIo => {
            let reply = |text, doing| Ok(Some(Reply { text, doing }));
            if text == b"2" {
                return reply("3", "sending a pong");
            } else if text.starts_with(b"0") {
                return reply("40", "connecting");
            } else if text.starts_with(b"40") {
                return reply("42[\"join\",\"bench\"]", "joining");
            } else if text.starts_with(b"42[\"joined\"") && !*joined {
                *joined = true;
                shared.joined.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    Ok(None)
}

/// Where the text after the first `bench ` in `text` starts: what `str::find("bench ")` + 6
/// gives, with one searcher built for the whole run instead of one per frame.
fn after_bench(text: &[u8]) -> Option<usize> {
    static BENCH: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"bench "));
    BENCH.find(text).map(|at| at + 6)
}

/// `SEQ NANOS` at the start of the UTF-8 text `rest`: the digits up to the first other
/// character, then the digits after it. Exactly what splitting at every character but ASCII
/// digits and parsing the first two parts gives.
fn parse_bench(rest: &[u8]) -> Option<(u64, u128)> {
    let (seq, digits) = leading_number(rest)?;
    let seq = u64::try_from(seq).ok()?;
    // The separator's length, from its first byte.
    let separator = match *rest.get(digits)? {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    };
    let (sent, _) = leading_number(rest.get(digits + separator..)?)?;
    Some((seq, sent))
}

/// The number the ASCII digits at the start of `bytes` spell, and how many there are; `None`
/// when there are none or the number overflows.
fn leading_number(bytes: &[u8]) -> Option<(u128, usize)> {
    let mut value = 0u128;
    let mut digits = 0;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            break;
        }
        value = value
            .checked_mul(10)?
            .checked_add(u128::from(byte - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some((value, digits))
}

/// The histogram bucket of a message sent at `sent` and received at `now` (nanoseconds since
/// the run's start); the last bucket holds everything later.
fn latency_bucket(now: u128, sent: u128) -> usize {
    let micros = now.saturating_sub(sent) / 1_000;
    usize::try_from(micros / u128::from(BUCKET_US))
        .unwrap_or(usize::MAX)
        .min(BUCKETS - 1)
}

/// Notes one delivery of message `seq` sent at `sent` and received at `now` (nanoseconds since
/// the run's start): a duplicate is counted, a first delivery goes into the histogram.
fn record(histogram: &[AtomicU32], report: &mut MemberReport, seq: u64, sent: u128, now: u128) {
    let Some(word) = report.received.get_mut((seq / 64) as usize) else {
        return;
    };
    let bit = 1u64 << (seq % 64);
    if *word & bit != 0 {
        report.duplicates += 1;
        return;
    }
    *word |= bit;
    histogram[latency_bucket(now, sent)].fetch_add(1, Ordering::Relaxed);
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

    /// The parsing the member loop did before: `str::find` and splitting at non-digits.
    fn reference_bench(text: &str) -> Option<Option<(u64, u128)>> {
        let rest = &text[text.find("bench ")? + 6..];
        let mut parts = rest.split(|c: char| !c.is_ascii_digit());
        Some(
            match (
                parts.next().map(str::parse::<u64>),
                parts.next().map(str::parse::<u128>),
            ) {
                (Some(Ok(seq)), Some(Ok(sent))) => Some((seq, sent)),
                _ => None,
            },
        )
    }

    /// `after_bench` and `parse_bench`, checked against `reference_bench`.
    fn bench(text: &str) -> Option<Option<(u64, u128)>> {
        let found =
            after_bench(text.as_bytes()).map(|at| text.as_bytes().get(at..).and_then(parse_bench));
        assert_eq!(found, reference_bench(text), "{text:?}");
        found
    }

    #[test]
    fn bench_texts_are_found_and_parsed() {
        let frame = r#"{"type":"message","id":7,"author":"bench","text":"bench 42 1234567"}"#;
        assert_eq!(bench(frame), Some(Some((42, 1_234_567))));
        let frame = r#"42["message",{"author":"bench","text":"bench 3 99"}]"#;
        assert_eq!(bench(frame), Some(Some((3, 99))));
        assert_eq!(bench("bench 0 0"), Some(Some((0, 0))));
        assert_eq!(bench("no bench here"), Some(None));
        assert_eq!(bench("no benches, bench_ or bench\"s here"), None);
        assert_eq!(bench(r#"{"type":"history","messages":[]}"#), None);
        assert_eq!(bench("bench 5"), Some(None));
        assert_eq!(bench("bench 5 "), Some(None));
        assert_eq!(bench("bench x 5"), Some(None));
        assert_eq!(bench("bench 18446744073709551616 1"), Some(None));
        assert_eq!(bench("bench 1é2"), Some(Some((1, 2))));
        // The first `bench ` counts.
        assert_eq!(bench("abcdefgbench 1 2bench 3 4"), Some(Some((1, 2))));
        assert_eq!(bench("benchbench 8 9"), Some(Some((8, 9))));
    }

    #[test]
    fn bench_search_matches_str_find() {
        // Random texts over a small alphabet, so that `bench ` and near misses are frequent.
        let alphabet = [
            "b", "e", "n", "c", "h", " ", "1", "9", "\"", "é", "!", "\u{1}",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..100_000 {
            let len = (next() % 40) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let text = if next() % 4 == 0 {
                format!("{text}bench {} {}", next() % 1000, next())
            } else {
                text
            };
            bench(&text);
        }
    }

    #[test]
    fn latency_buckets_use_the_given_receive_time() {
        assert_eq!(latency_bucket(1_000_000, 1_000_000), 0);
        assert_eq!(latency_bucket(1_025_000, 1_000_000), 2);
        assert_eq!(latency_bucket(1_000_000 + 9_999, 1_000_000), 0);
        assert_eq!(latency_bucket(1_000_000 + 10_000, 1_000_000), 1);
        // Sent "after" received (clock skew is impossible, but saturate anyway).
        assert_eq!(latency_bucket(5, 10), 0);
        assert_eq!(latency_bucket(u128::MAX, 0), BUCKETS - 1);
        assert_eq!(latency_bucket(11_000_000_000, 0), BUCKETS - 1);
    }

    fn shared(protocol: Protocol) -> Shared {
        Shared {
            start: Instant::now(),
            protocol,
            histograms: vec![(0..BUCKETS).map(|_| AtomicU32::new(0)).collect()],
            joined: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            go: AtomicBool::new(false),
        }
    }

    fn count(histogram: &[AtomicU32], bucket: usize) -> u32 {
        histogram[bucket].load(Ordering::Relaxed)
    }

    /// One member's state around [`on_frame`], fed frames one by one.
    struct Fed {
        shared: Shared,
        report: MemberReport,
        joined: bool,
        now: Option<u128>,
    }

    impl Fed {
        /// A member of `protocol` expecting `words` × 64 messages, whose frames came in at `now`.
        fn new(protocol: Protocol, words: usize, now: Option<u128>) -> Self {
            Fed {
                shared: shared(protocol),
                report: MemberReport {
                    received: vec![0; words],
                    ..MemberReport::default()
                },
                joined: false,
                now,
            }
        }

        fn frame(&mut self, frame: Frame<'_>) -> anyhow::Result<Option<Reply>> {
            on_frame(
                frame,
                self.shared.protocol,
                &self.shared,
                &self.shared.histograms[0],
                &mut self.report,
                &mut self.joined,
                &mut self.now,
            )
        }

        /// The reply to a text frame, if any.
        fn text(&mut self, text: &str) -> Option<&'static str> {
            let reply = self.frame(Frame::Text(text.as_bytes())).unwrap();
            reply.map(|reply| reply.text)
        }
    }

    #[test]
    fn bookmygig_frames() {
        let mut member = Fed::new(Protocol::BookMyGig, 2, Some(1_000_000));
        assert_eq!(member.text(r#"{"type":"history","messages":[]}"#), None);
        assert!(member.joined);
        member.text(r#"{"type":"history","messages":[]}"#);
        assert_eq!(member.shared.joined.load(Ordering::Relaxed), 1);
        member.text(r#"{"type":"error","code":"rate_limited"}"#);
        assert_eq!(member.shared.refused.load(Ordering::Relaxed), 1);
        let message = r#"{"type":"message","author":"m","text":"bench 70 975000"}"#;
        member.text(message);
        member.text(message);
        // Out of range: ignored.
        member.text(r#"{"type":"message","text":"bench 128 0"}"#);
        assert_eq!(member.report.received, vec![0, 1 << 6]);
        assert_eq!(member.report.duplicates, 1);
        // Received at the given time: 25 µs after sending.
        let histogram = &member.shared.histograms[0];
        assert_eq!(count(histogram, 2), 1);
        assert_eq!(
            histogram
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .sum::<u32>(),
            1
        );

        member.now = None;
        assert!(member.frame(Frame::Close(&[])).is_err());
        assert_eq!(member.frame(Frame::Binary(b"bench 1 2")).unwrap(), None);
        assert_eq!(member.now, None, "the clock is read for deliveries only");
    }

    #[test]
    fn socketio_frames() {
        let mut member = Fed::new(Protocol::SocketIo, 1, None);
        assert_eq!(
            member.text(r#"0{"sid":"x","pingInterval":25000}"#),
            Some("40")
        );
        assert_eq!(
            member.text(r#"40{"sid":"y"}"#),
            Some("42[\"join\",\"bench\"]")
        );
        assert_eq!(member.text("2"), Some("3"));
        assert!(!member.joined);
        assert_eq!(member.text(r#"42["joined","bench"]"#), None);
        assert!(member.joined);
        member.text(r#"42["joined","bench"]"#);
        assert_eq!(member.shared.joined.load(Ordering::Relaxed), 1);
        let message = r#"42["message",{"author":"bench","text":"bench 5 0"}]"#;
        assert_eq!(member.text(message), None);
        assert_eq!(member.report.received, vec![1 << 5]);
        assert!(
            member.now.is_some(),
            "the receive time is read at the first delivery"
        );
    }

    #[test]
    fn send_times() {
        let start = Instant::now();
        let sender = Sender {
            index: 1,
            every: 4,
            total: 10,
            rate: 4,
        };
        assert_eq!(
            send_due(Some(sender), Some(5), Some(start)),
            Some(start + Duration::from_millis(1_250))
        );
        assert_eq!(send_due(Some(sender), Some(13), Some(start)), None);
        assert_eq!(send_due(Some(sender), Some(5), None), None);
        assert_eq!(send_due(None, None, Some(start)), None);
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
