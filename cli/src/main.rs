//! `bookmygig`: the terminal client of BookMyGig.
//!
//! For now it answers `--version` and `--help`; the creator commands and the TUI arrive in
//! their own issues.

use clap::Parser;

/// Live online shows from your terminal: browse gigs, buy tickets, chat and watch.
#[derive(Debug, Parser)]
#[command(name = "bookmygig", version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    println!(
        "bookmygig {}: no command yet; see `bookmygig --help`.",
        env!("CARGO_PKG_VERSION")
    );
}
