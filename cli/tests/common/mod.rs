//! Test harness: a real `bookmygig-server` in-process on port 0 (as server/tests/common does),
//! and the real `bookmygig` binary run against it with its own config dir and time zone.
#![allow(dead_code)] // Each test binary uses a different part of the harness.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

pub mod process;
pub mod tmux;

use std::path::Path;
use std::process::Stdio;

use bookmygig_server::{Config, open_store, serve};
#[allow(unused_imports)] // Each test binary uses a different part of the harness.
pub use bookmygig_testkit::{FfmpegPublisher, require_tool};
use clap::Parser as _;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::oneshot;

/// The CLI binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_bookmygig");

/// A server running inside the test process.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Where it accepts RTMP.
    pub rtmp_port: u16,
    stop: Option<oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server on an embedded store in a temporary directory.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let any = "127.0.0.1:0".parse().expect("address");
        let mut server = Self::serve_at(dir.path(), any, any).await;
        server._dir = Some(dir);
        server
    }

    /// Starts a server on an embedded store in a temporary directory, with more server flags
    /// (`--tls-cert` and `--tls-key` make its base `https://`).
    pub async fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let any = "127.0.0.1:0".parse().expect("address");
        let mut server = Self::serve_at_with(dir.path(), any, any, extra).await;
        server._dir = Some(dir);
        server
    }

    /// Starts a server on the data in `data`, listening on `http` and `rtmp` (port 0: any).
    pub async fn serve_at(
        data: &Path,
        http: std::net::SocketAddr,
        rtmp: std::net::SocketAddr,
    ) -> Self {
        Self::serve_at_with(data, http, rtmp, &[]).await
    }

    /// [`TestServer::serve_at`] with more server flags.
    pub async fn serve_at_with(
        data: &Path,
        http: std::net::SocketAddr,
        rtmp: std::net::SocketAddr,
        extra: &[&str],
    ) -> Self {
        let mut args = vec![
            "bookmygig-server".to_owned(),
            "--http".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data.display().to_string(),
        ];
        // `wallet topup` and the TUI's `+` need a provider: play money unless the test brings
        // an Open Payments wallet.
        if !extra.contains(&"--open-payments-wallet") {
            args.push("--dev-topups".into());
        }
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let config = Config::try_parse_from(args).expect("valid flags");
        let scheme = if config.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let store = open_store(&config).await.expect("store opens");
        let http = tokio::net::TcpListener::bind(http).await.expect("bind");
        let rtmp = tokio::net::TcpListener::bind(rtmp).await.expect("bind");
        let base = format!("{scheme}://{}", http.local_addr().expect("addr"));
        let rtmp_port = rtmp.local_addr().expect("addr").port();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let listeners = bookmygig_server::Listeners {
                http,
                rtmp,
                metrics: tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind"),
                internal: tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind"),
            };
            serve(config, store, listeners, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        TestServer {
            base,
            rtmp_port,
            stop: Some(stop),
            _dir: None,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
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

/// What the tests do with a server, wherever it runs (in this process or a child).
#[allow(async_fn_in_trait)] // Test code: the futures stay on the test's runtime.
pub trait Serving {
    /// `http://127.0.0.1:PORT`.
    fn base(&self) -> &str;

    /// Where it accepts RTMP.
    fn rtmp_port(&self) -> u16;

    /// A client of this server, without credentials.
    fn anonymous(&self) -> bookmygig_client::Client {
        bookmygig_client::Client::new(self.base()).expect("client")
    }

    /// Signs `handle` up through the API, tops its wallet up by `dollars`, and returns a client
    /// carrying its token.
    async fn account(&self, handle: &str, dollars: i64) -> bookmygig_client::Client {
        let signed = self
            .anonymous()
            .sign_up(&bookmygig_api::NewAccount {
                handle: handle.into(),
                display_name: format!("{handle} (test)"),
                password: format!("{handle}-password"),
            })
            .await
            .expect("sign up");
        let client = self.anonymous().with_token(signed.token);
        client
            .top_up(bookmygig_api::Money::from_dollars(dollars), None)
            .await
            .expect("top up");
        client
    }

    /// A creator's gig titled `title` that starts in ten minutes (so its stream key works now);
    /// the creator's view, with the key.
    async fn gig_starting_soon(
        &self,
        creator: &bookmygig_client::Client,
        title: &str,
    ) -> bookmygig_api::Gig {
        let starts_at = OffsetDateTime::now_utc() + time::Duration::minutes(10);
        creator
            .create_gig(&bookmygig_api::NewGig {
                creator_name: "Test Host".into(),
                title: title.into(),
                description: "A test gig.".into(),
                category: bookmygig_api::Category::Music,
                price: bookmygig_api::Money::from_dollars(5),
                starts_at,
                ends_at: starts_at + time::Duration::hours(1),
                capacity: None,
                payment_pointer: "$wallet.example/host".into(),
                micropayment_rate: None,
            })
            .await
            .expect("gig")
    }

    /// The RTMP publish URL of `gig` (the creator's view, which carries the key).
    fn publish_url(&self, gig: &bookmygig_api::Gig) -> String {
        let key = gig.stream_key.as_ref().expect("creator view has the key");
        format!(
            "rtmp://127.0.0.1:{}/live/{}",
            self.rtmp_port(),
            key.expose()
        )
    }

    /// Waits (up to `within`) until the gig's stream is live.
    async fn await_live(&self, gig: bookmygig_api::GigId, within: std::time::Duration) {
        let client = self.anonymous();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if client
                .stream_status(gig)
                .await
                .is_ok_and(|status| status.live && status.video.is_some())
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the stream of {gig} did not go live within {within:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

impl Serving for TestServer {
    fn base(&self) -> &str {
        &self.base
    }

    fn rtmp_port(&self) -> u16 {
        self.rtmp_port
    }
}

impl Serving for process::ServerProcess {
    fn base(&self) -> &str {
        &self.base
    }

    fn rtmp_port(&self) -> u16 {
        self.rtmp_port
    }
}
