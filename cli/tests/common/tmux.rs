//! The real `bookmygig tui` in a real terminal: a detached tmux session on a private socket,
//! driven with `send-keys` and read with `capture-pane -p`. Waiting polls the screen until the
//! expected text appears (or a deadline passes), so nothing guesses how long a step takes.

use std::time::Duration;

use tokio::process::Command;

/// How often the screen is read while waiting.
const POLL: Duration = Duration::from_millis(100);

/// One tmux server with one session running a command; killed when dropped.
pub struct Tmux {
    /// The private socket name (`tmux -L`), so tests never touch the user's tmux.
    socket: String,
}

impl Tmux {
    /// Starts `command` (with `env` set, `DISPLAY` and `WAYLAND_DISPLAY` removed) in a
    /// `width`×`height` terminal. The pane stays after the command exits, so its last screen
    /// can be read.
    pub async fn start(
        name: &str,
        (width, height): (u16, u16),
        env: &[(&str, String)],
        command: &[String],
    ) -> Self {
        super::require_tool("tmux", "tmux");
        let socket = format!("bookmygig-test-{}-{name}", std::process::id());
        let tmux = Tmux { socket };
        let mut args: Vec<String> = vec![
            "-f".into(),
            "/dev/null".into(),
            "new-session".into(),
            "-d".into(),
            "-s".into(),
            "main".into(),
            "-x".into(),
            width.to_string(),
            "-y".into(),
            height.to_string(),
        ];
        for (key, value) in env {
            args.push("-e".into());
            args.push(format!("{key}={value}"));
        }
        args.extend([
            "env".into(),
            "-u".into(),
            "DISPLAY".into(),
            "-u".into(),
            "WAYLAND_DISPLAY".into(),
        ]);
        args.extend(command.iter().cloned());
        tmux.run(&[
            "-f",
            "/dev/null",
            "start-server",
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
        ])
        .await;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Two tmux servers starting at the same instant (tests run in parallel) sometimes
        // lose one ("server exited unexpectedly"); starting again is safe.
        for attempt in 1.. {
            let out = Command::new("tmux")
                .arg("-L")
                .arg(&tmux.socket)
                .args(&args)
                .output()
                .await
                .expect("tmux runs");
            if out.status.success() {
                break;
            }
            assert!(
                attempt < 3,
                "tmux new-session failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // The command is interactive, so it is still running: its pane will stay when it exits.
        tmux.run(&["set-option", "-w", "-t", "main", "remain-on-exit", "on"])
            .await;
        tmux
    }

    /// Runs `tmux -L SOCKET args…` and returns its stdout; panics when tmux fails.
    async fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .await
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Presses keys by tmux name (`Enter`, `Escape`, `q`, `C-c`…).
    pub async fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend(keys);
        self.run(&args).await;
    }

    /// Types `text` literally.
    pub async fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "main", "-l", text]).await;
    }

    /// A left click at (`column`, `row`), counted from 0, as a terminal with SGR mouse
    /// reporting sends it (press, then release).
    pub async fn click(&self, column: u16, row: u16) {
        let (x, y) = (column + 1, row + 1);
        self.type_text(&format!("\x1b[<0;{x};{y}M\x1b[<0;{x};{y}m"))
            .await;
    }

    /// The screen as text, one line per row.
    pub async fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "main"]).await
    }

    /// The screen with its colours and attributes as SGR escape sequences (`capture-pane -e`).
    pub async fn styled_screen(&self) -> String {
        self.run(&["capture-pane", "-e", "-p", "-t", "main"]).await
    }

    /// Resizes the terminal to `width`×`height` (the program gets SIGWINCH).
    pub async fn resize(&self, width: u16, height: u16) {
        let (width, height) = (width.to_string(), height.to_string());
        self.run(&["resize-window", "-t", "main", "-x", &width, "-y", &height])
            .await;
    }

    /// Waits until the screen satisfies `wanted` and returns it; panics with the last screen
    /// after `within`.
    pub async fn wait_until(
        &self,
        what: &str,
        within: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let screen = self.screen().await;
            if wanted(&screen) {
                return screen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {what} on the screen within {within:?}; the screen:\n{screen}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `text` is on the screen (see [`Tmux::wait_until`]).
    pub async fn wait_for(&self, text: &str, within: Duration) -> String {
        self.wait_until(&format!("`{text}`"), within, |screen| screen.contains(text))
            .await
    }

    /// Whether the command has exited, and its exit status when it has.
    pub async fn exit_status(&self) -> Option<i32> {
        let out = self
            .run(&[
                "display-message",
                "-p",
                "-t",
                "main",
                "#{pane_dead} #{pane_dead_status}",
            ])
            .await;
        let mut parts = out.split_whitespace();
        match (parts.next(), parts.next()) {
            (Some("1"), Some(status)) => status.parse().ok(),
            // tmux leaves the status empty for a clean exit.
            (Some("1"), None) => Some(0),
            _ => None,
        }
    }

    /// Waits until the command has exited and returns its status.
    pub async fn wait_exit(&self, within: Duration) -> i32 {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(status) = self.exit_status().await {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the command did not exit within {within:?}; the screen:\n{}",
                self.screen().await
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}
