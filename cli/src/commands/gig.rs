//! `bookmygig gig …`: register, list, show, mine, key, cancel, earnings, replay, recordings.

use bookmygig_api::{Gig, GigId, GigPatch, GigStatus, Recording, StreamKeyInfo};
use bookmygig_client::{ClientError, GigListQuery};
use clap::{Args, Subcommand};

use super::interactive;
use super::register::{RegisterCmd, replay_window};
use crate::Result;
use crate::context::Context;
use crate::error::CliError;
use crate::form;
use crate::output::{Table, clip, clock, fields, size, when, window};

/// Gig commands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Register a gig (pays the listing fee) and print the OBS settings.
    Register(Box<RegisterCmd>),
    /// Browse upcoming and live gigs.
    List(ListCmd),
    /// Show one gig.
    Show(IdArg),
    /// The gigs you created.
    Mine,
    /// Show (or rotate) a gig's stream key and the OBS settings.
    Key(KeyCmd),
    /// Cancel a gig you created; every ticket is refunded.
    Cancel(CancelCmd),
    /// What a gig you created has earned.
    Earnings(IdArg),
    /// Show the recording of a gig you created; change its replay window (--hours) or delete
    /// it (--delete).
    Replay(ReplayCmd),
    /// Your stored recordings and the storage they use.
    Recordings,
}

/// `gig replay`.
#[derive(Debug, Args)]
pub struct ReplayCmd {
    /// The gig's id.
    id: String,
    /// Set the replay window: ticket holders may watch for N hours after the end, 0 (no
    /// replay) to 8760; also after the show.
    #[arg(long, value_name = "N", conflicts_with = "delete")]
    hours: Option<String>,
    /// Delete the recording for good (no one can watch it afterwards).
    #[arg(long)]
    delete: bool,
    /// With --delete: do not ask for confirmation.
    #[arg(long, short = 'y', requires = "delete")]
    yes: bool,
}

/// A gig id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The gig's id (as `gig list` shows it).
    id: String,
}

/// `gig list`.
#[derive(Debug, Args)]
pub struct ListCmd {
    /// Only this category: comedy, play, dance, fitness, music or workshop.
    #[arg(long)]
    category: Option<String>,
    /// Only gigs whose title, description or billed name holds this text.
    #[arg(long)]
    search: Option<String>,
    /// Only gigs that are live now.
    #[arg(long)]
    live: bool,
    /// Most gigs to show (1–100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=100))]
    limit: u16,
}

/// `gig key`.
#[derive(Debug, Args)]
pub struct KeyCmd {
    /// The gig's id.
    id: String,
    /// Issue a fresh key; the old one stops working at once.
    #[arg(long)]
    rotate: bool,
}

/// `gig cancel`.
#[derive(Debug, Args)]
pub struct CancelCmd {
    /// The gig's id.
    id: String,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
}

impl Cmd {
    /// Runs the gig command.
    ///
    /// # Errors
    /// Usage errors, the server's refusals, network failures.
    pub async fn run(self, ctx: &Context) -> Result<()> {
        match self {
            Cmd::Register(cmd) => cmd.run(ctx).await,
            Cmd::List(cmd) => cmd.run(ctx).await,
            Cmd::Show(arg) => show(ctx, parse_id(&arg.id)?).await,
            Cmd::Mine => mine(ctx).await,
            Cmd::Key(cmd) => cmd.run(ctx).await,
            Cmd::Cancel(cmd) => cmd.run(ctx).await,
            Cmd::Earnings(arg) => earnings(ctx, parse_id(&arg.id)?).await,
            Cmd::Replay(cmd) => cmd.run(ctx).await,
            Cmd::Recordings => recordings(ctx).await,
        }
    }
}

/// A gig id from the command line.
///
/// # Errors
/// A usage error naming the text when it is not a UUID.
pub fn parse_id(text: &str) -> Result<GigId> {
    text.trim().parse().map_err(|_| {
        CliError::Usage(format!(
            "`{text}` is not a gig id (a UUID, as `bookmygig gig list` shows)"
        ))
    })
}

