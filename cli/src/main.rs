//! `bookmygig`: the terminal client of BookMyGig, for creators and scripts.
//!
//! This file owns the command line (global flags, the command tree) and turns every outcome into
//! an exit code: 0 ok, 1 server or network failure, 2 bad usage or rejected input. Each command
//! group lives in its own module under `commands/`, shaped `Cmd` + `run`.

mod commands;
mod context;
mod error;
mod form;
mod output;
mod settings;
mod tui;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser};

use crate::commands::Command;
use crate::context::Context;
use crate::error::CliError;

/// Live online shows from your terminal: register gigs, buy tickets, watch.
#[derive(Debug, Parser)]
#[command(name = "bookmygig", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    global: Global,
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Server base URL [default: the config file's, else http://127.0.0.1:8080].
    #[arg(long, global = true, env = "BOOKMYGIG_SERVER", value_name = "URL")]
    server: Option<String>,
    /// Machine-readable output: the API's JSON types on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// Print only what was asked for (no hints).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Say more (the server used, timings of requests).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Directory of config.json and credentials.json [default: the XDG config dir].
    #[arg(long, global = true, env = "BOOKMYGIG_CONFIG_DIR", value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// Also trust the certificate authorities in this PEM file, for an https:// server whose
    /// certificate no public authority signed [default: the system's authorities only].
    #[arg(long, global = true, env = "BOOKMYGIG_CACERT", value_name = "FILE")]
    cacert: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(async {
        let ctx = Context::new(&cli.global)?;
        cli.command.run(&ctx).await
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            if let Some(hint) = err.hint()
                && !cli.global.quiet
            {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}

/// The clap command tree, for completions and the man page.
pub fn command_tree() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Everything a command can fail with.
pub type Result<T, E = CliError> = std::result::Result<T, E>;
