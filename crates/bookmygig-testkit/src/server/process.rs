//! The real `bookmygig-server` binary as a child process, its log collected: for what only a
//! process shows (signals, exit codes, several nodes on one Redis).

// Test harness: a server that does not start or stop as told is the test's failure, said with
// a message.
#![allow(clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bookmygig_client::Client;

use super::serving::Serving;

/// The server binary cargo built for the running test: named by nextest or cargo when they
/// say (`NEXTEST_BIN_EXE_…`, `CARGO_BIN_EXE_…`), else beside the `deps/` folder the test binary
/// runs from (`target/<profile>/bookmygig-server`).
fn server_binary() -> PathBuf {
    const NAME: &str = "bookmygig-server";
    for variable in [
        "NEXTEST_BIN_EXE_bookmygig-server",
        "CARGO_BIN_EXE_bookmygig-server",
    ] {
        if let Some(path) = std::env::var_os(variable) {
            return path.into();
        }
    }
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let beside_deps = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join(NAME))
        .filter(|path| path.is_file());
    beside_deps.unwrap_or_else(|| {
        panic!("no {NAME} binary near {test_binary:?}: run the tests of a crate that builds it")
    })
}

/// The real `bookmygig-server` binary as a child process, its log collected.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT` it reported.
    pub base: String,
    /// `http://127.0.0.1:PORT` of its private metrics listener.
    pub metrics_base: String,
    /// `http://127.0.0.1:PORT` of its private internal listener (relays).
    pub internal_base: String,
    /// `127.0.0.1:PORT` where it accepts RTMP.
    pub rtmp: String,
    log: Arc<Mutex<Vec<String>>>,
    log_closed: std::sync::mpsc::Receiver<()>,
    /// The data directory the harness made when the test named none (a node on Redis still
    /// keeps its recordings under it), removed with the process.
    _data: Option<tempfile::TempDir>,
}

impl ServerProcess {
    /// Starts the binary with `args` (plus `--http 127.0.0.1:0` unless given) and waits for its
    /// "listening" log line.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(server_binary());
        if !args.contains(&"--http") {
            command.args(["--http", "127.0.0.1:0"]);
        }
        if !args.contains(&"--rtmp") && !env.iter().any(|(k, _)| *k == "BOOKMYGIG_RTMP") {
            command.args(["--rtmp", "127.0.0.1:0"]);
        }
        let data = (!args.contains(&"--data-dir")
            && !env.iter().any(|(k, _)| *k == "BOOKMYGIG_DATA_DIR"))
        .then(|| tempfile::tempdir().expect("a data directory"));
        if let Some(dir) = &data {
            command.arg("--data-dir").arg(dir.path());
        }
        for flag in ["--metrics-addr", "--internal-addr"] {
            if !args.contains(&flag) {
                command.args([flag, "127.0.0.1:0"]);
            }
        }
        // Tests fund their accounts through the development provider, unless the environment
        // given says otherwise (`BOOKMYGIG_DEV_TOPUPS=false`).
        if !args.contains(&"--dev-topups") && !env.iter().any(|(k, _)| *k == "BOOKMYGIG_DEV_TOPUPS")
        {
            command.arg("--dev-topups");
        }
        command
            .args(args)
            .envs(env.iter().copied())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the server binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (closed_tx, log_closed) = std::sync::mpsc::channel();
        std::thread::spawn({
            let log = Arc::clone(&log);
            move || {
                let mut ready = Some(ready_tx);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("bookmygig-server listening")
                        && let Some(tx) = ready.take()
                    {
                        let _ = tx.send(line.clone());
                    }
                    log.lock().expect("log lock").push(line);
                }
                let _ = closed_tx.send(());
            }
        });
        let line = ready_rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!("server not ready; log: {:?}", log.lock().map(|l| l.clone()))
            });
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|field| field.strip_prefix(name))
                .expect("listening line names the addresses")
                .to_owned()
        };
        ServerProcess {
            child,
            base: format!("http://{}", field("http=")),
            metrics_base: format!("http://{}", field("metrics=")),
            internal_base: format!("http://{}", field("internal=")),
            rtmp: field("rtmp="),
            log,
            log_closed,
            _data: data,
        }
    }

    /// Its process id (for `/proc/<pid>/…`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client of this process.
    pub fn client(&self) -> Client {
        Client::new(&self.base).expect("client")
    }

    /// Signs up `handle` through this process; a client carrying its token.
    pub async fn sign_up(&self, handle: &str) -> Client {
        Serving::sign_up(self, handle).await
    }

    /// Kills it with SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }

    /// Asks it to stop with SIGTERM, waits, and returns everything it logged.
    pub fn terminate(mut self) -> String {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
        self.log_closed
            .recv_timeout(Duration::from_secs(10))
            .expect("the log reaches its end after exit");
        self.log.lock().expect("log lock").join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving for ServerProcess {
    fn base(&self) -> &str {
        &self.base
    }

    fn rtmp_port(&self) -> u16 {
        self.rtmp
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .expect("the RTMP address has a port")
    }
}
