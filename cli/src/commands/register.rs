//! `bookmygig gig register`: the "List your next gig" form on the command line.
//!
//! Every field is a flag; a missing one is asked for at a prompt when a person is at the
//! terminal (re-asking until the answer passes the server's rules, see [`crate::form`]) and is
//! a usage error otherwise. Then the listing fee is confirmed (`--yes` skips that), the gig is
//! created, and the OBS settings are printed with a one-line ffmpeg test.

use bookmygig_api::{EntryKind, Gig, NewGig};
use bookmygig_client::Client;
use clap::Args;
use time::OffsetDateTime;

use super::gig::obs_block;
use super::interactive;
use crate::Result;
use crate::context::Context;
use crate::error::CliError;
use crate::form::{self, Zone};
use crate::output::{fields, window};

/// `gig register`.
#[derive(Debug, Args)]
pub struct RegisterCmd {
    /// The performer's name as billed (1–80 characters).
    #[arg(long)]
    creator_name: Option<String>,
    /// Title of the show (1–120 characters).
    #[arg(long)]
    title: Option<String>,
    /// What the audience can expect (up to 5,000 characters) [default when not asked: empty].
    #[arg(long)]
    description: Option<String>,
    /// comedy, play, dance, fitness, music or workshop.
    #[arg(long)]
    category: Option<String>,
    /// Ticket price in dollars, e.g. 7.50 (0 for free, at most 10000).
    #[arg(long, allow_hyphen_values = true)]
    price: Option<String>,
    /// The day of the show, YYYY-MM-DD.
    #[arg(long)]
    date: Option<String>,
    /// Start time, HH:MM (24-hour clock) in the local zone or --tz.
    #[arg(long)]
    start: Option<String>,
    /// End time, HH:MM, after the start on the same date (at most 24 hours later).
    #[arg(long)]
    end: Option<String>,
    /// Read --date/--start/--end in this UTC offset (UTC, +02:00, -05:30) instead of the local zone.
    #[arg(long, allow_hyphen_values = true)]
    tz: Option<String>,
    /// Seats on sale, 1–1000000, or `unlimited` [default when not asked: unlimited].
    #[arg(long)]
    capacity: Option<String>,
    /// Interledger payment pointer where earnings go, e.g. $wallet.example/alice.
    #[arg(long)]
    payment_pointer: Option<String>,
    /// Streaming micropayment rate in dollars per hour watched (0–36) [default: the server's].
    #[arg(long, allow_hyphen_values = true)]
    micropayment_rate: Option<String>,
    /// Hours after the end during which ticket holders may watch the recording, 0 (no replay)
    /// to 8760 [default: 48].
    #[arg(long, value_name = "N")]
    replay_hours: Option<String>,
    /// Pay the listing fee without asking.
    #[arg(long, short = 'y')]
    yes: bool,
}

/// Fills a field from its flag, a prompt, or (for optional fields) a default.
struct Asker {
    /// Whether a person can be asked.
    interactive: bool,
}

