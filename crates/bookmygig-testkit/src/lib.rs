//! Test harness shared by the workspace's integration tests: starts real helper processes
//! (`redis-server` on private unix sockets, `ffmpeg` publishing a test stream) and stops them
//! when dropped.
//!
//! Readiness is awaited from the process's own "ready" log line, never guessed with a sleep.
//! Nothing outlives the test process: `redis-server` runs under a watchdog shell that kills it
//! when the test process goes, however it goes (panic, nextest's timeout, `SIGKILL`, abort).
//!
//! With the `server` feature, `server` is the one server harness of the server's and the
//! CLI's tests: the server in-process on port 0, or the real binary as a child process.

mod eventually;
mod s3;
#[cfg(feature = "server")]
pub mod server;
mod tools;

pub use eventually::eventually;
pub use s3::{S3_ACCESS_KEY_ID, S3_REGION, S3_SECRET_ACCESS_KEY, S3Server};
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
    child: WatchedRedis,
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
        self.child.kill();
    }

    /// The process id of the `redis-server` itself (not of its watchdog shell).
    pub fn pid(&self) -> u32 {
        self.child.redis_pid
    }

    /// Starts the server again on the same data directory and socket.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn_redis(self.dir.path(), self.append_only);
    }
}

/// A `redis-server` started by a watchdog shell ([`WATCHDOG`]: start it in the background,
/// `read` stdin, kill it) whose stdin is a pipe from this process. The write end closes when this process ends, in
/// whatever way (the kernel closes it even on `SIGKILL` or an abort, where no `Drop` runs), so
/// the shell's `read` returns and it kills the server: no orphan survives a test run. The pipe
/// is close-on-exec, so no other child of the test process holds it open.
struct WatchedRedis {
    /// The watchdog shell, its stdin the lifeline.
    shell: Child,
    /// The `redis-server` the shell started.
    redis_pid: u32,
}

impl WatchedRedis {
    /// SIGKILLs the server and waits until the shell has reaped it.
    fn kill(&mut self) {
        // Closing the lifeline is the order to kill; the shell exits once the server is gone.
        drop(self.shell.stdin.take());
        let _ = self.shell.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.child.kill();
    }
}

/// The watchdog: starts `redis-server` with the arguments after `sh` (through an inner shell
/// that says its pid, the server's after `exec`, before the server can print a line), then
/// waits for stdin to close (or a line) and kills it, reaping it before exiting. A background
/// job of a non-interactive shell reads `/dev/null`, so the server never holds the lifeline.
const WATCHDOG: &str = r#"sh -c 'echo "redis-pid $$"; exec redis-server "$@"' sh "$@" &
pid=$!
read _
kill -KILL "$pid" 2>/dev/null
wait "$pid""#;

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("bmg-redis-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"))
}

fn socket_path(dir: &Path) -> PathBuf {
    dir.join("redis.sock")
}

fn spawn_redis(dir: &Path, append_only: bool) -> WatchedRedis {
    let socket = socket_path(dir);
    let _ = std::fs::remove_file(&socket);
    require_tool_on_path("redis-server");
    let mut command = Command::new("sh");
    command
        .args(["-c", WATCHDOG, "sh"])
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
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut shell = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start redis-server's watchdog shell: {e}"));
    let stdout = shell
        .stdout
        .take()
        .unwrap_or_else(|| panic!("redis-server stdout is piped"));
    let mut stdout = BufReader::new(stdout);
    let mut first = String::new();
    let redis_pid = stdout
        .read_line(&mut first)
        .ok()
        .and_then(|_| first.trim().strip_prefix("redis-pid ")?.parse().ok());
    let Some(redis_pid) = redis_pid else {
        let _ = shell.kill();
        let _ = shell.wait();
        panic!("the watchdog shell did not say redis-server's pid: {first:?}");
    };
    let mut watched = WatchedRedis { shell, redis_pid };
    // 7.0 says "The server is now ready to accept connections", 7.2+ "Ready to accept …".
    if let Err(why) = wait_for_line(stdout, "eady to accept connections", "redis-server") {
        watched.kill();
        panic!("{why}");
    }
    watched
}

/// Panics with the install command when `tool` is not on `PATH` (the watchdog shell would
/// otherwise only say "not found" in its log).
fn require_tool_on_path(tool: &str) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| dir.join(tool).is_file());
    assert!(
        found,
        "{tool} is not installed; run scripts/bootstrap (or: sudo apt-get install -y redis-server)"
    );
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
