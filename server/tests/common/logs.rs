//! The log of a server running in the test process, captured so tests can await its lines.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Longest wait for a log line that should come at once, on a loaded 2-core machine.
const PATIENCE: Duration = Duration::from_secs(20);

/// The server's log, captured in this process (the server runs in it).
#[derive(Clone)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// Installs the process-wide subscriber (once) and returns the log it writes to.
    pub fn capture() -> Logs {
        static LOGS: OnceLock<Logs> = OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = Logs(Arc::new(Mutex::new(Vec::new())));
            let writer = logs.clone();
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_env_filter("info")
                .with_writer(move || writer.clone())
                .init();
            logs
        })
        .clone()
    }

    /// Waits for a line containing every one of `needles`, and returns it.
    pub async fn await_line(&self, needles: &[&str]) -> String {
        self.await_line_within(needles, PATIENCE).await
    }

    /// Waits up to `patience` for a line containing every one of `needles`, and returns it.
    pub async fn await_line_within(&self, needles: &[&str], patience: Duration) -> String {
        let find = || {
            let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
            text.lines()
                .find(|line| needles.iter().all(|n| line.contains(n)))
                .map(str::to_owned)
        };
        tokio::time::timeout(patience, async {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tick.tick().await;
                if let Some(line) = find() {
                    return line;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no log line says all of {needles:?}"))
    }

    /// Waits for the line saying the RTMP connection from `peer` was closed, and returns it.
    pub async fn await_closed(&self, peer: SocketAddr) -> String {
        self.await_line(&[&format!("peer={peer}"), "RTMP connection closed"])
            .await
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