impl Asker {
    /// The value of `flag`: checked from `given`, else asked for with `prompt`, else
    /// `fallback` (the default of an optional field) or a usage error.
    fn field<T>(
        &self,
        flag: &str,
        given: Option<&str>,
        prompt: &str,
        fallback: Option<&str>,
        check: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T> {
        if let Some(value) = given {
            return check(value).map_err(|reason| CliError::flag(flag, reason));
        }
        if self.interactive {
            let answer: String = dialoguer::Input::new()
                .with_prompt(prompt)
                .allow_empty(fallback.is_some())
                .validate_with(|text: &String| check(text).map(drop))
                .interact_text()
                .map_err(|err| CliError::Local(format!("cannot read the answer: {err}")))?;
            return check(&answer).map_err(|reason| CliError::flag(flag, reason));
        }
        match fallback {
            Some(value) => check(value).map_err(|reason| CliError::flag(flag, reason)),
            None => Err(CliError::flag(
                flag,
                "missing (stdin is not a terminal, so it cannot be asked for)",
            )),
        }
    }
}

impl RegisterCmd {
    /// Checks the form, confirms the fee, registers the gig and prints what OBS needs.
    ///
    /// # Errors
    /// A usage error naming the first bad or missing field (nothing is sent then); the
    /// server's refusal (e.g. `insufficient-funds`); network failures.
    pub async fn run(self, ctx: &Context) -> Result<()> {
        let zone = match &self.tz {
            Some(tz) => form::zone(tz).map_err(|reason| CliError::flag("--tz", reason))?,
            None => Zone::Local,
        };
        let client = ctx.signed_in()?;
        let now = OffsetDateTime::now_utc();
        // Every flag given is checked before anything is asked, so a script's mistake is
        // reported at once, and a person is not walked through a form that cannot be sent.
        self.check_given(zone, now)?;
        let ask = Asker {
            interactive: interactive(),
        };
        let creator_name = ask.field(
            "--creator-name",
            self.creator_name.as_deref(),
            "Creator name (as billed)",
            None,
            form::creator_name,
        )?;
        let title = ask.field("--title", self.title.as_deref(), "Title", None, form::title)?;
        let description = ask.field(
            "--description",
            self.description.as_deref(),
            "Description (optional)",
            Some(""),
            form::description,
        )?;
        let category = ask.field(
            "--category",
            self.category.as_deref(),
            "Category (comedy, play, dance, fitness, music, workshop)",
            None,
            form::category,
        )?;
        let price = ask.field(
            "--price",
            self.price.as_deref(),
            "Ticket price in dollars (e.g. 7.50)",
            None,
            form::price,
        )?;
        let zone_name = match zone {
            Zone::Local => "local time".to_owned(),
            Zone::Fixed(offset) => format!("UTC{offset}"),
        };
        let date = ask.field(
            "--date",
            self.date.as_deref(),
            "Date (YYYY-MM-DD)",
            None,
            |text| form::future_date(text, zone, now),
        )?;
        let starts_at = ask.field(
            "--start",
            self.start.as_deref(),
            &format!("Start (HH:MM, {zone_name})"),
            None,
            |text| form::start(date, text, zone, OffsetDateTime::now_utc()),
        )?;
        let ends_at = ask.field(
            "--end",
            self.end.as_deref(),
            &format!("End (HH:MM, {zone_name})"),
            None,
            |text| form::end(date, text, zone, starts_at),
        )?;
        let capacity = ask.field(
            "--capacity",
            self.capacity.as_deref(),
            "Capacity (seats; empty for unlimited)",
            Some(""),
            form::capacity,
        )?;
        let payment_pointer = ask.field(
            "--payment-pointer",
            self.payment_pointer.as_deref(),
            "Payment pointer for earnings (e.g. $wallet.example/alice)",
            None,
            form::payment_pointer,
        )?;
        let micropayment_rate = ask.field(
            "--micropayment-rate",
            self.micropayment_rate.as_deref(),
            "Streaming rate in dollars per hour watched (empty for the server's default)",
            Some(""),
            |text| {
                if text.trim().is_empty() {
                    Ok(None)
                } else {
                    form::micropayment_rate(text).map(Some)
                }
            },
        )?;
        // Not asked for: most creators keep the default, and `gig replay ID --hours N` changes
        // it later.
        let replay_hours = self
            .replay_hours
            .as_deref()
            .map(form::replay_hours)
            .transpose()
            .map_err(|reason| CliError::flag("--replay-hours", reason))?;
        let new_gig = NewGig {
            creator_name,
            title,
            description,
            category,
            price,
            starts_at,
            ends_at,
            capacity,
            payment_pointer: payment_pointer.as_str().to_owned(),
            micropayment_rate,
            replay_hours,
        };
        confirm_fee(&client, &new_gig, self.yes, ask.interactive).await?;
        let gig = client.create_gig(&new_gig).await?;
        if ctx.json {
            return ctx.print_json(&gig);
        }
        print_registered(ctx, &client, &gig).await
    }

