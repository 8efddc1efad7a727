//! `bookmygig-loadgen`: measures a live server's fan-out, over HTTP-FLV or RTMP play.
//!
//! One publisher pushes an FLV clip over RTMP at real-time pace; N viewers play the stream over
//! HTTP-FLV or RTMP. Publisher and viewers share one process and one clock, so each video tag's
//! publish-to-viewer latency is exact. After every viewer has joined (in batches, so a thousand
//! do not arrive at once), a window of D seconds is measured: latency, time to first frame,
//! bytes delivered against bytes expected, failed and dropped viewers, and, given the server's
//! pid, its CPU seconds per GiB delivered and its largest RSS.
//!
//! It works against any server that takes RTMP publish and serves HTTP-FLV or RTMP play
//! (`--rtmp` and `--url`, e.g. Node-Media-Server or nginx's RTMP module), and sets a BookMyGig
//! server up by itself through its REST API (`--bookmygig`, `--protocol`). `scripts/bench flv` runs it; docs/benchmarks.md has the results.
//!
//! `bookmygig-loadgen chat …` instead measures a chat room's fan-out (see [`chat`]).
//!
//! Output: progress on stderr; on stdout one human-readable line, then one JSON line.

mod chat;
mod chat_setup;
mod clip;
mod http;
mod procstat;
mod publish;
mod report;
mod rtmp_client;
mod setup;
mod timeline;
mod viewer;
mod ws_frames;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use tokio::sync::watch;

use crate::clip::Clip;
use crate::procstat::RssSampler;
use crate::publish::{Command, RtmpTarget};
use crate::report::{RunFacts, Summary};
use crate::setup::BookMyGig;
use crate::timeline::Timeline;
use crate::viewer::{Outcome, PlayUrl, Progress};

/// How long the publisher may take to open or close the window (it does so between two tags).
const WINDOW_SWITCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long stopped viewers and publisher may take to wind down.
const WIND_DOWN_TIMEOUT: Duration = Duration::from_secs(15);

/// Measures a live server's fan-out: one real-time RTMP publisher, N HTTP-FLV or RTMP viewers;
/// or, with `chat`, a chat room's fan-out.
#[derive(Debug, Parser)]
#[command(
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    /// Another benchmark than HTTP-FLV.
    #[command(subcommand)]
    mode: Option<Mode>,

    #[command(flatten)]
    flv: Args,
}

/// The benchmarks besides HTTP-FLV.
#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// N WebSocket members in one chat room, R messages per second from a few senders:
    /// delivery latency, loss, the server's CPU per million deliveries and RSS.
    Chat(chat::ChatArgs),
}

/// The HTTP-FLV benchmark's options.
#[derive(Debug, clap::Args)]
struct Args {
    /// FLV file to publish (H.264 and AAC), looped with increasing timestamps when the run is
    /// longer.
    #[arg(long, required = true)]
    flv: Option<PathBuf>,

    /// Set up on the BookMyGig server at this base URL (e.g. http://127.0.0.1:8080): a new
    /// creator, a gig, its stream key and a playback URL.
    #[arg(long, required_unless_present = "rtmp", conflicts_with_all = ["rtmp", "url"])]
    bookmygig: Option<String>,

    /// Publish to this RTMP URL, rtmp://HOST:PORT/APP/STREAM_KEY (any server).
    #[arg(long, requires = "url")]
    rtmp: Option<String>,

    /// URL the viewers play (with --rtmp): an http:// URL over HTTP-FLV, an rtmp:// one over
    /// RTMP play.
    #[arg(long, requires = "rtmp")]
    url: Option<String>,

    /// How the viewers of a BookMyGig server (--bookmygig) play: its HTTP-FLV or its RTMP URL.
    #[arg(long, value_enum, default_value_t = setup::Protocol::Flv, conflicts_with = "url")]
    protocol: setup::Protocol,

    /// Number of viewers.
    #[arg(long, default_value_t = 1)]
    viewers: usize,

    /// Seconds measured once every viewer has joined.
    #[arg(long, default_value_t = 20)]
    duration: u64,

    /// The server's process id: its CPU time and RSS are measured.
    #[arg(long)]
    server_pid: Option<u32>,

