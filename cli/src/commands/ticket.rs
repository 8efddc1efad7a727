//! Tickets: `ticket buy ID` and `tickets` (a table, or `--ics`: an iCalendar file of the shows).

use std::io::Write as _;
use std::path::PathBuf;

use bookmygig_api::{GigStatus, MyTicket, TicketStatus};
use bookmygig_client::new_idempotency_key;
use clap::{Args, Subcommand};
use time::OffsetDateTime;

use super::calendar::{self, Event};
use super::gig::parse_id;
use crate::Result;
use crate::context::Context;
use crate::error::CliError;
use crate::output::{Table, clip, when};

/// Ticket commands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Buy a ticket for a gig (the price is taken from your wallet).
    Buy(BuyCmd),
}

/// `ticket buy`.
#[derive(Debug, Args)]
pub struct BuyCmd {
    /// The gig's id.
    id: String,
}

impl Cmd {
    /// Runs the ticket command.
    ///
    /// # Errors
    /// The server's refusals (`sold-out`, `already-holder`, `insufficient-funds`, …).
    pub async fn run(self, ctx: &Context) -> Result<()> {
        match self {
            Cmd::Buy(cmd) => {
                let id = parse_id(&cmd.id)?;
                let client = ctx.signed_in()?;
                // One key per purchase, so the client's own retry never charges twice.
                let purchased = client.buy_ticket(id, &new_idempotency_key()).await?;
                if ctx.json {
                    return ctx.print_json(&purchased);
                }
                println!(
                    "Bought ticket {} for {} (gig {}).",
                    purchased.ticket.id, purchased.ticket.price, purchased.ticket.gig_id
                );
                ctx.note(&format!(
                    "Watch it with `bookmygig play {id}` once it is live."
                ));
                Ok(())
            }
        }
    }
}

/// `bookmygig tickets`.
#[derive(Debug, Args)]
pub struct ListCmd {
    /// Write your tickets' shows as an iCalendar (RFC 5545) file instead: to FILE, or to
    /// stdout with `-` or no FILE; import it in your calendar program.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    ics: Option<PathBuf>,
}

impl ListCmd {
    /// Lists the tickets, or writes the calendar.
    ///
    /// # Errors
    /// A usage error when not signed in; network failures; a file that cannot be written.
    pub async fn run(self, ctx: &Context) -> Result<()> {
        match self.ics {
            Some(path) => ics(ctx, &path).await,
            None => list(ctx).await,
        }
    }
}

/// `bookmygig tickets --ics FILE`: one event per ticket.
async fn ics(ctx: &Context, path: &std::path::Path) -> Result<()> {
    let page = ctx.signed_in()?.my_tickets().await?;
    let events: Vec<Event> = page
        .items
        .iter()
        .map(|mine| event(&ctx.server, mine))
        .collect();
    let text = calendar::calendar(&events, OffsetDateTime::now_utc());
    if path.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|err| CliError::Local(format!("cannot write the calendar: {err}")))?;
        return Ok(());
    }
    std::fs::write(path, text).map_err(|err| {
        CliError::flag("--ics", format!("cannot write {}: {err}", path.display()))
    })?;
    ctx.note(&format!(
        "Wrote {} show{} to {}.",
        events.len(),
        if events.len() == 1 { "" } else { "s" },
        path.display()
    ));
    Ok(())
}

/// The calendar event of one ticket on `server`.
fn event(server: &str, mine: &MyTicket) -> Event {
    let gig = &mine.gig;
    let play = format!("bookmygig --server {server} play {}", gig.id);
    let mut description = format!("Watch it live: {play}\nBy {}.", gig.creator_name);
    if !gig.description.is_empty() {
        description.push_str("\n\n");
        description.push_str(&gig.description);
    }
    Event {
        // The ticket's id is unique; the server's host keeps it unique across servers.
        uid: format!("{}@{}", mine.ticket.id, host(server)),
        starts_at: gig.starts_at,
        ends_at: gig.ends_at,
        summary: format!("{} ({})", gig.title, gig.creator_name),
        description,
        url: format!("{server}/api/v1/gigs/{}", gig.id),
        cancelled: gig.status == GigStatus::Cancelled
            || mine.ticket.status == TicketStatus::Refunded,
    }
}

/// The host (and port) of a base URL: `http://127.0.0.1:8080` → `127.0.0.1:8080`.
fn host(server: &str) -> &str {
    let rest = server.split_once("://").map_or(server, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest)
}

/// `bookmygig tickets`: the table.
async fn list(ctx: &Context) -> Result<()> {
    let page = ctx.signed_in()?.my_tickets().await?;
    if ctx.json {
        return ctx.print_json(&page);
    }
    let mut table = Table::new(&["GIG", "WHEN", "TITLE", "PAID", "TICKET", "GIG STATUS"]);
    for mine in &page.items {
        table.row(vec![
            mine.gig.id.to_string(),
            when(mine.gig.starts_at),
            clip(&mine.gig.title, 40),
            mine.ticket.price.to_string(),
            serde_json::to_value(mine.ticket.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            mine.gig.status.as_str().to_owned(),
        ]);
    }
    table.print("No tickets yet: `bookmygig ticket buy ID`.");
    Ok(())
}
