//! `wallet` (balance and history) and `wallet topup AMOUNT`.

use bookmygig_api::Money;
use bookmygig_api::limits::TOPUP_MAX;
use bookmygig_client::new_idempotency_key;
use clap::{Args, Subcommand};

use crate::Result;
use crate::context::Context;
use crate::error::CliError;
use crate::output::{Table, clip, when};

/// `bookmygig wallet [topup AMOUNT]`.
#[derive(Debug, Args)]
pub struct Cmd {
    /// Without a subcommand: the balance and recent history.
    #[command(subcommand)]
    action: Option<Action>,
    /// How many history entries to show (1–100).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=100))]
    limit: u16,
}

/// What to do with the wallet.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Add funds (the server's development provider credits play money).
    Topup(TopupCmd),
}

/// `wallet topup`.
#[derive(Debug, Args)]
pub struct TopupCmd {
    /// Dollars to add, e.g. 99 or 12.50 (at most 10000).
    #[arg(allow_hyphen_values = true)]
    amount: String,
}

impl Cmd {
    /// Shows the wallet or tops it up.
    ///
    /// # Errors
    /// A usage error on a bad amount; network failures.
    pub async fn run(self, ctx: &Context) -> Result<()> {
        match self.action {
            Some(Action::Topup(topup)) => topup.run(ctx).await,
            None => {
                let wallet = ctx
                    .signed_in()?
                    .wallet(None, Some(usize::from(self.limit)))
                    .await?;
                if ctx.json {
                    return ctx.print_json(&wallet);
                }
                println!("Balance: {}\n", wallet.balance);
                let mut table = Table::new(&["WHEN", "KIND", "AMOUNT", "BALANCE", "MEMO"]);
                for entry in &wallet.entries {
                    table.row(vec![
                        when(entry.at),
                        serde_json::to_value(entry.kind)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        entry.amount.to_string(),
                        entry.balance_after.to_string(),
                        clip(&entry.memo, 50),
                    ]);
                }
                table.print("No history yet.");
                Ok(())
            }
        }
    }
}

impl TopupCmd {
    async fn run(self, ctx: &Context) -> Result<()> {
        let amount: Money = self
            .amount
            .parse()
            .map_err(|err| CliError::flag("AMOUNT", format!("`{}`: {err}", self.amount)))?;
        if amount <= Money::ZERO || amount > TOPUP_MAX {
            return Err(CliError::flag(
                "AMOUNT",
                format!("more than $0.00 and at most {TOPUP_MAX} (got {amount})"),
            ));
        }
        let receipt = ctx
            .signed_in()?
            .top_up(amount, Some(&new_idempotency_key()))
            .await?;
        if ctx.json {
            return ctx.print_json(&receipt);
        }
        println!(
            "Added {} ({} provider). Balance: {}.",
            receipt.entry.amount, receipt.provider, receipt.balance
        );
        Ok(())
    }
}
