//! `scripts/demo` as a new user runs it: the script itself (on this build's binaries, on ports and
//! folders of its own), then the TUI command it prints, in a real terminal (tmux). Within 30 s of
//! "ready" the first gig is LIVE in the catalogue and its room's chat holds a message from the
//! sample viewer; Ctrl-C (SIGTERM) stops the server, the stream and the chatter.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{BIN, require_tool};

/// How long the demo may take to get ready: bootstrap's checks, the server's start, the sample
/// data (a few argon2 hashes), on a busy 2-core machine.
const STARTUP: Duration = Duration::from_secs(180);
/// What the issue promises a new user: the show is live and talked about this soon after
/// "ready".
const AFTER_READY: Duration = Duration::from_secs(30);

/// A loopback address nobody listens on now.
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").to_string()
}

/// The demo script, running; stopped with SIGTERM (as Ctrl-C's trap does) when dropped.
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Everything it printed so far.
    printed: Vec<String>,
}

impl Demo {
    fn start(dir: &Path, http: &str, rtmp: &str) -> Self {
        let bins = Path::new(BIN).parent().expect("the binaries' folder");
        assert!(
            bins.join("bookmygig-server").is_file(),
            "no bookmygig-server beside {BIN}: run `cargo build -p bookmygig-server` first \
             (the workspace's test run builds it)"
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/demo");
        let mut child = Command::new("bash")
            .arg(script)
            .env("BOOKMYGIG_HTTP", http)
            .env("BOOKMYGIG_RTMP", rtmp)
            .env("BOOKMYGIG_DEMO_DATA", dir.join("data"))
            .env("BOOKMYGIG_DEMO_CONFIG", dir.join("config"))
            .env("BOOKMYGIG_DEMO_BIN", bins)
            .env("BOOKMYGIG_DEMO_VIDEO", "320x180")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bash runs scripts/demo");
        let (sender, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).lines() {
                    let Ok(line) = line else { return };
                    if sender.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        Demo {
            child,
            lines,
            printed: Vec::new(),
        }
    }

    /// Reads what the demo prints until a line equal to `wanted`, failing with all of it when
    /// the demo ends or `within` passes first.
    fn wait_for_line(&mut self, wanted: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line == wanted;
                    self.printed.push(line);
                    if found {
                        return;
                    }
                }
                Err(_) => panic!(
                    "the demo did not print {wanted:?} within {within:?}; it printed:\n{}",
                    self.printed.join("\n")
                ),
            }
        }
    }

    /// The line after the first one containing `heading`.
    fn line_after(&self, heading: &str) -> (usize, &str) {
        let at = self
            .printed
            .iter()
            .position(|line| line.contains(heading))
            .unwrap_or_else(|| panic!("no {heading:?} in:\n{}", self.printed.join("\n")));
        (at + 1, self.printed[at + 1].trim())
    }

    /// Sends SIGTERM (the script's traps clean up as on Ctrl-C) and waits for it to end.
    fn stop(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(sent.success(), "SIGTERM reaches the demo");
        self.child.wait().expect("the demo ends")
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

/// Whether any process's command line holds `text` (ffmpeg's publish URL names the RTMP port).
fn a_process_mentions(text: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path: PathBuf = entry.path().join("cmdline");
        std::fs::read(path)
            .map(|bytes| String::from_utf8_lossy(&bytes).contains(text))
            .unwrap_or(false)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_a_live_gig_and_a_chatting_viewer_in_the_tui_it_names() {
    for (tool, package) in [("ffmpeg", "ffmpeg"), ("jq", "jq"), ("curl", "curl")] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|status| status.success()),
            "{tool} is not installed: sudo apt-get install -y {package} (or run scripts/bootstrap)"
        );
    }
    require_tool("tmux", "tmux");
    let dir = tempfile::tempdir().expect("a temp dir");
    let (http, rtmp) = (free_address(), free_address());
    let mut demo = Demo::start(dir.path(), &http, &rtmp);
    demo.wait_for_line("demo: ready", STARTUP);
    let ready = Instant::now();

    // What it prints, in the promised order: the TUI command, the play command, OBS settings.
    let (tui_at, tui) = demo.line_after("Watch it in the terminal");
    let tui: Vec<String> = tui.split_whitespace().map(str::to_owned).collect();
    assert_eq!(tui.last().map(String::as_str), Some("tui"), "{tui:?}");
    assert!(tui.iter().any(|arg| arg == "--config-dir"), "{tui:?}");
    let (play_at, play) = demo.line_after("Or in a player window");
    assert!(play.contains(" play "), "{play}");
    let (obs_at, obs) = demo.line_after("Go live yourself: OBS settings");
    assert!(obs.starts_with("Server:"), "{obs}");
    assert!(tui_at < play_at && play_at < obs_at, "{:#?}", demo.printed);

    // The printed command, as a new user pastes it: the live gig first in the catalogue.
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let env = [
        ("HOME", home.display().to_string()),
        (
            "XDG_CONFIG_HOME",
            home.join(".config").display().to_string(),
        ),
        ("XDG_STATE_HOME", home.join(".state").display().to_string()),
    ];
    let tmux = Tmux::start("demo", (120, 40), &env, &tui).await;
    let left = AFTER_READY.saturating_sub(ready.elapsed());
    let screen = tmux
        .wait_until("the first gig LIVE", left, |screen| {
            screen
                .lines()
                .any(|line| line.contains("LIVE") && line.contains("Late Laughs"))
        })
        .await;
    assert!(screen.contains("demo_viewer"), "{screen}");

    // Its room (the viewer holds a ticket): the sample viewer has spoken.
    tmux.keys(&["Enter"]).await;
    let left = AFTER_READY.saturating_sub(ready.elapsed());
    tmux.wait_for("demo_fan: ", left).await;

    tmux.keys(&["q"]).await;
    assert_eq!(tmux.wait_exit(Duration::from_secs(20)).await, 0);
    // (The tmux server's command line names the HTTP address too.)
    drop(tmux);

    // Ctrl-C's trap: the server, the publisher and the chatter all stop.
    let status = demo.stop();
    assert!(!status.success(), "stopped by a signal: {status:?}");
    bookmygig_testkit::eventually("the demo's processes end", Duration::from_secs(20), || {
        let gone = !a_process_mentions(&rtmp) && !a_process_mentions(&http);
        std::future::ready(gone.then_some(()).ok_or("a process of the demo still runs"))
    })
    .await;
}