    /// Name of the server in the output.
    #[arg(long, default_value = "server")]
    label: String,

    /// Viewers started together.
    #[arg(long, default_value_t = 50)]
    ramp_batch: usize,

    /// Milliseconds between two batches of viewers.
    #[arg(long, default_value_t = 200)]
    ramp_interval_ms: u64,

    /// Milliseconds of publishing before the first viewer (so the server has a GOP cached).
    #[arg(long, default_value_t = 2_500)]
    warmup_ms: u64,

    /// Milliseconds viewers keep reading after the window, for tags still in flight.
    #[arg(long, default_value_t = 1_000)]
    grace_ms: u64,

    /// Seconds to wait for every viewer to play (or fail) before measuring anyway.
    #[arg(long, default_value_t = 30)]
    join_timeout: u64,

    /// Clock ticks per second in /proc/PID/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u32,

    /// Worker threads for the viewers (default: one per CPU). The publisher has its own.
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(Mode::Chat(args)) = cli.mode {
        let runtime = runtime
            .enable_all()
            .build()
            .context("cannot start the runtime")?;
        if args.prepare_only {
            runtime.block_on(chat::prepare_only(&args))?;
            eprintln!("loadgen: member accounts ready");
            return Ok(());
        }
        let summary = runtime.block_on(chat::run(args))?;
        println!("{}", summary.human());
        println!("{}", serde_json::to_string(&summary)?);
        return Ok(());
    }
    let args = cli.flv;
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let summary = runtime.block_on(run(args))?;
    println!("{}", summary.human());
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<Summary> {
    let flv = args.flv.clone().context("give --flv")?;
    let clip = Arc::new(Clip::load(&flv)?);
    eprintln!(
        "loadgen: {}: {} frames, {:.1} s a pass, {:.0} kbit/s",
        flv.display(),
        clip.frames.len(),
        f64::from(clip.duration_ms) / 1000.0,
        clip.kbit_per_s()
    );
    let bookmygig = match &args.bookmygig {
        Some(base) => Some(
            BookMyGig::prepare(base)
                .await
                .context("setting up the gig through the BookMyGig API")?,
        ),
        None => None,
    };
    let target = match (&bookmygig, &args.rtmp) {
        (Some(bookmygig), _) => bookmygig.rtmp.clone(),
        (None, Some(url)) => RtmpTarget::parse(url)?,
        (None, None) => bail!("give --bookmygig, or --rtmp and --url"),
    };
    let rss = args.server_pid.map(RssSampler::start);

    let timeline = Arc::new(Timeline::new());
    let publisher = publish::spawn(target.clone(), Arc::clone(&clip), Arc::clone(&timeline))?;
    let publish::Publisher {
        ready,
        commands,
        thread,
    } = publisher;
    ready
        .await
        .context("the publisher thread died")?
        .with_context(|| format!("publishing to rtmp://{}/{}", target.addr, target.app))?;
    eprintln!(
        "loadgen: publishing to rtmp://{}/{}",
        target.addr, target.app
    );
    tokio::time::sleep(Duration::from_millis(args.warmup_ms)).await;

    let url = match (&bookmygig, &args.url) {
        (Some(bookmygig), _) => bookmygig
            .playback_url(args.protocol)
            .await
            .context("getting a playback URL")?,
        (None, Some(url)) => url.clone(),
        (None, None) => bail!("give --url with --rtmp"),
    };
    let url = Arc::new(PlayUrl::parse(&url)?);

    // Viewers join in batches.
    let progress = Arc::new(Progress::default());
    let (stop, stop_rx) = watch::channel(false);
    let mut viewers = Vec::with_capacity(args.viewers);
    let ramp_started = Instant::now();
    while viewers.len() < args.viewers {
        let batch = args.ramp_batch.max(1).min(args.viewers - viewers.len());
        for _ in 0..batch {
            viewers.push(tokio::spawn(viewer::watch(
                Arc::clone(&url),
                Arc::clone(&timeline),
                Arc::clone(&progress),
                stop_rx.clone(),
            )));
        }
        if viewers.len() < args.viewers {
            tokio::time::sleep(Duration::from_millis(args.ramp_interval_ms)).await;
        }
    }
    let join_deadline = Instant::now() + Duration::from_secs(args.join_timeout);
    while progress.settled.load(Ordering::Relaxed) < args.viewers && Instant::now() < join_deadline
    {
        if thread.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "loadgen: {} of {} viewers playing after {:.1} s",
        progress.playing.load(Ordering::Relaxed),
        args.viewers,
        ramp_started.elapsed().as_secs_f64()
    );

    // The window.
    let cpu = |pid: u32| procstat::cpu_time(pid, args.clk_tck);
    let own_pid = std::process::id();
    if let Err(error) = switch_window(&commands, &thread, &timeline, Command::OpenWindow).await {
        return Err(publisher_failure(thread).unwrap_or(error));
    }
    let server_before = args.server_pid.map(cpu).transpose()?;
    let own_before = cpu(own_pid)?;
    let machine_before = procstat::machine_busy_seconds(args.clk_tck)?;
    eprintln!("loadgen: measuring for {} s", args.duration);
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    if let Err(error) = switch_window(&commands, &thread, &timeline, Command::CloseWindow).await {
        return Err(publisher_failure(thread).unwrap_or(error));
    }
    let server_after = args.server_pid.map(cpu).transpose()?;
    let own_after = cpu(own_pid)?;
    let machine_after = procstat::machine_busy_seconds(args.clk_tck)?;
    tokio::time::sleep(Duration::from_millis(args.grace_ms)).await;

    // Wind down: viewers first, so the end of the stream does not count as a drop.
    let _ = stop.send(true);
    let mut reports = Vec::with_capacity(viewers.len());
    let wind_down = tokio::time::Instant::now() + WIND_DOWN_TIMEOUT;
    for viewer in viewers {
        match tokio::time::timeout_at(wind_down, viewer).await {
            Ok(Ok(report)) => reports.push(report),
            Ok(Err(error)) => bail!("a viewer task failed: {error}"),
            Err(_) => bail!("viewers did not stop within {WIND_DOWN_TIMEOUT:?}"),
        }
    }
    let _ = commands.send(Command::Stop);
    let publish = tokio::task::spawn_blocking(move || thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the publisher thread panicked"))?
        .context("publishing")?;

    let server = match (server_before, server_after, &rss) {
        (Some(before), Some(after), Some(rss)) => Some((after.since(before), rss.max_kib())),
        _ => None,
    };
    let dropped = reports
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Dropped(_)))
        .count();
    if dropped > 0 {
        eprintln!("loadgen: {dropped} viewers dropped");
    }
    Ok(Summary::new(
        args.label,
        reports,
        RunFacts {
            publish,
            server,
            loadgen_cpu_s: own_after.since(own_before).total(),
            machine_busy_s: machine_after - machine_before,
        },
    ))
}

