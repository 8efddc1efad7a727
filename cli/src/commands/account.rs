//! Accounts: `signup`, `login`, `logout [--all]`, `password`, `whoami`. Passwords come from a
//! hidden prompt or, for scripts, from stdin with `--password-stdin` (as `docker login` does);
//! never from a flag.

use std::io::Read as _;

use bookmygig_api::limits::{
    DISPLAY_NAME_MAX, HANDLE_MAX, HANDLE_MIN, PASSWORD_MAX, PASSWORD_MIN, is_valid_handle,
};
use bookmygig_api::{Account, NewAccount, NewSession, PasswordChange};
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

/// `bookmygig logout`.
#[derive(Debug, Args)]
pub struct LogoutCmd {
    /// Sign out everywhere: every session of the account, on every device, ends.
    #[arg(long)]
    all: bool,
}

/// `bookmygig password`.
#[derive(Debug, Args)]
pub struct PasswordCmd {
    /// Read two lines from stdin, the current password then the new one, instead of
    /// prompting.
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

impl LogoutCmd {
    /// Ends the session on the server (when it still works; with `--all`, every session of
    /// the account) and forgets it here.
    ///
    /// # Errors
    /// When the server cannot be reached or the credentials file cannot be written.
    pub async fn run(self, ctx: &Context) -> Result<()> {
        let mut credentials = ctx.store.credentials()?;
        let was_signed_in = match credentials.servers.get(&ctx.server) {
            Some(credential) => {
                let client = ctx.anonymous()?.with_token(credential.token.clone());
                let ended = if self.all {
                    client.sign_out_everywhere().await
                } else {
                    client.sign_out().await
                };
                match ended {
                    // An expired session is as good as ended: but then the server cannot tell
                    // whose sessions "all" are.
                    Err(bookmygig_client::ClientError::Problem(p))
                        if p.status == 401 && !self.all => {}
                    other => other?,
                }
                credentials.servers.remove(&ctx.server);
                ctx.store.save_credentials(&credentials)?;
                true
            }
            None if self.all => {
                return Err(CliError::Usage(format!(
                    "not signed in to {}: sign in first (bookmygig login) to sign out everywhere",
                    ctx.server
                )));
            }
            None => false,
        };
        if ctx.json {
            return ctx.print_json(&serde_json::json!({
                "server": ctx.server,
                "signed_out": was_signed_in,
                "everywhere": self.all,
            }));
        }
        match (was_signed_in, self.all) {
            (true, true) => println!("Signed out of {} on every device.", ctx.server),
            (true, false) => println!("Signed out of {}.", ctx.server),
            (false, _) => println!("Not signed in to {}.", ctx.server),
        }
        Ok(())
    }
}

impl PasswordCmd {
    /// Changes the password of the signed-in account; its other sessions end, this one stays.
    ///
    /// # Errors
    /// A usage error when not signed in or the new password breaks the rules; the server's
    /// refusal when the current password is wrong (or too many were tried).
    pub async fn run(self, ctx: &Context) -> Result<()> {
        let client = ctx.signed_in()?;
        let (current_password, new_password) = if self.password_stdin {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|err| {
                CliError::Local(format!("cannot read the passwords from stdin: {err}"))
            })?;
            let mut lines = text
                .lines()
                .map(|line| line.trim_end_matches('\r').to_owned());
            match (lines.next(), lines.next()) {
                (Some(current), Some(new)) => (current, new),
                _ => {
                    return Err(CliError::Usage(
                        "--password-stdin: expected two lines, the current password then the \
                         new one"
                            .to_owned(),
                    ));
                }
            }
        } else if interactive() {
            let current = dialoguer::Password::new()
                .with_prompt("Current password")
                .interact()
                .map_err(|err| CliError::Local(format!("cannot read the password: {err}")))?;
            let new = dialoguer::Password::new()
                .with_prompt("New password")
                .with_confirmation("Repeat new password", "the passwords differ")
                .interact()
                .map_err(|err| CliError::Local(format!("cannot read the password: {err}")))?;
            (current, new)
        } else {
            return Err(CliError::Usage(
                "no password: stdin is not a terminal, so pass the current and the new password \
                 on two lines of stdin with --password-stdin"
                    .to_owned(),
            ));
        };
        if current_password.is_empty() {
            return Err(CliError::Usage("current password: empty".to_owned()));
        }
        check_new_password(&new_password)?;
        client
            .change_password(&PasswordChange {
                current_password,
                new_password,
            })
            .await?;
        if ctx.json {
            return ctx.print_json(&serde_json::json!({
                "server": ctx.server,
                "password_changed": true,
            }));
        }
        println!(
            "Password changed on {}; every other session of the account is signed out.",
            ctx.server
        );
        Ok(())
    }
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
    if new {
        check_new_password(&password)?;
    }
    if password.is_empty() {
        return Err(CliError::Usage("password: empty".to_owned()));
    }
    Ok(password)
}

/// A new password follows the server's rules, checked here first so nothing is sent for one
/// that breaks them.
fn check_new_password(password: &str) -> Result<()> {
    let length = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Err(CliError::Usage(format!(
            "password: {PASSWORD_MIN}–{PASSWORD_MAX} characters (got {length})"
        )));
    }
    Ok(())
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
