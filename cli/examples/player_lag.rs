//! How far behind live the player stays: plays an HTTP-FLV URL with the `player` module
//! (headless, live-edge control on, as the TUI plays) while a raw reader of the same stream
//! notes the newest video timestamp the server has sent; the lag is that timestamp minus the
//! player's position, sampled on every position update. Run by `scripts/bench player`.
//!
//! `cargo run --release --example player_lag -- URL SECONDS` prints a progress line every 30 s
//! on stderr and one JSON summary on stdout.
//!
//! With `--terminal COLSxROWS` after them the player draws into memory for a terminal, as the
//! TUI's video in the terminal does (`vo=libmpv`, mpv's software renderer, frames of COLS×2·ROWS
//! pixels for half-blocks, no sound), and frames are taken at most 15 times a second; the
//! summary adds how many were taken a second.

#![allow(clippy::print_stdout, clippy::print_stderr)] // A benchmark's report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bookmygig_cli::player::{Player, PlayerEvent, PlayerOptions, VideoOutput, VideoSink};
use bookmygig_media::flv::{FlvReader, TagKind};

/// Marks "no video seen yet" in the newest-timestamp cell.
const NONE: u64 = u64::MAX;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: player_lag FLV_URL SECONDS [--terminal COLSxROWS]";
    let (Some(url), Some(seconds)) = (args.next(), args.next()) else {
        bail!(usage);
    };
    let seconds: u64 = seconds.parse().context("SECONDS must be a whole number")?;
    let terminal = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--terminal"), Some(size)) => {
            let (cols, rows) = size.split_once('x').context(usage)?;
            Some((cols.parse::<usize>()?, rows.parse::<usize>()?))
        }
        _ => bail!(usage),
    };

    let newest = Arc::new(AtomicU64::new(NONE));
    let reader = tokio::spawn(read_newest_video(url.clone(), Arc::clone(&newest)));
    let sink = VideoSink::new();
    let options = match terminal {
        None => PlayerOptions {
            headless: true,
            ..PlayerOptions::default()
        },
        Some((cols, rows)) => {
            sink.set_size(cols, rows * 2);
            PlayerOptions {
                video: VideoOutput::Terminal(sink.clone()),
                audio_output: Some("null".to_owned()),
                ..PlayerOptions::default()
            }
        }
    };
    let frames = Arc::new(AtomicU64::new(0));
    let taker = tokio::spawn(take_frames(sink, Arc::clone(&frames)));
    let (player, mut events) = Player::open(&url, options).context("opening the player")?;

    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut samples: Vec<(f64, f64)> = Vec::new(); // (seconds since start, lag s)
    let mut live_edge_actions = 0u32;
    let mut next_report = 30.0;
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = tokio::time::sleep_until(end.into()) => break,
        };
        let Some(event) = event else {
            bail!("the player closed its channel");
        };
        match event {
            PlayerEvent::Playing { position_s } => {
                let newest_ms = newest.load(Ordering::Relaxed);
                if newest_ms == NONE {
                    continue;
                }
                let at = started.elapsed().as_secs_f64();
                let lag = newest_ms as f64 / 1000.0 - position_s;
                samples.push((at, lag));
                if at >= next_report {
                    eprintln!("player_lag: {at:.0} s: {lag:.3} s behind live");
                    next_report += 30.0;
                }
            }
            PlayerEvent::LiveEdge { .. } => live_edge_actions += 1,
            PlayerEvent::Ended | PlayerEvent::Closed => bail!("the stream ended early"),
            PlayerEvent::Error(reason) => bail!("the player failed: {reason}"),
            _ => {}
        }
    }
    player.stop();
    reader.abort();
    taker.abort();
    let frames_per_s = frames.load(Ordering::Relaxed) as f64 / seconds as f64;

    let last_minute: Vec<f64> = samples
        .iter()
        .filter(|(at, _)| *at >= seconds as f64 - 60.0)
        .map(|(_, lag)| *lag)
        .collect();
    if last_minute.is_empty() {
        bail!("no position updates in the last minute");
    }
    let mut sorted = last_minute.clone();
    sorted.sort_by(f64::total_cmp);
    let p50 = sorted[sorted.len() / 2];
    let max = sorted[sorted.len() - 1];
    let at_end = last_minute[last_minute.len() - 1];
    println!(
        "{}",
        serde_json::json!({
            "seconds": seconds,
            "samples": samples.len(),
            "lag_last_minute_p50_s": p50,
            "lag_last_minute_max_s": max,
            "lag_at_end_s": at_end,
            "live_edge_actions": live_edge_actions,
            "output": match terminal {
                None => "none".to_owned(),
                Some((cols, rows)) => format!("terminal {cols}x{rows}"),
            },
            "frames_taken_per_s": frames_per_s,
        })
    );
    Ok(())
}

/// Takes frames from `sink` as the TUI does, at most 15 a second, counting them in `frames`.
async fn take_frames(sink: VideoSink, frames: Arc<AtomicU64>) {
    let pace = Duration::from_secs(1) / 15;
    loop {
        sink.ready().await;
        if sink.take().is_some() {
            frames.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(pace).await;
    }
}

/// Reads the FLV stream at `url` and keeps the newest video timestamp in `newest`.
async fn read_newest_video(url: String, newest: Arc<AtomicU64>) -> anyhow::Result<()> {
    let mut response = reqwest::get(&url)
        .await
        .context("requesting the stream")?
        .error_for_status()?;
    let mut flv = FlvReader::new();
    while let Some(chunk) = response.chunk().await? {
        flv.push(&chunk);
        while let Some(tag) = flv.next_tag()? {
            if tag.kind == TagKind::Video {
                newest.store(u64::from(tag.timestamp_ms), Ordering::Relaxed);
            }
        }
    }
    Ok(())
}
