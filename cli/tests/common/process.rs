//! A server that can be killed like a crashed one: the test binary runs itself again as a
//! child process whose only job is an in-process server (the ignored test named in
//! [`SERVE_TEST`], see [`serve_in_this_process`]). `SIGKILL` on the child drops every
//! connection at once, as a crash or a pulled cable does; a new child on the same data and ports
//! is the restart.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use super::TestServer;

/// The name of the test that serves when [`SERVE_ENV`] is set.
pub const SERVE_TEST: &str = "serve_for_other_tests";

/// Set (to the data directory) in the child; the serving test does nothing without it.
const SERVE_ENV: &str = "BOOKMYGIG_TEST_SERVE_DATA";
/// The HTTP address the child binds.
const HTTP_ENV: &str = "BOOKMYGIG_TEST_SERVE_HTTP";
/// The RTMP address the child binds.
const RTMP_ENV: &str = "BOOKMYGIG_TEST_SERVE_RTMP";
/// More server flags for the child, separated by [`FLAG_SEPARATOR`].
const FLAGS_ENV: &str = "BOOKMYGIG_TEST_SERVE_FLAGS";
/// Between two flags in [`FLAGS_ENV`] (a character no flag holds).
const FLAG_SEPARATOR: char = '\u{1f}';

/// A server in a child process.
pub struct ServerProcess {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Where it accepts RTMP.
    pub rtmp_port: u16,
    child: Child,
    http: SocketAddr,
    rtmp: SocketAddr,
    dir: std::path::PathBuf,
    flags: Vec<String>,
}

impl ServerProcess {
    /// Starts a server on the data in `dir` at `http` and `rtmp` (port 0: any); returns once it
    /// listens.
    pub fn start(dir: &std::path::Path, http: SocketAddr, rtmp: SocketAddr) -> Self {
        Self::start_with(dir, http, rtmp, &[])
    }

    /// [`ServerProcess::start`] with more server flags (kept for the restart).
    pub fn start_with(
        dir: &std::path::Path,
        http: SocketAddr,
        rtmp: SocketAddr,
        flags: &[String],
    ) -> Self {
        let joined = flags.join(&FLAG_SEPARATOR.to_string());
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                SERVE_TEST,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SERVE_ENV, dir)
            .env(HTTP_ENV, http.to_string())
            .env(RTMP_ENV, rtmp.to_string())
            .env(FLAGS_ENV, joined)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server process starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let (http, rtmp) = loop {
            let line = lines
                .next()
                .expect("the server process says where it listens")
                .expect("readable stdout");
            // libtest may have written "test NAME ... " on the same line first.
            if let Some((_, rest)) = line.split_once("listening ") {
                let (http, rtmp) = rest.split_once(' ').expect("two addresses");
                break (
                    http.parse::<SocketAddr>().expect("http address"),
                    rtmp.parse::<SocketAddr>().expect("rtmp address"),
                );
            }
        };
        ServerProcess {
            base: format!("http://{http}"),
            rtmp_port: rtmp.port(),
            child,
            http,
            rtmp,
            dir: dir.to_owned(),
            flags: flags.to_vec(),
        }
    }

    /// Kills the server (`SIGKILL`, no goodbyes) and starts it again on the same data and
    /// addresses once `restart` is called on the result.
    pub fn kill(mut self) -> KilledServer {
        let _ = self.child.kill();
        let _ = self.child.wait();
        KilledServer {
            http: self.http,
            rtmp: self.rtmp,
            dir: self.dir.clone(),
            flags: std::mem::take(&mut self.flags),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a killed server leaves: its data and addresses.
pub struct KilledServer {
    http: SocketAddr,
    rtmp: SocketAddr,
    dir: std::path::PathBuf,
    flags: Vec<String>,
}

impl KilledServer {
    /// Starts the server again, with the same flags.
    pub fn restart(self) -> ServerProcess {
        ServerProcess::start_with(&self.dir, self.http, self.rtmp, &self.flags)
    }
}

/// The body of the serving test: when run as a child by [`ServerProcess::start`], serves
/// until stdin closes (the parent is gone) or the process is killed; otherwise returns at once.
pub fn serve_in_this_process() {
    let Some(dir) = std::env::var_os(SERVE_ENV) else {
        return;
    };
    let address = |name| {
        std::env::var(name)
            .expect("address variable")
            .parse::<SocketAddr>()
            .expect("address")
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let flags = std::env::var(FLAGS_ENV).unwrap_or_default();
        let flags: Vec<&str> = flags
            .split(FLAG_SEPARATOR)
            .filter(|flag| !flag.is_empty())
            .collect();
        let server = TestServer::serve_at_with(
            std::path::Path::new(&dir),
            address(HTTP_ENV),
            address(RTMP_ENV),
            &flags,
        )
        .await;
        let http = server.base.trim_start_matches("http://").to_owned();
        println!("listening {http} 127.0.0.1:{}", server.rtmp_port);
        // Until the parent closes our stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        })
        .await;
        drop(server);
    });
}
