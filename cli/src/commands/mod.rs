//! One module per command group, each shaped `Cmd` + `run` (as in atuin): the clap arguments,
//! and an async `run` that talks to the server through [`Context`] and prints.

mod account;
mod calendar;
mod chat;
mod gig;
mod meta;
mod payouts;
mod play;
mod register;
mod ticket;
mod wallet;

use clap::Subcommand;

use crate::Result;
use crate::context::Context;

/// Every `bookmygig` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account and sign in to it.
    Signup(account::SignupCmd),
    /// Sign in (the session is kept in the config dir, mode 0600).
    Login(account::LoginCmd),
    /// Sign out: ends the session on the server (with --all, every session of the account,
    /// on every device) and forgets it here.
    Logout(account::LogoutCmd),
    /// Change your password; every other session of the account is signed out.
    Password(account::PasswordCmd),
    /// Show who is signed in.
    Whoami,
    /// Register and manage gigs.
    #[command(subcommand)]
    Gig(gig::Cmd),
    /// Buy tickets.
    #[command(subcommand)]
    Ticket(ticket::Cmd),
    /// List your tickets, or write their shows as an iCalendar file (--ics).
    Tickets(ticket::ListCmd),
    /// Show your balance and history, or top up.
    Wallet(wallet::Cmd),
    /// Your payouts (earnings sent to your gigs' payment pointers), or request one.
    Payouts(payouts::Cmd),
    /// Watch a gig in an mpv window.
    Play(play::Cmd),
    /// A gig's chat room in the terminal: prints what is said, says each line of stdin.
    Chat(chat::Cmd),
    /// The full-screen terminal interface.
    Tui(meta::TuiCmd),
    /// Print shell completions.
    Completions(meta::CompletionsCmd),
    /// Print the man page (roff).
    Man,
}

impl Command {
    /// Runs the command.
    ///
    /// # Errors
    /// Whatever the command fails with; the caller maps it to an exit code.
    pub async fn run(self, ctx: &Context) -> Result<()> {
        match self {
            Command::Signup(cmd) => cmd.run(ctx).await,
            Command::Login(cmd) => cmd.run(ctx).await,
            Command::Logout(cmd) => cmd.run(ctx).await,
            Command::Password(cmd) => cmd.run(ctx).await,
            Command::Whoami => account::whoami(ctx).await,
            Command::Gig(cmd) => cmd.run(ctx).await,
            Command::Ticket(cmd) => cmd.run(ctx).await,
            Command::Tickets(cmd) => cmd.run(ctx).await,
            Command::Wallet(cmd) => cmd.run(ctx).await,
            Command::Payouts(cmd) => cmd.run(ctx).await,
            Command::Play(cmd) => cmd.run(ctx).await,
            Command::Chat(cmd) => cmd.run(ctx).await,
            Command::Tui(cmd) => meta::tui(ctx, cmd).await,
            Command::Completions(cmd) => cmd.run(),
            Command::Man => meta::man(),
        }
    }
}

/// Whether a person can be asked: stdin and stderr (where prompts are drawn) are terminals.
pub fn interactive() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