    /// Checks every flag that was given (the time window only as far as its given parts go).
    fn check_given(&self, zone: Zone, now: OffsetDateTime) -> Result<()> {
        fn given<T>(
            flag: &str,
            value: Option<&String>,
            check: impl Fn(&str) -> Result<T, String>,
        ) -> Result<Option<T>> {
            value
                .map(|v| check(v).map_err(|reason| CliError::flag(flag, reason)))
                .transpose()
        }
        given(
            "--creator-name",
            self.creator_name.as_ref(),
            form::creator_name,
        )?;
        given("--title", self.title.as_ref(), form::title)?;
        given(
            "--description",
            self.description.as_ref(),
            form::description,
        )?;
        given("--category", self.category.as_ref(), form::category)?;
        given("--price", self.price.as_ref(), form::price)?;
        let date = given("--date", self.date.as_ref(), |t| {
            form::future_date(t, zone, now)
        })?;
        given("--start", self.start.as_ref(), form::clock)?;
        given("--end", self.end.as_ref(), form::clock)?;
        if let (Some(date), Some(start)) = (date, &self.start) {
            let starts_at =
                form::start(date, start, zone, now).map_err(|r| CliError::flag("--start", r))?;
            if let Some(end) = &self.end {
                form::end(date, end, zone, starts_at).map_err(|r| CliError::flag("--end", r))?;
            }
        }
        given("--capacity", self.capacity.as_ref(), form::capacity)?;
        given(
            "--payment-pointer",
            self.payment_pointer.as_ref(),
            form::payment_pointer,
        )?;
        given(
            "--micropayment-rate",
            self.micropayment_rate.as_ref(),
            form::micropayment_rate,
        )?;
        given(
            "--replay-hours",
            self.replay_hours.as_ref(),
            form::replay_hours,
        )?;
        Ok(())
    }
}

/// Shows the listing fee and asks to go on, unless `yes`.
async fn confirm_fee(client: &Client, gig: &NewGig, yes: bool, interactive: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !interactive {
        return Err(CliError::flag(
            "--yes",
            "registering charges the listing fee; confirm with --yes (stdin is not a terminal)",
        ));
    }
    let balance = client.wallet(None, Some(1)).await?.balance;
    // A server older than `GET /pricing` cannot say; its fee was always $99.00 by default.
    let fee = match client.pricing().await {
        Ok(pricing) => format!("The listing fee, {},", pricing.listing_fee),
        Err(_) => "The server's listing fee ($99.00 unless it is set otherwise)".to_owned(),
    };
    eprintln!(
        "\n{}",
        fields(&[
            ("Title:", gig.title.clone()),
            ("By:", gig.creator_name.clone()),
            ("Category:", gig.category.to_string()),
            ("When:", window(gig.starts_at, gig.ends_at)),
            ("Price:", gig.price.to_string()),
            (
                "Capacity:",
                gig.capacity
                    .map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
            ),
            ("Payments to:", gig.payment_pointer.clone()),
            (
                "Replay:",
                replay_window(
                    gig.replay_hours
                        .unwrap_or(bookmygig_api::limits::REPLAY_HOURS_DEFAULT)
                )
            ),
        ])
    );
    let confirmed = dialoguer::Confirm::new()
        .with_prompt(format!(
            "Register it? {fee} is taken from your wallet (balance {balance})"
        ))
        .default(true)
        .interact()
        .map_err(|err| CliError::Local(format!("cannot ask: {err}")))?;
    if confirmed {
        Ok(())
    } else {
        Err(CliError::Usage(
            "not registered: the listing fee was not confirmed".to_owned(),
        ))
    }
}

/// The summary, the fee actually charged, and the OBS settings.
async fn print_registered(ctx: &Context, client: &Client, gig: &Gig) -> Result<()> {
    println!(
        "Registered \"{}\" ({}), gig {}.",
        gig.title,
        window(gig.starts_at, gig.ends_at),
        gig.id
    );
    // The fee is whatever the server charged: find it in the wallet's newest entries.
    if let Ok(wallet) = client.wallet(None, Some(10)).await
        && let Some(entry) = wallet
            .entries
            .iter()
            .find(|e| e.kind == EntryKind::ListingFee && e.gig_id == Some(gig.id))
    {
        println!(
            "Listing fee paid: {} (wallet balance now {}).",
            bookmygig_api::Money(-entry.amount.micros()),
            wallet.balance
        );
    }
    match gig.replay_hours {
        0 => println!("Replay: none (ticket holders cannot watch the recording afterwards)."),
        hours => println!(
            "Replay: ticket holders can watch the recording for {}.",
            replay_window(hours)
        ),
    }
    println!();
    match (&gig.rtmp_url, &gig.stream_key) {
        (Some(rtmp_url), Some(key)) => print!("{}", obs_block(rtmp_url, key.expose())),
        _ => {
            return Err(CliError::Server(
                "the answer carried no stream key".to_owned(),
            ));
        }
    }
    ctx.note(&format!(
        "\nThe key works from shortly before the start (60 minutes on a default server) until \
         after the end. Keep it secret; `bookmygig gig key {id} --rotate` replaces it. The show \
         is recorded; `bookmygig gig replay {id}` shows the recording and changes its window.",
        id = gig.id
    ));
    Ok(())
}

/// A replay window in words: `2 days after the end`, `5 hours after the end`, or `none`.
pub fn replay_window(hours: u32) -> String {
    match hours {
        0 => "none".to_owned(),
        1 => "1 hour after the end".to_owned(),
        hours if hours % 24 == 0 && hours >= 48 => format!("{} days after the end", hours / 24),
        hours => format!("{hours} hours after the end"),
    }
}
