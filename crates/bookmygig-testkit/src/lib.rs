//! Test harness shared by the workspace's integration tests: starts real helper processes
//! (`redis-server` on private unix sockets, `ffmpeg` publishing a test stream) and stops them
//! when dropped.
//!
//! Readiness is awaited from the process's own "ready" log line, never guessed with a sleep.

mod eventually;
mod tools;

pub use eventually::eventually;
pub use tools::{FfmpegPublisher, TestCertificate, require_tool};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a helper process may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A private `redis-server`, listening only on a unix socket in its own temporary directory.
pub struct RedisServer {
    child: Child,
    dir: tempfile::TempDir,
    append_only: bool,
}

impl RedisServer {
    /// Starts a throw-away server (no persistence).
    ///
    /// # Panics
    /// When `redis-server` is missing (the message says how to install it) or never gets ready.
    pub fn start() -> Self {
        Self::start_in(tempdir(), false)
    }

    /// Starts a server with the append-only file fsynced on every write, the setting under
    /// which everything acknowledged survives a crash.
    pub fn start_durable() -> Self {
        Self::start_in(tempdir(), true)
    }

    fn start_in(dir: tempfile::TempDir, append_only: bool) -> Self {
        let child = spawn_redis(dir.path(), append_only);
        RedisServer {
            child,
            dir,
            append_only,
        }
    }

    /// The URL that reaches it: `redis+unix:///…/redis.sock`.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", socket_path(self.dir.path()).display())
    }

    /// Kills the server with SIGKILL and starts it again on the same data directory and
    /// socket, as after a crash.
    pub fn crash_and_restart(&mut self) {
        self.kill();
        self.restart();
    }

    /// Kills the server with SIGKILL and leaves it down (an outage) until
    /// [`RedisServer::restart`].
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same data directory and socket.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn_redis(self.dir.path(), self.append_only);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("bmg-redis-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
}

fn socket_path(dir: &Path) -> PathBuf {
    dir.join("redis.sock")
}

fn spawn_redis(dir: &Path, append_only: bool) -> Child {
    let socket = socket_path(dir);
    let _ = std::fs::remove_file(&socket);
    let mut command = Command::new("redis-server");
    command
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--daemonize",
            "no",
        ])
        .arg("--unixsocket")
        .arg(&socket)
        .args([
            "--unixsocketperm",
            "700",
            "--loglevel",
            "notice",
            "--logfile",
            "",
        ])
        .arg("--dir")
        .arg(dir)
        .args(["--appendonly", if append_only { "yes" } else { "no" }])
        .args(["--appendfsync", "always"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "redis-server is not installed; run scripts/bootstrap \
             (or: sudo apt-get install -y redis-server)"
        ),
        Err(e) => panic!("cannot start redis-server: {e}"),
    };
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("redis-server stdout is piped"));
    // 7.0 says "The server is now ready to accept connections", 7.2+ "Ready to accept …".
    if let Err(why) = wait_for_line(stdout, "eady to accept connections", "redis-server") {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{why}");
    }
    child
}

/// Reads `stream` until a line containing `needle` arrives, keeping the rest draining in the
/// background so the process never blocks on a full pipe.
///
/// # Errors
/// Says what happened when the stream ends or `READY_TIMEOUT` passes first.
pub fn wait_for_line(
    stream: impl std::io::Read + Send + 'static,
    needle: &str,
    what: &str,
) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let needle = needle.to_owned();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if line.contains(&needle) {
                    let _ = tx.send(Ok(()));
                    sent = true;
                } else {
                    seen.push(line);
                }
            }
        }
        if !sent {
            let _ = tx.send(Err(seen.join("\n")));
        }
    });
    match rx.recv_timeout(READY_TIMEOUT) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(output)) => Err(format!(
            "{what} exited before it was ready; it said:\n{output}"
        )),
        Err(_) => Err(format!("{what} was not ready within {READY_TIMEOUT:?}")),
    }
}
