//! `bookmygig play ID`: asks the server for a signed playback URL and plays it in an mpv window
//! (the [`player`](bookmygig_cli::player) module), until the window closes or the stream ends.
//! For a gig that ended, the URL is its replay's: the recording, seekable (mpv's own keys, or
//! `--start`), without the live-edge control.

use bookmygig_api::GigStatus;
use bookmygig_cli::player::{Player, PlayerEvent, PlayerOptions};
use clap::Args;

use super::gig::parse_id;
use crate::Result;
use crate::context::Context;
use crate::error::CliError;

/// `play`.
#[derive(Debug, Args)]
pub struct Cmd {
    /// The gig's id (you need a ticket, or to be its creator).
    id: String,
    /// Print the signed playback URLs instead of opening a window (for mpv, ffplay, scripts).
    #[arg(long)]
    print_url: bool,
    /// A replay: start this many seconds into the recording.
    #[arg(long, value_name = "SECONDS")]
    start: Option<u32>,
}

/// What is played: the live stream or the replay.
enum Source {
    /// The live stream.
    Live(bookmygig_api::Playback),
    /// The recording of a show that ended.
    Replay(bookmygig_api::Replay),
}

impl Cmd {
    /// Plays the gig.
    ///
    /// # Errors
    /// The server's refusal (no ticket), no display, or a stream that cannot be played.
    pub async fn run(self, ctx: &Context) -> Result<()> {
        let id = parse_id(&self.id)?;
        let client = ctx.signed_in()?;
        let gig = client.gig(id).await?;
        // A show that ended plays from its recording, whatever the reason the server gives
        // when there is none (no window, deleted) is the answer to show.
        let source = if gig.status == GigStatus::Ended {
            Source::Replay(client.replay(id).await?)
        } else {
            if self.start.is_some() {
                return Err(CliError::flag(
                    "--start",
                    "only a replay (a show that ended) can start later; a live show plays live",
                ));
            }
            Source::Live(client.playback(id).await?)
        };
        if self.print_url || ctx.json {
            return match &source {
                Source::Live(playback) if ctx.json => ctx.print_json(playback),
                Source::Replay(replay) if ctx.json => ctx.print_json(replay),
                Source::Live(playback) => {
                    println!("{}", playback.flv_url);
                    Ok(())
                }
                Source::Replay(replay) => {
                    println!("{}", replay.url);
                    Ok(())
                }
            };
        }
        let title = Some(format!("{} — BookMyGig", gig.title));
        let (url, options) = match &source {
            Source::Live(playback) => (
                playback.flv_url.clone(),
                PlayerOptions {
                    title,
                    ca_file: ctx.ca_file.clone(),
                    ..PlayerOptions::default()
                },
            ),
            Source::Replay(replay) => (
                replay.url.clone(),
                PlayerOptions {
                    start_s: self.start.map(f64::from),
                    ..PlayerOptions::replay(title, ctx.ca_file.clone())
                },
            ),
        };
        let (player, mut events) = Player::open(&url, options)
            .map_err(|err| CliError::Local(format!("cannot open the player: {err}")))?;
        match &source {
            Source::Live(_) => ctx.note(&format!(
                "Playing \"{}\"; close the window (or press q) to stop.",
                gig.title
            )),
            Source::Replay(replay) => ctx.note(&format!(
                "Playing the replay of \"{}\" ({}, watchable until {}); ←/→ seek, space \
                 pauses, q stops.",
                gig.title,
                crate::output::clock(replay.duration_ms),
                crate::output::when(replay.available_until)
            )),
        }
        let mut outcome = Ok(());
        while let Some(event) = events.recv().await {
            match &event {
                PlayerEvent::Loading => ctx.note("Connecting…"),
                PlayerEvent::Buffering => ctx.note_verbose("buffering"),
                PlayerEvent::LiveEdge { lag_s, action } => {
                    ctx.note_verbose(&format!("{lag_s:.1} s behind live: {action:?}"));
                }
                PlayerEvent::Ended => match &source {
                    Source::Live(_) => ctx.note("The stream ended."),
                    Source::Replay(_) => ctx.note("The replay ended."),
                },
                PlayerEvent::Error(reason) => {
                    outcome = Err(CliError::Server(format!(
                        "cannot play the stream: {reason}"
                    )));
                }
                PlayerEvent::Playing { .. } | PlayerEvent::Paused | PlayerEvent::Closed => {}
            }
            if event.is_last() {
                break;
            }
        }
        drop(player);
        outcome
    }
}
