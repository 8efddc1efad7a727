//! `wallet` (balance and history) and `wallet topup AMOUNT`.

use std::time::Duration;

use bookmygig_api::limits::TOPUP_MAX;
use bookmygig_api::{Money, TopUpState, TopUpStatus};
use bookmygig_client::{Client, TopUpStarted, new_idempotency_key};
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
    /// Add funds: from your Open Payments wallet (`--from`) on a server paid with real money,
    /// or play money from a server's development provider.
    Topup(TopupCmd),
}

/// `wallet topup`.
#[derive(Debug, Args)]
pub struct TopupCmd {
    /// Dollars to add, e.g. 99 or 12.50 (at most 10000).
    #[arg(allow_hyphen_values = true)]
    amount: String,
    /// Your wallet address or payment pointer (`https://wallet.example/you` or
    /// `$wallet.example/you`): the server asks your wallet for the payment and prints the page
    /// where you approve it, then waits until the money arrived.
    #[arg(long, value_name = "WALLET")]
    from: Option<String>,
    /// Print the approval page and return at once (check later with `bookmygig wallet`).
    #[arg(long, requires = "from")]
    no_wait: bool,
}

/// How often a pending top-up is asked about.
const POLL_EVERY: Duration = Duration::from_secs(1);

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
        let client = ctx.signed_in()?;
        let started = client
            .start_top_up(amount, self.from.as_deref(), Some(&new_idempotency_key()))
            .await?;
        let pending = match started {
            TopUpStarted::Credited(receipt) => {
                if ctx.json {
                    return ctx.print_json(&receipt);
                }
                println!(
                    "Added {} ({} provider). Balance: {}.",
                    receipt.entry.amount, receipt.provider, receipt.balance
                );
                return Ok(());
            }
            TopUpStarted::Pending(pending) => pending,
        };
        if let Some(url) = &pending.consent_url {
            let ask = format!(
                "Approve the payment of {} from {} in your wallet:\n  {url}",
                pending.amount, pending.from
            );
            // With --json, stdout carries only JSON: the page goes to stderr.
            if ctx.json {
                eprintln!("{ask}");
            } else {
                println!("{ask}");
            }
            bookmygig_cli::browser::open_in_browser(url);
        }
        if self.no_wait {
            if ctx.json {
                return ctx.print_json(&pending);
            }
            ctx.note("Not waiting: `bookmygig wallet` shows the top-up once the money arrived.");
            return Ok(());
        }
        ctx.note("Waiting for the payment (Ctrl-C stops waiting; the top-up goes on)…");
        let done = wait_for(&client, pending).await?;
        if ctx.json {
            ctx.print_json(&done)?;
        }
        match done.state {
            TopUpState::Completed => {
                // Offered next time by the TUI's top-up dialog (a failure to save is no error).
                let _ = ctx.store.remember_topup_wallet(&ctx.server, &done.from);
                if !ctx.json {
                    let balance = client.wallet(None, Some(1)).await?.balance;
                    println!(
                        "Added {} from {}. Balance: {balance}.",
                        done.amount, done.from
                    );
                }
                Ok(())
            }
            state => Err(CliError::Usage(format!(
                "the top-up {}: {}; nothing was added",
                match state {
                    TopUpState::Declined => "was declined",
                    TopUpState::Expired => "expired",
                    _ => "failed",
                },
                done.error.as_deref().unwrap_or("no reason given")
            ))),
        }
    }
}

/// Polls `pending` until it is final.
async fn wait_for(client: &Client, mut pending: TopUpStatus) -> Result<TopUpStatus> {
    while !pending.state.is_final() {
        tokio::time::sleep(POLL_EVERY).await;
        pending = client.top_up_status(pending.id).await?;
    }
    Ok(pending)
}
