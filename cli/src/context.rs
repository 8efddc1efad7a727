//! What every command runs with: the server, the signed-in client, the output mode and the
//! settings store.

use std::path::PathBuf;

use bookmygig_client::{Client, TrustRoots};

use crate::error::CliError;
use crate::settings::{DEFAULT_SERVER, Store};
use crate::{Global, Result};

/// The resolved global options.
#[derive(Debug)]
pub struct Context {
    /// Server base URL, without a trailing slash.
    pub server: String,
    /// `--json`: print the API's JSON types, nothing else, on stdout.
    pub json: bool,
    /// `-q`: no hints or notes.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
    /// Where config and credentials live.
    pub store: Store,
    /// The authorities trusted for https:// and wss:// (the system's, plus `--cacert`).
    pub roots: TrustRoots,
    /// `--cacert`, for the player (mpv reads the file itself).
    pub ca_file: Option<PathBuf>,
}

impl Context {
    /// Resolves `--server` (flag, then config file, then the default) and the config dir.
    ///
    /// # Errors
    /// When the config dir cannot be found or its config file cannot be read.
    pub fn new(global: &Global) -> Result<Self> {
        let store = Store::open(global.config_dir.clone())?;
        let server = match &global.server {
            Some(server) => server.clone(),
            None => store
                .config()?
                .server
                .unwrap_or_else(|| DEFAULT_SERVER.to_owned()),
        };
        let server = server.trim().trim_end_matches('/').to_owned();
        let roots = match &global.cacert {
            None => TrustRoots::system(),
            Some(path) => {
                let pem = std::fs::read(path).map_err(|err| {
                    CliError::flag("--cacert", format!("cannot read {}: {err}", path.display()))
                })?;
                TrustRoots::with_ca_pem(&pem)
            }
        }
        .map_err(|err| CliError::flag("--cacert", err))?;
        let ctx = Self {
            server,
            json: global.json,
            quiet: global.quiet,
            verbose: global.verbose,
            store,
            roots,
            ca_file: global.cacert.clone(),
        };
        ctx.note_verbose(&format!(
            "server {}, config in {}",
            ctx.server,
            ctx.store.dir().display()
        ));
        Ok(ctx)
    }

    /// A client of the server, without credentials.
    ///
    /// # Errors
    /// When the server URL is not an http(s) URL.
    pub fn anonymous(&self) -> Result<Client> {
        Ok(Client::with_roots(&self.server, self.roots.clone())?)
    }

    /// A client carrying the saved session of this server, if there is one.
    ///
    /// # Errors
    /// As [`Context::anonymous`], or when the credentials file cannot be read.
    pub fn maybe_signed_in(&self) -> Result<Client> {
        let client = self.anonymous()?;
        Ok(match self.session()? {
            Some(credential) => client.with_token(credential.token),
            None => client,
        })
    }

    /// The saved session of this server (its handle and token), if there is one.
    ///
    /// # Errors
    /// When the credentials file cannot be read.
    pub fn session(&self) -> Result<Option<crate::settings::Credential>> {
        Ok(self.store.credentials()?.servers.remove(&self.server))
    }

    /// A client carrying the saved session of this server.
    ///
    /// # Errors
    /// A usage error when nobody is signed in to this server.
    pub fn signed_in(&self) -> Result<Client> {
        let client = self.maybe_signed_in()?;
        if client.token().is_none() {
            return Err(CliError::Usage(format!(
                "not signed in to {}: run `bookmygig login --handle HANDLE` (or `signup`)",
                self.server
            )));
        }
        Ok(client)
    }

    /// Prints `value` as JSON on stdout.
    ///
    /// # Errors
    /// Never in practice (the API types always encode).
    pub fn print_json<T: serde::Serialize>(&self, value: &T) -> Result<()> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|err| CliError::Local(format!("cannot encode JSON: {err}")))?;
        println!("{text}");
        Ok(())
    }

    /// A note for people on stderr (not with `-q` or `--json`).
    pub fn note(&self, text: &str) {
        if !self.quiet && !self.json {
            eprintln!("{text}");
        }
    }

    /// A note shown only with `-v`.
    pub fn note_verbose(&self, text: &str) {
        if self.verbose > 0 {
            eprintln!("bookmygig: {text}");
        }
    }
}
