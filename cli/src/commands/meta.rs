//! Commands about the tool itself: shell completions, the man page, and the TUI's entry.

use clap::Args;
use clap_complete::Shell;

use crate::Result;
use crate::context::Context;
use crate::error::CliError;

/// `bookmygig completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsCmd {
    /// The shell to complete for: bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

impl CompletionsCmd {
    /// Prints the completion script, e.g. `bookmygig completions bash > ~/.local/share/bash-completion/completions/bookmygig`.
    ///
    /// # Errors
    /// Never.
    pub fn run(self) -> Result<()> {
        let mut command = crate::command_tree();
        clap_complete::generate(
            self.shell,
            &mut command,
            "bookmygig",
            &mut std::io::stdout(),
        );
        Ok(())
    }
}

/// `bookmygig man`: the man page in roff, e.g. `bookmygig man > bookmygig.1`.
///
/// # Errors
/// When stdout cannot be written.
pub fn man() -> Result<()> {
    clap_mangen::Man::new(crate::command_tree())
        .render(&mut std::io::stdout())
        .map_err(|err| CliError::Local(format!("cannot write the man page: {err}")))
}

/// `bookmygig tui`.
#[derive(Debug, Args)]
pub struct TuiCmd {
    /// Where stderr and the player's messages go while the TUI owns the screen
    /// [default: $XDG_STATE_HOME/bookmygig/tui.log, i.e. ~/.local/state/bookmygig/tui.log].
    #[arg(long, value_name = "FILE")]
    log_file: Option<std::path::PathBuf>,
}

/// `bookmygig tui`: the full-screen client (signed in when a session is saved for the server,
/// else it opens on the sign-in form).
///
/// # Errors
/// A usage error with `--json` or when stdin or stdout is not a terminal; a local error when the
/// terminal fails, or no log file can be named.
pub async fn tui(ctx: &Context, cmd: TuiCmd) -> Result<()> {
    use std::io::IsTerminal as _;
    if ctx.json {
        return Err(CliError::Usage(
            "`bookmygig tui` is interactive and has no --json output".to_owned(),
        ));
    }
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(CliError::Usage(
            "`bookmygig tui` needs a terminal on stdin and stdout".to_owned(),
        ));
    }
    let config = ctx.store.config()?;
    let keymap = crate::tui::Keymap::rebind(&config.keys).map_err(|err| {
        CliError::Usage(format!(
            "{err} (in {})",
            ctx.store.dir().join("config.json").display()
        ))
    })?;
    let client = ctx.maybe_signed_in()?;
    let player = bookmygig_cli::player::PlayerOptions {
        headless: config.player.headless,
        audio_output: config.player.audio_output.clone(),
        ca_file: ctx.ca_file.clone(),
        ..bookmygig_cli::player::PlayerOptions::default()
    };
    let log_file = cmd
        .log_file
        .or_else(crate::tui::stderr_log::default_path)
        .ok_or_else(|| {
            CliError::Local(
                "cannot find a directory for the TUI's log (no home directory); pass --log-file"
                    .to_owned(),
            )
        })?;
    let options = crate::tui::Options {
        keymap,
        player,
        server: ctx.server.clone(),
        store: ctx.store.clone(),
        log_file,
    };
    crate::tui::run(client, options)
        .await
        .map_err(|err| CliError::Local(format!("the terminal failed: {err}")))
}
