//! What the CLI keeps between runs: `config.json` (the default server) and `credentials.json`
//! (one session token per server, in a file only its owner can read: mode 0600).
//!
//! Both live in the XDG config dir (`$XDG_CONFIG_HOME/bookmygig`, usually
//! `~/.config/bookmygig`), or in `--config-dir` / `BOOKMYGIG_CONFIG_DIR` when given.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// The server used when neither `--server` nor the config file names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// `config.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Config {
    /// The server every command talks to unless `--server` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// TUI key rebindings: action name (`up`, `down`, `page_up`, `page_down`, `next_tab`,
    /// `prev_tab`, `search`, `refresh`, `buy`, `tickets`, `open`, `room`, `play`, `video_output`,
    /// `full_screen`, `sign_in`, `wallet`, `top_up`, `my_gigs`, `reveal_key`, `back`, `mouse`,
    /// `help`, `quit`) to the keys it takes instead of its defaults, e.g.
    /// `{"down": ["n", "Down"]}`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub keys: std::collections::BTreeMap<String, Vec<String>>,
    /// How the TUI's player runs mpv.
    #[serde(default, skip_serializing_if = "PlayerConfig::is_default")]
    pub player: PlayerConfig,
    /// Server base URL → the wallet address the last completed top-up on it came from: what
    /// the TUI's top-up dialog offers next time.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub topup_wallets: BTreeMap<String, String>,
}

/// The `player` table of `config.json`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayerConfig {
    /// No window and no sound (mpv's `vo=null`, `ao=null`): for tests and machines without a
    /// display.
    #[serde(default)]
    pub headless: bool,
    /// mpv's audio output (`null` for silence, `alsa`, `pulse`…); unset: the system's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_output: Option<String>,
}

impl PlayerConfig {
    /// Whether nothing differs from the defaults (so nothing is written).
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// One signed-in session.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credential {
    /// The handle it belongs to, for `whoami` without a round trip and for messages.
    pub handle: String,
    /// The bearer token.
    pub token: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a credential: never let it reach a log.
        f.debug_struct("Credential")
            .field("handle", &self.handle)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// `credentials.json`: sessions by server base URL.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Credentials {
    /// Server base URL (no trailing slash) → its session.
    #[serde(default)]
    pub servers: BTreeMap<String, Credential>,
}

/// The directory holding both files.
#[derive(Debug, Clone)]
pub struct Store {
    /// Where the files are.
    dir: PathBuf,
}

impl Store {
    /// The store in `dir`, or in the XDG config dir when `None`.
    ///
    /// # Errors
    /// When there is no home directory to find the config dir in.
    pub fn open(dir: Option<PathBuf>) -> Result<Self, CliError> {
        let dir = match dir {
            Some(dir) => dir,
            None => directories::ProjectDirs::from("", "", "bookmygig")
                .map(|dirs| dirs.config_dir().to_path_buf())
                .ok_or_else(|| {
                    CliError::Local(
                        "cannot find a config directory (no home directory); pass --config-dir"
                            .to_owned(),
                    )
                })?,
        };
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `config.json`, or the defaults when it does not exist.
    ///
    /// # Errors
    /// When it exists but cannot be read or parsed.
    pub fn config(&self) -> Result<Config, CliError> {
        self.read("config.json")
    }

    /// Writes `config.json`.
    ///
    /// # Errors
    /// When the directory or the file cannot be written.
    pub fn save_config(&self, config: &Config) -> Result<(), CliError> {
        self.write("config.json", config, false)
    }

    /// `credentials.json`, or none when it does not exist.
    ///
    /// # Errors
    /// When it exists but cannot be read or parsed.
    pub fn credentials(&self) -> Result<Credentials, CliError> {
        self.read("credentials.json")
    }

    /// Writes `credentials.json` with mode 0600.
    ///
    /// # Errors
    /// When the directory or the file cannot be written.
    pub fn save_credentials(&self, credentials: &Credentials) -> Result<(), CliError> {
        self.write("credentials.json", credentials, true)
    }

    /// Keeps `token` as the session of `server` (for `handle`) and makes `server` the default,
    /// as signing in or up does.
    ///
    /// # Errors
    /// When either file cannot be read or written.
    pub fn remember_session(
        &self,
        server: &str,
        handle: &str,
        token: &str,
    ) -> Result<(), CliError> {
        let mut credentials = self.credentials()?;
        credentials.servers.insert(
            server.to_owned(),
            Credential {
                handle: handle.to_owned(),
                token: token.to_owned(),
            },
        );
        self.save_credentials(&credentials)?;
        let mut config = self.config()?;
        if config.server.as_deref() != Some(server) {
            config.server = Some(server.to_owned());
            self.save_config(&config)?;
        }
        Ok(())
    }

    /// Keeps `wallet` as the wallet address top-ups on `server` come from (after one completed).
    ///
    /// # Errors
    /// When `config.json` cannot be read or written.
    pub fn remember_topup_wallet(&self, server: &str, wallet: &str) -> Result<(), CliError> {
        let mut config = self.config()?;
        if config.topup_wallets.get(server).map(String::as_str) == Some(wallet) {
            return Ok(());
        }
        config
            .topup_wallets
            .insert(server.to_owned(), wallet.to_owned());
        self.save_config(&config)
    }

    fn read<T: for<'de> Deserialize<'de> + Default>(&self, name: &str) -> Result<T, CliError> {
        let path = self.dir.join(name);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|err| CliError::Local(format!("{} is not valid: {err}", path.display()))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(err) => Err(CliError::Local(format!(
                "cannot read {}: {err}",
                path.display()
            ))),
        }
    }