impl ListCmd {
    async fn run(self, ctx: &Context) -> Result<()> {
        let category = self
            .category
            .as_deref()
            .map(form::category)
            .transpose()
            .map_err(|reason| CliError::flag("--category", reason))?;
        if let Some(search) = &self.search {
            form::search(search).map_err(|reason| CliError::flag("--search", reason))?;
        }
        let query = GigListQuery {
            category,
            q: self.search,
            status: self.live.then_some(GigStatus::Live),
            limit: Some(usize::from(self.limit)),
            ..GigListQuery::default()
        };
        let page = ctx.maybe_signed_in()?.list_gigs(&query).await?;
        if ctx.json {
            return ctx.print_json(&page);
        }
        gig_table(&page.items).print("No gigs match.");
        if page.next_cursor.is_some() {
            ctx.note("(more gigs: raise --limit or narrow the filters)");
        }
        Ok(())
    }
}

/// The table of `gig list` and `gig mine`.
fn gig_table(gigs: &[Gig]) -> Table {
    let mut table = Table::new(&[
        "ID",
        "WHEN",
        "TITLE",
        "BY",
        "CATEGORY",
        "PRICE",
        "SEATS LEFT",
        "STATUS",
    ]);
    for gig in gigs {
        table.row(vec![
            gig.id.to_string(),
            when(gig.starts_at),
            clip(&gig.title, 40),
            clip(&gig.creator_name, 24),
            gig.category.to_string(),
            gig.price.to_string(),
            gig.seats_left
                .map_or_else(|| "unlimited".to_owned(), |n| n.to_string()),
            status_cell(gig),
        ]);
    }
    table
}

/// A gig's status for tables, with the end of its replay window when it has one.
fn status_cell(gig: &Gig) -> String {
    match gig.replay_until {
        Some(until) => format!("{}, replay until {}", gig.status.as_str(), when(until)),
        None => gig.status.as_str().to_owned(),
    }
}

async fn show(ctx: &Context, id: GigId) -> Result<()> {
    let client = ctx.maybe_signed_in()?;
    let gig = client.gig(id).await?;
    if ctx.json {
        return ctx.print_json(&gig);
    }
    let mut lines = vec![
        ("Title:", gig.title.clone()),
        ("By:", gig.creator_name.clone()),
        ("ID:", gig.id.to_string()),
        ("Category:", gig.category.to_string()),
        ("When:", window(gig.starts_at, gig.ends_at)),
        ("Status:", gig.status.as_str().to_owned()),
        ("Price:", gig.price.to_string()),
        (
            "Seats left:",
            match (gig.seats_left, gig.capacity) {
                (Some(left), Some(capacity)) => format!("{left} of {capacity}"),
                _ => "unlimited".to_owned(),
            },
        ),
        (
            "Payments to:",
            format!("{} ({})", gig.payment_pointer.as_str(), gig.payment_url),
        ),
        (
            "Streaming rate:",
            format!("{}/hour watched", gig.micropayment_rate),
        ),
    ];
    if let Some(until) = gig.replay_until {
        lines.push((
            "Replay:",
            format!("until {} (`bookmygig play {id}`)", when(until)),
        ));
    } else if gig.status != GigStatus::Ended {
        lines.push(("Replay:", replay_window(gig.replay_hours)));
    }
    if gig.status == GigStatus::Live
        && let Ok(stream) = client.stream_status(id).await
    {
        lines.push(("Viewers:", stream.viewers.to_string()));
        if let Some(video) = stream.video {
            let size = match (video.width, video.height) {
                (Some(w), Some(h)) => format!(" {w}x{h}"),
                _ => String::new(),
            };
            lines.push(("Video:", format!("{}{size}", video.codec)));
        }
    }
    if gig.stream_key.is_some() {
        lines.push((
            "Stream key:",
            format!("hidden; `bookmygig gig key {id}` shows it"),
        ));
    }
    print!("{}", fields(&lines));
    if !gig.description.is_empty() {
        println!("\n{}", gig.description);
    }
    Ok(())
}

async fn mine(ctx: &Context) -> Result<()> {
    let page = ctx.signed_in()?.my_gigs().await?;
    if ctx.json {
        return ctx.print_json(&page);
    }
    gig_table(&page.items).print("You have not registered a gig yet: `bookmygig gig register`.");
    Ok(())
}

impl KeyCmd {
    async fn run(self, ctx: &Context) -> Result<()> {
        let id = parse_id(&self.id)?;
        let client = ctx.signed_in()?;
        let info = if self.rotate {
            client.rotate_stream_key(id).await?
        } else {
            let gig = client.gig(id).await?;
            match (gig.stream_key, gig.rtmp_url) {
                (Some(stream_key), Some(rtmp_url)) => StreamKeyInfo {
                    stream_key,
                    rtmp_url,
                },
                _ => {
                    return Err(CliError::Usage(format!(
                        "only the creator of gig {id} can see its stream key"
                    )));
                }
            }
        };
        if ctx.json {
            return ctx.print_json(&info);
        }
        if self.rotate {
            println!("New stream key issued; the old one no longer works.\n");
        }
        print!("{}", obs_block(&info.rtmp_url, info.stream_key.expose()));
        Ok(())
    }
}