/// Why the publisher thread stopped, if it has.
fn publisher_failure(
    thread: std::thread::JoinHandle<anyhow::Result<publish::PublishReport>>,
) -> Option<anyhow::Error> {
    if !thread.is_finished() {
        return None;
    }
    Some(match thread.join() {
        Ok(Err(error)) => error.context("the publisher stopped during the run"),
        Ok(Ok(_)) => anyhow::anyhow!("the publisher stopped during the run"),
        Err(_) => anyhow::anyhow!("the publisher thread panicked"),
    })
}

/// Asks the publisher to open or close the window and waits until it has.
async fn switch_window(
    commands: &watch::Sender<Command>,
    thread: &std::thread::JoinHandle<anyhow::Result<publish::PublishReport>>,
    timeline: &Timeline,
    command: Command,
) -> anyhow::Result<()> {
    commands
        .send(command)
        .context("the publisher has stopped")?;
    let deadline = Instant::now() + WINDOW_SWITCH_TIMEOUT;
    loop {
        let done = match command {
            Command::OpenWindow => timeline.is_open(),
            _ => timeline.is_closed(),
        };
        if done {
            return Ok(());
        }
        if thread.is_finished() {
            bail!("the publisher stopped during the run (did the server close its connection?)");
        }
        if Instant::now() > deadline {
            bail!("the publisher did not switch the window within {WINDOW_SWITCH_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