    /// Writes `value` to a temporary file (created with the final mode, so a secret is never
    /// readable by others even for a moment) and renames it into place.
    fn write<T: Serialize>(&self, name: &str, value: &T, secret: bool) -> Result<(), CliError> {
        let local = |what: &str, path: &Path, err: std::io::Error| {
            CliError::Local(format!("cannot {what} {}: {err}", path.display()))
        };
        fs::create_dir_all(&self.dir).map_err(|e| local("create", &self.dir, e))?;
        let path = self.dir.join(name);
        let temp = self.dir.join(format!(".{name}.tmp"));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(if secret { 0o600 } else { 0o644 });
        }
        let mut file = options.open(&temp).map_err(|e| local("write", &temp, e))?;
        #[cfg(unix)]
        if secret {
            // The mode above applies only to a new file; a leftover one keeps its old mode.
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(|e| local("protect", &temp, e))?;
        }
        let bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| CliError::Local(format!("cannot encode {name}: {e}")))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| local("write", &temp, e))?;
        fs::rename(&temp, &path).map_err(|e| local("replace", &path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(Some(dir.path().join("nested"))).unwrap();
        assert!(store.credentials().unwrap().servers.is_empty());
        let mut credentials = Credentials::default();
        credentials.servers.insert(
            "http://h".to_owned(),
            Credential {
                handle: "alice".to_owned(),
                token: "t0ken".to_owned(),
            },
        );
        store.save_credentials(&credentials).unwrap();
        let back = store.credentials().unwrap();
        assert_eq!(back.servers["http://h"].token, "t0ken");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(store.dir().join("credentials.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{:?}", back).contains("t0ken"));
    }

    #[test]
    fn topup_wallets_are_remembered_per_server_beside_the_rest_of_the_config() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(Some(dir.path().to_path_buf())).unwrap();
        store
            .save_config(&Config {
                server: Some("http://a".to_owned()),
                ..Config::default()
            })
            .unwrap();
        store
            .remember_topup_wallet("http://a", "https://wallet.example/bob")
            .unwrap();
        store
            .remember_topup_wallet("http://b", "https://wallet.example/bea")
            .unwrap();
        store
            .remember_topup_wallet("http://a", "https://wallet.example/bo")
            .unwrap();
        let config = store.config().unwrap();
        assert_eq!(config.server.as_deref(), Some("http://a"));
        assert_eq!(
            config.topup_wallets["http://a"],
            "https://wallet.example/bo"
        );
        assert_eq!(
            config.topup_wallets["http://b"],
            "https://wallet.example/bea"
        );
    }
}
