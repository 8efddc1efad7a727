//! Tickets: `ticket buy ID` and `tickets`.

use bookmygig_client::new_idempotency_key;
use clap::{Args, Subcommand};

use super::gig::parse_id;
use crate::Result;
use crate::context::Context;
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
///
/// # Errors
/// A usage error when not signed in; network failures.
pub async fn list(ctx: &Context) -> Result<()> {
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
