//! Commands about the tool itself: shell completions, the man page, and the TUI placeholder.

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

/// `bookmygig tui`: arrives with the TUI issue.
///
/// # Errors
/// Never.
pub fn tui(ctx: &Context) -> Result<()> {
    let message = "the TUI is coming in the TUI issue; use the other commands meanwhile";
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "message": message }))
    } else {
        println!("{message}");
        Ok(())
    }
}
