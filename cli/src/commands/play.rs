//! `bookmygig play ID`: asks the server for a signed playback URL and plays it in an mpv window
//! (the [`player`](bookmygig_cli::player) module), until the window closes or the stream ends.

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
        let playback = client.playback(id).await?;
        if self.print_url || ctx.json {
            if ctx.json {
                return ctx.print_json(&playback);
            }
            println!("{}", playback.flv_url);
            return Ok(());
        }
        let options = PlayerOptions {
            title: Some(format!("{} — BookMyGig", gig.title)),
            ca_file: ctx.ca_file.clone(),
            ..PlayerOptions::default()
        };
        let (player, mut events) = Player::open(&playback.flv_url, options)
            .map_err(|err| CliError::Local(format!("cannot open the player: {err}")))?;
        ctx.note(&format!(
            "Playing \"{}\"; close the window (or press q) to stop.",
            gig.title
        ));
        let mut outcome = Ok(());
        while let Some(event) = events.recv().await {
            match &event {
                PlayerEvent::Loading => ctx.note("Connecting…"),
                PlayerEvent::Buffering => ctx.note_verbose("buffering"),
                PlayerEvent::LiveEdge { lag_s, action } => {
                    ctx.note_verbose(&format!("{lag_s:.1} s behind live: {action:?}"));
                }
                PlayerEvent::Ended => ctx.note("The stream ended."),
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
