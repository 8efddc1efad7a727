//! A private S3-compatible server for tests: moto's `moto_server` (PyPI `moto[server]`, which
//! `scripts/bootstrap` installs) on a loopback port of its own choosing, in memory, gone when
//! dropped. Like `redis-server`, it runs under a watchdog shell, so it dies with the test
//! process however that ends.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::READY_TIMEOUT;

/// What `scripts/bootstrap` runs to install the server (keep the version in step with it).
const INSTALL: &str = "python3 -m pip install 'moto[server]==5.2.1'";

/// The access key id the server's flags carry; moto checks no signatures, any would do.
pub const S3_ACCESS_KEY_ID: &str = "bookmygig-test";

/// The secret access key the server's flags carry.
pub const S3_SECRET_ACCESS_KEY: &str = "bookmygig-test-secret";

/// The region the server's flags carry (moto's default).
pub const S3_REGION: &str = "us-east-1";

/// How long a request to the server (creating a bucket) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A private `moto_server` on `127.0.0.1`, keeping its buckets in memory.
pub struct S3Server {
    /// The watchdog shell, its stdin the lifeline (see `WATCHDOG`).
    shell: Child,
    /// The port the server listens on.
    port: u16,
}

/// The watchdog: starts `moto_server` with the arguments after `sh` (its log, where it says
/// its port, on the shell's stdout), then waits for stdin to close (or a line) and kills it,
/// reaping it before exiting. The write end of stdin closes when the test process ends in
/// whatever way, so no server outlives a test run.
const WATCHDOG: &str = r#"PYTHONUNBUFFERED=1 moto_server "$@" 2>&1 &
pid=$!
read _
kill -KILL "$pid" 2>/dev/null
wait "$pid""#;

impl S3Server {
    /// Starts a server on a free loopback port and waits until it listens.
    ///
    /// # Panics
    /// When `moto_server` is missing (the message says how to install it) or never gets ready.
    pub fn start() -> Self {
        require_moto_server();
        let mut shell = Command::new("sh")
            .args(["-c", WATCHDOG, "sh", "--host", "127.0.0.1", "--port", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto_server's watchdog shell: {e}"));
        let Some(stdout) = shell.stdout.take() else {
            panic!("moto_server's stdout is piped");
        };
        match wait_for_port(stdout) {
            Ok(port) => S3Server { shell, port },
            Err(why) => {
                drop(shell.stdin.take());
                let _ = shell.wait();
                panic!("{why}");
            }
        }
    }

    /// The endpoint clients use: `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates the bucket `name` (path-style, as S3 clients with an endpoint address it).
    ///
    /// # Panics
    /// When the server does not answer 200 (a bad name, or the bucket exists already).
    pub fn create_bucket(&self, name: &str) {
        let answer = self
            .put_bucket(name)
            .unwrap_or_else(|e| panic!("cannot create bucket {name}: {e}"));
        let status = answer.lines().next().unwrap_or_default();
        assert!(
            status.starts_with("HTTP/1.1 200"),
            "creating bucket {name} answered:\n{answer}"
        );
    }

    fn put_bucket(&self, name: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
        write!(
            stream,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.port
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    /// The server's flags that keep recordings at `url` (`s3://bucket/prefix`, the bucket
    /// created first) in this server.
    pub fn server_args(&self, url: &str) -> Vec<String> {
        [
            "--recordings",
            url,
            "--s3-endpoint",
            &self.endpoint(),
            "--s3-allow-http",
            "--s3-region",
            S3_REGION,
            "--s3-access-key-id",
            S3_ACCESS_KEY_ID,
            "--s3-secret-access-key",
            S3_SECRET_ACCESS_KEY,
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    }

    /// The same as [`S3Server::server_args`], as environment variables (for a child process).
    pub fn server_env(&self, url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("BOOKMYGIG_RECORDINGS", url.to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("BOOKMYGIG_S3_ALLOW_HTTP", "true".to_owned()),
            ("AWS_REGION", S3_REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", S3_SECRET_ACCESS_KEY.to_owned()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // Closing the lifeline is the order to kill; the shell exits once the server is gone.
        drop(self.shell.stdin.take());
        let _ = self.shell.wait();
    }
}

/// Panics with the install command when `moto_server` is not on `PATH`.
fn require_moto_server() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| dir.join("moto_server").is_file());
    assert!(
        found,
        "moto_server is not installed; run scripts/bootstrap (or: {INSTALL})"
    );
}

/// Reads the server's log until it says where it listens (`* Running on
/// http://127.0.0.1:PORT`), keeping the rest draining in the background so the server never
/// blocks on a full pipe.
fn wait_for_port(stdout: impl Read + Send + 'static) -> Result<u16, String> {
    const NEEDLE: &str = "Running on http://127.0.0.1:";
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sent {
                continue;
            }
            let port = line
                .split_once(NEEDLE)
                .and_then(|(_, rest)| rest.trim().parse::<u16>().ok());
            match port {
                Some(port) => {
                    let _ = tx.send(Ok(port));
                    sent = true;
                }
                None => seen.push(line),
            }
        }
        if !sent {
            let _ = tx.send(Err(seen.join("\n")));
        }
    });
    match rx.recv_timeout(READY_TIMEOUT) {
        Ok(Ok(port)) => Ok(port),
        Ok(Err(output)) => Err(format!(
            "moto_server exited before it was ready; it said:\n{output}"
        )),
        Err(_) => Err(format!(
            "moto_server was not ready within {READY_TIMEOUT:?}"
        )),
    }
}