/// The OBS settings and a one-line ffmpeg test of them.
pub fn obs_block(rtmp_url: &str, stream_key: &str) -> String {
    format!(
        "OBS settings (Settings → Stream):\n{}\n\
         Test the stream with ffmpeg (a test picture and tone, until Ctrl-C):\n  \
         ffmpeg -re -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine \
         -c:v libx264 -preset veryfast -g 60 -c:a aac -f flv {rtmp_url}/{stream_key}\n",
        fields(&[
            ("  Service:", "Custom".to_owned()),
            ("  Server:", rtmp_url.to_owned()),
            ("  Stream Key:", stream_key.to_owned()),
        ])
    )
}

impl CancelCmd {
    async fn run(self, ctx: &Context) -> Result<()> {
        let id = parse_id(&self.id)?;
        let client = ctx.signed_in()?;
        if !self.yes {
            if !interactive() {
                return Err(CliError::flag(
                    "--yes",
                    "cancelling refunds every ticket; confirm with --yes (stdin is not a terminal)",
                ));
            }
            let gig = client.gig(id).await?;
            let confirmed = dialoguer::Confirm::new()
                .with_prompt(format!(
                    "Cancel \"{}\" ({})? Every ticket is refunded.",
                    gig.title,
                    when(gig.starts_at)
                ))
                .default(false)
                .interact()
                .map_err(|err| CliError::Local(format!("cannot ask: {err}")))?;
            if !confirmed {
                return Err(CliError::Usage("not cancelled".to_owned()));
            }
        }
        let gig = client.cancel_gig(id).await?;
        if ctx.json {
            return ctx.print_json(&gig);
        }
        println!("Cancelled \"{}\"; every ticket was refunded.", gig.title);
        Ok(())
    }
}

impl ReplayCmd {
    async fn run(self, ctx: &Context) -> Result<()> {
        let id = parse_id(&self.id)?;
        let client = ctx.signed_in()?;
        if let Some(hours) = &self.hours {
            let hours = form::replay_hours(hours).map_err(|r| CliError::flag("--hours", r))?;
            let patch = GigPatch {
                replay_hours: Some(hours),
                ..GigPatch::default()
            };
            let gig = client.update_gig(id, &patch).await?;
            if ctx.json {
                return ctx.print_json(&gig);
            }
            println!(
                "Replay window of \"{}\": {}.",
                gig.title,
                replay_window(gig.replay_hours)
            );
            if let Some(until) = gig.replay_until {
                println!("Ticket holders can watch it until {}.", when(until));
            }
            return Ok(());
        }
        if self.delete {
            return delete_recording(ctx, id, self.yes).await;
        }
        let recording = client.recording(id).await?;
        if ctx.json {
            return ctx.print_json(&recording);
        }
        print!("{}", fields(&recording_lines(&recording)));
        Ok(())
    }
}

/// What `gig replay ID` prints of a recording.
fn recording_lines(recording: &Recording) -> Vec<(&'static str, String)> {
    let mut lines = vec![
        (
            "Gig:",
            format!("{} ({})", recording.title, recording.gig_id),
        ),
        ("Recorded from:", when(recording.recorded_from)),
        ("Duration:", clock(recording.duration_ms)),
        ("Size:", size(recording.bytes)),
        (
            "Gaps:",
            match recording.gaps {
                0 => "none".to_owned(),
                1 => "1 (the stream dropped once and came back)".to_owned(),
                n => format!("{n} (the stream dropped and came back)"),
            },
        ),
    ];
    if recording.lost_segments > 0 {
        lines.push((
            "Lost:",
            format!(
                "{} segments (storage was too slow)",
                recording.lost_segments
            ),
        ));
    }
    if recording.trimmed_segments > 0 {
        lines.push((
            "Trimmed:",
            format!(
                "{} segments from the start (longer than the server keeps)",
                recording.trimmed_segments
            ),
        ));
    }
    lines.push(("Replay window:", replay_window(recording.replay_hours)));
    lines.push((
        "Replay until:",
        match recording.replay_until {
            Some(until) => when(until),
            None => "no replay (ticket holders cannot watch it)".to_owned(),
        },
    ));
    lines
}

