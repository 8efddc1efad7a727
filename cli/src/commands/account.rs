//! Accounts: `signup`, `login`, `logout`, `whoami`. Passwords come from a hidden prompt or,
//! for scripts, from stdin with `--password-stdin` (as `docker login` does); never from a flag.

use std::io::Read as _;

use bookmygig_api::limits::{
    DISPLAY_NAME_MAX, HANDLE_MAX, HANDLE_MIN, PASSWORD_MAX, PASSWORD_MIN, is_valid_handle,
};
use bookmygig_api::{Account, NewAccount, NewSession};
use clap::Args;

use super::interactive;
use crate::Result;
use crate::context::Context;
use crate::error::CliError;

/// `bookmygig signup`.
#[derive(Debug, Args)]
pub struct SignupCmd {
    /// Your login name: 3–32 of a-z, 0-9 and _.
    #[arg(long)]
    handle: String,
    /// The name others see [default: the handle].
    #[arg(long)]
    display_name: Option<String>,
    /// Read the password from stdin (one line) instead of prompting.
    #[arg(long)]
    password_stdin: bool,
}

/// `bookmygig login`.
#[derive(Debug, Args)]
pub struct LoginCmd {
    /// Your login name.
    #[arg(long)]
    handle: String,
    /// Read the password from stdin (one line) instead of prompting.
    #[arg(long)]
    password_stdin: bool,
}

impl SignupCmd {
    /// Creates the account, keeps its session, and makes this server the default.
    ///
    /// # Errors
    /// A usage error on a bad handle, name or password; the server's refusal (`handle-taken`).
    pub async fn run(self, ctx: &Context) -> Result<()> {
        check_handle(&self.handle)?;
        let display_name = self
            .display_name
            .unwrap_or_else(|| self.handle.clone())
            .trim()
            .to_owned();
        let length = display_name.chars().count();
        if !(1..=DISPLAY_NAME_MAX).contains(&length) {
            return Err(CliError::flag(
                "--display-name",
                format!("1–{DISPLAY_NAME_MAX} characters (got {length})"),
            ));
        }
        let password = password(self.password_stdin, true)?;
        let signed = ctx
            .anonymous()?
            .sign_up(&NewAccount {
                handle: self.handle,
                display_name,
                password,
            })
            .await?;
        remember(ctx, &signed.account, signed.token)?;
        report(ctx, "Signed up", &signed.account)
    }
}

impl LoginCmd {
    /// Signs in, keeps the session, and makes this server the default.
    ///
    /// # Errors
    /// A usage error without a password; the server's `unauthorized` on a wrong one.
    pub async fn run(self, ctx: &Context) -> Result<()> {
        check_handle(&self.handle)?;
        let password = password(self.password_stdin, false)?;
        let session = ctx
            .anonymous()?
            .sign_in(&NewSession {
                handle: self.handle,
                password,
            })
            .await?;
        remember(ctx, &session.account, session.token)?;
        report(ctx, "Signed in", &session.account)
    }
}

/// `bookmygig logout`: ends the session on the server (when it still works) and forgets it.
///
/// # Errors
/// When the server cannot be reached or the credentials file cannot be written.
pub async fn logout(ctx: &Context) -> Result<()> {
    let mut credentials = ctx.store.credentials()?;
    let was_signed_in = match credentials.servers.get(&ctx.server) {
        Some(credential) => {
            let client = ctx.anonymous()?.with_token(credential.token.clone());
            match client.sign_out().await {
                // An expired session is as good as ended.
                Err(bookmygig_client::ClientError::Problem(p)) if p.status == 401 => {}
                other => other?,
            }
            credentials.servers.remove(&ctx.server);
            ctx.store.save_credentials(&credentials)?;
            true
        }
        None => false,
    };
    if ctx.json {
        return ctx.print_json(&serde_json::json!({
            "server": ctx.server,
            "signed_out": was_signed_in,
        }));
    }
    if was_signed_in {
        println!("Signed out of {}.", ctx.server);
    } else {
        println!("Not signed in to {}.", ctx.server);
    }
    Ok(())
}

/// `bookmygig whoami`: the signed-in account, as the server knows it.
///
/// # Errors
/// A usage error when not signed in; `unauthorized` when the session expired.
pub async fn whoami(ctx: &Context) -> Result<()> {
    let account = ctx.signed_in()?.me().await?;
    report(ctx, "Signed in", &account)
}

fn check_handle(handle: &str) -> Result<()> {
    if is_valid_handle(handle) {
        Ok(())
    } else {
        Err(CliError::flag(
            "--handle",
            format!(
                "`{handle}` is not a handle: {HANDLE_MIN}–{HANDLE_MAX} characters of a-z, 0-9 and _"
            ),
        ))
    }
}

/// The password from stdin or a hidden prompt (asked twice when `new`).
fn password(from_stdin: bool, new: bool) -> Result<String> {
    let password = if from_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|err| {
            CliError::Local(format!("cannot read the password from stdin: {err}"))
        })?;
        text.trim_end_matches(['\n', '\r']).to_owned()
    } else if interactive() {
        let mut prompt = dialoguer::Password::new().with_prompt("Password");
        if new {
            prompt = prompt.with_confirmation("Repeat password", "the passwords differ");
        }
        prompt
            .interact()
            .map_err(|err| CliError::Local(format!("cannot read the password: {err}")))?
    } else {
        return Err(CliError::Usage(
            "no password: stdin is not a terminal, so pass it on stdin with --password-stdin"
                .to_owned(),
        ));
    };
    let length = password.chars().count();
    if new && !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Err(CliError::Usage(format!(
            "password: {PASSWORD_MIN}–{PASSWORD_MAX} characters (got {length})"
        )));
    }
    if password.is_empty() {
        return Err(CliError::Usage("password: empty".to_owned()));
    }
    Ok(password)
}

/// Keeps the session of `ctx.server` and makes that server the default.
fn remember(ctx: &Context, account: &Account, token: String) -> Result<()> {
    ctx.store
        .remember_session(&ctx.server, &account.handle, &token)
}

fn report(ctx: &Context, what: &str, account: &Account) -> Result<()> {
    if ctx.json {
        return ctx.print_json(account);
    }
    println!(
        "{what} as @{} ({}) on {}.",
        account.handle, account.display_name, ctx.server
    );
    Ok(())
}
