//! Test harness: the shared server harness of `bookmygig_testkit::server` (a real
//! `bookmygig-server` in-process on port 0, as the server's tests use), and the real
//! `bookmygig` binary run against it with its own config dir and time zone.
#![allow(dead_code)] // Each test binary uses a different part of the harness.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

pub mod process;
pub mod tmux;

use std::path::Path;
use std::process::Stdio;

#[allow(unused_imports)] // Each test binary uses a different part of the harness.
pub use bookmygig_testkit::server::Serving;
#[allow(unused_imports)] // Each test binary uses a different part of the harness.
pub use bookmygig_testkit::{FfmpegPublisher, require_tool};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt as _;

/// The CLI binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_bookmygig");

/// The shared in-process server (`bookmygig_testkit::server::TestServer`) on an embedded store:
/// the only kind the CLI's tests run.
pub struct TestServer(bookmygig_testkit::server::TestServer);

impl TestServer {
    /// Starts a server on an embedded store in a temporary directory.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts a server on an embedded store in a temporary directory, with more server flags
    /// (`--tls-cert` and `--tls-key` make its base `https://`).
    pub async fn start_with(extra: &[&str]) -> Self {
        use bookmygig_testkit::server::{Backend, TestServer as Shared};
        Self(Shared::start_with(Backend::Embedded, extra).await)
    }

    /// Starts a server on the data in `data`, listening on `http` and `rtmp` (port 0: any),
    /// with more server flags.
    pub async fn serve_at_with(
        data: &Path,
        http: std::net::SocketAddr,
        rtmp: std::net::SocketAddr,
        extra: &[&str],
    ) -> Self {
        use bookmygig_testkit::server::TestServer as Shared;
        Self(Shared::serve_at_with(data, http, rtmp, extra).await)
    }
}

impl std::ops::Deref for TestServer {
    type Target = bookmygig_testkit::server::TestServer;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Serving for TestServer {
    fn base(&self) -> &str {
        &self.0.base
    }

    fn rtmp_port(&self) -> u16 {
        self.0.rtmp_port
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts exit code 0 and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        &self.stdout
    }

    /// Parses stdout as JSON of type `T`, and checks that `T` holds every field of it (what
    /// the CLI printed is exactly an API type).
    #[track_caller]
    pub fn json<T: serde::de::DeserializeOwned + serde::Serialize>(&self) -> T {
        let value: serde_json::Value = serde_json::from_str(self.ok())
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {self:#?}"));
        let typed: T = serde_json::from_value(value.clone()).unwrap_or_else(|err| {
            panic!(
                "stdout is not a {} ({err}): {self:#?}",
                std::any::type_name::<T>()
            )
        });
        assert_eq!(serde_json::to_value(&typed).unwrap(), value, "fields lost");
        typed
    }
}

/// One person at the command line: a config dir of their own and a time zone.
pub struct User {
    /// The server base URL passed as `BOOKMYGIG_SERVER`.
    pub server: String,
    /// `TZ` for the binary.
    pub tz: String,
    /// That zone's offset, hours east of UTC.
    east: i64,
    config: tempfile::TempDir,
}

impl User {
    /// A user of `server` whose local time is around noon, so test gigs stay on one date.
    pub fn new(server: &impl Serving) -> Self {
        let (tz, east) = noon_tz();
        Self {
            server: server.base().to_owned(),
            tz,
            east,
            config: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// The config dir.
    pub fn config_dir(&self) -> &Path {
        self.config.path()
    }

    /// The environment of this user's TUI in a terminal of its own: the config dir (also its
    /// home), the server and the zone.
    pub fn tui_env(&self) -> Vec<(&'static str, String)> {
        let dir = self.config_dir().display().to_string();
        vec![
            ("BOOKMYGIG_CONFIG_DIR", dir.clone()),
            ("BOOKMYGIG_SERVER", self.server.clone()),
            ("HOME", dir.clone()),
            ("XDG_CONFIG_HOME", dir),
            ("TZ", self.tz.clone()),
        ]
    }

    /// A command for the binary with this user's environment (never the real home).
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(BIN);
        command
            .args(args)
            .env("BOOKMYGIG_CONFIG_DIR", self.config.path())
            .env("BOOKMYGIG_SERVER", &self.server)
            .env("HOME", self.config.path())
            .env("XDG_CONFIG_HOME", self.config.path())
            .env("TZ", &self.tz)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
        command
    }

    /// Runs the binary with `args`, feeding `stdin` when given (else stdin is empty: not a
    /// terminal).
    pub async fn run_with(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut command = tokio::process::Command::from(self.command(args));
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn bookmygig");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).await.expect("write stdin");
        }
        drop(pipe);
        let out =
            tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
                .await
                .expect("bookmygig finished within 60 s")
                .expect("bookmygig ran");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs the binary with `args` and no stdin.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None).await
    }

    /// (date, start, end) of a 30-minute gig starting `in_minutes` from now, in local time.
    pub fn slot(&self, in_minutes: i64) -> (String, String, String) {
        slot(self.east, in_minutes)
    }

    /// Signs up `handle` (password on stdin) and tops the wallet up by $200.
    pub async fn sign_up_with_funds(&self, handle: &str) {
        self.run_with(
            &["signup", "--handle", handle, "--password-stdin"],
            Some(&format!("{handle}-password\n")),
        )
        .await
        .ok();
        self.run(&["wallet", "topup", "200"]).await.ok();
    }
}

/// A POSIX `TZ` whose local time is within the hour after noon now, and that offset in hours
/// east of UTC.
pub fn noon_tz() -> (String, i64) {
    let hour = i64::from(OffsetDateTime::now_utc().hour());
    let east = 12 - hour; // -11..=12
    // POSIX offsets count hours west of UTC.
    (format!("BMG{}", -east), east)
}

/// Local wall-clock values for a gig starting `in_minutes` from now and lasting 30 minutes,
/// in a zone `east` hours east of UTC: (date, start, end).
pub fn slot(east: i64, in_minutes: i64) -> (String, String, String) {
    let start = OffsetDateTime::now_utc()
        + time::Duration::hours(east)
        + time::Duration::minutes(in_minutes);
    let end = start + time::Duration::minutes(30);
    let fmt_date = format!(
        "{:04}-{:02}-{:02}",
        start.year(),
        u8::from(start.month()),
        start.day()
    );
    (
        fmt_date,
        format!("{:02}:{:02}", start.hour(), start.minute()),
        format!("{:02}:{:02}", end.hour(), end.minute()),
    )
}

impl Serving for process::ServerProcess {
    fn base(&self) -> &str {
        &self.base
    }

    fn rtmp_port(&self) -> u16 {
        self.rtmp_port
    }
}