/// `gig replay ID --delete`: asks first, as cancelling does, unless `yes`.
async fn delete_recording(ctx: &Context, id: GigId, yes: bool) -> Result<()> {
    let client = ctx.signed_in()?;
    let recording = client.recording(id).await?;
    if !yes {
        if !interactive() {
            return Err(CliError::flag(
                "--yes",
                "deleting a recording cannot be undone; confirm with --yes (stdin is not a terminal)",
            ));
        }
        let confirmed = dialoguer::Confirm::new()
            .with_prompt(format!(
                "Delete the recording of \"{}\" ({}, {})? No one can watch it afterwards.",
                recording.title,
                clock(recording.duration_ms),
                size(recording.bytes)
            ))
            .default(false)
            .interact()
            .map_err(|err| CliError::Local(format!("cannot ask: {err}")))?;
        if !confirmed {
            return Err(CliError::Usage("not deleted".to_owned()));
        }
    }
    client.delete_recording(id).await?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({ "gig_id": id, "deleted": true }));
    }
    println!(
        "Deleted the recording of \"{}\" ({} freed).",
        recording.title,
        size(recording.bytes)
    );
    Ok(())
}

/// `gig recordings`: the creator's recordings and their storage.
async fn recordings(ctx: &Context) -> Result<()> {
    let all = ctx.signed_in()?.my_recordings().await?;
    if ctx.json {
        return ctx.print_json(&all);
    }
    let mut table = Table::new(&[
        "ID",
        "RECORDED",
        "TITLE",
        "DURATION",
        "SIZE",
        "GAPS",
        "REPLAY UNTIL",
    ]);
    for recording in &all.recordings {
        table.row(vec![
            recording.gig_id.to_string(),
            when(recording.recorded_from),
            clip(&recording.title, 40),
            clock(recording.duration_ms),
            size(recording.bytes),
            recording.gaps.to_string(),
            recording
                .replay_until
                .map_or_else(|| "no replay".to_owned(), when),
        ]);
    }
    table.print("No recordings: your shows are recorded while they are live.");
    if !all.recordings.is_empty() {
        println!(
            "\n{} recording{}, {} stored.",
            all.recordings.len(),
            if all.recordings.len() == 1 { "" } else { "s" },
            size(all.total_bytes)
        );
    }
    Ok(())
}

/// `gig earnings ID`, from `GET /me/earnings` (servers older than that endpoint answer 404).
async fn earnings(ctx: &Context, id: GigId) -> Result<()> {
    let client = ctx.signed_in()?;
    let all = match client.earnings().await {
        Ok(all) => all,
        Err(ClientError::Problem(p)) if p.status == 404 || p.status == 405 => {
            return Err(not_available(ctx));
        }
        Err(ClientError::UnexpectedStatus {
            status: 404 | 405, ..
        }) => return Err(not_available(ctx)),
        Err(err) => return Err(err.into()),
    };
    let Some(gig) = all.gigs.into_iter().find(|g| g.gig_id == id) else {
        return Err(CliError::Usage(format!(
            "gig {id} is not one of yours (`bookmygig gig mine` lists them)"
        )));
    };
    if ctx.json {
        return ctx.print_json(&gig);
    }
    print!(
        "{}",
        fields(&[
            ("Gig:", format!("{} ({})", gig.title, gig.gig_id)),
            ("Status:", gig.status.as_str().to_owned()),
            ("Tickets sold:", gig.tickets_sold.to_string()),
            ("Ticket revenue:", gig.ticket_revenue.to_string()),
            ("Refunds:", gig.refunds.to_string()),
            ("Micropayments:", gig.micropayments.to_string()),
            ("Listing fee:", gig.listing_fee.to_string()),
            ("Net:", gig.net.to_string()),
            (
                "Paid to:",
                format!("{} ({})", gig.payment_pointer.as_str(), gig.payment_url)
            ),
        ])
    );
    Ok(())
}

/// The error of a server without `GET /me/earnings`.
fn not_available(ctx: &Context) -> CliError {
    CliError::Server(format!(
        "earnings are not available on this server yet ({} has no GET /api/v1/me/earnings)",
        ctx.server
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obs_block_holds_server_and_key() {
        let block = obs_block("rtmp://127.0.0.1:1935/live", "k3y");
        assert!(block.contains("Service:     Custom"));
        assert!(block.contains("Server:      rtmp://127.0.0.1:1935/live"));
        assert!(block.contains("Stream Key:  k3y"));
        assert!(block.contains("-f flv rtmp://127.0.0.1:1935/live/k3y"));
    }
}
