//! `payouts` (a creator's payouts and their states) and `payouts request GIG_ID`.

use clap::{Args, Subcommand};

use super::gig::parse_id;
use crate::Result;
use crate::context::Context;
use crate::output::{Table, clip, when};

/// `bookmygig payouts [request GIG_ID]`.
#[derive(Debug, Args)]
pub struct Cmd {
    /// Without a subcommand: your payouts, newest first.
    #[command(subcommand)]
    action: Option<Action>,
}

/// What to do with payouts.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Send an ended gig's earnings to its payment pointer now (they are also sent by
    /// themselves a while after the gig ends).
    Request {
        /// The gig (as `gig mine` shows it).
        gig: String,
    },
}

impl Cmd {
    /// Lists payouts or requests one.
    ///
    /// # Errors
    /// A usage error on a bad id; the server's refusals; network failures.
    pub async fn run(self, ctx: &Context) -> Result<()> {
        let client = ctx.signed_in()?;
        match self.action {
            Some(Action::Request { gig }) => {
                let id = parse_id(&gig)?;
                let payout = client.request_payout(id).await?;
                if ctx.json {
                    return ctx.print_json(&payout);
                }
                println!(
                    "Paying {} to {} (payout {}); `bookmygig payouts` shows when it arrived.",
                    payout.amount, payout.to, payout.id
                );
                Ok(())
            }
            None => {
                let payouts = client.payouts().await?;
                if ctx.json {
                    return ctx.print_json(&payouts);
                }
                let mut table = Table::new(&["WHEN", "GIG", "AMOUNT", "TO", "STATE", "NOTE"]);
                for payout in &payouts.items {
                    table.row(vec![
                        when(payout.created_at),
                        payout.gig_id.to_string(),
                        payout.amount.to_string(),
                        clip(&payout.to, 40),
                        serde_json::to_value(payout.state)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        clip(payout.error.as_deref().unwrap_or(""), 50),
                    ]);
                }
                table.print("No payouts yet: earnings are paid out a while after each gig ends.");
                Ok(())
            }
        }
    }
}
